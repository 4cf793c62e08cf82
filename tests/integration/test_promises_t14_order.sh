#!/usr/bin/env bash
# SPEC: points are dispatched in random order. 200 points i = 0..199 on one
# engine: completion order (the N of N.json) is then dispatch order. The
# sequence of i by N is neither sorted nor reverse-sorted, and its Spearman
# rank correlation with N is below 0.5 in absolute value (a sorted or
# reverse dispatch gives 1 or -1; a random one is about 0 ± 0.07).
. "$(dirname "$0")/lib.sh"

mount_lab --engines 1
wait_for 30 "1 engine" 'test "$(key "$MNT/status" engines)" = 1'
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"o\",
         \"parameters\": {\"i\": {\"range\": [0, 200]}, \"sleep\": 0}}"
wait_done o 180
assert_eq 200 "$(key "$MNT/results/o/status" results)" "o results"
python3 - "$MNT/results/o" <<'PY' || fail "dispatch order"
import json, os, sys
d = sys.argv[1]
seq = [json.load(open(os.path.join(d, "%d.json" % n)))["parameters"]["i"] for n in range(1, 201)]
assert sorted(seq) == list(range(200)), "not every point once"
assert seq != sorted(seq), "dispatched in order"
assert seq != sorted(seq, reverse=True), "dispatched in reverse order"
# Spearman's rho without ties: 1 - 6 sum d^2 / (n (n^2 - 1)), ranks of N
# being 0..199 and ranks of i being i itself.
n = len(seq)
rho = 1 - 6 * sum((k - i) ** 2 for k, i in enumerate(seq)) / (n * (n * n - 1))
print("spearman rho between i and N: %.3f" % rho, file=sys.stderr)
assert abs(rho) < 0.5, "rank correlation %.3f" % rho
PY
log "PASS test_promises_t14_order"
