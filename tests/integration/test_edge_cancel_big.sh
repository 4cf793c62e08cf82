#!/usr/bin/env bash
# A cancel of many pending points does not stop the lab while it runs:
# while `cancel big` (200,000 pending points, seconds of work) is
# being written, a result of another set arrives and is readable, and
# /status keeps reading connected 1. Afterwards every point of big is
# failed, none pending, the controller holds none of them, and the other
# set has its one result.
# ctest: serial -- a cancel of 200,000 points must take over 0.5 s and the lab stay readable meanwhile; heavy on the machine
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

N=${CLAB_BIG_CANCEL:-200000}
GATE=$WORK/gate
# A copy in $WORK, so that pgrep -f finds this test's point only.
GATED=$WORK/gated.py
cp "$EXP/gated.py" "$GATED"

mount_lab --engines 2
# live's one point holds an engine until the gate opens.
submit "{\"experiment\": \"$GATED\", \"tag\": \"live\",
         \"parameters\": {\"i\": 0, \"gate\": \"$GATE\"}}"
wait_for 30 "live's point to start" 'pgrep -f "$GATED" >/dev/null'
logged big "$N" 600
wait_for 300 "big's $N tasks at the controller" 'test "$(queued_at_controller big)" = "$N"'
assert_eq 0 "$(key "$MNT/results/live/status" results)" "live's results before the gate opens"

( echo "cancel big" >"$MNT/ctl"; echo $? >"$WORK/cancel.rc" ) &
cancel=$!
t0=$SECONDS
sleep 0.5
kill -0 $cancel 2>/dev/null || fail "cancel of $N points returned within 0.5 s: too quick to tell; raise CLAB_BIG_CANCEL"
: >"$GATE"

seen=
reads=0
while kill -0 $cancel 2>/dev/null; do
    cp "$MNT/status" "$WORK/status.now"
    reads=$((reads + 1))
    assert_eq 1 "$(key "$WORK/status.now" connected)" "connected in /status $((SECONDS - t0)) s into the cancel"
    if [ -z "$seen" ] && [ "$(key "$MNT/results/live/status" results)" = 1 ]; then
        kill -0 $cancel 2>/dev/null && seen=$((SECONDS - t0))
    fi
    sleep 0.1
done
wait $cancel
took=$((SECONDS - t0))
assert_eq 0 "$(cat "$WORK/cancel.rc")" "exit status of the cancel's echo"
[ -n "$seen" ] || fail "live's result was not readable while the cancel ran ($took s, $reads status reads): the cancel held the notebook"
log "live's result read $seen s into a $took s cancel; $reads status reads, all connected 1"

assert_eq 1 "$(key "$MNT/status" connected)" "connected after the cancel"
assert_eq 0 "$(key "$MNT/results/big/status" results)" "big's results"
assert_eq "$N" "$(key "$MNT/results/big/status" failed)" "big's failed (cancelled) points"
assert_eq 0 "$(key "$MNT/results/big/status" pending)" "big's pending points"
wait_for 30 "big's running points to be killed" 'test "$(running)" -eq 0'
assert_eq 0 "$(queued_at_controller big)" "big's tasks at the controller after the cancel"
check_exact live 1
log "PASS test_edge_cancel_big"
