#!/usr/bin/env python3
# Hostile experiment: a result envelope whose clab.exception or
# clab.traceback is a number JSON has no strict form for (NaN, Infinity,
# an integer past 64 bits), as json.dumps prints them. argv[1] says which
# key, argv[2] which number; stderr ends with a line of its own.
import json, sys
sys.stdin.readline()
number = {"nan": float("nan"), "inf": float("inf"), "big": 2**64}[sys.argv[2]]
sys.stderr.write("stderr before the envelope\n")
if sys.argv[1] == "exception":
    env = {"clab.exception": number, "clab.traceback": "given traceback"}
else:
    env = {"clab.exception": "ValueError: boom", "clab.traceback": number}
print(json.dumps(env))
