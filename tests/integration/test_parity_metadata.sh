#!/usr/bin/env bash
# epyc parity in the metadata: every record has epyc.experiment.setup_time
# and epyc.experiment.teardown_time (0 for a plain executable, an
# envelope's clab.metadata may set them), and a job with "repetitions" > 1
# gives each repetition epyc.experiment.repetitions (N) and epyc.experiment.rep
# (0-based), the same in N.json, results.csv and failed records.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
cat >"$WORK/env.py" <<'PY'
#!/usr/bin/env python3
import json, sys
p = json.loads(sys.stdin.readline())
if p.get("fail"):
    print(json.dumps({"clab.exception": "ValueError: no", "clab.metadata": {}}))
else:
    print(json.dumps({"clab.results": {"y": p["x"]},
                      "clab.metadata": {"epyc.experiment.setup_time": 0.25,
                                        "epyc.experiment.teardown_time": 0.5}}))
PY
chmod +x "$WORK/env.py"

submit "{\"experiment\": \"$EXP/sum.py\", \"tag\": \"rep\", \"repetitions\": 3,
         \"parameters\": {\"a\": [1, 2], \"b\": 10}}"
submit "{\"experiment\": \"$EXP/sum.py\", \"tag\": \"one\", \"parameters\": {\"a\": [1, 2], \"b\": 10}}"
submit "{\"experiment\": \"$WORK/env.py\", \"tag\": \"env\", \"parameters\": {\"x\": [1, 2]}}"
submit "{\"experiment\": \"$WORK/env.py\", \"tag\": \"envfail\", \"repetitions\": 2,
         \"parameters\": {\"x\": 1, \"fail\": true}}"
for t in rep one env envfail; do wait_done $t 60; done

python3 - "$MNT/results" <<'PY' || fail "metadata"
import csv, json, os, sys
from collections import Counter
root = sys.argv[1]
def docs(tag, sub=""):
    d = os.path.join(root, tag, sub)
    return [json.load(open(os.path.join(d, f))) for f in sorted(os.listdir(d)) if f.endswith(".json") and f[:-5].isdigit()]
S, T = "epyc.experiment.setup_time", "epyc.experiment.teardown_time"
R, I = "epyc.experiment.repetitions", "epyc.experiment.rep"

rep = docs("rep")
assert len(rep) == 6, len(rep)
seen = Counter()
for d in rep:
    m = d["metadata"]
    assert m[S] == 0 and m[T] == 0, m
    assert m[R] == 3, m
    seen[(d["parameters"]["a"], m[I])] += 1
assert seen == Counter({(a, i): 1 for a in (1, 2) for i in range(3)}), seen
rows = list(csv.DictReader(open(os.path.join(root, "rep", "results.csv"))))
assert len(rows) == 6
by_job = {d["metadata"]["clab.job"]: d["metadata"] for d in rep}
for r in rows:
    m = by_job[r["clab.job"]]
    assert r[R] == "3" and r[I] == str(m[I]), (r, m)
    assert float(r[S]) == 0 and float(r[T]) == 0, r

for d in docs("one"):
    m = d["metadata"]
    assert m[S] == 0 and m[T] == 0 and R not in m and I not in m, m
hdr = next(csv.reader(open(os.path.join(root, "one", "results.csv"))))
assert S in hdr and T in hdr and R not in hdr and I not in hdr, hdr

for d in docs("env"):
    m = d["metadata"]
    assert m[S] == 0.25 and m[T] == 0.5, m

fails = docs("envfail", "failed")
assert len(fails) == 2, fails
assert sorted(d["metadata"][I] for d in fails) == [0, 1], fails
for d in fails:
    m = d["metadata"]
    assert m[R] == 2 and m[S] == 0 and m[T] == 0, m
PY

# A retried repetition keeps its index.
echo 'retry envfail' >"$MNT/ctl"
wait_done envfail 60
python3 - "$MNT/results/envfail/failed" <<'PY' || fail "retried repetitions"
import json, os, sys
d = sys.argv[1]
idx = sorted(json.load(open(os.path.join(d, f)))["metadata"]["epyc.experiment.rep"] for f in os.listdir(d))
assert idx == [0, 0, 1, 1], idx
PY
log "PASS test_parity_metadata"
