#!/usr/bin/env python3
# Reports what the runner gave it: all of stdin (so stdin must reach EOF),
# the CLAB_ variables as raw environ entries (to catch duplicates), its
# working directory and that directory's entries, its open descriptors, and
# whether it leads its own process group.
import json
import os
import sys

stdin = sys.stdin.buffer.read().decode()
with open("/proc/self/environ", "rb") as f:
    env = [e.decode() for e in f.read().split(b"\0")
           if e.split(b"=")[0] in (b"CLAB_TAG", b"CLAB_JOB", b"CLAB_PARAMS")]
print(json.dumps({
    "stdin": stdin,
    "env": sorted(env),
    "cwd": os.getcwd(),
    "entries": os.listdir("."),
    "fds": [int(fd) for fd in os.listdir("/proc/self/fd")],
    "group_leader": os.getpgrp() == os.getpid(),
}))
