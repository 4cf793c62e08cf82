#!/usr/bin/env bash
# /ctl cancel, retry and delete on a real mount with a real cluster: the
# counts after each, the records they leave, errors for unknown sets, and
# what the cluster does about them: which points start on the engine (each
# start is logged by the experiment itself), which experiment processes
# run, and what the controller's queue still means to run. Then the state
# after a remount.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"


mount_lab --engines 1
logged keep 3 0.05
wait_done keep 60
logged c 20 0.3
wait_results c 2

# cancel: every pending point becomes a failed result `cancelled`, at once.
echo 'cancel c' >"$MNT/ctl"
st=$MNT/results/c/status
assert_eq 0 "$(key "$st" pending)" "pending after cancel"
assert_eq 1 "$(key "$st" done)" "done after cancel"
ok=$(key "$st" results)
cancelled=$(key "$st" failed)
assert_eq 20 $((ok + cancelled)) "results + cancelled"
[ "$cancelled" -ge 10 ] || fail "only $cancelled cancelled"
python3 - "$MNT/results/c/failed" <<'PY' || fail "cancelled records"
import json, os, sys
d = sys.argv[1]
for name in os.listdir(d):
    m = json.load(open(os.path.join(d, name)))["metadata"]
    assert m["epyc.experiment.exception"] == "Cancelled", m
    assert m["epyc.experiment.traceback"] == "cancelled by /ctl cancel", m
    assert "epyc.experiment.classname" not in m, m
    assert m["epyc.experiment.status"] is False
PY
# ... and at the cluster: the running point is killed, the queue holds
# nothing of c, and no point of c starts any more.
wait_for 15 "the running point of c to be killed" 'test "$(running)" -eq 0'
wait_for 15 "the controller to forget c" 'test "$(queued_at_controller c)" -eq 0'
before=$(started c)
sleep 1 # a result of the point that was running must not be counted now
assert_eq "$ok" "$(key "$st" results)" "results after cancel"
assert_eq "$before" "$(started c)" "points of c started after the cancel"

# retry: the cancelled points run again, each exactly once more; each i is
# then in results once.
echo 'retry c' >"$MNT/ctl"
assert_eq "$cancelled" "$(key "$st" pending)" "pending after retry"
wait_done c 120
assert_eq 20 "$(key "$st" results)" "results after retry"
assert_eq "$cancelled" "$(key "$st" failed)" "the cancelled records stay"
assert_eq "$(seq 0 19)" "$(tail -n +2 "$MNT/results/c/results.csv" | cut -d, -f1 | sort -n)" \
    "every point once in results.csv"
assert_eq $((before + cancelled)) "$(started c)" "points of c started by the retry"
assert_eq 0 "$(queued_at_controller c)" "c's tasks at the controller after the retry"
echo 'retry c' >"$MNT/ctl" # nothing left to retry
assert_eq 0 "$(key "$st" pending)" "a second retry"

# delete: the set is gone, the other one becomes current.
echo 'delete c' >"$MNT/ctl"
assert_eq keep "$(ls "$MNT/results")" "sets after delete"
assert_eq keep "$(key "$MNT/status" current)" "current after delete"

# delete of a set with pending points: its running point is killed, the
# controller forgets the rest, and a set queued behind it runs at once
# (not after d's points of 10 s each on the one engine).
logged d 50 10
logged e 4 0.05
wait_for 30 "a point of d to start" 'test "$(started d)" -ge 1'
echo 'delete d' >"$MNT/ctl"
wait_for 15 "the controller to forget d" 'test "$(queued_at_controller d)" -eq 0'
wait_done e 8
check_exact e 4
wait_for 5 "no experiment to run" 'test "$(running)" -eq 0'
before_d=$(started d)
[ ! -e "$MNT/results/d" ] || fail "results/d still there after delete"
assert_eq "$before_d" "$(started d)" "points of d started after the delete"

# Unknown sets and unknown commands.
( echo 'cancel nosuch' >"$MNT/ctl" ) 2>/dev/null && fail "cancel of an unknown set"
( echo 'frobnicate c' >"$MNT/ctl" ) 2>/dev/null && fail "an unknown command"
grep -q 'ctl: ENOENT: no result set "nosuch"' "$MNT/errors" || fail "/errors"

# After a remount: the same sets and counts, nothing of c or d comes back
# to the cluster, and a new set runs.
unmount_lab
mount_lab --engines 1
assert_eq "e
keep" "$(ls "$MNT/results")" "sets after the remount"
assert_eq 3 "$(key "$MNT/results/keep/status" results)" "keep after the remount"
check_exact e 4
sleep 1
assert_eq 0 "$(queued_at_controller)" "tasks at the controller after the remount"
assert_eq "$before_d" "$(started d)" "points of d started after the remount"
logged f 3 0.05
wait_done f 30
check_exact f 3
assert_eq 0 "$(queued_at_controller)" "tasks at the controller at the end"
log "PASS test_ctl"
