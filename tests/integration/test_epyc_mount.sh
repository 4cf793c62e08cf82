#!/usr/bin/env bash
# SPEC third wave, "epyc, faithfully" and "Designs and values", on one real
# mount with a real cluster, and real epyc (EPYC_SRC) reading what it
# writes:
# - "design": "pointwise" runs exactly epyc's PointwiseDesign points, one-
#   value axes extended; "points" runs the objects given, as given;
#   {"value": X} is one value of any JSON type;
# - a result named like a parameter and one named like epyc's metadata:
#   JSONLabNotebook loads /notebook.json and results/TAG/notebook.json
#   (that set alone, current), where they are results.NAME, while N.json
#   keeps the plain names;
# - cancel TAG JOB...: the named points, running or not, become epyc's
#   cancelled record (exception Cancelled), the running one is killed,
#   the other never starts, the rest run, and the controller keeps nothing
#   of them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

PY=/usr/bin/python3
PYTHONPATH=$EPYC_SRC "$PY" -c 'import epyc' 2>/dev/null ||
    fail "epyc does not import from EPYC_SRC=$EPYC_SRC with $PY"

cat >"$WORK/echo.py" <<'PY'
#!/usr/bin/env python3
# Its point, as text, and results named like a parameter (c) and like
# epyc's metadata.
import json, sys
p = json.loads(sys.stdin.readline())
print(json.dumps({"point": json.dumps(p, sort_keys=True), "c": "mine",
                  "epyc.experiment.exception": "not one"}))
PY
chmod +x "$WORK/echo.py"

mount_lab --engines 1
echo_job() { # TAG FIELDS
    submit "{\"experiment\": \"$WORK/echo.py\", \"tag\": \"$1\", $2}"
}
echo_job pw '"design": "pointwise", "parameters": {"a": [1, 2, 3], "b": {"range": [10, 13]}, "c": 0, "d": [true]}'
echo_job pts '"points": [{"x": 1, "y": [1, 2]}, {"x": {"range": [0, 3]}}, {"z": null}]'
echo_job val '"parameters": {"shape": {"value": [3, 4]}, "n": {"value": null}, "x": [{"value": {"k": 1}}, 2]}'
for t in pw pts val; do wait_done $t 60; done

# cancel TAG JOB: one running, one not started, on the one engine.
logged slow 4 3
wait_for 30 "a point of slow to start" 'test "$(started slow)" -ge 1'
jobs=$("$PY" - "$MNT/results/slow/pending" "$STARTS" <<'PY'
import json, sys
started = {int(l.split()[1]) for l in open(sys.argv[2]) if l.startswith("slow ")}
pend = {json.loads(l)["parameters"]["i"]: json.loads(l)["job"] for l in open(sys.argv[1])}
run = [pend[i] for i in started]
idle = [pend[i] for i in sorted(pend) if i not in started]
print(run[0], idle[-1])
PY
)
read -r running_job idle_job <<<"$jobs"
echo "cancel slow $running_job $idle_job" >"$MNT/ctl"
assert_eq 2 "$(key "$MNT/results/slow/status" failed)" "cancelled points of slow"
assert_eq 2 "$(key "$MNT/results/slow/status" pending)" "points of slow left"
# A name that is no job of the set fails the write and cancels nothing.
if echo "cancel slow nosuch-1" >"$MNT/ctl" 2>/dev/null; then
    fail "cancel of a job slow does not have was accepted"
fi
grep -q 'ctl: ENOENT: no job "nosuch-1" in result set "slow"' "$MNT/errors" ||
    fail "the refusal in errors: $(tail -n 3 "$MNT/errors")"
wait_done slow 60
assert_eq 2 "$(key "$MNT/results/slow/status" results)" "results of slow"
assert_eq 0 "$(queued_at_controller slow)" "slow's tasks at the controller"
assert_eq 3 "$(started slow)" "points of slow started (the idle cancelled one never)"

PYTHONPATH=$EPYC_SRC "$PY" - "$MNT" "$running_job" "$idle_job" <<'PY' || fail "records and notebooks"
import glob, json, os, sys
mnt, running_job, idle_job = sys.argv[1:]
res = lambda *p: os.path.join(mnt, "results", *p)
def docs(tag, sub=""):
    return [json.load(open(f)) for f in sorted(glob.glob(res(tag, sub, "[0-9]*.json")))]
def points(tag):
    return sorted(d["results"]["point"] for d in docs(tag))
dump = lambda p: json.dumps(p, sort_keys=True)
assert points("pw") == sorted(dump({"a": i, "b": 9 + i, "c": 0, "d": True}) for i in (1, 2, 3)), points("pw")
assert points("pts") == sorted(dump(p) for p in [{"x": 1, "y": [1, 2]}, {"x": {"range": [0, 3]}},
                                                 {"z": None}]), points("pts")
assert points("val") == sorted(dump({"shape": [3, 4], "n": None, "x": x}) for x in ({"k": 1}, 2)), points("val")
# N.json: the plain names.
assert all(d["results"]["c"] == "mine" for d in docs("pw")), docs("pw")
cancelled = {d["metadata"]["clab.job"]: d for d in docs("slow", "failed")}
assert set(cancelled) == {running_job, idle_job}, cancelled
for d in cancelled.values():
    m = d["metadata"]
    assert m["epyc.experiment.exception"] == "Cancelled" and m["epyc.experiment.status"] is False, m
    assert m["epyc.experiment.traceback"] == "cancelled by /ctl cancel", m
    assert "epyc.experiment.classname" not in m, m

import epyc
nb = epyc.JSONLabNotebook(os.path.join(mnt, "notebook.json"))
assert set(nb.resultSets()) >= {"pw", "pts", "val", "slow", "epyc.resultset.default"}, nb.resultSets()
df = nb.dataframe("pw")
assert len(df) == 3 and set(df["a"]) == {1, 2, 3} and set(df["results.c"]) == {"mine"}, df
assert set(df["results.epyc.experiment.exception"]) == {"not one"}, df.columns
assert set(nb.dataframe("slow", only_successful=False)["epyc.experiment.status"]) == {True, False}
for tag in ("pw", "pts", "val", "slow"):
    one = epyc.JSONLabNotebook(res(tag, "notebook.json"))
    assert sorted(one.resultSets()) == sorted([tag, "epyc.resultset.default"]), one.resultSets()
    assert one.currentTag() == tag, one.currentTag()
    assert one.numberOfResults(tag) == nb.numberOfResults(tag), tag
print("epyc loaded every notebook.json")
PY
log "PASS test_epyc_mount"
