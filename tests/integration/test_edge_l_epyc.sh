#!/usr/bin/env bash
# Issue 9, edge 10: notebook.json loads in epyc for every result shape.
# Experiments print null, objects, arrays (empty, nested, of objects, of
# nulls) as values, each value the first of its column (that is where epyc
# types a column); a set gets pending points with different parameter
# names, and one has results with some names and pending points with
# others. epyc_reader.py (epyc's JSONLabNotebook v2 loading rules) must
# load the file with every result and pending point; so must the real
# epyc when EPYC_SRC names its source tree and it imports (skipped
# otherwise).
. "$(dirname "$0")/lib.sh"

mount_lab --engines 1
wait_for 30 "1 engine" 'test "$(key "$MNT/status" engines)" = 1'

cat >"$WORK/shapes.py" <<'PY'
#!/usr/bin/env python3
import json, sys
shape = json.loads(sys.stdin.read())["shape"]
values = {
    "null": None, "object": {"a": 1, "b": [1, {"c": None}], "d": {}},
    "empty_object": {}, "array": [1, 2, 3], "empty_array": [],
    "nested": [[1, 2], [3]], "array_of_objects": [{"k": "v"}, {}],
    "array_of_nulls": [None, 1], "string_with_braces": "{\"x\": null, [1]}",
}
print(json.dumps({"v_" + shape: values[shape], "n": 1}))
PY
cat >"$WORK/slow.sh" <<'SH'
#!/bin/sh
sleep 600
SH
cat >"$WORK/fast.sh" <<'SH'
#!/bin/sh
echo '{"y": 1}'
SH
chmod +x "$WORK/shapes.py" "$WORK/slow.sh" "$WORK/fast.sh"

submit "{\"experiment\": \"$WORK/shapes.py\", \"tag\": \"shapes\", \"parameters\": {\"shape\": [\"null\", \"object\", \"empty_object\", \"array\", \"empty_array\", \"nested\", \"array_of_objects\", \"array_of_nulls\", \"string_with_braces\"]}}"
wait_done shapes 60
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
assert sets["shapes"]["results"] == 9 and sets["shapes"]["pending"] == 0, sets["shapes"]
assert sets["mixed"]["results"] == 2 and sets["mixed"]["pending"] == 2, sets["mixed"]
assert sets["mixed"]["parameters"] == ["x", "z"], sets["mixed"]
assert sets["pend"]["pending"] == 6, sets["pend"]
assert sets["pend"]["parameters"] == ["a", "b", "c"], sets["pend"]
PY

# What a plain JSON reader sees for each shape: objects as [k, v, ...]
# lists, null as NaN (pandas' missing value); strings untouched.
python3 - "$WORK/notebook.json" <<'PY' || fail "values in notebook.json"
import json, math, sys
nb = json.load(open(sys.argv[1]))
got = {}
for rc in nb["resultsets"]["shapes"]["results"]:
    for k, v in rc["results"].items():
        if k.startswith("v_"):
            got[k[2:]] = v
assert math.isnan(got["null"]), got
assert got["object"][0::2] == ["a", "b", "d"], got["object"]
assert got["object"][1] == 1 and got["object"][3][0] == 1 and got["object"][5] == [], got
assert got["object"][3][1][0] == "c" and math.isnan(got["object"][3][1][1]), got
assert got["empty_object"] == [] and got["array"] == [1, 2, 3] and got["empty_array"] == []
assert got["nested"] == [[1, 2], [3]] and got["array_of_objects"] == [["k", "v"], []]
assert math.isnan(got["array_of_nulls"][0]) and got["array_of_nulls"][1] == 1
assert got["string_with_braces"] == "{\"x\": null, [1]}", got
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
assert len(nb.resultSet("shapes").dataframe()) == 9
assert nb.resultSet("mixed").numberOfPendingResults() == 2
assert nb.resultSet("pend").numberOfPendingResults() == 6
print("epyc loaded", sorted(nb.resultSets()))
PY
    else
        log "epyc does not import from EPYC_SRC=$EPYC_SRC: real epyc not tried"
    fi
fi
log "PASS test_edge_l_epyc"
