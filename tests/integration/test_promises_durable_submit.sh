#!/usr/bin/env bash
# "A job that was accepted is never lost: it is written to the notebook
# before write returns, even while the cluster is unreachable." With the
# controller down, a job is written to /submit; the moment write returns,
# clabfs is killed with -9 (no chance to flush anything later). Mounted
# again, the job is there, pending, with its answer's tag and point count;
# once the controller is back, every point runs exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 2
mount_lab --cluster "$WORK/cluster/cluster.json"
kill -9 "$(pid_of "clab-controller --state $WORK/cluster")"
wait_for 10 "connected 0" 'test "$(key "$MNT/status" connected)" = 0'

# One process writes the job, reads the answer on the same descriptor, and
# kills clabfs with -9 as soon as write has returned.
clabfs_pid=$(pid_of "clabfs --state $STATE")
[ -n "$clabfs_pid" ] || fail "no clabfs process"
python3 - "$MNT/submit" "$EXP/sleepy.py" "$clabfs_pid" >"$WORK/answer" <<'PY' || fail "submit"
import os, signal, sys
path, exp, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
job = ('{"experiment": "%s", "tag": "kept", "parameters": {"i": {"range": [0, 12]}, "sleep": 0.05}}\n' % exp).encode()
fd = os.open(path, os.O_RDWR)
assert os.write(fd, job) == len(job)
answer = os.pread(fd, 100, 0).decode()
os.kill(pid, signal.SIGKILL)
print(answer, end="")
PY
assert_eq "tag kept
points 12" "$(cat "$WORK/answer")" "the answer to the write"
wait_for 10 "clabfs to die" "! kill -0 $clabfs_pid 2>/dev/null"
fusermount3 -uz "$MNT" 2>/dev/null || true

# Mounted again with the cluster still down: the job is in the notebook.
mount_lab_down() {
    "$CLABFS" --state "$STATE" --cluster "$WORK/cluster/cluster.json" "$MNT"
    wait_for 30 "the mount" "mountpoint -q '$MNT'"
}
mount_lab_down
assert_eq 12 "$(key "$MNT/results/kept/status" pending)" "pending points of the kept job after kill -9"
assert_eq 12 "$(key "$MNT/results/kept/status" total)" "total of the kept job"
assert_eq 12 "$(wc -l <"$MNT/results/kept/pending")" "lines of results/kept/pending"

# The controller comes back: every point runs exactly once.
"$CONTROLLER" --state "$WORK/cluster" >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
wait_for 30 "connected 1" 'test "$(key "$MNT/status" connected)" = 1'
wait_done kept 120
check_exact kept 12
log "PASS test_promises_durable_submit"
