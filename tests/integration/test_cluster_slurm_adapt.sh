#!/usr/bin/env bash
# clab-cluster adapt on a real single-node Slurm (tests/cluster/slurm.sh):
# `start --engines 0 --launcher slurm` starts the controller alone (no job);
# bad adapt arguments exit 2 and change nothing; with nothing queued an adapt
# round submits nothing; a burst of points grows the cluster to --max jobs
# (never more) and every point runs exactly once; once the queue is empty,
# jobs idle for --idle seconds are cancelled down to --min exactly; a job
# whose engine runs a point is never cancelled, even with --idle 0, and the
# point completes.
# ctest: resource slurm -- Slurm daemons of its own (tests/cluster/slurm.sh), one test at a time
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
. "$CLAB_SRC/tests/cluster/slurm.sh"

ADAPT_PID=
at_exit '[ -z "$ADAPT_PID" ] || kill -TERM "$ADAPT_PID" 2>/dev/null'
slurm_test_cluster adapt-cluster
cluster_own_iface clabz$(($$ % 100000)) 236 || fail "ip link add"

njobs() { squeue -h -o '%i' 2>/dev/null | wc -l; }
adapt() { "$cc" adapt --state "$cstate" "$@"; }

# ---- the controller alone -------------------------------------------------
"$cc" start --state "$cstate" --launcher slurm --engines 0 --bind "$IF" >"$WORK/start.out" ||
    fail "start --engines 0: $(cat "$WORK/start.out")"
assert_eq 0 "$(njobs)" "Slurm jobs after start --engines 0"
"$cc" status --state "$cstate" >/dev/null || fail "status: the controller does not run"
mount_lab --cluster "$cstate/cluster.json"
assert_eq 0 "$(key "$MNT/status" engines)" "engines after start --engines 0"

# ---- bad arguments: exit 2, a clear message, nothing changed --------------
bad() { # WHAT EXPECTED-IN-MESSAGE ARGS...
    local what=$1 msg=$2 rc=0
    shift 2
    "$cc" adapt "$@" 2>"$WORK/bad.err" || rc=$?
    assert_eq 2 "$rc" "exit status of adapt with $what"
    grep -q -- "$msg" "$WORK/bad.err" || fail "adapt with $what says: $(cat "$WORK/bad.err")"
}
bad "--min > --max" "--min 3 is more than --max 1" --state "$cstate" --min 3 --max 1 --once
bad "a word for --max" "--max wants a number" --state "$cstate" --min 0 --max lots --once
bad "a word for --idle" "--idle wants seconds" --state "$cstate" --max 2 --idle soon --once
bad "no --state" "adapt needs --state" --min 0 --max 2 --once
bad "no --max" "adapt needs --max" --state "$cstate" --once
bad "no controller" "no controller runs in" --state "$WORK/nowhere" --max 2 --once
assert_eq 0 "$(njobs)" "Slurm jobs after the bad adapts"
[ ! -e "$cstate/adapt.log" ] || fail "a bad adapt wrote $cstate/adapt.log"
[ ! -e "$WORK/nowhere" ] || fail "a bad adapt made $WORK/nowhere"

# ---- nothing queued: nothing submitted -------------------------------------
adapt --min 0 --max 3 --idle 2 --once 2>"$WORK/once0.err" || fail "adapt --once: $(cat "$WORK/once0.err")"
assert_eq 0 "$(njobs)" "Slurm jobs after an adapt round with no point"
grep -q "nothing queued" "$cstate/adapt.log" || fail "adapt.log: $(cat "$cstate/adapt.log")"

# ---- a burst: grows to --max, never more; every point once -----------------
sweep burst 24 1
wait_for 10 "24 points at the controller" 'test "$(queue_sql "SELECT count(*) FROM tasks WHERE tag = '"'burst'"'")" = 24'
"$cc" adapt --state "$cstate" --min 1 --max 3 --idle 2 --interval 1 2>"$WORK/adapt.err" &
ADAPT_PID=$!
max_seen=0
watch_jobs() {
    local n
    n=$(njobs)
    [ "$n" -le "$max_seen" ] || max_seen=$n
    test "$(key "$MNT/results/burst/status" done)" = 1
}
wait_for 80 "burst to finish" watch_jobs
check_exact burst 24
assert_eq 0 "$(key "$MNT/results/burst/status" failed)" "failed points of burst"
assert_eq 3 "$max_seen" "most Slurm jobs at once during the burst (--max 3)"
grep -q "submit: .* waiting" "$cstate/adapt.log" || fail "adapt.log has no growth: $(cat "$cstate/adapt.log")"
# Idle for 2 s, the jobs go down to --min 1, exactly.
wait_for 30 "jobs down to --min" 'test "$(njobs)" = 1'
sleep 3
assert_eq 1 "$(njobs)" "Slurm jobs once idle (--min 1)"
grep -q "cancel .* idle" "$cstate/adapt.log" || fail "adapt.log has no cancel: $(cat "$cstate/adapt.log")"
kill -TERM "$ADAPT_PID"
rc=0
wait "$ADAPT_PID" || rc=$?
ADAPT_PID=
assert_eq 0 "$rc" "exit status of adapt on SIGTERM"
assert_eq 1 "$(njobs)" "Slurm jobs after adapt stopped (left as they are)"
"$cc" status --state "$cstate" >"$WORK/status.out" || fail "status: not running"
grep -q "^adapt .*stopped on signal" "$WORK/status.out" || fail "status: $(cat "$WORK/status.out")"
kept=$(squeue -h -o '%i')

# ---- a running point keeps its job, even with --idle 0 ---------------------
submit "{\"experiment\": \"$EXP/gated.py\", \"tag\": \"gate\",
         \"parameters\": {\"i\": 7, \"gate\": \"$WORK/gate\"}}"
wait_for 20 "the gated point running" 'test "$(queue_sql "SELECT count(*) FROM tasks WHERE tag = '"'gate'"' AND state = 1")" = 1'
adapt --min 0 --max 3 --idle 0 --once 2>>"$WORK/once1.err" || fail "adapt --once: $(cat "$WORK/once1.err")"
assert_eq 1 "$(njobs)" "Slurm jobs after adapt --idle 0 with a running point"
assert_eq "$kept" "$(squeue -h -o '%i')" "the job running the gated point"
grep -q "keep job $kept: busy" "$cstate/adapt.log" || fail "adapt.log: $(tail -n 5 "$cstate/adapt.log")"
touch "$WORK/gate"
wait_done gate 30
assert_eq 1 "$(key "$MNT/results/gate/status" results)" "results of the gated point"
grep -q '"opened": *true' "$MNT"/results/gate/[0-9]*.json || fail "gated result: $(cat "$MNT"/results/gate/*.json)"
# Now idle: --min 0 cancels it.
adapt --min 0 --max 3 --idle 0 --once 2>>"$WORK/once1.err" || fail "adapt --once"
wait_for 20 "no job" 'test "$(njobs)" = 0'
assert_eq 0 "$(njobs)" "Slurm jobs after the last point (--min 0)"
unmount_lab

"$cc" stop --state "$cstate" >/dev/null
slurm_no_jobs || fail "jobs left after stop: $(squeue -h)"
pgrep -f -- "--cluster $cstate/engine.json" >/dev/null && fail "engines left after stop"
log "PASS test_cluster_slurm_adapt"
