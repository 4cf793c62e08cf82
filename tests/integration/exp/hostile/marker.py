#!/usr/bin/env python3
# Test experiment: creates the file named by the "marker" parameter, so a
# test can tell whether a task was ever run, whoever submitted it.
import json, sys
p = json.loads(sys.stdin.readline())
open(p["marker"], "a").close()
print(json.dumps({"marked": p["marker"]}))
