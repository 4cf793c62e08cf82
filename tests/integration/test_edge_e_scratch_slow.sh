#!/usr/bin/env bash
# A scratch directory that takes longer than the heartbeat timeout to
# remove (issue 9, edge 5): the point leaves 200,000 files behind (a tree
# made beforehand, moved into its scratch directory), and the controller
# counts an engine lost after 3 s of silence. The engine
# must keep heartbeating while the directory goes, or the controller
# drops it and hands the point to the idle second engine: the point would
# run twice. End state: the result kept, the point run exactly once, and
# the scratch directories gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

scratch=$WORK/scratch
mkdir -p "$scratch"
"$CONTROLLER" --state "$WORK/cluster" --heartbeat-timeout 3 >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
wait_for 15 "cluster.json" "test -s '$WORK/cluster/cluster.json'"
for id in eng1 eng2; do
    "$ENGINE" --cluster "$WORK/cluster/engine.json" --id $id --scratch "$scratch" \
        >>"$WORK/engine-$id.log" 2>&1 &
    PIDS+=($!)
done
# 200 directories of 1000 empty files, next to the scratch directories.
tree=$WORK/tree
mkdir -p "$tree"
for k in $(seq 0 199); do
    mkdir "$tree/d$k"
    (cd "$tree/d$k" && seq 1000 | xargs touch)
done
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
runs=$WORK/runs
submit "{\"experiment\": \"$EXP/edge_e_tree.py\", \"tag\": \"m\",
         \"parameters\": {\"i\": [0], \"tree\": \"$tree\", \"log\": \"$runs\"}}"
wait_done m 300
check_exact m 1
assert_eq 0 "$(key "$MNT/results/m/status" failed)" "failed"
# A second run would have started on the other engine within a second of
# the drop; give it time to show in the log.
sleep 3
assert_eq 1 "$(wc -l <"$runs")" "runs of the point"
wait_for 300 "the scratch directories to go" 'test -z "$(ls -A "$scratch")"'
log "PASS test_edge_e_scratch_slow"
