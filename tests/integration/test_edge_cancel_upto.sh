#!/usr/bin/env bash
# A cancel is bounded by the newest job it covers, whichever message the
# controller reads first (HACKING's protocol table: `cancel {tag, upto,
# jobs?}`). A client that is late with its cancel (pyzmq, on the cluster's
# own connection file, no engine joined so nothing runs) submits six tasks
# of tag u with seq 1..6, then cancels u up to 3: the controller keeps
# exactly u4, u5 and u6 queued. A cancel naming u4 and u5 up to 4 takes u4
# only. test_edge_cancel_race runs
# the same rule through the mount, where the window between the notebook's
# cancel and the message is too narrow to hit at will.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
/usr/bin/python3 -c 'import zmq' 2>/dev/null || { log "SKIP: needs python3-zmq"; exit 77; }

start_detached 0
# queued: the tasks of u still queued at the controller, in seq order.
queued() {
    queue_sql "SELECT coalesce(group_concat(job, ' '), '') FROM
                 (SELECT job FROM tasks WHERE tag = 'u' AND state < 2 ORDER BY job)"
}
PYTHONPATH=$CLAB_SRC/tests/integration /usr/bin/python3 - "$WORK/cluster/cluster.json" \
    "$EXP/sleepy.py" >"$WORK/client.out" <<'PY' ||
import sys
from clab_client import ask, connect

s, exp = connect(sys.argv[1], "late-client"), sys.argv[2]

def queued():
    return ask(s, "ping", {}, "pong")["queued"]

ask(s, "hello", {}, "welcome")
tasks = [{"job": "u%d" % i, "seq": i, "tag": "u", "experiment": exp,
          "params": {"i": i, "sleep": 0}, "timeout": 0} for i in range(1, 7)]
print("accepted", " ".join(ask(s, "submit", {"tasks": tasks}, "accepted")["jobs"]))
print("queued", queued())
ask(s, "cancel", {"tag": "u", "upto": 3}, "cancelled")
print("after upto 3:", queued())
ask(s, "cancel", {"tag": "u", "upto": 4, "jobs": ["u4", "u5"]}, "cancelled")
print("after jobs u4 u5 upto 4:", queued())
PY
    fail "the client: $(cat "$WORK/client.out")"
assert_eq "accepted u1 u2 u3 u4 u5 u6
queued 6
after upto 3: 3
after jobs u4 u5 upto 4: 2" "$(cat "$WORK/client.out")" "what the controller said to the client"
assert_eq "u5 u6" "$(queued)" "tasks of u queued at the controller"
log "PASS test_edge_cancel_upto"
