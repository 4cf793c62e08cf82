#!/usr/bin/env python3
# One experiment for most runner cases: writes what its parameters ask for
# to stdout (raw "stdout_hex" bytes, then "stdout" "repeat" times) and to
# stderr ("stderr", then raw "stderr_hex" bytes), then sleeps "sleep"
# seconds and exits with "exit".
import json
import sys
import time

p = json.loads(sys.stdin.readline())
out, err = sys.stdout.buffer, sys.stderr.buffer
out.write(bytes.fromhex(p.get("stdout_hex", "")))
out.write(p.get("stdout", "").encode() * p.get("repeat", 1))
out.flush()
err.write(p.get("stderr", "").encode())
err.write(bytes.fromhex(p.get("stderr_hex", "")))
err.flush()
time.sleep(p.get("sleep", 0))
sys.exit(p.get("exit", 0))
