#!/usr/bin/env bash
# Walltime on a real single-node Slurm (tests/cluster/slurm.sh), through
# clab-cluster's Slurm launcher:
# (1) a job of 2 engines with --time=1 ends mid-sweep; its engines were told
#     the job's end less a margin (--deadline, from squeue inside the job)
#     and stop cleanly (the job COMPLETED, not killed); once a second job is added
#     the sweep completes with every point exactly once and nothing failed.
# (2) an engine with ~20 s of walltime left takes no point of a set whose
#     finished points took 30 s: the point stays queued until an engine
#     with time enough comes, then runs once, elsewhere.
# Slurm's smallest limit is a minute, checked every 30 s: (1) takes 60-90 s.
# ctest: resource slurm -- Slurm daemons of its own (tests/cluster/slurm.sh), one test at a time
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
. "$CLAB_SRC/tests/cluster/slurm.sh"

slurm_test_cluster wt-cluster

cluster_own_iface clabw$(($$ % 100000)) 235 || fail "ip link add"

last_job() { tail -n 1 "$cstate/slurm.jobs"; }
job_end() { date -d "$(squeue -h -j "$1" -o %e)" +%s; }
running_job() { test "$(squeue -h -j "$1" -o %T 2>/dev/null)" = RUNNING; }
engines() { key "$MNT/status" engines; }
# engine_of TAG I: the clab.engine that ran point i=I of TAG.
engine_of() {
    python3 - "$MNT/results/$1" "$2" <<'PY'
import json, os, sys
d, i = sys.argv[1], int(sys.argv[2])
for n in os.listdir(d):
    if n.endswith(".json") and n[:-5].isdigit():
        doc = json.load(open(os.path.join(d, n)))
        if doc["parameters"]["i"] == i:
            print(doc["metadata"]["clab.engine"])
PY
}

# ---- (1) a job's walltime ends mid-sweep ---------------------------------
"$cc" start --state "$cstate" --launcher slurm --engines 2 --bind "$IF" \
    --slurm-args "--time=1" >/dev/null || fail "start"
w=$(last_job)
wait_for 60 "job $w running" "running_job $w"
mount_lab --cluster "$cstate/cluster.json"
wait_for 60 "2 engines" 'test "$(engines)" = 2'
# The engines carry the job's end less the default margin of 40 s (read
# now: the job's record goes later).
want_deadline="--deadline $(($(job_end "$w") - 40))"
deadline_seen=$(pgrep -af -- "--id slurm-$w-0" | grep -c -- "$want_deadline" || true)
# 30 points of 5 s on 2 engines outlast the job (its engines stop taking
# points 40 s before its end, or are stopped by TERM 5-35 s before it).
sweep wt 30 5
slurm_wait_job "$w" 150 || fail "job $w still there after 150 s"
assert_eq COMPLETED "$(slurm_job_state "$w")" "Slurm state of the job whose walltime ended"
left=$(key "$MNT/results/wt/status" pending)
[ "$left" -gt 0 ] || fail "the sweep ended before the job did: the test proves nothing"
"$cc" add --state "$cstate" --engines 4 >/dev/null || fail "add"
wait_done wt 150
check_exact wt 30
assert_eq 0 "$(key "$MNT/results/wt/status" failed)" "failed points of wt"
# Every point delivered: the queue forgot them all (a delivered task is
# deleted).
assert_eq 0 "$(queue_sql "SELECT count(*) FROM tasks WHERE tag = 'wt'")" "jobs of wt left in the queue"

# ---- (2) ~20 s left: no 30 s point ---------------------------------------
x=$(last_job)
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"long\",
         \"parameters\": {\"i\": {\"range\": [0, 2]}, \"sleep\": 30}}"
wait_for 30 "2 long points running" 'test "$(queue_sql "SELECT count(*) FROM tasks WHERE tag = '"'long'"' AND state = 1")" = 2'
# B: one engine, a minute of walltime, told the job's very end (margin 0);
# its --signal is SIGWINCH (28), which engines ignore, so that only the deadline can keep it
# from a point.
"$cc" add --state "$cstate" --engines 1 --walltime-margin 0 \
    --slurm-args "--time=1 --signal=28@1" >/dev/null ||
    fail "add B"
b=$(last_job)
wait_for 60 "job $b running" "running_job $b"
b_end=$(job_end "$b")
wait_for 30 "5 engines" 'test "$(engines)" = 5'
wait_results long 2 60
scancel "$x"
slurm_wait_job "$x" 30 || fail "job $x not gone"
wait_for 30 "only B's engine" 'test "$(engines)" = 1'
left=$((b_end - $(date +%s)))
[ "$left" -gt 22 ] && sleep $((left - 22))
left=$((b_end - $(date +%s)))
[ "$left" -ge 12 ] || fail "only $left s left on job $b: too late to test"
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"long\",
         \"parameters\": {\"i\": {\"range\": [2, 3]}, \"sleep\": 1}}"
# (Points 0 and 1 were delivered, so deleted from the queue.)
wait_for 10 "point 2 in the queue" 'test "$(queue_sql "SELECT count(*) FROM tasks WHERE tag = '"'long'"' AND json_extract(body, '"'\$.params.i'"') = 2")" = 1'
sleep 8
assert_eq 0 "$(queue_sql "SELECT count(*) FROM tasks WHERE tag = 'long' AND state <> 0 AND json_extract(body, '\$.params.i') = 2")" \
    "point 2 taken with $left s of walltime left (0: still queued)"
"$cc" add --state "$cstate" --engines 1 >/dev/null || fail "add C"
wait_done long 60
check_exact long 3
assert_eq 0 "$(key "$MNT/results/long/status" failed)" "failed points of long"
[ "$(engine_of long 2)" != "slurm-$b-0" ] || fail "point 2 ran on job $b's engine"
fusermount3 -u "$MNT"
# (1), checked last: the engines of job W were told the job's end.
[ "$deadline_seen" = 1 ] || fail "engine slurm-$w-0 was not given '$want_deadline'"

"$cc" stop --state "$cstate" >/dev/null
slurm_no_jobs || fail "jobs left after stop: $(squeue -h)"
pgrep -f -- "--cluster $cstate/engine.json" >/dev/null && fail "engines left after stop"
log "PASS test_cluster_slurm_walltime"
