#!/usr/bin/env bash
# Job ids are never reused: after `delete` of the newest set (whose jobs had
# the highest row ids), the next submission is sent to the cluster and
# finishes, in this mount and after a remount.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

mount_lab --engines 2
sweep first 4 0.05
wait_done first 60
sweep newest 30 0.5
wait_results newest 1
echo 'delete newest' >"$MNT/ctl"
sweep next 8 0.05
wait_done next 30
check_exact next 8

# The same across a remount: delete the newest set, unmount, mount, submit.
sweep newest2 30 0.5
echo 'delete newest2' >"$MNT/ctl"
unmount_lab
mount_lab --engines 2
sweep later 5 0.05
wait_done later 30
check_exact later 5
assert_eq "first
later
next" "$(ls "$MNT/results")" "sets at the end"
log "PASS test_edge_delete_reuse"
