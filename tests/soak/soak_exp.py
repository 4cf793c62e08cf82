#!/usr/bin/env python3
# The soak's experiment: sleeps "sleep" seconds, then returns its point.
# Each run appends "start JOB TAG TIME PID" before the sleep and "end ..."
# after it to the file named by "log", so that the soak can tell what ran
# on the engines and when (a cancelled job must stop being started).
import json, os, sys, time

p = json.loads(sys.stdin.readline())
job, tag = os.environ.get("CLAB_JOB", "?"), os.environ.get("CLAB_TAG", "?")


def note(what):
    if "log" in p:
        line = "%s %s %s %.6f %d\n" % (what, job, tag, time.time(), os.getppid())
        fd = os.open(p["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, line.encode())  # one write: O_APPEND keeps lines whole
        os.close(fd)


note("start")
time.sleep(float(p.get("sleep", 0.1)))
note("end")
print(json.dumps({"i": p.get("i"), "s": p.get("s"), "ok": 1}))
