#!/usr/bin/env bash
# The tables through the readers people use, row for row against the
# N.json files: R's read.csv and read.delim, gnuplot's stats, Python's csv
# and json, jq; and /notebook.json checked field by field against epyc's
# JSONLabNotebook version 2 layout.
. "$(dirname "$0")/lib.sh"

for tool in Rscript gnuplot jq; do
    command -v $tool >/dev/null || fail "$tool is not installed (scripts/deps.sh installs it)"
done

# Results of every awkward shape: quotes, commas, #, tabs and line breaks in
# strings, booleans, reals, arrays, null, keys only some points have, and
# one failure.
cat >"$WORK/exp.py" <<'EOF'
#!/usr/bin/env python3
import json, sys
p = json.loads(sys.stdin.readline())
x = p["x"]
if x == 13:
    sys.stderr.write("unlucky\n")
    sys.exit(3)
r = {"y": x / 10, "label": 'say "hi", #%d' % x, "flag": x % 2 == 0,
     "arr": [x, x / 2], "multi": "two\nlines\tand tab" if x % 5 == 0 else "one"}
if x % 3 == 0:
    r["late"] = x * 1.5
if x % 4 == 0:
    r["none"] = None
print(json.dumps(r))
EOF
chmod +x "$WORK/exp.py"

mount_lab --engines 2
submit "{\"experiment\": \"$WORK/exp.py\", \"parameters\": {\"x\": {\"range\": [0, 40]}, \"s\": \"p q\"}, \"tag\": \"r\", \"description\": \"readers, \\\"quoted\\\"\"}"
wait_done r
d=$MNT/results/r
assert_eq 39 "$(key "$d/status" results)" "results"
assert_eq 1 "$(key "$d/status" failed)" "failed"

# What each reader is expected to see, from the N.json files.
cat >"$WORK/expect.py" <<'EOF'
import json, os, sys
d = os.environ["SET"]
def numbered(sub):
    names = [n for n in os.listdir(sub) if n.endswith(".json") and n[:-5].isdigit()]
    return sorted(int(n[:-5]) for n in names)
ok = [(n, json.load(open(f"{d}/{n}.json"))) for n in numbered(d)]
failed = [(n, json.load(open(f"{d}/failed/{n}.json"))) for n in numbered(f"{d}/failed")]
parts = ("parameters", "results", "metadata")
cols = [(p, k) for p in parts for k in sorted({k for _, doc in ok for k in doc[p]})]
def cell(v, tsv=False):
    if v is None:
        return ""
    if v is True or v is False:
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        r = repr(v)
        return r[:-2] if r.endswith(".0") else r
    if isinstance(v, (list, dict)):
        v = json.dumps(v, separators=(",", ":"), sort_keys=True)
    v = str(v)
    return v.translate({9: 32, 10: 32, 13: 32}) if tsv else v
EOF

# Python's csv and json.
SET=$d python3 - "$WORK/expect.py" <<'EOF' || fail "python csv/json readers"
import csv, json, sys
exec(open(sys.argv[1]).read())
header = [k for _, k in cols]
for name, tsv in (("results.csv", False), ("results.tsv", True)):
    with open(f"{d}/{name}", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if tsv
                    else csv.reader(f))
    assert rows[0] == header, (name, rows[0], header)
    assert len(rows) == 1 + len(ok), (name, len(rows))
    for (n, doc), row in zip(ok, rows[1:]):
        want = [cell(doc[p].get(k), tsv) for p, k in cols]
        assert row == want, (name, n, row, want)
        for (p, k), c in zip(cols, row):
            v = doc[p].get(k)
            if isinstance(v, float):
                assert float(c) == v, (name, n, k, c, v)
lines = open(f"{d}/results.jsonl").read().splitlines()
every = sorted(ok + failed)
assert [json.loads(l) for l in lines] == [doc for _, doc in every], "results.jsonl"
print("python: %d rows, %d columns, %d jsonl lines" % (len(ok), len(cols), len(lines)))
EOF

# R: read.csv and read.delim, types and every value. TSV has no quoting, so
# read.delim is told not to look for quotes (README says so).
cat >"$WORK/r.R" <<'EOF'
args <- commandArgs(trailingOnly = TRUE)
d <- if (args[2] == "csv") read.csv(args[1], check.names = FALSE, stringsAsFactors = FALSE) else
    read.delim(args[1], check.names = FALSE, stringsAsFactors = FALSE, quote = "")
cat(nrow(d), ncol(d), "\n")
cat(sapply(d[c("x", "s", "y", "flag", "late", "none", "label", "multi", "arr")], class), "\n")
esc <- function(s) gsub("\t", "\\\\t", gsub("\n", "\\\\n", s))
num <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
cat(sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d$x, d$s, num(d$y), d$flag, num(d$late),
            d$none, esc(d$label), esc(d$multi), d$arr), sep = "")
EOF
for fmt in csv tsv; do
    Rscript "$WORK/r.R" "$d/results.$fmt" $fmt >"$WORK/r.$fmt.out" 2>"$WORK/r.$fmt.err" ||
        fail "R on results.$fmt: $(cat "$WORK/r.$fmt.err")"
done
SET=$d python3 - "$WORK/expect.py" "$WORK" <<'EOF' || fail "R readers"
import sys
exec(open(sys.argv[1]).read())
for fmt in ("csv", "tsv"):
    out = open(f"{sys.argv[2]}/r.{fmt}.out").read().split("\n")
    assert out[0].split() == [str(len(ok)), str(len(cols))], out[0]
    assert out[1].split() == ["integer", "character", "numeric", "logical", "numeric",
                              "logical", "character", "character", "character"], out[1]
    want = []
    for n, doc in ok:
        p, r = doc["parameters"], doc["results"]
        multi = r["multi"] if fmt == "csv" else cell(r["multi"], True)
        late = "%.17g" % r["late"] if "late" in r else "NA"
        want.append("\t".join([str(p["x"]), p["s"], "%.17g" % r["y"],
                               "TRUE" if r["flag"] else "FALSE", late, "NA",
                               r["label"].replace("\t", "\\t"),
                               multi.replace("\n", "\\n").replace("\t", "\\t"),
                               cell(r["arr"])]))
    assert out[2:-1] == want, (fmt, [(a, b) for a, b in zip(out[2:], want) if a != b][:3])
print("R: read.csv and read.delim agree")
EOF

# gnuplot: stats over columns by name, missing cells skipped.
cat >"$WORK/stats.gp" <<EOF
set datafile separator "\t"
set datafile columnheaders
stats "$d/results.tsv" using "y" nooutput
print STATS_records, STATS_invalid, sprintf("%.10g", STATS_sum)
stats "$d/results.tsv" using "late" nooutput
print STATS_records, STATS_invalid, sprintf("%.10g", STATS_sum)
EOF
gnuplot "$WORK/stats.gp" >"$WORK/gp.out" 2>&1 || fail "gnuplot: $(cat "$WORK/gp.out")"
SET=$d python3 - "$WORK/expect.py" "$WORK/gp.out" <<'EOF' || fail "gnuplot stats"
import sys
exec(open(sys.argv[1]).read())
got = open(sys.argv[2]).read().split("\n")
ys = [doc["results"]["y"] for _, doc in ok]
lates = [doc["results"]["late"] for _, doc in ok if "late" in doc["results"]]
assert got[0].split() == [str(len(ys)), "0", "%.10g" % sum(ys)], got[0]
assert got[1].split() == [str(len(lates)), str(len(ys) - len(lates)), "%.10g" % sum(lates)], got[1]
print("gnuplot: stats agree")
EOF

# jq on the JSON views.
SET=$d python3 - "$WORK/expect.py" "$MNT/notebook.json" <<'EOF' || fail "jq"
import subprocess, sys
exec(open(sys.argv[1]).read())
def jq(*args):
    return subprocess.run(["jq", *args], check=True, capture_output=True, text=True).stdout.split()
every = sorted(ok + failed)
assert jq("-s", "length", f"{d}/results.jsonl") == [str(len(every))]
ys = jq("-r", 'select(.metadata["epyc.experiment.status"]) | .results.y', f"{d}/results.jsonl")
assert [float(y) for y in ys] == [doc["results"]["y"] for _, doc in ok], ys
assert jq(".resultsets.r.results | length", sys.argv[2]) == [str(len(every))]
assert jq('[.resultsets.r.results[] | select(.metadata["epyc.experiment.status"] | not)]'
          ' | length', sys.argv[2]) == ["1"]
print("jq agrees")
EOF

# /notebook.json: epyc's JSONLabNotebook version 2, field by field, with a
# second set half done so that pending results show.
submit "{\"experiment\": \"$EXP/sum.py\", \"parameters\": {\"a\": [1, 2], \"b\": [5], \"sleep\": 30}, \"tag\": \"p\"}"
echo "select r" >"$MNT/ctl"
SET=$d python3 - "$WORK/expect.py" "$MNT/notebook.json" "$MNT/results" "$WORK/exp.py" <<'EOF' ||
import json, os, sys
exec(open(sys.argv[1]).read())
nb_path, results, exp = sys.argv[2:5]
nb = json.load(open(nb_path))
assert os.path.getsize(nb_path) == len(open(nb_path, "rb").read())
assert list(nb) == ["creator", "version", "description", "current", "locked", "resultsets"], list(nb)
assert nb["version"] == "2" and nb["locked"] is False and nb["current"] == "r"
assert isinstance(nb["creator"], str) and nb["creator"].startswith("clabfs ")
assert isinstance(nb["description"], str)
rs = nb["resultsets"]
assert list(rs) == ["epyc.resultset.default", "r", "p"], list(rs)
assert rs["epyc.resultset.default"] == {"results": [], "pending-results": {},
                                        "description": "Default result set", "locked": False}
r = rs["r"]
assert list(r) == ["results", "pending-results", "clab.experiment", "description", "locked"], list(r)
assert r["description"] == 'readers, "quoted"' and r["locked"] is False
assert r["clab.experiment"] == exp and r["pending-results"] == {}
# As epyc reads them (README, notebook.json and epyc): inside a result's
# parts null is NaN and an object the flat list of its keys and values.
import math
def flat(v):
    if isinstance(v, dict):
        return [y for k, x in v.items() for y in (k, flat(x))]
    if isinstance(v, list):
        return [flat(x) for x in v]
    return "NaN" if v is None else v
def seen(v):
    if isinstance(v, list):
        return [seen(x) for x in v]
    if isinstance(v, dict):
        return {k: seen(x) for k, x in v.items()}
    return "NaN" if isinstance(v, float) and math.isnan(v) else v
want = [{part: {k: flat(x) for k, x in doc[part].items()} for part in doc}
        for _, doc in sorted(ok + failed)]
assert seen(r["results"]) == want
assert any(x == "NaN" for d in want for x in d["results"].values()), "no null result to map"
for doc in r["results"]:
    assert list(doc) == ["metadata", "parameters", "results"]
    m = doc["metadata"]
    assert isinstance(m["epyc.experiment.status"], bool)
    for k in ("epyc.experiment.start_time", "epyc.experiment.end_time"):
        assert isinstance(m[k], str) and m[k][4] == "-" and m[k][10] == "T", m[k]
    if not m["epyc.experiment.status"]:
        assert doc["results"] == {} and m["epyc.experiment.exception"] == "exit status 3"
p = rs["p"]
assert p["results"] == [] and p["description"] == "" and p["locked"] is False
pend = p["pending-results"]
assert sorted(pend.values(), key=lambda v: v["a"]) == [
    {"a": 1, "b": 5, "sleep": 30}, {"a": 2, "b": 5, "sleep": 30}], pend
jobs = sorted(pend)
# pending: one {"job", "parameters"} per line, the same jobs as epyc's view.
lines = [json.loads(l) for l in open(f"{results}/p/pending")]
assert all(list(l) == ["job", "parameters"] for l in lines), lines
assert {l["job"]: l["parameters"] for l in lines} == pend, (lines, pend)
assert all(isinstance(j, str) and j for j in jobs)
print("notebook.json: epyc v2 layout, %d sets" % len(rs))
EOF
    fail "notebook.json"
log "PASS test_tools_readers"
