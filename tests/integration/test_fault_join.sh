#!/usr/bin/env bash
# Engines joining a running sweep are used at once; one leaving cleanly
# (SIGTERM) hands its tasks back without spending a retry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

# No retries at all: a task handed back by an engine that leaves cleanly
# must not count as a lost one, or it would fail with "engine lost".
start_detached 1 --retries 0
mount_lab --cluster "$WORK/cluster/cluster.json"
sweep j 40 0.25
wait_results j 2
add_engine late1
add_engine late2
wait_for 30 "3 engines" 'test "$(key "$MNT/status" engines)" = 3'
wait_results j 20 120
wait_for 30 "late2 to be busy" 'test "$(key "$MNT/engines/late2" state 2>/dev/null)" = busy'
kill -TERM "$(engine_pid late2)"
wait_for 15 "late2 to leave" "grep -q 'engine late2 .* left: stopped' '$WORK/controller.log'"
back=$(sed -n 's/.*engine late2 .* left: stopped; \([0-9]*\) task(s) back to the queue.*/\1/p' \
    "$WORK/controller.log")
[ "${back:-0}" -ge 1 ] || fail "late2 left holding no task, so nothing was handed back"
log "late2 handed $back task(s) back"
wait_done j 120
check_exact j 40
assert_eq 0 "$(key "$MNT/results/j/status" failed)" "failed"
used=$(tail -n +2 "$MNT/results/j/results.csv" | grep -o 'eng1\|late1\|late2' | sort -u | xargs)
assert_eq "eng1 late1 late2" "$used" "engines that ran tasks"
log "PASS test_fault_join"
