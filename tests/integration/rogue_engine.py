#!/usr/bin/python3
"""A rogue engine: any holder of engine.json, trying to take tasks it was
never given and to forge their results (SPEC "Trust every result").

    rogue_engine.py ENGINE_JSON ID MODE JOB...

MODE:
  claim    join as ID listing JOB... in its first heartbeat's held (as
           plain ids and with made-up proofs), then post a successful
           result {"forged": 1} for each, naming "nice-engine" on host
           "trusted" in its metadata; each result is sent twice (a replay).
  hijack   connect under ID, the routing id of a real engine that cannot
           answer (stopped), send nothing of its own, and for JOB (a number
           of seconds) answer every task the controller sends that engine
           with a forgery bearing the task's own proof.
  liar     join as ID, a new engine of its own that the controller
           dispatches to, with heartbeats, for JOB (a number of seconds);
           answer every task it is given at once, with the task's proof,
           and a record whose metadata claims clab.attempt 7 and an
           experiment sha256 of zeros (provenance it cannot know).
  reuse    connect under ID, the routing id of a real engine (ZeroMQ hands
           the id over to the newest connection), and post forged results
           for JOB... without a heartbeat first (so in that engine's
           incarnation, which the rogue cannot know), answering any task
           sent to that engine meanwhile with a forgery bearing the task's
           own proof; then again after a heartbeat of an incarnation of its
           own.

Prints one line per message the controller sent it ("task JOB", "cancel
JOBS", "ack JOBS"), then "done". Exit 0 unless it could not connect.
With CLAB_ROGUE_READY=FILE, hijack creates FILE once its connection's
handshake is done (the controller routes ID to it from then on), and its
JOB seconds count from there.
Python (pyzmq, Debian's python3-zmq) because this is how an attacker with
the file would do it: the issue's reproduction was a 40-line pyzmq script.
"""
import json
import os
import sys
import time

import zmq

PROTO = b"clab/1"


def connect(conn, ident, monitor=False):
    """The DEALER socket; with monitor, also a monitor of its handshake,
    attached before it connects (so that the event cannot be missed)."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.IDENTITY, ident.encode())
    s.setsockopt(zmq.LINGER, 0)
    s.curve_secretkey = conn["engine_secret"].encode()
    s.curve_publickey = conn["engine_public"].encode()
    s.curve_serverkey = conn["server_public"].encode()
    mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED) if monitor else None
    s.connect(conn["engine_endpoint"])
    return (s, mon) if monitor else s


def handshake(s, mon, seconds):
    """Returns once the socket's ZMTP (CURVE) handshake has succeeded."""
    from zmq.utils.monitor import recv_monitor_message
    try:
        if not mon.poll(int(seconds * 1000)):
            raise SystemExit("no handshake with the controller in %d s" % seconds)
        recv_monitor_message(mon)
    finally:
        s.disable_monitor()
        mon.close()


def send(s, kind, body):
    s.send_multipart([PROTO, kind.encode(), json.dumps(body).encode()])


def listen(s, seconds, seen, answer=False):
    """Records what the controller sends; with answer, a task it hands
    over (meant for the engine whose id we took) is answered at once with
    a forgery that carries the task's own proof of dispatch, but not the
    incarnation of that engine, which only that engine knows."""
    end = time.time() + seconds
    while time.time() < end:
        if not s.poll(50):
            continue
        parts = s.recv_multipart()
        if len(parts) != 3:
            continue
        kind, body = parts[1].decode(), json.loads(parts[2])
        if kind == "task":
            seen.append("task " + body.get("job", "?"))
            if answer == "lie":
                send(s, "result", lie(body.get("job", "?"), body.get("proof", "")))
            elif answer:
                f = forged(body.get("job", "?"))
                f["proof"] = body.get("proof", "")
                send(s, "result", f)
        elif kind in ("cancel", "ack"):
            seen.append(kind + " " + ",".join(sorted(body.get("jobs", []))))


def heartbeat(s, held, incarnation, n):
    send(s, "hb", {"host": "trusted", "pid": os.getpid(), "tasks": 0, "held": held,
                   "incarnation": incarnation, "hb": n, "dispatch": 0,
                   "dispatch_epoch": ""})


def forged(job):
    """A successful record that says another engine on another host ran it."""
    return {"job": job, "proof": "0" * 32,
            "record": {"ok": True, "results": [{"forged": 1}],
                       "metadata": {"clab.engine": "nice-engine", "clab.host": "trusted",
                                    "clab.job": job, "epyc.experiment.status": True}}}


def lie(job, proof):
    """A genuine answer to a task it was given, lying about its provenance."""
    return {"job": job, "proof": proof, "incarnation": "liar-incarnation",
            "record": {"ok": True, "results": [{"lie": 1}],
                       "metadata": {"clab.attempt": 7, "clab.experiment_sha256": "0" * 64,
                                    "clab.reused_from": "a/1",
                                    "clab.job": job, "epyc.experiment.status": True}}}


def post(s, jobs, seen, answer=False):
    for _ in range(2):  # and a replay of each
        for job in jobs:
            send(s, "result", forged(job))
        listen(s, 0.5, seen, answer)


def main():
    path, ident, mode, jobs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    conn = json.load(open(path))
    ready = os.environ.get("CLAB_ROGUE_READY") if mode == "hijack" else None
    if ready:
        s, mon = connect(conn, ident, monitor=True)
    else:
        s = connect(conn, ident)
    seen = []
    if mode == "claim":
        held = jobs + [{"job": j, "proof": "%032x" % i} for i, j in enumerate(jobs)]
        for n in range(1, 4):
            heartbeat(s, held, "rogue-incarnation", n)
            listen(s, 0.4, seen)
        post(s, jobs, seen)
    elif mode == "reuse":
        post(s, jobs, seen, answer=True)
        listen(s, 1.5, seen, answer=True)
        heartbeat(s, [{"job": j, "proof": "f" * 32} for j in jobs], "rogue-incarnation", 1)
        listen(s, 0.5, seen)
        post(s, jobs, seen)
    elif mode == "liar":
        end, n = time.time() + (float(jobs[0]) if jobs else 5), 0
        while time.time() < end:
            n += 1
            heartbeat(s, [], "liar-incarnation", n)
            listen(s, 0.5, seen, answer="lie")
    elif mode == "hijack":
        # Hold the id, say nothing of our own, and answer whatever tasks
        # the controller sends that engine meanwhile, for JOB[0] seconds.
        if ready:
            handshake(s, mon, 30)
            open(ready, "w").close()
        listen(s, float(jobs[0]) if jobs else 5, seen, answer=True)
        s.close()
        for line in seen:
            print(line)
        print("done")
        return 0
    else:
        print("unknown mode %s" % mode, file=sys.stderr)
        return 2
    send(s, "bye", {"incarnation": "rogue-incarnation"})
    time.sleep(0.2)
    for line in seen:
        print(line)
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
