# A real single-node Slurm for tests: Debian's slurm-wlm and munge, every
# file (key, sockets, state, spool, logs, pids) in the test's directory, the
# daemons on 127.0.0.1 and on ports nobody else uses, so that several tests
# and the system's own Slurm (if any) never meet. No cgroups and no systemd:
# proctrack/linuxproc and task/none work in any container.
#
#   source tests/cluster/slurm.sh
#   slurm_start "$DIR" || exit $?   # 77 = cannot here, see CLUSTER_SKIP_REASON
#   sbatch ...                      # SLURM_CONF is exported
#   slurm_stop                      # from the caller's EXIT trap
#
# Tunables (environment, before slurm_start): SLURM_TEST_CPUS (CPUs the node
# claims, default 16: more engines than cores fit in one job),
# SLURM_TEST_OVERSUBSCRIBE (partition OverSubscribe, default FORCE:4).
# After slurm_start: SLURM_DIR, SLURM_CONF, SLURM_NODE, SLURM_PARTITION.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SLURM_DIR=
SLURM_NODE=
SLURM_PARTITION=clabtest
SLURM_MUNGE_PID=
SLURM_CTLD_PID=
SLURM_D_PID=

# slurm_install: slurm-wlm and munge, unless already there.
slurm_install() {
    cluster_need_root || return 77
    cluster_apt_install /usr/sbin/slurmctld slurm-wlm munge || return 77
    cluster_apt_install /usr/sbin/munged munge || return 77
    [ -x /usr/sbin/slurmd ] && command -v sbatch >/dev/null ||
        cluster_skip "slurm-wlm installed without slurmd/sbatch"
}

# _slurm_munge_start: a private munged with its own key, socket and files.
_slurm_munge_start() {
    local m=$SLURM_DIR/munge
    mkdir -p "$m"
    chmod 700 "$m"
    if command -v mungekey >/dev/null; then
        mungekey -c -k "$m/munge.key" || return 1
    else
        dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 2>/dev/null || return 1
    fi
    chmod 400 "$m/munge.key"
    # -F keeps it our child; --force lets a stale socket from a killed
    # earlier run of the same directory be replaced.
    munged -F --force --socket="$m/munge.socket" --key-file="$m/munge.key" \
        --pid-file="$m/munged.pid" --log-file="$m/munged.log" \
        --seed-file="$m/munged.seed" >"$m/munged.out" 2>&1 </dev/null &
    SLURM_MUNGE_PID=$!
    if ! cluster_wait 20 _slurm_munge_answers; then
        cluster_log "munged did not answer on $m/munge.socket:"
        tail -n 5 "$m/munged.log" "$m/munged.out" >&2 2>/dev/null
        return 1
    fi
}

_slurm_munge_answers() { munge -s "" -S "$SLURM_DIR/munge/munge.socket" >/dev/null 2>&1; }

# _slurm_write_conf: slurm.conf (and an empty plugstack.conf, so that the
# system's /etc/slurm does not leak in) for one node on loopback.
_slurm_write_conf() {
    local d=$SLURM_DIR ctld_port slurmd_port
    ctld_port=$(cluster_free_port) || return 1
    slurmd_port=$(cluster_free_port) || return 1
    while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(cluster_free_port); done
    mkdir -p "$d/state" "$d/spool" "$d/log"
    : >"$d/plugstack.conf"
    cat >"$d/slurm.conf" <<EOF
# Written by tests/cluster/slurm.sh for a throwaway single-node cluster.
ClusterName=clabtest
SlurmctldHost=$SLURM_NODE(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$d/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# The node claims more CPUs than the machine has; accept it.
SlurmdParameters=config_overrides
MailProg=/bin/true
ReturnToService=2
# Short grace between SIGTERM and SIGKILL at walltime or scancel.
KillWait=5
MinJobAge=300
InactiveLimit=0
SlurmdTimeout=60
SlurmctldTimeout=60
NodeName=$SLURM_NODE NodeAddr=127.0.0.1 CPUs=${SLURM_TEST_CPUS:-16} State=UNKNOWN
PartitionName=$SLURM_PARTITION Nodes=$SLURM_NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=${SLURM_TEST_OVERSUBSCRIBE:-FORCE:4}
EOF
}

_slurm_ctld_answers() { scontrol ping >/dev/null 2>&1; }

_slurm_node_idle() {
    local s
    s=$(sinfo -h -N -n "$SLURM_NODE" -o '%t' 2>/dev/null) || return 1
    [ "$s" = idle ] || [ "$s" = mix ] || [ "$s" = alloc ]
}

# slurm_start DIR: installs if needed, starts munged, slurmctld and slurmd
# with everything in DIR, exports SLURM_CONF, and returns once the node is
# idle (at most ~60 s). 77 = this machine cannot; 1 = it should have
# worked (logs printed). On failure, what was started is stopped.
slurm_start() {
    local dir=${1:?slurm_start DIR}
    slurm_install || return $?
    mkdir -p "$dir" || return 1
    SLURM_DIR=$(cd "$dir" && pwd)
    SLURM_NODE=$(hostname -s)
    # A unix socket path is at most 107 bytes.
    [ ${#SLURM_DIR} -le 80 ] || { cluster_log "slurm_start: $SLURM_DIR too long for sockets"; return 1; }
    cluster_register_cleanup slurm_stop
    _slurm_munge_start || { slurm_stop; return 1; }
    _slurm_write_conf || { slurm_stop; return 1; }
    export SLURM_CONF=$SLURM_DIR/slurm.conf
    slurmctld -D -c -f "$SLURM_CONF" >"$SLURM_DIR/log/slurmctld.out" 2>&1 </dev/null &
    SLURM_CTLD_PID=$!
    if ! cluster_wait 30 _slurm_ctld_answers; then
        _slurm_fail "slurmctld did not answer"
        return 1
    fi
    slurmd -D -N "$SLURM_NODE" -f "$SLURM_CONF" >"$SLURM_DIR/log/slurmd.out" 2>&1 </dev/null &
    SLURM_D_PID=$!
    if ! cluster_wait 60 _slurm_node_idle; then
        _slurm_fail "node $SLURM_NODE not idle after 60 s"
        return 1
    fi
}

_slurm_fail() {
    cluster_log "slurm_start: $*"
    local f
    for f in "$SLURM_DIR"/log/* "$SLURM_DIR"/munge/munged.log; do
        [ -s "$f" ] || continue
        cluster_log "== $f"
        tail -n 15 "$f" >&2
    done
    sinfo -N 2>&1 | head -n 5 >&2 || true
    slurm_stop
}

# slurm_job_state JOBID: PENDING, RUNNING, COMPLETED, TIMEOUT, CANCELLED...
# as long as slurmctld remembers the job (MinJobAge, 300 s); empty after.
slurm_job_state() {
    scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}

# slurm_job_gone JOBID: true once squeue no longer lists it as live.
slurm_job_gone() {
    local s
    s=$(squeue -h -j "$1" -o '%T' 2>/dev/null) || true
    case $s in PENDING | RUNNING | CONFIGURING | COMPLETING | SUSPENDED | REQUEUED* | RESIZING | SIGNALING | STAGE_OUT) return 1 ;; esac
    return 0
}

# slurm_wait_job JOBID SECONDS: waits until the job is over; fails after
# SECONDS.
slurm_wait_job() { cluster_wait "$2" slurm_job_gone "$1"; }

# slurm_no_jobs: true when the test's cluster has no job at all.
slurm_no_jobs() { [ -z "$(squeue -h -o '%i' 2>/dev/null)" ]; }

# slurm_stop: cancels every job, stops slurmd, slurmctld and munged, and
# reaps anything left that carries SLURM_DIR (job steps, slurmstepd, job
# processes, which inherit SLURM_CONF). Safe to call twice or before start.
slurm_stop() {
    [ -n "$SLURM_DIR" ] || return 0
    local p
    if [ -n "$SLURM_CTLD_PID" ] && kill -0 "$SLURM_CTLD_PID" 2>/dev/null; then
        timeout 10 scancel --full --quiet --signal=KILL --state=RUNNING 2>/dev/null || true
        timeout 10 scancel --quiet --user=root 2>/dev/null || true
        cluster_wait 20 slurm_no_jobs || cluster_log "slurm_stop: jobs still listed after 20 s"
    fi
    for p in "$SLURM_D_PID" "$SLURM_CTLD_PID"; do
        [ -z "$p" ] || kill -TERM "$p" 2>/dev/null || true
    done
    for p in "$SLURM_D_PID" "$SLURM_CTLD_PID"; do
        [ -z "$p" ] || cluster_wait 15 cluster_pid_gone "$p" || kill -KILL "$p" 2>/dev/null || true
    done
    if [ -n "$SLURM_MUNGE_PID" ]; then
        kill -TERM "$SLURM_MUNGE_PID" 2>/dev/null || true
        cluster_wait 10 cluster_pid_gone "$SLURM_MUNGE_PID" || kill -KILL "$SLURM_MUNGE_PID" 2>/dev/null || true
    fi
    cluster_reap_dir "$SLURM_DIR" 5 || cluster_log "slurm_stop: processes of $SLURM_DIR survive SIGKILL"
    for p in "$SLURM_D_PID" "$SLURM_CTLD_PID" "$SLURM_MUNGE_PID"; do
        [ -z "$p" ] || wait "$p" 2>/dev/null || true
    done
    SLURM_D_PID= SLURM_CTLD_PID= SLURM_MUNGE_PID=
    unset SLURM_CONF
    SLURM_DIR=
}

# slurm_test_cluster NAME: what a Slurm test on a mount starts with, after
# lib.sh: /dev/fuse (or skip), the programs of this build, clab-cluster as
# $cc, the cluster's state $cstate=$WORK/NAME (its queue $DB) stopped at
# the end, and Slurm started (or skip when it cannot run here).
slurm_test_cluster() {
    [ -e /dev/fuse ] || { log "SKIP: no /dev/fuse"; exit 77; }
    export CLAB_BINDIR=$CLAB_BUILD/backend
    cc=$CLAB_SRC/scripts/clab-cluster
    cstate=$WORK/$1
    DB=$cstate/controller.db
    at_exit '"$cc" stop --state "$cstate" >/dev/null 2>&1'
    local rc=0
    slurm_start "$WORK/slurm" || rc=$?
    [ $rc = 0 ] || { [ $rc = 77 ] && exit 77; fail "slurm_start: $rc"; }
}
