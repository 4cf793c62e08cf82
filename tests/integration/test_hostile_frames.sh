#!/usr/bin/env bash
# Hostile frames: tests/tools/clab-hostile connects to a real controller
# with the cluster's keys (cluster.json as a client, engine.json as an
# engine), and sends wrong
# frame counts, bad versions, types and bodies, unknown and out-of-order
# messages (results for jobs never given, acks for unknown jobs), garbage
# and huge submissions, replays, bad routing ids and a frame over the size
# limit; plus odd but valid tasks that a real engine must run and answer.
# Afterwards the controller and the engine are alive, the drops are in
# the controller's log, and a normal sweep through clabfs completes exactly.
# (The engine's side, facing a hostile controller: test_hostile_engine.sh.)
. "$(dirname "$0")/lib.sh"

HOSTILE=$CLAB_BUILD/tests/tools/clab-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE not built (tests/tools is not in the build)"

start_cluster 1
controller_pid=${PIDS[0]} engine_pid=${PIDS[1]}
conn=$WORK/cluster/cluster.json
mount_lab --cluster "$conn"
wait_for 30 "1 engine" 'test "$(key "$MNT/status" engines)" = 1'

rc=0
timeout 120 "$HOSTILE" --cluster "$conn" --engine-file "$WORK/cluster/engine.json" \
    attack --experiment "$EXP/trivial.sh" \
    >"$WORK/hostile.out" 2>"$WORK/hostile.log" || rc=$?
if [ $rc -ne 0 ]; then
    cat "$WORK/hostile.out" "$WORK/hostile.log" >&2
    fail "clab-hostile attack: exit $rc"
fi
cat "$WORK/hostile.out" >&2

kill -0 "$controller_pid" 2>/dev/null || fail "the controller died"
kill -0 "$engine_pid" 2>/dev/null || fail "the engine died"
grep -q '^every odd task came back$' "$WORK/hostile.out" || fail "odd tasks"
grep -q '^the oversized frame was dropped; reconnected$' "$WORK/hostile.out" || fail "oversized frame"
grep -q '^the controller no longer lists the fake engine$' "$WORK/hostile.out" ||
    fail "fake engine still listed"
# Each odd task has the outcome the contract gives it.
expect_odd() { # name exception
    grep -q "^odd task hostile-[0-9]*-odd-$1: $2\$" "$WORK/hostile.out" ||
        fail "odd task $1: expected [$2]"
}
expect_odd tag-number succeeded
expect_odd tag-path succeeded
expect_odd timeout-string succeeded
expect_odd timeout-negative succeeded
expect_odd timeout-huge succeeded
expect_odd extra-fields succeeded
expect_odd unicode-params succeeded
expect_odd params-deep succeeded
expect_odd params-too-big-for-env succeeded
grep -q '^odd task ???jjjjjjj' "$WORK/hostile.out" || fail "odd task with a long job id"

# The controller said why it dropped each kind of message.
clog=$WORK/controller.log
for want in 'dropped a malformed message: wrong number of frames' \
    'dropped a malformed message: too many frames' \
    'dropped a malformed message: unknown protocol version' \
    'dropped a malformed message: bad message type' \
    'dropped a malformed message: body is not a JSON object' \
    'unknown message frobnicate from client' \
    'malformed task(s) from client' \
    'result from unknown engine' \
    'malformed result from engine' \
    'message with a bad routing id dropped'; do
    grep -qF "$want" "$clog" || fail "controller log lacks [$want]"
done
# No sanitizer report from any program so far (under scripts/test.sh's
# ASan step; the clean-up looks again once all have exited).
no_sanitizer_reports

# A normal sweep still completes exactly, on the engine that survived.
submit "{\"experiment\": \"$EXP/sum.py\", \"parameters\": {\"a\": {\"range\": [0, 6]}, \"b\": [10, 20, 30]}, \"tag\": \"after\"}"
wait_done after 60
st=$MNT/results/after/status
assert_eq 18 "$(key "$st" results)" "results after the attack"
assert_eq 0 "$(key "$st" failed)" "failed after the attack"
assert_eq 0 "$(key "$st" pending)" "pending after the attack"
assert_eq "$(for a in 0 1 2 3 4 5; do for b in 10 20 30; do echo "$a $b $((a + b))"; done; done | sort)" \
    "$(python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])): print(r["a"], r["b"], r["sum"])' \
        "$MNT/results/after/results.csv" | sort)" "sweep rows"
assert_eq 1 "$(key "$MNT/status" engines)" "engines after the attack"
kill -0 "$controller_pid" 2>/dev/null || fail "the controller died during the sweep"
kill -0 "$engine_pid" 2>/dev/null || fail "the engine died during the sweep"

log "PASS test_hostile_frames"
