#!/usr/bin/env python3
# Test experiment for worker mode: answers each point with this process's
# pid and argv, so that a test can tell which process ran which point. As
# a worker (CLAB_WORKER=1) it serves points until stdin ends; otherwise it
# runs one. At "x" == "crash" it exits 3 (its pid on stderr); at "x" ==
# "slow" it sleeps "slow_sleep" seconds first; every point sleeps "sleep".
import json, os, sys, time

worker = os.environ.get("CLAB_WORKER") == "1"
for line in sys.stdin:
    p = json.loads(line)
    x = p.get("x")
    if "crash" in p and x == p["crash"]:
        print("crashing at x=%s in pid %d" % (x, os.getpid()), file=sys.stderr, flush=True)
        sys.exit(3)
    if "slow" in p and x == p["slow"]:
        time.sleep(float(p.get("slow_sleep", 30)))
    time.sleep(float(p.get("sleep", 0)))
    out = {"pid": os.getpid(), "x": x, "args": " ".join(sys.argv[1:]),
           "worker": worker, "tag": os.environ.get("CLAB_TAG", "")}
    print(json.dumps(out), flush=True)
    if not worker:
        break
