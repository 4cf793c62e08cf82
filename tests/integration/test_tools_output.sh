#!/usr/bin/env bash
# Experiment output as Python's json.dumps, R's jsonlite and Julia print it
# is accepted and kept: integers beyond 64 bits with their digits, 1e400
# as Infinity, NaN and +-Infinity, "\u0000" in a string, -0.0. Each file
# says them in its own reader's words: N.json, failed/N.json and
# results.jsonl exactly as Python writes them (jq 1.6 parses them),
# results.csv/tsv as pandas and R read back (NaN, Inf, -Inf, bare digits),
# notebook.json as Python's json.load gives epyc (nan, inf, int). Output
# that really is invalid fails with where it is invalid and keeps its head
# as the traceback, stderr's tail after it.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
for c in python raw failed bad multiline notobj; do
    submit "{\"experiment\": \"$EXP/tools_output.py\", \"tag\": \"$c\",
             \"parameters\": {\"case\": \"$c\"}}"
done
for c in python raw failed bad multiline notobj; do wait_done "$c" 60; done
assert_eq 1 "$(key "$MNT/results/python/status" results)" "python: accepted"
assert_eq 1 "$(key "$MNT/results/raw/status" results)" "raw: accepted"

# The exact bytes: every value as the experiment wrote it (keys sorted).
py_results='"results":{"big63":9223372036854775808,"big64":18446744073709551616,"deep":[18446744073709551616,{"n":NaN}],"e20":100000000000000000000,"e40":10000000000000000000000000000000000000000,"i":42,"inf":Infinity,"nan":NaN,"nbig":-18446744073709551616,"negz":-0.0,"ninf":-Infinity,"nul":"a\u0000b","x":0.1}}'
raw_results='"results":{"e":100.0,"nover":-Infinity,"over":Infinity,"tiny":0.0,"z":0}}'
failed_md='"m.big":18446744073709551616,"m.inf":Infinity,"m.nan":NaN,"m.negz":-0.0},"parameters"'
ends_with() { # file suffix what
    local got
    got=$(cat "$1")
    [ "${got%"$2"}" != "$got" ] || fail "$3: $got does not end with $2"
}
ends_with "$MNT/results/python/1.json" "$py_results" "python/1.json"
ends_with "$MNT/results/python/results.jsonl" "$py_results" "python/results.jsonl"
ends_with "$MNT/results/raw/1.json" "$raw_results" "raw/1.json"
failed_json=$(ls "$MNT/results/failed/failed/"*.json)
grep -qF "$failed_md" "$failed_json" || fail "failed/N.json: $(cat "$failed_json")"
grep -qF "$failed_md" "$MNT/results/failed/results.jsonl" || fail "failed results.jsonl"

# jq 1.6 parses every JSON file and sees the values (NaN stays a number).
for f in "$MNT/results/python/1.json" "$MNT/results/python/results.jsonl"; do
    jq -e '.results | (.nan | isnan) and .inf > 1e308 and .ninf < -1e308 and
        .big64 > 1.8e19 and .["e40"] > 9e39 and .nbig < -1.8e19 and .nul == "a\u0000b" and
        .i == 42 and .x == 0.1 and (.deep[1].n | isnan)' "$f" >/dev/null ||
        fail "jq: $f"
done
jq -e '.results | .over > 1e308 and .nover < -1e308 and .tiny == 0' \
    "$MNT/results/raw/1.json" >/dev/null || fail "jq: raw/1.json"
jq -e '.metadata | (.["m.nan"] | isnan) and .["m.big"] > 1.8e19' "$failed_json" \
    >/dev/null || fail "jq: $failed_json"
for t in python raw failed bad multiline notobj; do
    jq -e . "$MNT/results/$t/results.jsonl" >/dev/null || fail "jq: $t/results.jsonl"
done

# pandas (Debian's python3) reads the tables back: NaN, inf, -inf, -0.0,
# integers exact (uint64 where it fits, else their digits as text).
/usr/bin/python3 - "$MNT/results" <<'PY' || fail "pandas"
import math, sys
import pandas as pd
r = sys.argv[1]
for name, sep in (("results.csv", ","), ("results.tsv", "\t")):
    d = pd.read_csv(f"{r}/python/{name}", sep=sep)
    row = d.iloc[0]
    assert int(row["big63"]) == 2**63 and str(row["big63"]) == str(2**63), row["big63"]
    for k, v in (("big64", 2**64), ("e20", 10**20), ("e40", 10**40), ("nbig", -2**64)):
        assert str(row[k]) == str(v), (name, k, row[k])
    assert math.isnan(row["nan"]), row["nan"]
    assert row["inf"] == math.inf and row["ninf"] == -math.inf, (row["inf"], row["ninf"])
    assert row["negz"] == 0 and math.copysign(1, row["negz"]) == -1, row["negz"]
    assert row["nul"] == "a\u2400b", repr(row["nul"])
    assert row["x"] == 0.1 and row["i"] == 42
    assert row["deep"] == '[18446744073709551616,{"n":NaN}]', row["deep"]
    d = pd.read_csv(f"{r}/raw/{name}", sep=sep)
    row = d.iloc[0]
    assert row["over"] == math.inf and row["nover"] == -math.inf, (row["over"], row["nover"])
    assert row["tiny"] == 0 and row["e"] == 100 and row["z"] == 0
PY

if command -v Rscript >/dev/null; then
    Rscript -e '
for (f in commandArgs(TRUE)) {
  d <- read.delim(f, sep = if (grepl("csv$", f)) "," else "\t", encoding = "UTF-8")
  stopifnot(is.nan(d$nan), d$inf == Inf, d$ninf == -Inf, 1 / d$negz == -Inf,
            is.numeric(d$big64), d$big64 == 2^64, d$e20 == 1e20, d$nbig == -2^64,
            d$x == 0.1, d$i == 42, d$nul == "a\u2400b")
}' "$MNT/results/python/results.csv" "$MNT/results/python/results.tsv" || fail "R"
else
    log "no Rscript: R not checked"
fi

# notebook.json as epyc reads it: Python's json.load gives nan, inf and
# exact ints; epyc's loading rules (epyc_reader.py) accept the file.
cp "$MNT/notebook.json" "$WORK/notebook.json"
python3 - "$WORK/notebook.json" <<'PY' || fail "notebook.json"
import json, math, sys
nb = json.load(open(sys.argv[1]))
r = nb["resultsets"]["python"]["results"][0]["results"]
assert r["big63"] == 2**63 and r["big64"] == 2**64 and r["e40"] == 10**40, r
assert r["nbig"] == -2**64 and r["i"] == 42 and r["x"] == 0.1
assert math.isnan(r["nan"]) and r["inf"] == math.inf and r["ninf"] == -math.inf
assert math.copysign(1, r["negz"]) == -1 and r["nul"] == "a\0b"
assert r["deep"][0] == 2**64 and r["deep"][1][0] == "n" and math.isnan(r["deep"][1][1])
r = nb["resultsets"]["raw"]["results"][0]["results"]
assert r["over"] == math.inf and r["nover"] == -math.inf and r["tiny"] == 0.0
m = nb["resultsets"]["failed"]["results"][0]["metadata"]
assert m["m.big"] == 2**64 and math.isnan(m["m.nan"]) and m["m.inf"] == math.inf
PY
python3 "$CLAB_SRC/tests/integration/epyc_reader.py" "$WORK/notebook.json" >/dev/null ||
    fail "epyc's rules refuse notebook.json"

# Invalid output: where it is invalid, its head as the traceback, then
# stderr's tail; valid JSON that is not an object: the plain reason.
python3 - "$MNT/results" <<'PY' || fail "invalid output"
import glob, json, sys
r = sys.argv[1]
def md(tag):
    (f,) = glob.glob(f"{r}/{tag}/failed/*.json")
    return json.load(open(f))["metadata"]
m = md("bad")
assert m["epyc.experiment.exception"] == \
    "stdout is not a JSON object: invalid token at line 1, column 15", m
tb = m["epyc.experiment.traceback"]
assert '{"a": 1, "b": tru}' in tb, tb
assert tb.endswith("the tail of stderr\n"), tb
m = md("multiline")
assert m["epyc.experiment.exception"] == \
    "stdout is not a JSON object: invalid token at line 3, column 8", m
assert '{\n  "a": NaN,\n  "b": nope\n}' in m["epyc.experiment.traceback"], m
m = md("notobj")
assert m["epyc.experiment.exception"] == "stdout is not a JSON object", m
m = md("failed")
assert m["epyc.experiment.exception"] == "ValueError: boom", m
PY

# retry reads a failed record's parameters back from the notebook: one
# holding NaN and a big integer in its metadata runs again.
printf 'retry failed\n' >"$MNT/ctl"
wait_for 60 "the retried point" 'test "$(key "$MNT/results/failed/status" failed)" = 2'
wait_done failed 60
log "PASS test_tools_output"
