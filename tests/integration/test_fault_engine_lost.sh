#!/usr/bin/env bash
# With --retries 0 a task whose engine is lost is not run again: it becomes
# a failed result `engine lost` with epyc's metadata, and counts as done.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 1 --heartbeat-timeout 3 --retries 0
mount_lab --cluster "$WORK/cluster/cluster.json"
sweep l 6 1.5
wait_for 30 "eng1 to run a point" "pgrep -P \$(engine_pid eng1) >/dev/null"
sleep 0.5 # eng1 holds two tasks: the running one and the prefetched one
kill -9 "$(engine_pid eng1)"
wait_for 30 "the controller to give up on eng1's tasks" \
    "grep -q 'engine lost 1 times, giving up' '$WORK/controller.log'"
add_engine eng2
wait_done l 120
check_exact l 6
# eng1 held the running task and, unless the machine was slow to deliver
# it, the prefetched one.
failed=$(key "$MNT/results/l/status" failed)
[ "$failed" -ge 1 ] && [ "$failed" -le 2 ] || fail "failed: expected 1 or 2 (eng1's tasks), got $failed"
for f in "$MNT"/results/l/failed/*.json; do
    python3 - "$f" <<'PY' || fail "failed record $f"
import json, sys
m = json.load(open(sys.argv[1]))["metadata"]
assert m["epyc.experiment.exception"] == "engine lost", m
assert m["epyc.experiment.status"] is False and m["clab.engine"] == "eng1", m
assert m["clab.exit_status"] == -1
PY
done
log "PASS test_fault_engine_lost"
