#!/usr/bin/env bash
# Failing experiments land in failed/ with epyc's metadata, and count as
# finished in ready_fraction, in every read while the sweep runs.
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

# While a sweep with failures runs, every read of the status has
# ready_fraction = (results + failed) / (results + failed + pending): the
# failures count as finished long before the end.
submit "{\"experiment\": \"$EXP/odd_fails.py\", \"parameters\": {\"i\": {\"range\": [0, 40]}, \"sleep\": 0.1}, \"tag\": \"g\"}"
mid=0
rounds=0
while :; do
    cat "$MNT/results/g/status" >"$WORK/st"
    check_fraction "$WORK/st" >/dev/null
    [ "$(key "$WORK/st" failed)" -gt 0 ] && [ "$(key "$WORK/st" pending)" -gt 0 ] && mid=$((mid + 1))
    [ "$(key "$WORK/st" done)" = 1 ] && break
    rounds=$((rounds + 1))
    [ $rounds -lt 3000 ] || fail "set g never finished"
    sleep 0.02
done
[ $mid -ge 3 ] || fail "only $mid reads with failures and pending points"
assert_eq 20 "$(key "$WORK/st" results)" "g results"
assert_eq 20 "$(key "$WORK/st" failed)" "g failed"
assert_eq 1.000000 "$(key "$WORK/st" ready_fraction)" "g ready_fraction at the end"
log "PASS test_failures"
