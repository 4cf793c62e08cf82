#!/usr/bin/env bash
# A mount point left by a killed clabfs (stat: ENOTCONN) is taken over by
# the next clabfs started on it, even while a reader still holds a file of
# the dead mount open (a plain unmount would fail with EBUSY); the sweep
# that was running resumes and ends with every point exactly once. A live
# mount is refused, and keeps working.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

mount_lab --engines 2
sweep s 30 0.2
wait_results s 5
exec 3<"$MNT/status"     # a reader of the mount that is about to die
tail -f "$MNT/results/s/results.csv" >/dev/null 2>&1 &
tailpid=$!
# Run before lib.sh's clean-up: a mount point left stale by a failure
# would not be unmounted there (mountpoint -q fails on it).
at_exit 'kill $tailpid 2>/dev/null; exec 3<&-; stat "$MNT" >/dev/null 2>&1 || fusermount3 -uz "$MNT"'
sleep 0.5
kill -9 "$(pid_of "clabfs --state $STATE")"
wait_for 15 "the embedded cluster to stop with clabfs" \
    "! pgrep -f 'clab-(controller|engine) .*$STATE' >/dev/null"
err=$(stat "$MNT" 2>&1 >/dev/null || true)
case $err in
*"Transport endpoint is not connected"*) ;;
*) fail "the mount point is not stale after kill -9: [$err]" ;;
esac

# Started again on the stale point: it mounts (mount_lab waits until
# /status says connected) and the sweep ends, exactly once each.
mount_lab --engines 2
mountpoint -q "$MNT" || fail "not mounted after the takeover"
assert_eq 2 "$(key "$MNT/status" engines)" "engines in /status after the takeover"
wait_done s 120
check_exact s 30
assert_eq 1 "$(awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l)" \
    "mounts on the mount point after the takeover"

# A live mount is refused, on another state directory too, and stays.
if "$CLABFS" --state "$WORK/other" --engines 1 "$MNT" 2>"$WORK/refused.err"; then
    fail "a second clabfs mounted over a live one"
fi
assert_eq 1 "$(awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l)" \
    "mounts on the mount point after the refusal"
assert_eq 1 "$(key "$MNT/results/s/status" done)" "the live mount still answers"
[ -s "$WORK/refused.err" ] || fail "the refusal said nothing"
log "refused with: $(cat "$WORK/refused.err")"
log "PASS test_tools_stale"
