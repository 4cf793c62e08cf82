#!/usr/bin/env bash
# kill -9 an engine in the middle of a task: the controller notices the
# missing heartbeats, puts its tasks back in the queue, and the sweep ends
# with every point exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 2 --heartbeat-timeout 3
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
sweep k 24 0.4
wait_results k 4
victim=$(engine_pid eng1)
[ -n "$victim" ] || fail "no engine eng1"
kill -9 "$victim"
wait_for 30 "the controller to drop eng1" \
    "grep -q 'engine eng1 .* left: no heartbeat' '$WORK/controller.log'"
wait_for 15 "status to show 1 engine" 'test "$(key "$MNT/status" engines)" = 1'
wait_done k 120
check_exact k 24
assert_eq 0 "$(key "$MNT/results/k/status" failed)" "failed after one lost engine"
log "PASS test_fault_engine_kill"
