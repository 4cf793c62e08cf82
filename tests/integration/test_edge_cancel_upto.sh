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
/usr/bin/python3 - "$WORK/cluster/cluster.json" "$EXP/sleepy.py" >"$WORK/client.out" <<'PY' ||
import json, sys, time
import zmq

conn, exp = json.load(open(sys.argv[1])), sys.argv[2]
s = zmq.Context.instance().socket(zmq.DEALER)
s.setsockopt(zmq.IDENTITY, b"late-client")
s.setsockopt(zmq.LINGER, 0)
s.curve_secretkey = conn["client_secret"].encode()
s.curve_publickey = conn["client_public"].encode()
s.curve_serverkey = conn["server_public"].encode()
s.connect(conn["client_endpoint"])

def ask(kind, body, want):
    s.send_multipart([b"clab/1", kind.encode(), json.dumps(body).encode()])
    end = time.time() + 20
    while time.time() < end:
        if s.poll(200):
            parts = s.recv_multipart()
            if len(parts) == 3 and parts[1].decode() == want:
                return json.loads(parts[2])
    raise SystemExit("no %s to %s in 20 s" % (want, kind))

def queued():
    return ask("ping", {}, "pong")["queued"]

ask("hello", {}, "welcome")
tasks = [{"job": "u%d" % i, "seq": i, "tag": "u", "experiment": exp,
          "params": {"i": i, "sleep": 0}, "timeout": 0} for i in range(1, 7)]
print("accepted", " ".join(ask("submit", {"tasks": tasks}, "accepted")["jobs"]))
print("queued", queued())
ask("cancel", {"tag": "u", "upto": 3}, "cancelled")
print("after upto 3:", queued())
ask("cancel", {"tag": "u", "upto": 4, "jobs": ["u4", "u5"]}, "cancelled")
print("after jobs u4 u5 upto 4:", queued())
PY
    fail "the client: $(cat "$WORK/client.out")"
assert_eq "accepted u1 u2 u3 u4 u5 u6
queued 6
after upto 3: 3
after jobs u4 u5 upto 4: 2" "$(cat "$WORK/client.out")" "what the controller said to the client"
assert_eq "u5 u6" "$(queued)" "tasks of u queued at the controller"
log "PASS test_edge_cancel_upto"
