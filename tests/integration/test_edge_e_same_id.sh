#!/usr/bin/env bash
# An engine restarted under the same id (issue 9, edge 4): kill -9 of the
# engine `--id e1` in the middle of a task, restarted at once with the
# same id. Its heartbeats never stop long enough for the controller to
# count it lost, so only the heartbeat's incarnation says that the tasks
# the old process held are gone: they must go back to the queue, the sweep
# must end with every point exactly once, and no task may stay running in
# the controller's queue.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 0
add_engine e1
add_engine e2
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
sweep k 16 0.5
wait_results k 2
wait_for 30 "e1 to be busy" 'test "$(key "$MNT/engines/e1" state 2>/dev/null)" = busy'
kill -9 "$(engine_pid e1)"
add_engine e1
wait_done k 60
check_exact k 16
assert_eq 0 "$(key "$MNT/results/k/status" failed)" "failed"
python3 - "$WORK/cluster/controller.db" <<'PY' || fail "tasks left running"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
rows = db.execute("SELECT job, engine FROM tasks WHERE state = 1").fetchall()
assert not rows, rows
PY
log "PASS test_edge_e_same_id"
