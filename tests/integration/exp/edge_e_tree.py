#!/usr/bin/env python3
# Test experiment: moves the directory "tree" (a path on the scratch
# directory's file system) into its scratch directory, so that removing
# the scratch directory afterwards takes as long as removing that tree,
# while the point itself takes no time. With "log" (a file), each run
# first appends "i pid-of-its-engine" there, so that a test can count how
# often each point ran (a second run finds no tree left to move).
import json, os, sys
p = json.loads(sys.stdin.readline())
if "log" in p:
    with open(p["log"], "a") as f:
        f.write("%s %d\n" % (p.get("i"), os.getppid()))
try:
    os.rename(p["tree"], "tree")
except OSError:
    pass
print(json.dumps({"i": p.get("i")}))
