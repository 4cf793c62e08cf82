#!/usr/bin/env bash
# Cancel reaches the engines: once `cancel TAG` is written, no point of TAG
# is running or starts on any engine, the controller's queue holds none of
# them, and a set submitted after the cancel runs at once instead of
# waiting behind the cancelled points. Then delete of a set with pending
# points does the same, and the set is gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

mount_lab --engines 2
logged big 200 2
wait_for 30 "two points of big to start" 'test "$(started big)" -ge 2'
assert_eq 200 "$(queued_at_controller big)" "big's tasks at the controller before the cancel"

echo 'cancel big' >"$MNT/ctl"
wait_for 10 "the running points of big to be killed" 'test "$(running)" -eq 0'
assert_eq 0 "$(queued_at_controller big)" "big's tasks at the controller after the cancel"
before=$(started big)

# A set submitted after the cancel runs at once: with the cancelled points
# still queued it would wait 200 x 2 s / 2 engines.
logged small 10 0.1
wait_done small 30
check_exact small 10
assert_eq "$before" "$(started big)" "points of big started after the cancel"
assert_eq 200 $(($(key "$MNT/results/big/status" results) + $(key "$MNT/results/big/status" failed))) \
    "big: results + cancelled"

# delete of a set with pending points: the same at the controller, and the
# set is gone from the mount.
logged doomed 100 2
wait_for 30 "a point of doomed to start" 'test "$(started doomed)" -ge 1'
echo 'delete doomed' >"$MNT/ctl"
wait_for 10 "the running points of doomed to be killed" 'test "$(running)" -eq 0'
assert_eq 0 "$(queued_at_controller doomed)" "doomed's tasks at the controller after the delete"
[ ! -e "$MNT/results/doomed" ] || fail "results/doomed still there after delete"
before=$(started doomed)
logged after 6 0.1
wait_done after 30
check_exact after 6
assert_eq "$before" "$(started doomed)" "points of doomed started after the delete"
log "PASS test_edge_cancel"
