#!/usr/bin/env python3
# Test experiment: reports what the experiment contract gives it (argv,
# working directory and its contents, CLAB_TAG, CLAB_JOB, CLAB_PARAMS),
# after sleeping "sleep" seconds. "mode": "array" returns "n" results for
# the point, "segv" dies of SIGSEGV.
import json, os, signal, sys, time
line = sys.stdin.readline()
p = json.loads(line)
time.sleep(float(p.get("sleep", 0)))
if p.get("mode") == "segv":
    signal.signal(signal.SIGSEGV, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGSEGV)
seen = {"argv": sys.argv, "cwd": os.getcwd(), "cwd_entries": os.listdir("."),
        "tag": os.environ.get("CLAB_TAG"), "job": os.environ.get("CLAB_JOB"),
        "params_env": os.environ.get("CLAB_PARAMS"), "stdin": line}
if p.get("mode") == "array":
    print(json.dumps([dict(seen, k=k) for k in range(int(p["n"]))]))
else:
    print(json.dumps(seen))
