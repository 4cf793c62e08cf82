#!/usr/bin/env bash
# Issue 9, edge 10: notebook.json loads in epyc for every result shape.
# A set gets pending points with different parameter names, and one has
# results with some names and pending points with others. epyc_reader.py
# (epyc's JSONLabNotebook v2 loading rules) must load the file with every
# result and pending point; so must the real epyc when EPYC_SRC names its
# source tree and it imports (skipped otherwise).
. "$(dirname "$0")/lib.sh"

mount_lab --engines 1
wait_for 30 "1 engine" 'test "$(key "$MNT/status" engines)" = 1'

cat >"$WORK/slow.sh" <<'SH'
#!/bin/sh
sleep 600
SH
cat >"$WORK/fast.sh" <<'SH'
#!/bin/sh
echo '{"y": 1}'
SH
chmod +x "$WORK/slow.sh" "$WORK/fast.sh"

# results, then pending points with other names in the same set
submit "{\"experiment\": \"$WORK/fast.sh\", \"tag\": \"mixed\", \"parameters\": {\"x\": [1, 2]}}"
wait_done mixed 60
# the one engine is kept busy from here on: the rest stays pending
submit "{\"experiment\": \"$WORK/slow.sh\", \"tag\": \"busy\", \"parameters\": {}}"
wait_for 30 "the engine busy" "grep -qs 'state busy' $MNT/engines/*"
submit "{\"experiment\": \"$WORK/slow.sh\", \"tag\": \"mixed\", \"parameters\": {\"z\": [1, 2]}}"
submit "{\"experiment\": \"$WORK/slow.sh\", \"tag\": \"pend\", \"parameters\": {\"a\": [1, 2, 3]}}"
submit "{\"experiment\": \"$WORK/slow.sh\", \"tag\": \"pend\", \"parameters\": {\"b\": [1, 2], \"c\": \"s\"}}"
submit "{\"experiment\": \"$WORK/slow.sh\", \"tag\": \"pend\", \"parameters\": {\"a\": 9}}"

cp "$MNT/notebook.json" "$WORK/notebook.json"
# The size promised is the size read.
assert_eq "$(stat -c %s "$MNT/notebook.json")" "$(stat -c %s "$WORK/notebook.json")" "notebook.json size"

out=$(python3 "$CLAB_SRC/tests/integration/epyc_reader.py" "$WORK/notebook.json") ||
    fail "epyc's rules refuse notebook.json: $out"
python3 - "$out" <<'PY' || fail "what the reader loaded: $out"
import json, sys
sets = json.loads(sys.argv[1])
assert sets["mixed"]["results"] == 2 and sets["mixed"]["pending"] == 2, sets["mixed"]
assert sets["mixed"]["parameters"] == ["x", "z"], sets["mixed"]
assert sets["pend"]["pending"] == 6, sets["pend"]
assert sets["pend"]["parameters"] == ["a", "b", "c"], sets["pend"]
PY

# The real epyc, when it is there.
if [ -n "${EPYC_SRC:-}" ]; then
    py=
    for p in python3 /usr/bin/python3; do
        if PYTHONPATH=$EPYC_SRC "$p" -c 'import epyc' 2>/dev/null; then py=$p; break; fi
    done
    if [ -n "$py" ]; then
        PYTHONPATH=$EPYC_SRC "$py" - "$WORK/notebook.json" <<'PY' || fail "epyc cannot load notebook.json"
import sys, epyc
nb = epyc.JSONLabNotebook(sys.argv[1])
assert nb.resultSet("mixed").numberOfPendingResults() == 2
assert nb.resultSet("pend").numberOfPendingResults() == 6
print("epyc loaded", sorted(nb.resultSets()))
PY
    else
        log "epyc does not import from EPYC_SRC=$EPYC_SRC: real epyc not tried"
    fi
fi
log "PASS test_edge_l_epyc"
