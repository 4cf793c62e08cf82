#!/usr/bin/env bash
# epyc parity: results.csv and results.tsv have their header as soon as the
# set's parameter names are known, before any result: pandas and R read a
# table with those columns and no rows. Failures add no row and leave it;
# the first result brings its columns.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 1
# One engine busy for a minute on the first point: the others wait.
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"h\",
         \"parameters\": {\"b\": [1, 2, 3], \"a\": \"x\", \"sleep\": 60}}"
csv=$MNT/results/h/results.csv
tsv=$MNT/results/h/results.tsv
assert_eq 0 "$(key "$MNT/results/h/status" results)" "results before the header check"
assert_eq "a,b,sleep" "$(cat "$csv")" "results.csv before the first result"
assert_eq "$(printf 'a\tb\tsleep')" "$(cat "$tsv")" "results.tsv before the first result"
assert_eq 10 "$(stat -c %s "$csv")" "size of results.csv"
assert_eq 10 "$(wc -c <"$tsv")" "size of results.tsv"

/usr/bin/python3 - "$csv" "$tsv" <<'PY' || fail "pandas"
import sys
import pandas as pd
d = pd.read_csv(sys.argv[1])
assert list(d.columns) == ["a", "b", "sleep"] and len(d) == 0, d
t = pd.read_csv(sys.argv[2], sep="\t")
assert list(t.columns) == ["a", "b", "sleep"] and len(t) == 0, t
PY
if command -v Rscript >/dev/null; then
    assert_eq "a b sleep 0" \
        "$(Rscript -e 'd <- read.csv(commandArgs(TRUE)[1]); cat(names(d), nrow(d))' "$csv")" \
        "R's read.csv before the first result"
else
    log "Rscript not installed: the R check is skipped"
fi

# Cancelled points are failures: still no row, the same header.
printf 'cancel h\n' >"$MNT/ctl"
wait_done h 60
assert_eq 3 "$(key "$MNT/results/h/status" failed)" "cancelled points"
assert_eq "a,b,sleep" "$(cat "$csv")" "results.csv after the cancel"

# The first result brings its columns.
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"h\",
         \"parameters\": {\"b\": 9, \"a\": \"y\", \"sleep\": 0}}"
wait_for 30 "the result" '[ "$(key "$MNT/results/h/status" results)" = 1 ]'
assert_eq "a,b,sleep,i,ok" "$(head -n 1 "$csv" | cut -d, -f1-5)" "header with the result's columns"
assert_eq 2 "$(wc -l <"$csv")" "lines of results.csv"
log "PASS test_tools_header_first"
