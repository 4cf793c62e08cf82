#!/usr/bin/env python3
# Test experiment: returns its point once the file named by "gate" exists
# (at most 300 s), so that a test decides when a result arrives.
import json, os, sys, time
p = json.loads(sys.stdin.readline())
end = time.time() + 300
while not os.path.exists(p["gate"]) and time.time() < end:
    time.sleep(0.02)
print(json.dumps({"i": p.get("i"), "opened": os.path.exists(p["gate"])}))
