#!/usr/bin/env python3
# The soak's experiment: sleeps "sleep" seconds, then returns its point.
# Each run appends "start JOB TAG TIME PID" before the sleep and "end ..."
# after it to the file named by "log", so that the soak can tell what ran
# on the engines and when (a cancelled job must stop being started).
#
# As a framed worker (CLAB_WORKER=framed, issue 21) it serves point after
# point and, after each answer, prints up to "strays" stray lines at random
# delays of 0-200 ms from timer threads: a line without a seq that would
# pass for a result, a line that is not JSON, or an old answer with its
# old clab.seq. They land while later points run; none may be stored as a
# result (the soak checks that every result echoes its own point). A
# worker has no CLAB_JOB: its runs are logged as w-S-I, and each stray
# line as "stray w-S-I TAG TIME PID".
import json, os, random, sys, threading, time

framed = os.environ.get("CLAB_WORKER") == "framed"
rng = random.Random()
given = []  # the last answers, to repeat as stray lines


def note(p, what, job):
    if "log" in p:
        tag = os.environ.get("CLAB_TAG", "?")
        line = "%s %s %s %.6f %d\n" % (what, job, tag, time.time(), os.getppid())
        fd = os.open(p["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, line.encode())  # one write: O_APPEND keeps lines whole
        os.close(fd)


def emit(text, p=None, job=None):
    try:
        os.write(1, (text + "\n").encode())  # one write per line, under PIPE_BUF
    except OSError:
        return  # the engine is gone or retired us
    if p is not None:
        note(p, "stray", job)


def stray():
    kind = rng.randrange(3)
    if kind == 0 and given:
        return rng.choice(given)
    if kind == 1:
        return json.dumps({"i": -1, "s": -1, "ok": 1, "stray": True})
    return "stray output, not JSON"


def run(p, job):
    note(p, "start", job)
    time.sleep(float(p.get("sleep", 0.1)))
    note(p, "end", job)
    return {"i": p.get("i"), "s": p.get("s"), "ok": 1}


if not framed:
    p = json.loads(sys.stdin.readline())
    print(json.dumps(run(p, os.environ.get("CLAB_JOB", "?"))))
    sys.exit(0)

for line in sys.stdin:
    frame = json.loads(line)
    p = frame["clab.parameters"]
    ans = dict(run(p, "w-%s-%s" % (p.get("s"), p.get("i"))), **{"clab.seq": frame["clab.seq"]})
    emit(json.dumps(ans))
    given = (given + [json.dumps(ans)])[-5:]
    for _ in range(rng.randint(0, int(p.get("strays", 0)))):
        t = threading.Timer(rng.uniform(0, 0.2), emit, [stray(), p, "w-%s-%s" % (
            p.get("s"), p.get("i"))])
        t.daemon = True
        t.start()
