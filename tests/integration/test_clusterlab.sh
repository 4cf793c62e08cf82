#!/usr/bin/env bash
# SPEC "Python: clabfs.ClusterLab", on a real mount of a detached cluster
# (TCP, CURVE: the pickle reaches the engines only through the protocol)
# and on mounts the lab starts itself (tests/epyc/lab_checks.py does the
# Python side; its experiments are classes of __main__):
# - a point started by one process, pending in a JSON notebook, whose
#   engine is killed (--retries 0), is cancelled by another process's
#   updateResults(purge=True);
# - __main__ subclasses run on the engines with __main__'s globals and
#   record the classname __main__.Child; two labs on one mount and one
#   result set name see only their own points; numberOfEngines, engines,
#   activate, close and open;
# - the notebook's cancelPendingResult cancels at the cluster, a cancel at
#   the mount comes back as epyc's CancelledException, an epyc tag clabfs
#   refuses maps to one it takes;
# - sync_imports: every worker imported the modules first;
# - a pickle over 1 MiB is refused before any submit, one under it runs;
# - without epyc the lab stands alone with the same names;
# - a lab with a clabfs of its own (url_file: --cluster; engines: the
#   embedded cluster; profile under ~/.local/state/clabfs; the arguments
#   that mean nothing accepted) is unmounted by close().
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

PY=/usr/bin/python3
CHECKS=$CLAB_SRC/tests/epyc/lab_checks.py
"$PY" -c 'import cloudpickle' || fail "$PY has no cloudpickle (scripts/deps.sh)"
export CLABFS CLAB_PYTHON=$CLAB_SRC/scripts/clab-python TMPDIR=$WORK
# A lab's own mount points are made under TMPDIR: unmount any left.
at_exit 'for m in $(awk -v w="$WORK/" "index(\$2, w) == 1 { print \$2 }" /proc/mounts); do
    fusermount3 -uz "$m" 2>/dev/null; done'

start_detached 1 --heartbeat-timeout 3 --retries 0
mount_lab --cluster "$WORK/cluster/cluster.json"

"$PY" "$CHECKS" slow "$MNT" "$WORK/nb.json" || fail "slow"
wait_for 60 "eng1 to run the point" "pgrep -P \$(engine_pid eng1) >/dev/null"
kill -9 "$(engine_pid eng1)"
wait_for 30 "the point to be lost" 'test "$(key "$MNT/results/slow/status" failed)" = 1'
add_engine eng2
add_engine eng3
wait_for 30 "two engines" 'test "$(key "$MNT/status" engines)" = 2'
"$PY" "$CHECKS" purge "$MNT" "$WORK/nb.json" || fail "purge"

"$PY" "$CHECKS" labs "$MNT" "$STATE" || fail "labs"
"$PY" "$CHECKS" standalone "$MNT" || fail "standalone"

mkdir -p "$WORK/home"
HOME=$WORK/home XDG_STATE_HOME='' "$PY" "$CHECKS" private "$WORK/cluster/cluster.json" \
    "$WORK/home" || fail "private"
left=$(awk -v w="$WORK/" -v m="$MNT" 'index($2, w) == 1 && $2 != m' /proc/mounts)
[ -z "$left" ] || fail "mounts left: $left"
log "PASS test_clusterlab"
