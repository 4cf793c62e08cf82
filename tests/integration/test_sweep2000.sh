#!/usr/bin/env bash
# 2,000 points of a trivial experiment on the embedded cluster: no errors,
# every point exactly once in results.csv.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
start=$(date +%s.%N)
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"i\": {\"range\": [0, 2000]}}, \"tag\": \"big\"}"
wait_done big 300
end=$(date +%s.%N)
st=$MNT/results/big/status
assert_eq 2000 "$(key "$st" results)" "results"
assert_eq 0 "$(key "$st" failed)" "failed"
assert_eq 0 "$(key "$st" pending)" "pending"
csv=$MNT/results/big/results.csv
assert_eq 2001 "$(wc -l <"$csv")" "results.csv lines"
assert_eq i "$(head -n 1 "$csv" | cut -d, -f1)" "first column"
assert_eq "$(seq 0 1999)" "$(tail -n +2 "$csv" | cut -d, -f1 | sort -n)" "each point once"
assert_eq 2000 "$(ls "$MNT/results/big" | grep -c '^[0-9]*\.json$')" "result files"
log "PASS test_sweep2000 ($(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", 2000 / (e - s) }') results/s)"
