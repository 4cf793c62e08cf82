#!/usr/bin/env bash
# clab-cluster's Slurm launcher on a real single-node Slurm
# (tests/cluster/slurm.sh): remote engines against a loopback controller are
# refused with nothing started; a start of 2 engines is one job named
# clab-CLUSTERID that squeue shows; a 50-point sweep runs exactly once (in
# the notebook and in the controller's queue) on the job's engines; `add
# --jobs 2` splits 3 engines into jobs of 2 and 1; `stop` leaves no job in
# squeue and no engine.
# ctest: resource slurm -- Slurm daemons of its own (tests/cluster/slurm.sh), one test at a time
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
. "$CLAB_SRC/tests/cluster/slurm.sh"

slurm_test_cluster slurm-cluster

# The refusal first: nothing may start, not even the state directory.
rc=0
"$cc" start --state "$cstate" --launcher slurm --engines 2 --bind 127.0.0.1 \
    2>"$WORK/refused.err" || rc=$?
assert_eq 2 "$rc" "exit status of a loopback-bound slurm start"
grep -q loopback "$WORK/refused.err" || fail "refusal says: $(cat "$WORK/refused.err")"
[ ! -e "$cstate" ] || fail "the refused start made $cstate"
slurm_no_jobs || fail "the refused start submitted: $(squeue -h)"

cluster_own_iface clabq$(($$ % 100000)) 234 || fail "ip link add"

"$cc" start --state "$cstate" --launcher slurm --engines 2 --bind "$IF" >"$WORK/start.out" ||
    fail "start: $(cat "$WORK/start.out")"
assert_eq 1 "$(wc -l <"$cstate/slurm.jobs")" "jobs of start"
job=$(cat "$cstate/slurm.jobs")
name=clab-$(cat "$cstate/cluster.id")
job_row() { squeue -h -j "$1" -o '%j %T' 2>/dev/null; }
wait_for 60 "job $job running" 'test "$(job_row $job)" = "$name RUNNING"'
assert_eq 2 "$(scontrol -o show job "$job" | sed -n 's/.* NumTasks=\([0-9]*\).*/\1/p')" "tasks of job $job"

mount_lab --cluster "$cstate/cluster.json"
wait_for 60 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
"$cc" status --state "$cstate" >"$WORK/status.out" || fail "status: not running"
grep -qx "slurm job $job RUNNING tasks 2 connected 2" "$WORK/status.out" || fail "status: $(cat "$WORK/status.out")"
grep -qx "engines connected 2" "$WORK/status.out" || fail "status: $(cat "$WORK/status.out")"
sweep sl 50 0.2
wait_done sl 180
check_exact sl 50
# The controller's queue forgot all 50 once delivered (a delivered task
# is deleted, tries with it).
python3 - "$cstate/controller.db" <<'PY' || fail "controller's queue"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
n = db.execute("SELECT count(*) FROM tasks WHERE tag = 'sl'").fetchone()[0]
assert n == 0, n
PY
# The engines were given the engines' file, never the clients'.
assert_eq 2 "$(pgrep -ax clab-engine | grep -cF -- "--cluster $cstate/engine.json --id slurm-$job-")" \
    "engines of job $job on engine.json"
pgrep -ax clab-engine | grep -F -- "$cstate/" | grep -vF -- "--cluster $cstate/engine.json --id slurm-$job-" &&
    fail "an engine of $cstate runs on something else than engine.json"
python3 - "$MNT/results/sl" "$job" <<'PY' || fail "engines of the results"
import json, os, sys
d, job = sys.argv[1], sys.argv[2]
eng = {json.load(open(os.path.join(d, n)))["metadata"]["clab.engine"]
       for n in os.listdir(d) if n.endswith(".json") and n[:-5].isdigit()}
assert eng <= {"slurm-%s-0" % job, "slurm-%s-1" % job}, sorted(eng)
PY

# --jobs: 3 more engines as two jobs, of 2 and 1 tasks.
"$cc" add --state "$cstate" --engines 3 --jobs 2 >/dev/null || fail "add"
assert_eq 3 "$(wc -l <"$cstate/slurm.jobs")" "jobs after add"
tasks=$(for j in $(tail -n 2 "$cstate/slurm.jobs"); do
    scontrol -o show job "$j" | sed -n 's/.* NumTasks=\([0-9]*\).*/\1/p'
done | tr '\n' ' ')
assert_eq "2 1 " "$tasks" "tasks of the added jobs"
wait_for 60 "5 engines" 'test "$(key "$MNT/status" engines)" = 5'
unmount_lab

"$cc" stop --state "$cstate" >/dev/null
slurm_no_jobs || fail "jobs left after stop: $(squeue -h)"
pgrep -f -- "--cluster $cstate/engine.json" >/dev/null && fail "engines left after stop"
pgrep -f "$cstate" >/dev/null && fail "processes left after stop"
log "PASS test_cluster_slurm"
