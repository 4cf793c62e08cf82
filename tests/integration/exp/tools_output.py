#!/usr/bin/env python3
# Test experiment: prints what Python's json.dumps (and R's jsonlite, and
# Julia) print beyond strict JSON, or output that really is invalid; the
# parameter "case" says which (test_tools_output.sh holds the expected
# bytes).
import json
import sys

p = json.loads(sys.stdin.readline())
case = p["case"]
if case == "python":
    out = json.dumps({"big63": 2**63, "big64": 2**64, "e20": 10**20, "e40": 10**40,
                      "nbig": -2**64, "nan": float("nan"), "inf": float("inf"),
                      "ninf": float("-inf"), "nul": "a\0b", "negz": -0.0, "i": 42,
                      "x": 0.1, "deep": [2**64, {"n": float("nan")}]})
elif case == "raw":
    # By hand: 1e400 overflows a double (Python reads it as inf), 1e-400
    # underflows to 0.0.
    out = '{"over": 1e400, "nover": -1e400, "tiny": 1e-400, "e": 1E+2, "z": -0}'
elif case == "failed":
    out = json.dumps({"clab.exception": "ValueError: boom",
                      "clab.metadata": {"m.big": 2**64, "m.nan": float("nan"),
                                        "m.negz": -0.0, "m.inf": float("inf")}})
elif case == "bad":
    sys.stderr.write("the tail of stderr\n")
    out = '{"a": 1, "b": tru}'
elif case == "multiline":
    out = '{\n  "a": NaN,\n  "b": nope\n}'
elif case == "notobj":
    out = "[1, 2]"
print(out)
