#!/usr/bin/env bash
# SIGSTOP an engine while it holds tasks: the controller counts it lost and
# runs its tasks elsewhere; when it is continued it rejoins and has what it
# held cancelled (by then all of it is elsewhere or done), and every point
# is there exactly once. Only the point whose experiment was running when
# eng1 stopped may run twice (its child goes on while eng1 is stopped):
# after the stop eng1 starts nothing before the controller answered it,
# and a result is accepted only from the engine that holds the task, so
# every point that ran twice has eng2's result (issue 9, edge 9).
# ctest: serial -- a SIGSTOP against a 4 s heartbeat timeout; under load (ctest -j6) eng1 ran a point twice after it rejoined
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 2 --heartbeat-timeout 4
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
# Each run that completes its sleep logs "i engine-pid" to $WORK/runs.
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"s\",
         \"parameters\": {\"i\": {\"range\": [0, 20]}, \"sleep\": 0.5, \"log\": \"$WORK/runs\"}}"
wait_results s 2
stopped=$(engine_pid eng1)
kill -STOP "$stopped"
wait_for 30 "the controller to drop eng1" \
    "grep -q 'engine eng1 .* left: no heartbeat' '$WORK/controller.log'"
# With 18 done, the 2 left are eng2's (an engine holds 2) and the queue is
# empty: whatever eng1 held is elsewhere or finished by now, so it must be
# cancelled when eng1 rejoins.
wait_results s 18 120
kill -CONT "$stopped"
wait_for 30 "eng1 to rejoin" "test \$(grep -c 'engine eng1 joined' '$WORK/controller.log') -ge 2"
wait_done s 120
check_exact s 20
assert_eq 0 "$(key "$MNT/results/s/status" failed)" "failed"
dropped=$(sed -n 's/.*engine eng1: \([0-9]*\) held task(s) cancelled.*/\1/p' "$WORK/controller.log" | head -n 1)
log "eng1 rejoined holding tasks of which ${dropped:-0} were cancelled"
[ "${dropped:-0}" -ge 1 ] || fail "eng1 rejoined with nothing to cancel: the scenario did not happen"
# What ran twice ran on eng1 first (its child went on while it was
# stopped): eng2 never ran a point twice, nothing ran three times, at most
# one point ran twice, and its stored result is eng2's.
python3 - "$WORK/runs" "$stopped" "$MNT/results/s" <<'PY' || fail "points that ran more than once"
import collections, json, os, sys
runs = [l.split() for l in open(sys.argv[1])]
count = collections.Counter(i for i, _ in runs)
assert sorted(map(int, count)) == list(range(20)), sorted(count)
assert max(count.values()) <= 2, dict(count)
twice = [i for i, n in count.items() if n == 2]
assert len(twice) <= 1, ("ran twice", twice, runs)
engine = {}
for name in os.listdir(sys.argv[3]):
    if name.endswith(".json") and name[:-5].isdigit():
        doc = json.load(open(os.path.join(sys.argv[3], name)))
        engine[str(doc["parameters"]["i"])] = doc["metadata"]["clab.engine"]
for i in twice:
    assert sorted(pid for j, pid in runs if j == i).count(sys.argv[2]) == 1, (i, runs)
    assert engine[i] == "eng2", ("the result of point %s is from %s" % (i, engine[i]))
PY
# On a loaded machine eng1 may miss a heartbeat again right after it
# rejoined; it is alive, so it comes back.
wait_for 30 "2 engines after SIGCONT" 'test "$(key "$MNT/status" engines)" = 2'
log "PASS test_fault_sigstop"
