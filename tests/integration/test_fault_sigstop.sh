#!/usr/bin/env bash
# SIGSTOP an engine while it holds tasks: the controller counts it lost and
# runs its tasks elsewhere; when it is continued it rejoins, keeps what is
# still queued, has the rest cancelled, its late results are ignored, and
# every point is there exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 2 --heartbeat-timeout 4
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
sweep s 20 0.5
wait_results s 2
stopped=$(engine_pid eng1)
kill -STOP "$stopped"
wait_for 30 "the controller to drop eng1" \
    "grep -q 'engine eng1 .* left: no heartbeat' '$WORK/controller.log'"
wait_results s 12 120
kill -CONT "$stopped"
wait_for 30 "eng1 to rejoin" "test \$(grep -c 'engine eng1 joined' '$WORK/controller.log') -ge 2"
wait_done s 120
check_exact s 20
assert_eq 0 "$(key "$MNT/results/s/status" failed)" "failed"
# On a loaded machine eng1 may miss a heartbeat again right after it
# rejoined; it is alive, so it comes back.
wait_for 30 "2 engines after SIGCONT" 'test "$(key "$MNT/status" engines)" = 2'
log "PASS test_fault_sigstop"
