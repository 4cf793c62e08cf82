#!/usr/bin/env bash
# A result is accepted only from the engine the task was given to: an
# engine that holds nothing (clab-hostile, with a real engine key) posts a
# successful result for a task that eng1 is running. The controller
# acknowledges it (so that it stops resending) but keeps the task running
# on eng1, and the point's stored result is eng1's, not the forgery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
HOSTILE=$CLAB_BUILD/tests/tools/clab-hostile

start_detached 1
mount_lab --cluster "$WORK/cluster/cluster.json"
# One point that runs until the test opens its gate (a point of fixed
# length could end before the forged result is in, on a loaded machine).
GATED=$WORK/gated.py
cp "$EXP/gated.py" "$GATED"
submit "{\"experiment\": \"$GATED\", \"tag\": \"s\",
         \"parameters\": {\"i\": 0, \"gate\": \"$WORK/gate\"}}"
task_row() { # the job's state and engine in the controller's queue
    python3 - "$WORK/cluster/controller.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
r = c.execute("SELECT job, state, engine FROM tasks WHERE tag = 's'").fetchall()
print(" ".join(str(x) for x in r[0]) if len(r) == 1 else "rows %d" % len(r))
PY
}
wait_for 30 "the point to run on eng1" 'task_row | grep -q " 1 eng1$"'
job=$(task_row | cut -d' ' -f1)

"$HOSTILE" --engine-file "$WORK/cluster/engine.json" steal --job "$job" --timeout 5 \
    >"$WORK/steal.out" 2>&1 || fail "steal: $(cat "$WORK/steal.out")"
assert_eq acked "$(tail -n 1 "$WORK/steal.out")" "the controller's answer to the forged result"
assert_eq "$job 1 eng1" "$(task_row)" "the task in the controller's queue after the forged result"
assert_eq 0 "$(key "$MNT/results/s/status" results)" "results before eng1 has finished"

: >"$WORK/gate"
wait_done s 60
check_exact s 1
python3 - "$MNT/results/s/1.json" <<'PY' || fail "the stored result"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["metadata"]["clab.engine"] == "eng1", d["metadata"]["clab.engine"]
assert "forged" not in d["results"], d["results"]
assert d["results"] == {"i": 0, "opened": True}, d["results"]
PY
log "PASS test_hostile_steal"
