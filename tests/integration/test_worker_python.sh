#!/usr/bin/env bash
# clab-python as a worker on a real mount with 2 engines: an epyc-style
# class (tests/python/experiments.py) is built once per worker and its state
# reused across points (Cached: one __init__, setUp at every point, the
# cache growing), one process per engine; a class raising in do fails each
# point with its exception text while its worker lives on. The same class
# as a framed worker ("worker": "framed") gives the same results.
. "$(dirname "$0")/lib.sh"

PYT=$CLAB_SRC/tests/python
# Under $WORK, so that the clean-up's pgrep -f finds this test's workers.
CP=$WORK/clab-python
cp "$CLAB_SRC/scripts/clab-python" "$CP"

mount_lab --engines 2
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

pyjob() { # TAG NAME PARAMETERS [WORKER]
    submit "{\"experiment\": \"$CP\", \"arguments\": [\"experiments:$2\", \"--path\", \"$PYT\"], \"worker\": ${4:-true}, \"parameters\": $3, \"tag\": \"$1\"}"
}
pyjob cached Cached '{"x": {"range": [0, 60]}, "k": [1, 2]}'
pyjob raises RaisesInDo '{"x": {"range": [0, 10]}}'
pyjob framed Cached '{"x": {"range": [0, 30]}, "k": [1, 2]}' '"framed"'
wait_done cached 120
wait_done raises 120
wait_done framed 120

python3 - "$MNT/results" <<'PY' || fail "clab-python worker results"
import glob, json, os, sys
root = sys.argv[1]

def docs(tag, sub=""):
    return [json.load(open(f)) for f in glob.glob(os.path.join(root, tag, sub, "[0-9]*.json"))]

ok = docs("cached")
assert len(ok) == 120 and not docs("cached", "failed"), len(ok)
rows = []
for d in ok:
    r = d["results"]
    rows.append(dict(r[0] if isinstance(r, list) else r, engine=d["metadata"]["clab.engine"],
                     start=d["metadata"]["epyc.experiment.start_time"]))
by_engine = {}
for r in rows:
    by_engine.setdefault(r["engine"], []).append(r)
assert len(by_engine) == 2, by_engine.keys()
for engine, rs in by_engine.items():
    rs.sort(key=lambda r: r["start"])
    assert len({r["pid"] for r in rs}) == 1, (engine, {r["pid"] for r in rs})
    assert all(r["inits"] == 1 for r in rs), "the class was built more than once"
    # setUp at every point of the one instance; its cache only grows.
    assert [r["setups"] for r in rs] == list(range(1, len(rs) + 1)), [r["setups"] for r in rs]
    cached = [r["cached"] for r in rs]
    assert cached == sorted(cached) and cached[-1] > 1, cached
# Points with the same x on one engine: the second is a cache hit.
assert any(r["hit"] for r in rows)

bad = docs("raises", "failed")
assert len(bad) == 10 and not docs("raises"), len(bad)
for d in bad:
    m = d["metadata"]
    assert "cannot do x=%s" % d["parameters"]["x"] in m["epyc.experiment.exception"], m
assert m["clab.exit_status"] == 0, m

# Framed: its own class instance per engine, the same results, no seq.
fr = docs("framed")
assert len(fr) == 60 and not docs("framed", "failed"), len(fr)
res = [d["results"][0] if isinstance(d["results"], list) else d["results"] for d in fr]
assert all(r["inits"] == 1 and "clab.seq" not in r for r in res), res[:2]
assert not {r["pid"] for r in res} & {r["pid"] for r in rows}, "a plain worker ran framed points"
PY
# The raising class's workers answered every point and live on: one per
# engine that ran it, no more.
n=$(pgrep -fc "$CP experiments:RaisesInDo" || true)
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "$n workers of RaisesInDo alive"
log "PASS test_worker_python"
