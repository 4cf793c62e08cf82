#!/usr/bin/env bash
# SPEC's experiment contract on a real mount: argv is just the path; stdin
# and CLAB_PARAMS hold the point; CLAB_TAG and CLAB_JOB are the set's tag
# and the result's job id; the working directory is a fresh, empty scratch
# directory that is gone afterwards; an array gives several results for
# the point; death by SIGSEGV is "killed by signal 11 (Segmentation
# fault)"; a failing point is not retried (it runs exactly once); an
# engine runs one point at a time (no overlap of start/end per engine);
# /engines/ID says "state busy" while it runs a long point.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

# argv, stdin, environment, scratch directory: 8 points on 2 engines.
submit "{\"experiment\": \"$EXP/probe.py\", \"parameters\": {\"i\": {\"range\": [0, 8]}, \"s\": \"a b\"}, \"tag\": \"contract\"}"
wait_done contract 60
assert_eq 8 "$(key "$MNT/results/contract/status" results)" "contract results"
python3 - "$MNT/results/contract" "$EXP/probe.py" <<'PY' || fail "the experiment contract"
import json, os, sys
d, exp = sys.argv[1], sys.argv[2]
cwds = set()
for n in range(1, 9):
    doc = json.load(open(os.path.join(d, "%d.json" % n)))
    r, m, p = doc["results"], doc["metadata"], doc["parameters"]
    assert r["argv"] == [exp], r["argv"]
    assert json.loads(r["stdin"]) == p and r["stdin"].endswith("\n") and r["stdin"].count("\n") == 1, r["stdin"]
    assert json.loads(r["params_env"]) == p, r["params_env"]
    assert r["tag"] == "contract", r["tag"]
    assert r["job"] == m["clab.job"], (r["job"], m["clab.job"])
    assert r["cwd_entries"] == [], r["cwd_entries"]
    assert not os.path.exists(r["cwd"]), "scratch directory left: " + r["cwd"]
    cwds.add(r["cwd"])
assert len(cwds) == 8, "scratch directories shared between points: %s" % cwds
PY

# Several results for one point: 2 points x 3 results = 6 rows.
submit "{\"experiment\": \"$EXP/probe.py\", \"parameters\": {\"i\": [0, 1], \"mode\": \"array\", \"n\": 3}, \"tag\": \"arr\"}"
wait_done arr 60
assert_eq 0 "$(key "$MNT/results/arr/status" failed)" "arr failed"
assert_eq 6 "$(key "$MNT/results/arr/status" results)" "arr results"
# (rows, not lines: the stdin column holds a quoted newline)
assert_eq 6 "$(python3 -c 'import csv, sys; print(len(list(csv.DictReader(open(sys.argv[1], newline="")))))' \
    "$MNT/results/arr/results.csv")" "arr results.csv rows"
assert_eq "$(printf '0 0\n0 1\n0 2\n1 0\n1 1\n1 2')" "$(python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")): print(r["i"], r["k"])' "$MNT/results/arr/results.csv" | sort)" \
    "arr rows (i, k)"

# Killed by SIGSEGV.
submit "{\"experiment\": \"$EXP/probe.py\", \"parameters\": {\"mode\": \"segv\"}, \"tag\": \"segv\"}"
wait_done segv 60
assert_eq 1 "$(key "$MNT/results/segv/status" failed)" "segv failed"
python3 - "$MNT/results/segv/failed" <<'PY' || fail "killed by signal 11"
import json, os, sys
[name] = os.listdir(sys.argv[1])
m = json.load(open(os.path.join(sys.argv[1], name)))["metadata"]
assert m["epyc.experiment.exception"] == "killed by signal 11 (Segmentation fault)", m
assert m["epyc.experiment.status"] is False
PY

# Only "engine lost" is retried: 20 points of which 10 fail, each run once.
submit "{\"experiment\": \"$EXP/odd_fails.py\", \"parameters\": {\"i\": {\"range\": [0, 20]}, \"log\": \"$WORK/odd-runs\"}, \"tag\": \"once\"}"
wait_done once 60
assert_eq 10 "$(key "$MNT/results/once/status" failed)" "once failed"
sleep 1 # a retry, if any, would have run by now
assert_eq "$(seq 0 19)" "$(awk '{ print $1 }' "$WORK/odd-runs" | sort -n)" "runs of each point"

# One point at a time per engine, and busy while it runs: 8 points of
# 0.6 s on 2 engines.
submit "{\"experiment\": \"$EXP/sleepy.py\", \"parameters\": {\"i\": {\"range\": [0, 8]}, \"sleep\": 0.6}, \"tag\": \"serial\"}"
wait_for 30 "an engine to be busy" 'grep -qx "state busy" "$MNT"/engines/* 2>/dev/null'
wait_done serial 60
python3 - "$MNT/results/serial" <<'PY' || fail "overlapping points on one engine"
import collections, json, os, sys
d = sys.argv[1]
by_engine = collections.defaultdict(list)
for n in range(1, 9):
    m = json.load(open(os.path.join(d, "%d.json" % n)))["metadata"]
    by_engine[m["clab.engine"]].append((m["epyc.experiment.start_time"], m["epyc.experiment.end_time"]))
assert len(by_engine) == 2, by_engine.keys()
for e, spans in by_engine.items():
    spans.sort()
    for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
        assert e0 <= s1, "%s ran two points at once: %s-%s and %s-%s" % (e, s0, e0, s1, e1)
PY
wait_for 15 "idle engines" 'test "$(cat "$MNT"/engines/* | grep -c "^state idle$")" = 2'
log "PASS test_promises_experiment"
