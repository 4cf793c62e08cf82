#!/usr/bin/env bash
# Unmounting mid-sweep loses nothing: the embedded cluster stops with the
# mount (its running tasks go back to the queue), and the next mount on the
# same state directory resumes the queue.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

mount_lab --engines 2
sweep r 30 0.3
wait_results r 4
fusermount3 -u "$MNT"
wait_for 60 "clabfs and its cluster to exit" "! pgrep -f '$STATE' >/dev/null"
grep -q "stopping on signal" "$STATE/cluster/controller.log" || fail "controller did not stop cleanly"
mount_lab --engines 2
assert_eq r "$(key "$MNT/status" current)" "current set after remount"
wait_done r 120
check_exact r 30
assert_eq 0 "$(key "$MNT/results/r/status" failed)" "failed"
log "PASS test_fault_remount"
