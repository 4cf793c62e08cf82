#!/usr/bin/env bash
# Worker mode on a real mount with 2 engines: every point of a worker set
# runs in one process per engine (pids in the results), a crash fails only
# its point and the next point on that engine gets a new process, a point
# past its timeout fails and the worker is replaced, several experiments
# interleave with a worker each per engine, cancel kills the workers
# running the cancelled points, and unmount leaves no worker behind.
. "$(dirname "$0")/lib.sh"

# The worker lives under $WORK so that pgrep -f finds exactly this test's.
PW=$WORK/pidworker.py
cp "$EXP/pidworker.py" "$PW"
workers() { pgrep -f "$PW" | sort -n | tr '\n' ' ' || true; }
nworkers() { pgrep -fc "$PW" || true; }

mount_lab --engines 2
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

wjob() { # TAG PARAMETERS [MORE FIELDS]
    submit "{\"experiment\": \"$PW\", \"parameters\": $2, \"tag\": \"$1\", \"worker\": true${3:+, $3}}"
}

# check TAG PYTHON: runs PYTHON with `ok` (successful results: dicts with
# the results and metadata merged) and `bad` (failed records) of set TAG.
check() {
    python3 - "$MNT/results/$1" "$2" <<'PY' || fail "set $1: $2"
import glob, json, os, sys
d, code = sys.argv[1], sys.argv[2]
ok, bad = [], []
for f in glob.glob(os.path.join(d, "[0-9]*.json")):
    doc = json.load(open(f))
    for r in doc["results"] if isinstance(doc["results"], list) else [doc["results"]]:
        ok.append(dict(r, **doc["metadata"], **doc["parameters"]))
for f in glob.glob(os.path.join(d, "failed", "*.json")):
    doc = json.load(open(f))
    bad.append(dict(doc["metadata"], **doc["parameters"]))
by_engine = {}
for r in ok:
    by_engine.setdefault(r["clab.engine"], set()).add(r["pid"])
exec(code)
PY
}

log "== throughput sanity: one process per engine for 300 points"
wjob thr '{"x": {"range": [0, 300]}}' '"arguments": ["--thr", "a b"]'
wait_done thr 120
check thr '
assert len(ok) == 300 and not bad, (len(ok), len(bad))
assert all(r["worker"] and r["args"] == "--thr a b" and r["tag"] == "thr" for r in ok)
assert all(len(p) == 1 for p in by_engine.values()), by_engine
assert len(by_engine) == 2, by_engine
'

log "== a crash fails its point only; the next point gets a new worker"
wjob crash '{"x": {"range": [0, 40]}, "crash": 7}'
wait_done crash 120
check crash '
assert len(bad) == 1 and len(ok) == 39, (len(ok), len(bad))
b = bad[0]
assert b["x"] == 7 and b["epyc.experiment.exception"] == "exit status 3", b
assert b["clab.exit_status"] == 3, b
tb = b["epyc.experiment.traceback"]
assert "crashing at x=7" in tb, tb
dead = int(tb.split("in pid ")[1].split()[0])
later = [r for r in ok if r["clab.engine"] == b["clab.engine"]
         and r["epyc.experiment.start_time"] > b["epyc.experiment.start_time"]]
assert all(r["pid"] != dead for r in later), later
earlier = [r for r in ok if r["clab.engine"] == b["clab.engine"] and r not in later]
assert all(r["pid"] == dead for r in earlier), (dead, earlier)
assert len(by_engine[b["clab.engine"]] - {dead}) == (1 if later else 0), by_engine
'

log "== a timeout in a worker"
wjob slow '{"x": {"range": [0, 6]}, "slow": 3, "slow_sleep": 30}' '"timeout": 1'
wait_done slow 60
check slow '
assert len(bad) == 1 and len(ok) == 5, (len(ok), len(bad))
assert bad[0]["x"] == 3 and bad[0]["epyc.experiment.exception"] == "timeout after 1 s", bad[0]
'
# The timed-out worker is gone (it would sleep 30 s more): at most one
# worker per engine for this (experiment, no arguments).
[ "$(pgrep -fc "$PW\$" || true)" -le 2 ] || fail "a timed-out worker still alive: $(workers)"

log "== many experiments interleaved on 2 engines"
for k in a b c; do
    wjob "mix-$k" '{"x": {"range": [0, 40]}}' "\"arguments\": [\"$k\"]"
done
submit "{\"experiment\": \"$PW\", \"parameters\": {\"x\": {\"range\": [0, 20]}}, \"tag\": \"mix-one\", \"arguments\": [\"one\"]}"
for k in a b c one; do wait_done "mix-$k" 120; done
for k in a b c; do
    check "mix-$k" "
assert len(ok) == 40 and not bad, (len(ok), len(bad))
assert all(r['args'] == '$k' for r in ok)
assert all(len(p) == 1 for p in by_engine.values()), by_engine
"
done
check mix-one '
assert len(ok) == 20 and not bad
assert not any(r["worker"] for r in ok)
assert all(r["args"] == "one" for r in ok), [r["args"] for r in ok]
assert len({r["pid"] for r in ok}) == 20
'

log "== cancel while workers run"
wjob big '{"x": {"range": [0, 100]}, "sleep": 5}' '"arguments": ["big"]'
wait_for 30 "two workers of big busy" 'test "$(pgrep -fc "$PW big" || true)" -eq 2'
busy=$(pgrep -f "$PW big" | sort -n | tr '\n' ' ')
sleep 1
echo 'cancel big' >"$MNT/ctl"
wait_for 10 "the workers running big to be killed" 'test "$(pgrep -fc "$PW big" || true)" -eq 0'
for p in $busy; do
    ! kill -0 "$p" 2>/dev/null || fail "worker $p of a cancelled point still alive"
done
sleep 1
assert_eq 0 "$(pgrep -fc "$PW big" || true)" "workers of big after the cancel"
wjob after '{"x": {"range": [0, 10]}}' '"arguments": ["big"]'
wait_done after 60
check after "
assert len(ok) == 10 and not bad
assert not ({r['pid'] for r in ok} & {int(p) for p in '$busy'.split()})
"

log "== unmount leaves no worker behind"
alive=$(workers)
[ -n "$alive" ] || fail "no idle worker left to stop"
fusermount3 -u "$MNT"
wait_for 60 "every worker to exit" 'test -z "$(workers)"'
for p in $alive; do
    ! kill -0 "$p" 2>/dev/null || fail "worker $p still alive after unmount"
done
log "PASS test_worker_mode"
