#!/usr/bin/env python3
# Test experiment: appends "TAG i" to the file named by "log" when it
# starts, then sleeps "sleep" seconds and returns its point, so that a test
# can tell exactly which points started on the engines, and when.
import json, os, sys, time
p = json.loads(sys.stdin.readline())
with open(p["log"], "a") as f:
    f.write("%s %s\n" % (os.environ.get("CLAB_TAG", "?"), p.get("i")))
time.sleep(float(p.get("sleep", 0.3)))
print(json.dumps({"i": p.get("i"), "ok": 1}))
