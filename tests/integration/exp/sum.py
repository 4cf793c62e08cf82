#!/usr/bin/env python3
# Test experiment: returns a+b and echoes what the contract promises.
import json, os, sys, time
p = json.loads(sys.stdin.readline())
time.sleep(float(p.get("sleep", 0)))
assert os.environ["CLAB_PARAMS"] == json.dumps(p, sort_keys=True, separators=(",", ":")), \
    os.environ["CLAB_PARAMS"]
assert os.listdir(".") == []
print(json.dumps({"sum": p["a"] + p["b"], "tag": os.environ["CLAB_TAG"],
                  "label": "x, \"y\""}))
