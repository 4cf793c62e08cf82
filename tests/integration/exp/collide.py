#!/usr/bin/env python3
# Test experiment: results named like its parameters and like clabfs's
# metadata, so that table headers must tell them apart.
import json, sys
p = json.loads(sys.stdin.readline())
print(json.dumps({"beta": p["beta"] * 2, "N": p["N"] + 1, "clab.job": "mine",
                  "epyc.experiment.status": "also mine", "y": 7}))
