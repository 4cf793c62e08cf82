#!/usr/bin/env bash
# Failing experiments land in failed/ with epyc's metadata, and count as
# finished in ready_fraction.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
submit "{\"experiment\": \"$EXP/fail.sh\", \"parameters\": {\"a\": [1, 2, 3]}, \"tag\": \"f\"}"
wait_done f
st=$MNT/results/f/status
assert_eq 2 "$(key "$st" results)" "results"
assert_eq 1 "$(key "$st" failed)" "failed"
assert_eq 0 "$(key "$st" pending)" "pending"
assert_eq 1.000000 "$(key "$st" ready_fraction)" "ready_fraction"
n=$(ls "$MNT/results/f/failed")
assert_eq 1 "$(echo "$n" | wc -l)" "one failed file"
python3 - "$MNT/results/f/failed/$n" <<'PY' || fail "failed result contents"
import json, sys
doc = json.load(open(sys.argv[1]))
m = doc["metadata"]
assert doc["parameters"] == {"a": 2}, doc["parameters"]
assert m["epyc.experiment.status"] is False
assert m["epyc.experiment.exception"] == "exit status 3", m["epyc.experiment.exception"]
assert "bad a" in m["epyc.experiment.traceback"]
assert m["clab.exit_status"] == 3
PY
# The failed point is not in results.csv; the others are.
assert_eq 3 "$(wc -l <"$MNT/results/f/results.csv")" "results.csv lines"
grep -q '^2,' "$MNT/results/f/results.csv" && fail "failed point in results.csv"
# N numbering is shared: the failed file's number is not a result file.
[ -e "$MNT/results/f/$n" ] && fail "$n is both failed and succeeded"
log "PASS test_failures"
