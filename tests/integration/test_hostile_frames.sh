#!/usr/bin/env bash
# Hostile frames: tests/tools/clab-hostile connects to a real controller
# with the cluster's keys (cluster.json as a client, engine.json as an
# engine), and sends wrong
# frame counts, bad versions, types and bodies, unknown and out-of-order
# messages (results for jobs never given, acks for unknown jobs, take-back
# answers nobody asked for), garbage
# and huge submissions, replays, bad routing ids and a frame over the size
# limit; plus odd but valid tasks that a real engine must run and answer.
# Afterwards the controller and the engine are alive, and the controller's
# queue (controller.db, read with sqlite3) holds exactly what the contract
# says: one row per accepted job id (the replayed one once, the odd ones),
# each finished (the replayed one, for a missing experiment, failed with
# "cannot execute"), and no row for anything malformed, relative, huge
# (over the 1 MiB task limit), oversized, acknowledged-but-unknown or
# reported by the fake engine.
# A normal sweep through clabfs then completes exactly, and the notebook
# holds that sweep and nothing of the attack.
# (The engine's side, facing a hostile controller: test_hostile_engine.sh.)
. "$(dirname "$0")/lib.sh"

HOSTILE=$CLAB_BUILD/tests/tools/clab-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE not built (tests/tools is not in the build)"

start_cluster 1
controller_pid=${PIDS[0]} engine_pid=${PIDS[1]}
conn=$WORK/cluster/cluster.json
mount_lab --cluster "$conn"
wait_for 30 "1 engine" 'test "$(key "$MNT/status" engines)" = 1'

rc=0
timeout 120 "$HOSTILE" --cluster "$conn" --engine-file "$WORK/cluster/engine.json" \
    attack --experiment "$EXP/trivial.sh" \
    >"$WORK/hostile.out" 2>"$WORK/hostile.log" || rc=$?
if [ $rc -ne 0 ]; then
    cat "$WORK/hostile.out" "$WORK/hostile.log" >&2
    fail "clab-hostile attack: exit $rc"
fi
cat "$WORK/hostile.out" >&2

kill -0 "$controller_pid" 2>/dev/null || fail "the controller died"
kill -0 "$engine_pid" 2>/dev/null || fail "the engine died"
grep -q '^every odd task came back$' "$WORK/hostile.out" || fail "odd tasks"
grep -q '^the oversized frame was dropped; reconnected$' "$WORK/hostile.out" || fail "oversized frame"
grep -q '^the controller no longer lists the fake engine$' "$WORK/hostile.out" ||
    fail "fake engine still listed"
# The replayed job (stored once, for a missing experiment) came back failed.
grep -q "^odd task hostile-[0-9]*-replayed: experiment not found on $(hostname)$" \
    "$WORK/hostile.out" || fail "the replayed job's outcome: $(grep replayed "$WORK/hostile.out")"
# Each odd task has the outcome the contract gives it.
expect_odd() { # name exception
    grep -q "^odd task hostile-[0-9]*-odd-$1: $2\$" "$WORK/hostile.out" ||
        fail "odd task $1: expected [$2]"
}
expect_odd tag-number succeeded
expect_odd tag-path succeeded
expect_odd timeout-string succeeded
expect_odd timeout-negative succeeded
expect_odd timeout-huge succeeded
expect_odd extra-fields succeeded
expect_odd unicode-params succeeded
expect_odd params-deep succeeded
expect_odd params-too-big-for-env succeeded
grep -q '^odd task ???jjjjjjj' "$WORK/hostile.out" || fail "odd task with a long job id"

# The controller's queue, per job id of the attack. The prefix is the
# tool's: hostile-PID (its client id is hostile-cli-PID).
client=$(sed -n 's/^welcomed as client //p' "$WORK/hostile.out")
[ -n "$client" ] || fail "no client id in the tool's output"
prefix=hostile-${client#hostile-cli-}
# queue_check: exit 0 when every expected job has finished (state DONE or
# DELIVERED), 3 while some are still queued or running, 1 on a wrong row.
queue_check() {
    python3 - "$WORK/cluster/controller.db" "$client" "$prefix" <<'PY'
import json, socket, sqlite3, sys
db, client, prefix = sys.argv[1:]
DONE, DELIVERED = 2, 3
con = sqlite3.connect(db, timeout=10)
rows = con.execute("SELECT job, client, state, record FROM tasks WHERE client = ? OR job LIKE ? OR job = 'j'",
                   (client, prefix + "%")).fetchall()
by_job = {}
for job, cl, state, rec in rows:
    assert job not in by_job, "job %r twice" % job
    by_job[job] = (cl, state, rec)
odd = ["tag-number", "tag-path", "timeout-string", "timeout-negative", "timeout-huge",
       "extra-fields", "unicode-params", "params-too-big-for-env", "params-deep"]
longid = "\u00e9\n" + "j" * 9997
# The huge task (8 MiB of parameters) is over the controller's limit for
# one task (MAX_TASK_BYTES, 1 MiB): refused like a malformed one, no row.
missing = [prefix + "-replayed"]
want = set(missing) | {prefix + "-odd-" + o for o in odd} | {longid}
got = set(by_job)
# A task the tool acknowledged is deleted: its row is gone, as it should.
assert got <= want, "rows: extra %s" % sorted(got - want)[:5]
for job, (cl, state, rec) in by_job.items():
    assert cl == client, "%r belongs to %r" % (job, cl)
    assert state in (0, 1, DONE, DELIVERED), (job, state)
unfinished = [j for j, (_, s, _) in by_job.items() if s < DONE]
if unfinished:
    sys.exit(3)
# A missing experiment fails; an odd task runs trivial.sh and succeeds.
# (A record is kept until the tool acknowledged it: DELIVERED rows have none.)
for job, (cl, state, rec) in by_job.items():
    if rec is None:
        assert state == DELIVERED, (job, state)
        continue
    r = json.loads(rec)
    exc = r["metadata"].get("epyc.experiment.exception")
    if job in missing:
        assert r["ok"] is False and exc == "experiment not found on " + socket.gethostname(), (job, exc)
    else:
        assert r["ok"] is True, (job, exc)
print(len(by_job), "jobs of the attack, all finished;",
      sum(1 for v in by_job.values() if v[1] == DONE), "with records")
PY
}
qrc=3
end=$((SECONDS + 90))
while [ $qrc -eq 3 ] && [ $SECONDS -lt $end ]; do
    qrc=0
    queue_check >"$WORK/queue.out" || qrc=$?
    [ $qrc -ne 3 ] || sleep 0.5
done
cat "$WORK/queue.out" >&2
[ $qrc -eq 0 ] || fail "the controller's queue after the attack (check exit $qrc)"
# No sanitizer report from any program so far (under scripts/test.sh's
# ASan step; the clean-up looks again once all have exited).
no_sanitizer_reports

# A normal sweep still completes exactly, on the engine that survived.
submit "{\"experiment\": \"$EXP/sum.py\", \"parameters\": {\"a\": {\"range\": [0, 6]}, \"b\": [10, 20, 30]}, \"tag\": \"after\"}"
wait_done after 60
st=$MNT/results/after/status
assert_eq 18 "$(key "$st" results)" "results after the attack"
assert_eq 0 "$(key "$st" failed)" "failed after the attack"
assert_eq 0 "$(key "$st" pending)" "pending after the attack"
assert_eq "$(for a in 0 1 2 3 4 5; do for b in 10 20 30; do echo "$a $b $((a + b))"; done; done | sort)" \
    "$(python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])): print(r["a"], r["b"], r["sum"])' \
        "$MNT/results/after/results.csv" | sort)" "sweep rows"
assert_eq 1 "$(key "$MNT/status" engines)" "engines after the attack"
# The notebook holds the sweep and nothing of the attack.
assert_eq after "$(ls "$MNT/results")" "sets in the notebook"
assert_eq 18 "$(key "$MNT/status" results)" "results in the notebook"
assert_eq 0 "$(key "$MNT/status" failed)" "failures in the notebook"
assert_eq 0 "$(key "$MNT/status" pending)" "pending in the notebook"
# The controller's queue is empty again: nothing queued or running.
assert_eq 0 "$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1], timeout=10).execute("SELECT count(*) FROM tasks WHERE state < 2").fetchone()[0])' \
    "$WORK/cluster/controller.db")" "tasks queued or running after the sweep"
kill -0 "$controller_pid" 2>/dev/null || fail "the controller died during the sweep"
kill -0 "$engine_pid" 2>/dev/null || fail "the engine died during the sweep"

log "PASS test_hostile_frames"
