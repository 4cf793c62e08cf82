#!/usr/bin/env bash
# Walltime: an engine that says when its Slurm job ends (--deadline EPOCH)
# is given no point the set's finished points say will outlast it; with
# nothing it could finish, it drains and exits 0 and the points run on the
# other engines. SIGTERM (Slurm's --signal at walltime, scancel) stops an
# engine mid-point: the point runs again elsewhere, with no try spent and
# no failure, and the engine exits 0. One machine, a detached cluster.
# ctest: serial -- an engine with 2 s left beside points of 3 s, and a kill timed by sleeps of 0.5 and 1 s
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

# start_engine ID [engine options]: prints nothing; sets ENGINE_PID.
start_engine() {
    local id=$1
    shift
    "$ENGINE" --cluster "$WORK/cluster/engine.json" --id "$id" "$@" \
        >>"$WORK/engine-$id.log" 2>&1 &
    ENGINE_PID=$!
    PIDS+=("$ENGINE_PID")
}
# exit_status PID SECONDS: waits for PID to end; its exit status in RC
# (never in $(...): a subshell cannot wait for the test's children).
exit_status() {
    wait_for "$2" "engine $1 to exit" "! kill -0 $1 2>/dev/null"
    RC=0
    wait "$1" || RC=$?
}

# rerun_clean TAG N: TAG's N points are done, each exactly once, none
# failed and no try spent (a point stopped with its engine is not a try).
rerun_clean() {
    wait_done "$1" 60
    check_exact "$1" "$2"
    assert_eq 0 "$(key "$MNT/results/$1/status" failed)" "failed points of $1"
    # A delivered task leaves the controller's queue: the records say which
    # dispatch produced them (clab.attempt, 1 + the tries spent).
    assert_eq "1" "$(python3 -c '
import json, sys
print(",".join(sorted({str(json.loads(l)["metadata"].get("clab.attempt"))
                       for l in open(sys.argv[1])})))' "$MNT/results/$1/results.jsonl")" \
        "clab.attempt of $1's records (no try spent)"
}

start_detached 1 --heartbeat-timeout 5
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "1 engine" 'test "$(key "$MNT/status" engines)" = 1'

# (1) Points of ~3 s; once one finished, the set's estimate is ~3 s and an
# engine with 2 s left takes none of them: it drains and exits 0.
sweep d 8 3
wait_results d 1 30
start_engine short --deadline $(($(date +%s) + 2))
short=$ENGINE_PID
exit_status "$short" 20
assert_eq 0 "$RC" "exit status of the engine with 2 s left"
assert_eq 0 "$(queue_sql "SELECT count(*) FROM tasks WHERE engine = 'short'")" \
    "tasks the controller gave the engine with 2 s left"
# One with time to spare takes them.
start_engine long --deadline $(($(date +%s) + 600))
rerun_clean d 8
ran=$(engines_of d) # not piped into grep -q: pipefail and SIGPIPE
grep -qx long <<<"$ran" || fail "the engine with 600 s left ran no point of d"
! grep -qx short <<<"$ran" || fail "the engine with 2 s left ran a point of d"

# (2) SIGTERM mid-point: the point runs again elsewhere, no try, no failure.
start_engine victim
victim=$ENGINE_PID
wait_for 30 "3 engines" 'test "$(key "$MNT/status" engines)" = 3'
sweep t 6 3
wait_for 20 "victim to hold a point" \
    'test "$(queue_sql "SELECT count(*) FROM tasks WHERE engine = '"'victim'"' AND state = 1")" -ge 1'
sleep 1
held=$(queue_sql "SELECT coalesce(group_concat(job, ' '), '') FROM tasks WHERE engine = 'victim' AND state = 1")
kill -TERM "$victim"
exit_status "$victim" 15
assert_eq 0 "$RC" "exit status of the engine stopped by SIGTERM"
rerun_clean t 6
for job in $held; do
    python3 - "$MNT/results/t" "$job" <<'PY' || fail "job $job held by victim at SIGTERM"
import json, os, sys
d, job = sys.argv[1], sys.argv[2]
for n in os.listdir(d):
    if n.endswith(".json") and n[:-5].isdigit():
        md = json.load(open(os.path.join(d, n)))["metadata"]
        if md["clab.job"] == job:
            assert md["clab.engine"] != "victim", "ran on victim"
            sys.exit(0)
sys.exit("no result")
PY
done
# (3) Slurm signals every process of a job step (scancel, --signal): the
# experiment gets SIGTERM with its engine, and may die first. That point
# too runs again elsewhere, not "killed by signal 15".
start_engine victim2
victim2=$ENGINE_PID
wait_for 30 "3 engines" 'test "$(key "$MNT/status" engines)" = 3'
sweep s 6 3
wait_for 20 "victim2 to run a point" 'pgrep -P '"$victim2"' >/dev/null'
sleep 0.5
kill -TERM $(pgrep -P "$victim2")
sleep 0.05
kill -TERM "$victim2"
exit_status "$victim2" 15
assert_eq 0 "$RC" "exit status of the engine stopped with its experiment"
rerun_clean s 6
ran=$(engines_of s)
! grep -qx victim2 <<<"$ran" || fail "a point of s has its result from victim2"
log "PASS test_cluster_deadline"
