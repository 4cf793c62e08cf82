#!/usr/bin/env python3
# Test experiment: results and metadata named like the names the table
# headers would rename others to (results.k beside a result k in a sweep
# over k, and so on at several levels), so that only a renaming applied
# until no name repeats keeps every header name unique.
import json, sys
p = json.loads(sys.stdin.readline())
k = p["k"]
print(json.dumps({
    "clab.results": {"k": 100 * k, "results.k": 200 * k, "results.results.k": 300 * k,
                     "metadata.k": 400 * k},
    "clab.metadata": {"k": "m%d" % k, "metadata.k": "mm%d" % k, "results.k": "mr%d" % k},
}))
