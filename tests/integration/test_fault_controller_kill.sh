#!/usr/bin/env bash
# kill -9 the controller mid-sweep: the mount keeps answering at once and
# shows connected 0, a job submitted meanwhile is kept, and after a restart
# on the same state directory both sets finish with every point once.
# ctest: serial -- asserts that reads take under 2 s while the controller is down
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_cluster 2
mount_lab --cluster "$WORK/cluster/cluster.json"
sweep a 30 0.3
wait_results a 6
kill -9 "$(pid_of "clab-controller --state $WORK/cluster")"
wait_for 10 "connected 0" 'test "$(key "$MNT/status" connected)" = 0'

# Every file answers at once while the controller is gone.
t0=$(date +%s%N)
cat "$MNT/status" "$MNT/results/a/status" "$MNT/results/a/results.csv" >/dev/null
ls "$MNT/results/a" >/dev/null
elapsed=$((($(date +%s%N) - t0) / 1000000))
[ "$elapsed" -lt 2000 ] || fail "reads took ${elapsed} ms while the controller was down"
sweep b 10 0.1
assert_eq 10 "$(key "$MNT/results/b/status" pending)" "b pending while down"

"$CONTROLLER" --state "$WORK/cluster" >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
wait_for 30 "connected 1" 'test "$(key "$MNT/status" connected)" = 1'
wait_done a 120
wait_done b 120
check_exact a 30
check_exact b 10
assert_eq 0 "$(key "$MNT/results/a/status" failed)" "a failed"
log "PASS test_fault_controller_kill"
