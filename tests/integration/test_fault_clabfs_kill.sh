#!/usr/bin/env bash
# kill -9 clabfs mid-sweep. With a detached cluster the work goes on while
# nothing is mounted (points end in that window); with the embedded one the
# cluster stops with clabfs (no point ends while it is down) and resumes at
# the next mount. Either way every point appears once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

kill_mount() {
    kill -9 "$(pid_of "clabfs --state $STATE")"
    fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT"
}

now_iso() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }

# ended_between TAG FROM TO: how many finished points of TAG ended (their
# epyc.experiment.end_time, UTC ISO 8601, compares as text) inside the window.
ended_between() {
    python3 - "$MNT/results/$1" "$2" "$3" <<'PY'
import json, os, sys
d, t0, t1 = sys.argv[1:]
n = 0
for sub in (d, os.path.join(d, "failed")):
    for name in os.listdir(sub):
        if name.endswith(".json") and name[:-5].isdigit():
            end = json.load(open(os.path.join(sub, name)))["metadata"]["epyc.experiment.end_time"]
            n += t0 < end < t1
print(n)
PY
}

# Detached cluster.
start_cluster 2
mount_lab --cluster "$WORK/cluster/cluster.json"
sweep d 30 0.2
wait_results d 5
kill_mount
gone=$(now_iso)
sleep 3 # the engines keep working; their results wait in the controller
back=$(now_iso)
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_done d 120
check_exact d 30
# 3 s of 2 engines at 0.2 s a point: up to 25 points run while nothing is
# mounted. Some must have ended in that window, whatever the load.
unmounted=$(ended_between d "$gone" "$back")
log "$unmounted points of d ended while nothing was mounted"
[ "$unmounted" -ge 3 ] || fail "only $unmounted points of d ended while nothing was mounted"

# Embedded cluster, on a fresh state directory.
unmount_lab
STATE=$WORK/state2
mount_lab --engines 2
sweep e 30 0.2
wait_results e 5
kill_mount
wait_for 15 "the embedded cluster to stop with clabfs" \
    "! pgrep -f 'clab-(controller|engine) .*$STATE' >/dev/null"
gone=$(now_iso)
sleep 1
back=$(now_iso)
mount_lab --engines 2
wait_done e 120
check_exact e 30
assert_eq 0 "$(ended_between e "$gone" "$back")" "points of e that ended while the embedded cluster was down"
log "PASS test_fault_clabfs_kill"
