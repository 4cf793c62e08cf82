#!/usr/bin/env bash
# Results that waited at the controller while their client was away are
# sent back at the client's pace (issue 23, credit-based flow control): a
# client back from its absence is sent two pages (RESEND_CREDIT, 2,000
# results) and nothing more until it acknowledges some. A slow client (a
# pyzmq peer on the cluster's connection file) submits 5,000 compiled
# no-op points, leaves, and comes back once all of them are done at the
# controller; it then reads for 2 s after each page count it expects
# without acknowledging: exactly 2,000 arrive, then 4,000 after it
# acknowledges the first 2,000, then all 5,000, each once; once it
# acknowledges them all the controller holds none of them. Before the
# credit, all 5,000 came at once, whatever the client could take.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
/usr/bin/python3 -c 'import zmq' 2>/dev/null || { log "SKIP: needs python3-zmq"; exit 77; }
NOOP=$CLAB_BUILD/tests/clab-bench-noop
[ -x "$NOOP" ] || fail "no $NOOP (built with the tests)"

start_detached 2
CLIENT="env PYTHONPATH=$CLAB_SRC/tests/integration /usr/bin/python3 - $WORK/cluster/cluster.json"
# The client's script: connect as slow-client, then the step named.
cat >"$WORK/client.py" <<'PY'
import sys, time
from clab_client import ask, connect, recv, send

s, step = connect(sys.argv[1], "slow-client"), sys.argv[2]

def results_until(n, seen, limit=60):
    """Reads results, never acknowledging, until n distinct jobs arrived
    (or limit seconds), then 2 s more: what arrived in all."""
    def take(seconds):
        for m in recv(s, seconds, "results"):
            for r in m["results"]:
                seen[r["job"]] = seen.get(r["job"], 0) + 1
    end = time.time() + limit
    while len(seen) < n and time.time() < end:
        take(0.2)
    take(2)
    return seen

ask(s, "hello", {}, "welcome")
if step == "submit":
    tasks = [{"job": "c%d" % i, "seq": i, "tag": "c", "experiment": sys.argv[3],
              "params": {"i": i}, "timeout": 0} for i in range(1, 5001)]
    print("accepted", len(ask(s, "submit", {"tasks": tasks}, "accepted")["jobs"]))
else:
    seen, acked = {}, []
    for want in (2000, 4000, 5000):
        results_until(want, seen)
        print("unacknowledged %d: received %d, most copies of one %d" %
              (want, len(seen), max(seen.values())))
        fresh = [j for j in seen if j not in acked]
        send(s, "ack", {"jobs": fresh})
        acked += fresh
PY
$CLIENT submit "$NOOP" <"$WORK/client.py" >"$WORK/submit.out" 2>&1 ||
    fail "the submit: $(cat "$WORK/submit.out")"
assert_eq "accepted 5000" "$(cat "$WORK/submit.out")" "the client's submit"
wait_for 120 "the 5,000 points done at the controller" \
    "test \"\$(queue_sql \"SELECT count(*) FROM tasks WHERE tag = 'c' AND state = 2\")\" = 5000"
$CLIENT back <"$WORK/client.py" >"$WORK/back.out" 2>&1 || fail "the client back: $(cat "$WORK/back.out")"
assert_eq "unacknowledged 2000: received 2000, most copies of one 1
unacknowledged 4000: received 4000, most copies of one 1
unacknowledged 5000: received 5000, most copies of one 1" "$(cat "$WORK/back.out")" \
    "what the controller sent the client back from its absence"
wait_for 20 "the acknowledged results gone from the controller" \
    "test \"\$(queue_sql \"SELECT count(*) FROM tasks WHERE tag = 'c'\")\" = 0"
log "PASS test_edge_results_credit"
