#!/usr/bin/env bash
# kill -9 clabfs mid-sweep. With a detached cluster the work goes on while
# nothing is mounted; with the embedded one the cluster stops with clabfs
# and resumes at the next mount. Either way every point appears once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

kill_mount() {
    kill -9 "$(pid_of "clabfs --state $STATE")"
    fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT"
}

# Detached cluster.
start_cluster 2
mount_lab --cluster "$WORK/cluster/cluster.json"
sweep d 30 0.2
wait_results d 5
kill_mount
sleep 2 # the engines keep working; their results wait in the controller
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_done d 120
check_exact d 30

# Embedded cluster, on a fresh state directory.
fusermount3 -u "$MNT"
wait_for 10 "clabfs to exit" "! pgrep -f 'clabfs --state $STATE' >/dev/null"
STATE=$WORK/state2
mount_lab --engines 2
sweep e 30 0.2
wait_results e 5
kill_mount
wait_for 15 "the embedded cluster to stop with clabfs" \
    "! pgrep -f 'clab-(controller|engine) .*$STATE' >/dev/null"
mount_lab --engines 2
wait_done e 120
check_exact e 30
log "PASS test_fault_clabfs_kill"
