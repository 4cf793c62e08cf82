#!/usr/bin/env bash
# clab-python: its own tests through pipes (tests/python, both modes), then
# one-shot through a real mount: callables, a class written to epyc's
# interface, one raising in do, a repeated experiment, the #! line with
# --python, and real epyc when EPYC_SRC makes it importable. The rows and
# failures must carry the results and the exception text: an epyc
# experiment's as epyc stores it (str(exception)), a callable's with its
# class; a repetition's own metadata is metadata.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
PYT=$CLAB_SRC/tests/python
ONE=$PYT/oneshot

log "== clab-python through pipes"
"$PY" -m unittest discover -s "$PYT" -t "$PYT" 2>&1 | tail -n 40 >&2 ||
    fail "tests/python (unittest) failed" # pipefail: unittest's status

EPYC=0
if PYTHONPATH=${EPYC_SRC:-} "$PY" -c 'import epyc' 2>/dev/null; then EPYC=1; fi
log "epyc importable: $EPYC"

mount_lab --engines 2
job() { # TAG EXPERIMENT PARAMETERS
    submit "{\"experiment\": \"$ONE/$2\", \"parameters\": $3, \"tag\": \"$1\"}"
}
job boom boom '{"x": {"range": [0, 5]}}'
job lab lab '{"x": [1, 2, 3], "k": 2}'
job raises lab-raises '{"x": [1, 2]}'
job rep repeated '{"x": [3]}'
job shebang shebang '{"x": [4, 5]}'
[ $EPYC = 0 ] || job epyc epyc-square '{"x": [1, 2], "k": 3}'
for t in boom lab raises rep shebang; do wait_done $t 300; done
[ $EPYC = 0 ] || wait_done epyc 300

"$PY" - "$MNT/results" "$EPYC" <<'PY' || fail "results of clab-python's sets"
import csv, glob, json, os, sys
root, epyc = sys.argv[1], sys.argv[2] == "1"

def records(tag):
    return [json.loads(l) for l in open(os.path.join(root, tag, "results.jsonl"))]

def rows(tag):
    return list(csv.DictReader(open(os.path.join(root, tag, "results.csv"), newline="")))

def failed(tag):
    return [json.load(open(f)) for f in glob.glob(os.path.join(root, tag, "failed", "*.json"))]

def check(tag, want, fails, classname, per_result=()):
    """want: x -> results of the point; fails: x -> exception text."""
    got = rows(tag)
    # A result named like a metadata column is headed results.NAME.
    col = lambda r, k: r[k] if k in r else r["results." + k]
    seen = {}
    for r in got:
        x = int(r["x"])
        seen.setdefault(x, []).append(sorted((k, col(r, k)) for k in want[x][0]))
        assert r["epyc.experiment.classname"] == classname, r
        for k in per_result:
            assert k in r, (k, r)
    assert {x: sorted(v) for x, v in seen.items()} == \
        {x: sorted(sorted((k, str(v)) for k, v in w.items()) for w in ws)
         for x, ws in want.items()}, (tag, seen)
    bad = {f["parameters"]["x"]: f["metadata"]["epyc.experiment.exception"] for f in failed(tag)}
    assert bad == fails, (tag, bad)
    for f in failed(tag):
        m = f["metadata"]
        assert m["epyc.experiment.exception"].split()[0].rstrip(":") in m["epyc.experiment.traceback"], m
    print("%s: %d results, %d failures" % (tag, sum(len(w) for w in want.values()), len(fails)))

check("boom", {x: [{"y": x * x}] for x in (0, 1, 3, 4)},
      {2: "ValueError: x is 2 and that is bad"}, "experiments.boom")
check("lab", {x: [{"y": 2 * x * x}] for x in (1, 2, 3)}, {}, "experiments.Square",
      per_result=())
check("raises", {}, {x: "cannot do x=%d" % x for x in (1, 2)}, "experiments.RaisesInDo")
check("rep", {3: [{"y": 9, "epyc.experiment.rep": i} for i in range(3)]}, {},
      "experiments.Square", per_result=("epyc.experiment.start_time", "epyc.experiment.rep",
                                        "epyc.experiment.repetitions", "clab.elapsed_time"))
check("shebang", {x: [{"y": x * x}] for x in (4, 5)}, {}, "experiments.square")
if epyc:
    check("epyc", {x: [{"y": 3 * x * x}] for x in (1, 2)}, {}, "epyc_experiments.Square")
PY
log "PASS test_clab_python"
