#!/usr/bin/env bash
# A rogue engine: a holder of engine.json (tests/integration/rogue_engine.py)
# that knows the job ids of a victim set (from its `pending` file) and
#   (1) joins as rogue-1 claiming every one of them in its heartbeats, with
#       and without made-up proofs of dispatch, then posts {"forged": 1}
#       for each, naming "nice-engine" on host "trusted", twice (a replay);
#   (2) takes over the id of the real engine eng1 (ZeroMQ hands an id to
#       its newest connection) and posts the same forgeries, before and
#       after a heartbeat of its own;
#   (2b) holds the id of a stopped engine while a set is submitted, and
#       answers the tasks sent to it with their own proofs of dispatch;
#   (3) after a kill -9 of the controller, claims the tasks eng1 was
#       running before eng1 is back.
# Every point is stored once, with the experiment's own answer, never the
# forgery; every record says eng1 on the address it connects from
# (127.0.0.1: the controller's engine endpoint), and eng1's own word on
# its host is clab.host_reported.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
ROGUE="/usr/bin/python3 $CLAB_SRC/tests/integration/rogue_engine.py"
/usr/bin/python3 -c 'import zmq' 2>/dev/null || { log "SKIP: needs python3-zmq"; exit 77; }

# Engines are lost only after 60 s of silence: eng2, stopped in (2b) on a
# loaded machine, must not be dropped as lost, which would requeue the
# tasks sent to the rogue under its id without the path (2b) is about.
start_detached 1 --heartbeat-timeout 60
mount_lab --cluster "$WORK/cluster/cluster.json"
jobs_of() { # TAG: the job ids its pending file lists
    python3 -c 'import json, sys; [print(json.loads(l)["job"]) for l in open(sys.argv[1])]' \
        "$MNT/results/$1/pending"
}
# genuine TAG POINTS: exactly once, each result sleepy.py's own answer for
# its point, run by eng1, stamped with the address it connects from.
genuine() {
    check_exact "$1" "$2"
    assert_eq 0 "$(key "$MNT/results/$1/status" failed)" "failed points of $1"
    python3 - "$MNT/results/$1" "$(hostname)" <<'PY' || fail "the records of $1"
import json, os, sys
d, host = sys.argv[1], sys.argv[2]
docs = [json.load(open(os.path.join(d, n))) for n in os.listdir(d) if n.endswith(".json") and n[:-5].isdigit()]
bad = [x for x in docs if x["results"] != {"i": x["parameters"]["i"], "ok": 1}]
assert not bad, "%d forged of %d: %s" % (len(bad), len(docs), bad[0])
for x in docs:
    m = x["metadata"]
    assert (m["clab.engine"], m["clab.host"], m.get("clab.host_reported")) == \
        ("eng1", "127.0.0.1", host), m
PY
}

# all_refused OUT JOB...: the rogue's output shows a cancel of each job it
# claimed: none was its to keep, it was handed none of them (a joined
# rogue is an engine like any, and may be sent tasks of its own after).
all_refused() {
    local out=$1
    shift
    python3 - "$out" "$@" <<'PY' || fail "the claims of $(basename "$out" .out): $(cat "$out")"
import sys
lines = open(sys.argv[1]).read().splitlines()
dropped = {j for l in lines if l.startswith("cancel ") for j in l[7:].split(",")}
kept = sorted(set(sys.argv[2:]) - dropped)
assert not kept, "claimed without a proof and not cancelled: %s" % kept
PY
}

sweep v 16 0.2
wait_for 20 "v queued" 'test "$(jobs_of v | wc -l)" -ge 12'
jobs=$(jobs_of v)
$ROGUE "$WORK/cluster/engine.json" rogue-1 claim $jobs >"$WORK/claim.out" 2>&1 ||
    fail "rogue claim: $(cat "$WORK/claim.out")"
$ROGUE "$WORK/cluster/engine.json" eng1 reuse $jobs >"$WORK/reuse.out" 2>&1 ||
    fail "rogue reuse: $(cat "$WORK/reuse.out")"
wait_done v 120
genuine v 16
# The claims were refused: the controller told rogue-1 to drop what it
# listed; it kept no task of v it was not handed by a dispatch.
all_refused "$WORK/claim.out" $jobs
assert_eq 0 "$(queue_sql "SELECT count(*) FROM tasks WHERE engine = 'rogue-1' AND state = 2")" \
    "results of rogue-1 waiting for delivery"

# (2b) eng2, idle and stopped, has its id taken over while a set is
# submitted: the tasks the controller sends eng2 reach the rogue, which
# answers them with their own proofs. Without eng2's incarnation nothing it
# says is taken; once eng2 is back, the controller's heartbeat answer tells
# it which task it should have had, its next heartbeat says it has none of
# them, and they run.
add_engine eng2
wait_for 20 "eng2 to join" 'test "$(key "$MNT/status" engines)" = 2'
kill -STOP "$(engine_pid eng2)"
CLAB_ROGUE_READY=$WORK/hijack.ready $ROGUE "$WORK/cluster/engine.json" eng2 hijack 4 \
    >"$WORK/hijack.out" 2>&1 &
hijack=$!
# Until the rogue's connection holds eng2's id: a fixed sleep was too
# short on a loaded machine (the tasks went to the stopped eng2).
wait_for 30 "the rogue to connect as eng2" "test -e '$WORK/hijack.ready'"
sweep x 6 0.2
wait $hijack || fail "rogue hijack: $(cat "$WORK/hijack.out")"
grep -q '^task ' "$WORK/hijack.out" ||
    fail "no task reached the rogue under eng2's id: $(cat "$WORK/hijack.out")"
kill -CONT "$(engine_pid eng2)"
wait_done x 60
check_exact x 6
python3 - "$MNT/results/x" <<'PY' || fail "the records of x"
import json, os, sys
d = sys.argv[1]
for n in os.listdir(d):
    if n.endswith(".json") and n[:-5].isdigit():
        doc = json.load(open(os.path.join(d, n)))
        assert doc["results"] == {"i": doc["parameters"]["i"], "ok": 1}, doc
PY
kill -TERM "$(engine_pid eng2)"

# After a restart, the claims of held tasks come before eng1 is back.
sweep w 6 1.0
wait_for 20 "w running on eng1" \
    "test \"\$(queue_sql \"SELECT count(*) FROM tasks WHERE tag = 'w' AND state = 1\")\" -ge 1"
jobs=$(jobs_of w)
kill -STOP "$(engine_pid eng1)"
ctl=$(pid_of "clab-controller --state $WORK/cluster")
kill -9 "$ctl"
# The new controller only once the old one is gone and the lab saw it go
# (started at once on a loaded machine, it found the state directory still
# locked and stopped, while the lab still talked to the dying one).
wait_for 15 "the killed controller to be gone" "pid_gone $ctl"
wait_for 15 "connected 0" 'test "$(key "$MNT/status" connected)" = 0'
"$CONTROLLER" --state "$WORK/cluster" >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
wait_for 15 "the controller back" 'test "$(key "$MNT/status" connected)" = 1'
$ROGUE "$WORK/cluster/engine.json" rogue-2 claim $jobs >"$WORK/claim2.out" 2>&1 ||
    fail "rogue claim after the restart: $(cat "$WORK/claim2.out")"
all_refused "$WORK/claim2.out" $jobs
kill -CONT "$(engine_pid eng1)"
wait_done w 120
genuine w 6
log "PASS test_hostile_rogue"
