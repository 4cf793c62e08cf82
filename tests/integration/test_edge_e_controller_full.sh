#!/usr/bin/env bash
# The controller's commit fails (issue 9, edge 3, the controller's side):
# its state directory is on a small tmpfs that fills up while a sweep runs
# and a second one, too big for the space left, is submitted. Whatever the
# controller did in memory during a failed window (tasks handed out,
# results taken, submissions accepted) was rolled back in its queue: it
# must recover as a restart would, and once space is freed every point of
# both sets runs and is there exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

small=$WORK/small
mkdir -p "$small"
mount -t tmpfs -o size=16m tmpfs "$small" || fail "cannot mount a tmpfs (not root?)"
at_exit 'fusermount3 -uz "$MNT" 2>/dev/null; sleep 0.5; umount -l "$small" 2>/dev/null'
cstate=$small/cluster
"$CONTROLLER" --state "$cstate" >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
wait_for 15 "cluster.json" "test -s '$cstate/cluster.json'"
for id in eng1 eng2; do
    "$ENGINE" --cluster "$cstate/engine.json" --id $id >>"$WORK/engine-$id.log" 2>&1 &
    PIDS+=($!)
done
mount_lab --cluster "$cstate/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
sweep a 20 0.3
wait_results a 3
# Fill what is left of the tmpfs, then submit 40 points of 60 KB each
# (2.4 MB: the queue needs twice that, in its log and in the table).
dd if=/dev/zero of="$small/filler" bs=64k 2>/dev/null || true
pad=$(head -c 60000 /dev/zero | tr '\0' x)
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"b\",
         \"parameters\": {\"i\": {\"range\": [0, 40]}, \"sleep\": 0.05, \"pad\": [\"$pad\"]}}"
sleep 5
rm -f "$small/filler"
wait_done a 180
wait_done b 180
check_exact a 20
check_exact b 40
assert_eq 0 "$(key "$MNT/results/a/status" failed)" "a failed"
assert_eq 0 "$(key "$MNT/results/b/status" failed)" "b failed"
log "PASS test_edge_e_controller_full"
