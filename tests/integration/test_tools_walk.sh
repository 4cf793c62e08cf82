#!/usr/bin/env bash
# Tools that walk the tree never block on a live lab: cp -r, grep -r, tar,
# zip, rsync and find -type f -exec cat over the whole mount return at once
# while a sweep runs, because the files whose reads block (results/TAG/wait
# and the lab-wide /wait) are not listed; they still open by name. The
# lab-wide /wait blocks until no set has pending points, then returns
# /status.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
# 40 points of 0.5 s on 2 engines: about 10 s of work still to do while the
# walkers run.
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"quick\",
         \"parameters\": {\"i\": {\"range\": [0, 3]}, \"sleep\": 0.05}}"
wait_done quick 60
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"slow\",
         \"parameters\": {\"i\": {\"range\": [0, 40]}, \"sleep\": 0.5}}"
wait_for 30 "a first result of slow" 'test "$(key "$MNT/results/slow/status" results)" -ge 1'

# Not listed, by any reader of directories.
ls -a "$MNT" "$MNT/results/slow" | grep -qx wait && fail "a wait file is listed"
find "$MNT" -name wait | grep -q . && fail "find lists a wait file"
# Still there by name.
[ -f "$MNT/wait" ] || fail "/wait does not open by name"
[ -f "$MNT/results/slow/wait" ] || fail "results/slow/wait does not open by name"

# Each walker must finish well before the sweep does (about 10 s).
walk() { # WHAT COMMAND...
    local what=$1 rc=0
    shift
    timeout 8 "$@" >"$WORK/walk.out" 2>"$WORK/walk.err" || rc=$?
    [ $rc -ne 124 ] || fail "$what blocked on a live lab"
    # tar says so (exit 1) when a directory changed while it read it: true
    # of a live lab, where results arrive; anything else is a failure.
    if [ $rc -eq 1 ] && [ "$1" = tar ] && ! grep -qv "file changed as we read it" "$WORK/walk.err"; then
        rc=0
    fi
    [ $rc -eq 0 ] || fail "$what failed ($rc): $(head -c 300 "$WORK/walk.err")"
}
walk "cp -r" cp -r "$MNT/results" "$WORK/copy"
walk "grep -r" grep -r -c . "$MNT/results"
walk "tar" tar -cf "$WORK/lab.tar" -C "$MNT" results status notebook.json
walk "zip -r" sh -c "cd '$MNT' && zip -qr '$WORK/lab.zip' results"
walk "rsync -a" rsync -a "$MNT/results/" "$WORK/rsync/"
walk "find -exec cat" find "$MNT/results" -type f -exec cat {} +
[ "$(key "$MNT/results/slow/status" pending)" -gt 0 ] ||
    fail "the sweep ended before the walkers: this test proves nothing (machine too slow?)"
# What they copied is the lab as it was: results.csv of quick is whole.
assert_eq 4 "$(wc -l <"$WORK/copy/quick/results.csv")" "rows of quick in the copy (header + 3)"
[ ! -e "$WORK/copy/slow/wait" ] || fail "cp -r copied a wait file"

# The lab-wide /wait blocks while any set has pending points...
cat "$MNT/wait" >"$WORK/labwait.out" &
labwait=$!
PIDS+=("$labwait")
sleep 1
kill -0 "$labwait" 2>/dev/null || fail "/wait returned while points were pending"
# ... and returns /status once none has.
wait_for 120 "/wait to return" "! kill -0 $labwait 2>/dev/null"
wait "$labwait" || fail "cat /wait failed"
assert_eq 0 "$(key "$WORK/labwait.out" pending)" "pending in what /wait returned"
assert_eq 0 "$(key "$MNT/results/slow/status" pending)" "slow pending after /wait"
assert_eq 40 "$(key "$MNT/results/slow/status" results)" "slow results after /wait"
assert_eq "$(cat "$MNT/status")" "$(cat "$WORK/labwait.out")" "/wait returns /status"
# With nothing pending, /wait returns at once.
walk "cat /wait when idle" cat "$MNT/wait"
log "PASS test_tools_walk"
