#!/usr/bin/env python3
# Test worker for issue 21: answers each point with its parameters echoed
# ({"echo": point, "pid": ...}), then prints stray lines at random delays
# (0-200 ms, from timer threads, so they land while later points run):
# "strays" of them at most per point, each one of a line without a seq
# (JSON or not) or a repeat of an answer already given, with its old
# clab.seq. Framed (CLAB_WORKER=framed) it reads and answers the framed
# protocol; plain (CLAB_WORKER=1) it reads bare points and answers bare
# lines. At x == "two" it prints its answer and a stray line in one
# write; at x == "close" it closes its stdout and waits; with "after" it
# prints a stray line that many seconds after each answer, before it reads
# the next point (issue 21's misfiling plain worker). With "log" (a
# file), each stray line is also appended there, one line each, so that a
# test can count what was printed.
import json, os, random, sys, threading, time

framed = os.environ.get("CLAB_WORKER") == "framed"
rng = random.Random()
given = []  # the last answers' lines, to repeat


def emit(text, log=None):
    # One write per line (under PIPE_BUF): lines never interleave.
    os.write(1, (text + "\n").encode())
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, (text[:40].replace("\n", " ") + "\n").encode())
        os.close(fd)


def stray_line(p):
    kind = rng.randrange(3)
    if kind == 0 and given:
        return rng.choice(given)  # an old answer, its old seq included
    if kind == 1:
        return json.dumps({"stray": True, "echo": {"x": -1}})
    return "stray text, not JSON"


for line in sys.stdin:
    msg = json.loads(line)
    p = msg["clab.parameters"] if framed else msg
    ans = {"echo": p, "pid": os.getpid()}
    if framed:
        ans["clab.seq"] = msg["clab.seq"]
    text = json.dumps(ans)
    x = p.get("x")
    if "two" in p and p["two"] == x:
        emit(text + "\n" + stray_line(p))
    elif "close" in p and p["close"] == x:
        os.close(1)
        time.sleep(30)
    else:
        emit(text)
    given = (given + [text])[-5:]
    if "after" in p:
        time.sleep(float(p["after"]))
        emit(json.dumps({"stray_after": p}))
    for _ in range(rng.randint(0, int(p.get("strays", 0)))):
        t = threading.Timer(rng.uniform(0, 0.2), emit, [stray_line(p), p.get("log")])
        t.daemon = True
        t.start()
