#!/usr/bin/env bash
# Issue 15 item 2: N equal long points on N idle engines finish in about
# one point's time. With the default --prefetch 2 the controller used to
# fill the first engine up to its prefetch before the second got anything,
# so two 4 s points on two engines took 8 s, one after the other.
# ctest: serial -- asserts wall time: 2 points of 4 s on 2 engines in under 6 s
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 2 --prefetch 2
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

t0=$(date +%s.%N)
sweep f 2 4
wait_done f 60
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
log "2 points of 4 s on 2 engines: ${wall} s wall"
awk -v w="$wall" 'BEGIN { exit !(w < 6) }' ||
    fail "2 points of 4 s on 2 engines took ${wall} s, not one point's time (< 6 s)"
check_exact f 2
assert_eq 0 "$(key "$MNT/results/f/status" failed)" "failed"

# Each engine ran exactly one of them, as the results say.
per_engine=$(python3 - "$MNT/results/f" <<'PY'
import collections, json, os, sys
d = sys.argv[1]
c = collections.Counter(
    json.load(open(os.path.join(d, n)))["metadata"]["clab.engine"]
    for n in os.listdir(d) if n.endswith(".json") and n[0].isdigit())
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))
PY
)
assert_eq "eng1=1 eng2=1" "$per_engine" "points per engine"
log "PASS test_tools_fair"
