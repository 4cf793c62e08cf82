#!/usr/bin/env bash
# A result set of 100,000 results listed by ls, ls -l, find and a shell
# glob, with the time each takes and clabfs's memory. Slow (about two
# minutes on two cores): runs only with CLAB_SLOW=1.
if [ "${CLAB_SLOW:-0}" != 1 ]; then
    echo "test_views_listing: skipped (set CLAB_SLOW=1 to list 100,000 results)"
    exit 77
fi
. "$(dirname "$0")/lib.sh"

N=${CLAB_LISTING_N:-100000}
mount_lab --engines 2
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": {\"range\": [0, $N]}}, \"tag\": \"big\"}"
start=$SECONDS
timeout 900 cat "$MNT/results/big/wait" >/dev/null || fail "the set did not finish"
log "$N results in $((SECONDS - start))s"
d=$MNT/results/big
pid=$(pgrep -f "$CLABFS --state $STATE" | head -n 1)
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status"; }
rss0=$(rss)

# timed WHAT COMMAND...: runs COMMAND, prints how long it took.
timed() {
    local what=$1 t0
    shift
    t0=$(date +%s%N)
    "$@"
    log "$what: $((($(date +%s%N) - t0) / 1000000)) ms"
}
timed "ls" bash -c "ls '$d' >'$WORK/ls'"
timed "ls -l" bash -c "ls -l '$d' >'$WORK/ls-l'"
timed "find" bash -c "find '$d' -name '[0-9]*.json' >'$WORK/find'"
timed "glob" bash -c "cd '$d' && printf '%s\n' [0-9]*.json >'$WORK/glob'"
timed "ls -U | wc -l" bash -c "ls -U '$d' | wc -l >'$WORK/count'"
log "clabfs VmRSS: ${rss0} kB after the run, $(rss) kB after the listings"

seq "$N" | sed 's/$/.json/' | sort >"$WORK/want"
assert_eq "$(cat "$WORK/want")" "$(grep '^[0-9]*\.json$' "$WORK/ls")" "ls"
assert_eq "$N" "$(grep -c ' [0-9]*\.json$' "$WORK/ls-l")" "ls -l"
assert_eq "$N" "$(sort -u "$WORK/find" | wc -l)" "find"
assert_eq "$(cat "$WORK/want")" "$(sort "$WORK/glob")" "glob"
# N results and 10 fixed entries (wait opens by name only, unlisted).
assert_eq $((N + 10)) "$(cat "$WORK/count")" "ls -U"
# ls -l gives each file its size.
awk '$NF ~ /^[0-9]+\.json$/ && $5 < 100 { bad++ } END { exit bad > 0 }' "$WORK/ls-l" ||
    fail "ls -l sizes"
[ "$(rss)" -lt 262144 ] || fail "clabfs uses $(rss) kB"
log "PASS test_views_listing"
