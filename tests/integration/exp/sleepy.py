#!/usr/bin/env python3
# Test experiment: sleeps "sleep" seconds (default 0.3), then returns its
# point, so that faults can land while points are running.
import json, sys, time
p = json.loads(sys.stdin.readline())
time.sleep(float(p.get("sleep", 0.3)))
print(json.dumps({"i": p.get("i"), "ok": 1}))
