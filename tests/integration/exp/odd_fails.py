#!/usr/bin/env python3
# Test experiment: sleeps "sleep" seconds (default 0), appends one line
# "i CLAB_JOB" to the file "log" when given (to count runs), then fails
# with exit status 3 when i is odd and returns {"i": i} when it is even.
import json, os, sys, time
p = json.loads(sys.stdin.readline())
time.sleep(float(p.get("sleep", 0)))
if "log" in p:
    with open(p["log"], "a") as f:
        f.write("%s %s\n" % (p["i"], os.environ["CLAB_JOB"]))
if p["i"] % 2:
    sys.stderr.write("odd i\n")
    sys.exit(3)
print(json.dumps({"i": p["i"]}))
