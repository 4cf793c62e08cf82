#!/usr/bin/env bash
# Big valid results: six points of 13 MiB each (under the 16 MiB output
# limit) finish while clabfs is unmounted, so the controller holds 78 MiB
# of results for it. At the next mount every one must arrive, although
# together they are larger than the 64 MiB a message may have (a batch that
# large is refused by the client's socket, which would then never get them).
. "$(dirname "$0")/lib.sh"

# A copy in $WORK, so that pgrep -f finds this test's points only.
BIG=$WORK/big_result.py
cp "$EXP/hostile/big_result.py" "$BIG"
start_cluster 2
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
submit "{\"experiment\": \"$BIG\", \"parameters\": {\"i\": {\"range\": [0, 6]}, \"marker\": \"$WORK/done\"}, \"tag\": \"big\"}"
# The points wait for done.go: unmount first, so that every result is
# made while clabfs is away.
wait_for 30 "both engines to hold a point" "test \$(pgrep -f '$BIG' | wc -l) -ge 2"
fusermount3 -u "$MNT"
touch "$WORK/done.go"
wait_for 60 "all six points to finish" "test \$(ls '$WORK'/done.[0-9] 2>/dev/null | wc -l) = 6"
sleep 1 # the last result reaches the controller

mount_lab --cluster "$WORK/cluster/cluster.json"
wait_done big 45
st=$MNT/results/big/status
assert_eq 6 "$(key "$st" results)" "results"
assert_eq 0 "$(key "$st" failed)" "failed"
python3 - "$MNT/results/big" <<'PY' || fail "result contents"
import json, os, sys
d = sys.argv[1]
seen = sorted(json.load(open(os.path.join(d, f)))["results"]["i"]
              for f in os.listdir(d) if f.endswith(".json") and f[:-5].isdigit())
assert seen == list(range(6)), seen
doc = json.load(open(os.path.join(d, "1.json")))
assert len(doc["results"]["blob"]) == 13 * 1024 * 1024
PY
log "PASS test_hostile_big_results"
