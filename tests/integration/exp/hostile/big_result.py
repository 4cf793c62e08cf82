#!/usr/bin/env python3
# Hostile (but valid) experiment: a 13 MiB result, under the 16 MiB output
# limit; several of them together outgrow one 64 MiB message. It starts
# only once "<marker>.go" exists (at most 60 s later), and leaves
# "<marker>.<i>" when done, so that a test controls when results appear.
import json, os, sys, time
p = json.loads(sys.stdin.readline())
end = time.time() + 60
while not os.path.exists(p["marker"] + ".go") and time.time() < end:
    time.sleep(0.05)
sys.stdout.write('{"blob": "' + "x" * (13 * 1024 * 1024) + '", "i": %d}\n' % p["i"])
sys.stdout.flush()
open("%s.%d" % (p["marker"], p["i"]), "w").close()
