#!/usr/bin/env bash
# Modification times tell the truth: /status and results/TAG/status change
# their mtime when their content changes and only then, so a second
# `rsync -a` of a lab at rest copies nothing (but /status.json, whose count
# of FUSE requests moves with every request), and a `select` (which
# changes what /status says) is seen by the next one.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
for t in a b; do
    submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"$t\",
             \"parameters\": {\"i\": {\"range\": [0, 4]}, \"sleep\": 0.05}}"
    wait_done "$t" 60
done
mt() { stat -c %Y.%y "$1"; }

# At rest, two reads a second and a half apart see one mtime.
s1=$(mt "$MNT/status"); r1=$(mt "$MNT/results/a/status")
cat "$MNT/status" "$MNT/results/a/status" >/dev/null
sleep 1.5
assert_eq "$s1" "$(mt "$MNT/status")" "/status mtime at rest"
assert_eq "$r1" "$(mt "$MNT/results/a/status")" "results/a/status mtime at rest"

# rsync -a twice, over a second apart (mtimes are compared in seconds):
# the second run transfers nothing but /status.json, which counts the FUSE
# requests answered (the first rsync's among them) and says so by its
# mtime.
rsync -a "$MNT/" "$WORK/copy/"
sleep 1.1
again=$(rsync -ai "$MNT/" "$WORK/copy/" | grep -v '^\.d' || true)
assert_eq "status.json" "$(awk '$1 ~ /^>f\.[.s]t/ { print $2 }' <<<"$again")" \
    "what a second rsync -a of a lab at rest copies: [$again]"
assert_eq "$(cat "$MNT/status")" "$(cat "$WORK/copy/status")" "the copied /status"

# select changes /status (current b -> a): its mtime moves on, and rsync
# copies it again.
sleep 1.1
echo 'select a' >"$MNT/ctl"
[ "$(mt "$MNT/status")" != "$s1" ] || fail "/status mtime did not change with select"
assert_eq a "$(key "$MNT/status" current)" "current after select"
changed=$(rsync -ai "$MNT/" "$WORK/copy/" | grep -v '^\.d' || true)
echo "$changed" | grep -q ' status$' || fail "rsync did not copy /status after select: [$changed]"
assert_eq a "$(key "$WORK/copy/status" current)" "current in the copy"
log "PASS test_tools_mtime"
