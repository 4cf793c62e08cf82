#!/usr/bin/env bash
# Results are acknowledged to the engine (issue 9, edge 5). The controller
# is killed while its engine runs; the engine finishes what it holds while
# nobody listens, and after 10 s of silence connects afresh (linger 0:
# whatever its socket queued is gone). The restarted controller must still
# get those results: the engine keeps every result until the controller
# acknowledges it, and sends it again to the new controller. The end
# state: every point done, each run exactly once (a lost result would put
# its point back in the queue and run it again).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 1
mount_lab --cluster "$WORK/cluster/cluster.json"
runs=$WORK/runs
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"a\",
         \"parameters\": {\"i\": {\"range\": [0, 4]}, \"sleep\": 2.5, \"log\": \"$runs\"}}"
# Until eng1 holds two tasks (the prefetch), one of them running.
running() {
    python3 - "$WORK/cluster/controller.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
print(db.execute("SELECT count(*) FROM tasks WHERE state = 1").fetchone()[0])
PY
}
wait_for 30 "eng1 to hold 2 tasks" 'test "$(running 2>/dev/null)" = 2'
kill -9 "$(pid_of "clab-controller --state $WORK/cluster")"
# Both held tasks end while the controller is away (2 x 2.5 s), and the
# engine's silence limit (10 s) passes.
sleep 13
"$CONTROLLER" --state "$WORK/cluster" >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
wait_done a 120
check_exact a 4
assert_eq 0 "$(key "$MNT/results/a/status" failed)" "failed"
python3 - "$runs" <<'PY' || fail "points that ran more than once"
import collections, sys
count = collections.Counter(l.split()[0] for l in open(sys.argv[1]))
assert sorted(map(int, count)) == list(range(4)), sorted(count)
assert max(count.values()) == 1, dict(count)
PY
log "PASS test_edge_e_result_ack"
