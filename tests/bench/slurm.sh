#!/usr/bin/env bash
# The Slurm launcher's throughput beside the embedded cluster's, on this
# machine, in one invocation: the same compiled noop sweep (POINTS points,
# default 2000) on `clabfs --engines 2` and on `clab-cluster --launcher
# slurm --engines 2` (a real single-node Slurm from tests/cluster/slurm.sh,
# the controller on TCP+CURVE at a veth address of our own). Figures, not
# pass/fail. Needs root; installs slurm-wlm and munge if missing.
#   CLAB_BUILD=build tests/bench/slurm.sh [POINTS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CLAB_BUILD=${CLAB_BUILD:-$here/../../build}
CLAB_BUILD=$(cd "$CLAB_BUILD" && pwd)
. "$here/../integration/lib.sh"
. "$CLAB_SRC/tests/cluster/slurm.sh"
POINTS=${1:-2000}
NOOP=$CLAB_BUILD/tests/clab-bench-noop
[ -x "$NOOP" ] || fail "no $NOOP: build first"
export CLAB_BINDIR=$CLAB_BUILD/backend
cc=$CLAB_SRC/scripts/clab-cluster
cstate=$WORK/slurm-cluster

# rate TAG: submits the noop sweep, prints points/s from submit to done.
rate() {
    local t0 t1
    t0=$(date +%s.%N)
    submit "{\"experiment\": \"$NOOP\", \"tag\": \"$1\",
             \"parameters\": {\"i\": {\"range\": [0, $POINTS]}}}"
    wait_done "$1" 600
    t1=$(date +%s.%N)
    [ "$(key "$MNT/results/$1/status" results)" = "$POINTS" ] || fail "set $1 incomplete"
    python3 -c "print(round($POINTS / ($t1 - $t0)))"
}

log "embedded: $POINTS noop points, 2 engines"
mount_lab --engines 2
wait_for 60 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
embedded=$(rate emb)
fusermount3 -u "$MNT"
wait_for 30 "unmount" '! mountpoint -q "$MNT"'

rc=0
slurm_start "$WORK/slurm" || rc=$?
[ $rc = 0 ] || { [ $rc = 77 ] && exit 77; fail "slurm_start: $rc"; }
at_exit '"$cc" stop --state "$cstate" >/dev/null 2>&1'
cluster_own_iface clabn$(($$ % 100000)) 237 || fail "ip link add"
"$cc" start --state "$cstate" --launcher slurm --engines 2 --bind "$IF" >/dev/null || fail "start"
log "slurm: $POINTS noop points, 2 engines in one job"
mount_lab --cluster "$cstate/cluster.json"
wait_for 120 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
slurm=$(rate slu)

printf '%-52s %10s\n' "figure (this machine, $(nproc) cores)" "points/s"
printf '%-52s %10s\n' "embedded cluster, 2 engines, $POINTS noop points" "$embedded"
printf '%-52s %10s\n' "Slurm launcher, 1 job of 2 engines, same sweep" "$slurm"
printf '%-52s %10s\n' "ratio Slurm / embedded" "$(python3 -c "print(f'{$slurm / $embedded:.2f}')")"
