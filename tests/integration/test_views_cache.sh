#!/usr/bin/env bash
# The kernel keeps what never changes (issue 22): a settled set's listing,
# its files' attributes and its tables' pages, so a second `ls -l`, `stat`
# or `cat` of them sends (almost) no FUSE request, counted by the requests
# in /status.json, and the first listing takes one readdirplus per
# thousands of entries; a set that runs is asked each time. What reopens a
# settled set is invalidated by the link at once: after a submit to it (its
# new results bring a new column) and after a retry, `ls`, `stat` and
# `cat` show the new results as soon as the set is done again, and a
# deleted set is gone from `ls` and `stat` at once.
. "$(dirname "$0")/lib.sh"

NOOP=$CLAB_BUILD/tests/clab-bench-noop
[ -x "$NOOP" ] || fail "no $NOOP (cmake --build)"
N=2000

# requests: the FUSE requests clabfs answered so far (reading them costs
# a few more, counted by `overhead`).
requests() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"]["total"])' "$MNT/status.json"; }
readdirplus() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"]["readdirplus"])' "$MNT/status.json"; }
# asked CMD...: how many requests CMD sent, its output in $WORK/out.
asked() {
    local r0 r1
    r0=$(requests)
    "$@" >"$WORK/out" 2>&1 || fail "$* failed: $(head -3 "$WORK/out")"
    r1=$(requests)
    echo $((r1 - r0 - overhead))
}

mount_lab --engines 2
overhead=0
a=$(requests) b=$(requests) c=$(requests)
overhead=$((c - b))
[ "$((b - a))" = "$overhead" ] || log "requests per read of status.json: $((b - a)), then $overhead"

submit "{\"experiment\": \"$NOOP\", \"tag\": \"c\", \"parameters\": {\"i\": {\"range\": [0, $N]}}}"
wait_done c 120
dir=$MNT/results/c
rdp0=$(readdirplus)
first=$(asked ls -l "$dir")
rdp1=$(readdirplus)
cp "$WORK/out" "$WORK/ls1"
# readdir(3) sizes its buffer by the directory's st_blksize (1 MiB): the
# first listing of 2,000 entries is one readdirplus and the empty one
# that ends it (with 32 KiB buffers, 12).
[ $((rdp1 - rdp0)) -le 2 ] || fail "the first ls -l of $N results sent $((rdp1 - rdp0)) readdirplus"
second=$(asked ls -l "$dir")
log "ls -l of $N settled results: $first requests, then $second"
cmp -s "$WORK/ls1" "$WORK/out" || fail "the second ls -l differs: $(diff "$WORK/ls1" "$WORK/out" | head -5)"
[ "$second" -le $((N / 100)) ] || fail "a second ls -l of $N results sent $second requests"
[ "$first" -gt "$second" ] || fail "the first ls -l sent $first requests, the second $second"
stats=$(asked stat -c '%s %Y' "$dir"/*.json "$dir/results.csv")
[ "$stats" -le $((N / 100)) ] || fail "stat of $N settled results sent $stats requests"
cat1=$(asked cat "$dir/results.csv")
cat2=$(asked cat "$dir/results.csv")
log "cat results.csv: $cat1 requests, then $cat2"
[ "$cat2" -le 5 ] || fail "a second cat of a settled table sent $cat2 requests"
assert_eq $((N + 1)) "$(wc -l <"$WORK/out")" "rows of the cached table"

# A set that runs is asked again: its listing is not kept.
submit "{\"experiment\": \"$EXP/gated.py\", \"tag\": \"g\",
         \"parameters\": {\"i\": 0, \"gate\": \"$WORK/gate\"}}"
asked ls -l "$MNT/results/g" >/dev/null
live=$(asked ls -l "$MNT/results/g")
[ "$live" -ge 2 ] || fail "a second ls -l of a running set sent $live requests"
touch "$WORK/gate"
wait_done g 60

# Reopened by a submit: 10 points whose results have new columns.
size0=$(stat -c %s "$dir/results.csv")
mtime0=$(stat -c %Y.%y "$dir")
submit "{\"experiment\": \"$EXP/sum.py\", \"tag\": \"c\",
         \"parameters\": {\"a\": {\"range\": [0, 10]}, \"b\": 1}}"
cat "$dir/wait" >/dev/null
assert_eq $((N + 10)) "$(ls "$dir" | grep -c '[0-9]\.json$')" "results ls lists after the reopen"
assert_eq $((N + 10)) "$(ls -l "$dir" | grep -c '[0-9]\.json$')" "results ls -l lists after the reopen"
size1=$(stat -c %s "$dir/results.csv")
[ "$size1" -gt "$size0" ] || fail "stat of results.csv after the reopen: $size1 (was $size0)"
assert_eq "$size1" "$(cat "$dir/results.csv" | wc -c)" "stat and cat of results.csv"
assert_eq $((N + 11)) "$(wc -l <"$dir/results.csv")" "rows of results.csv after the reopen"
head -n 1 "$dir/results.csv" | grep -q 'sum' || fail "no new column: $(head -n 1 "$dir/results.csv")"
[ "$(stat -c %Y.%y "$dir")" != "$mtime0" ] || fail "the set's mtime did not move"
assert_eq "$(stat -c %s "$dir/$((N + 10)).json")" "$(wc -c <"$dir/$((N + 10)).json")" \
    "stat and cat of a new result"

# Reopened by a retry: the failures run again, and their new results show.
submit "{\"experiment\": \"$EXP/fail.sh\", \"tag\": \"f\", \"parameters\": {\"a\": 2, \"i\": [1, 2]}}"
wait_done f 60
ls -l "$MNT/results/f" "$MNT/results/f/failed" >/dev/null
assert_eq 2 "$(ls "$MNT/results/f/failed" | wc -l)" "failures of f"
echo "retry f" >"$MNT/ctl"
cat "$MNT/results/f/wait" >/dev/null
assert_eq 4 "$(ls "$MNT/results/f/failed" | wc -l)" "failures of f after the retry"
assert_eq 4 "$(key "$MNT/results/f/status" failed)" "f's status after the retry"

# Deleted: gone from ls and stat at once.
echo "delete c" >"$MNT/ctl"
ls "$MNT/results" | grep -qx c && fail "ls lists c after its delete"
stat "$dir" >/dev/null 2>&1 && fail "stat finds c after its delete"
stat "$dir/1.json" >/dev/null 2>&1 && fail "stat finds c/1.json after its delete"
log "PASS test_views_cache"
