#!/usr/bin/env python3
# Test experiment: sleeps "sleep" seconds (default 0.3), then returns its
# point, so that faults can land while points are running. With "log" (a
# file), each run that gets through its sleep appends "i pid-of-its-engine"
# there first, so that a test can count how often each point really ran.
import json, os, sys, time
p = json.loads(sys.stdin.readline())
time.sleep(float(p.get("sleep", 0.3)))
if "log" in p:
    with open(p["log"], "a") as f:
        f.write("%s %d\n" % (p.get("i"), os.getppid()))
print(json.dumps({"i": p.get("i"), "ok": 1}))
