#!/bin/bash
# Self-test of tests/cluster/slurm.sh: a real single-node Slurm runs batch
# jobs, multi-task steps (more tasks than cores), ends a job at its walltime
# after sending the --signal warning well before, and slurm_stop leaves no
# job and no daemon behind. About 1.5-2 minutes: the walltime case waits for
# a one-minute job (Slurm's smallest limit) and slurmctld checks limits every
# 30 s. Run: bash tests/cluster/test_slurm_selftest.sh
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/selftest.sh"
source "$HERE/slurm.sh"

DIR=$(mktemp -d /tmp/clab-slurm.XXXXXX)
st_begin 300
st_on_exit slurm_stop
st_on_exit "rm -rf '$DIR'"

slurm_start "$DIR/slurm"
rc=$?
[ "$rc" -ne 77 ] || st_skip "$CLUSTER_SKIP_REASON"
st_check "slurm_start: node idle" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || exit 1
st_check "SLURM_CONF exported" [ "$SLURM_CONF" = "$DIR/slurm/slurm.conf" ]
OUT=$DIR/out
mkdir -p "$OUT"

# The walltime job goes first: it is the long one, the others run beside it.
cat >"$OUT/wall.sh" <<'EOF'
#!/bin/bash
echo "start $(date +%s)"
trap 'echo "term $(date +%s)"' TERM
while :; do sleep 1; done
EOF
wall_submit=$(date +%s)
WALL=$(sbatch --parsable -J wall --time=0:01 --signal=B:TERM@30 -o "$OUT/wall.out" "$OUT/wall.sh")
st_check "sbatch walltime job: id $WALL" [ -n "$WALL" ]

HI=$(sbatch --parsable -J hi -o "$OUT/hi.out" --wrap 'echo hi; sleep 1')
st_check "sbatch --wrap: id $HI" [ -n "$HI" ]
st_check "job $HI shows in squeue" [ -n "$(squeue -h -j "$HI" -o %i 2>/dev/null)$(slurm_job_state "$HI")" ]
st_check "job $HI done within 60 s" slurm_wait_job "$HI" 60
st_check "job $HI output is 'hi'" [ "$(cat "$OUT/hi.out" 2>/dev/null)" = hi ]
st_check "job $HI state COMPLETED" [ "$(slurm_job_state "$HI")" = COMPLETED ]

tasks_ok() { # FILE N: N lines "task I HOST", I = 0..N-1, each once
    [ "$(sort -n -k2 "$1" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')" = "$(seq -s ' ' 0 $(($2 - 1))) " ]
}
T2=$(sbatch --parsable -J two -n 2 -o "$OUT/two.out" \
    --wrap 'srun bash -c "echo task \$SLURM_PROCID \$(hostname)"')
T4=$(sbatch --parsable -J four -n 4 -o "$OUT/four.out" \
    --wrap 'srun bash -c "echo task \$SLURM_PROCID \$(hostname) \$(date +%s); sleep 3"')
st_check "job $T2 (-n 2) done within 60 s" slurm_wait_job "$T2" 60
st_check "job $T2 ran 2 tasks" tasks_ok "$OUT/two.out" 2
st_check "job $T4 (-n 4, more tasks than $(nproc) cores) done within 60 s" slurm_wait_job "$T4" 60
st_check "job $T4 ran 4 tasks" tasks_ok "$OUT/four.out" 4
together() { # tasks that sleep 3 s each all started within 2 s
    awk 'NR == 1 || $4 < lo {lo = $4} NR == 1 || $4 > hi {hi = $4} END {exit !(NR > 0 && hi - lo <= 2)}' "$1"
}
st_check "job $T4's 4 tasks ran at the same time" together "$OUT/four.out"

# Walltime: the warning arrives well before the end, then the job is killed
# (TIMEOUT). slurmctld sends the warning up to 30 s early on purpose.
st_check "walltime job $WALL ended within 150 s" slurm_wait_job "$WALL" 150
wall_end=$(date +%s)
start=$(awk '$1 == "start" {print $2; exit}' "$OUT/wall.out" 2>/dev/null)
term=$(awk '$1 == "term" {print $2; exit}' "$OUT/wall.out" 2>/dev/null)
echo "     walltime job: submitted $wall_submit, started ${start:-?}, first TERM ${term:-?}, gone $wall_end"
st_check "walltime job state TIMEOUT" [ "$(slurm_job_state "$WALL")" = TIMEOUT ]
st_check "walltime job ran at least its 60 s" [ $((wall_end - ${start:-$wall_end})) -ge 60 ]
st_check "--signal TERM arrived" [ -n "$term" ]
st_check "--signal TERM arrived >= 20 s before the end" [ $((wall_end - ${term:-$wall_end})) -ge 20 ]

# slurm_stop cancels a running job and reaps its processes.
LONG=$(sbatch --parsable -J long -o "$OUT/long.out" --wrap "echo \$\$ >'$OUT/long.pid'; exec sleep 301")
long_pid() { cat "$OUT/long.pid" 2>/dev/null; }
running() { [ "$(squeue -h -j "$LONG" -o %T 2>/dev/null)" = RUNNING ] && [ -n "$(long_pid)" ] && ! cluster_pid_gone "$(long_pid)"; }
st_check "job $LONG running (its sleep seen)" cluster_wait 30 running
pids=$(cluster_pids_of_dir "$DIR")
st_check "processes of the cluster are found by its directory" [ -n "$pids" ]
slurm_stop
st_check "slurm_stop leaves no process of $DIR" cluster_no_pids_of_dir "$DIR"
sleep_gone() { cluster_pid_gone "$(long_pid)"; }
st_check "the job's sleep ($(long_pid)) was killed" cluster_wait 5 sleep_gone
leftover=$(pgrep -a 'slurmctld|slurmd|slurmstepd|munged' | grep -F "$DIR" || true)
st_check "no slurmctld/slurmd/slurmstepd/munged of this test left" [ -z "$leftover" ]
st_check "SLURM_CONF unset after stop" [ -z "${SLURM_CONF:-}" ]
slurm_stop
st_check "slurm_stop twice is harmless" true
