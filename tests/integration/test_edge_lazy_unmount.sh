#!/usr/bin/env bash
# A lazy unmount while readers hold files open (fusermount3 -uz under a
# `tail -f`, the way a stale mount is cleared): the open files still read
# until they are closed, then clabfs and its cluster exit cleanly. The
# session can end without a release for those files, so clabfs frees their
# handles itself; under ASan a leaked handle is a report, failing the test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

mount_lab --engines 2
sweep r 6 0.1
wait_done r 60
timeout 60 tail -f "$MNT/results/r/results.csv" >"$WORK/tail.csv" &
tailpid=$!
exec 3<"$MNT/submit"
exec 4<"$MNT/status"
wait_for 10 "tail to read the table" "[ \$(wc -l <'$WORK/tail.csv') -eq 7 ]"
fusermount3 -u "$MNT" 2>/dev/null && fail "a plain unmount succeeded with files open"
fusermount3 -uz "$MNT" || fail "lazy unmount failed"
mountpoint -q "$MNT" && fail "still mounted after the lazy unmount"
grep -q '^engines 2$' <&4 || fail "an open /status no longer reads after the lazy unmount"
kill -0 "$tailpid" || fail "tail -f died with the lazy unmount"
exec 3<&- 4<&-
kill "$tailpid" 2>/dev/null || true
wait "$tailpid" 2>/dev/null || true
wait_for 15 "clabfs and its cluster to exit" "! pgrep -f '$STATE' >/dev/null"
# Nothing lost: mounted again on the same state, the set is whole.
mount_lab --engines 2
assert_eq 1 "$(key "$MNT/results/r/status" done)" "set r done after the remount"
check_exact r 6
log "PASS test_edge_lazy_unmount"
