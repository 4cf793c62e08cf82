#!/usr/bin/env bash
# A detached controller on TCP (CURVE) with two engines started by hand
# on engine.json, and clabfs joining it with --cluster cluster.json.
. "$(dirname "$0")/lib.sh"

start_cluster 2
conn=$WORK/cluster/cluster.json
assert_eq 600 "$(stat -c %a "$conn")" "connection file mode"
python3 - "$conn" <<'PY' || fail "connection file contents"
import json, sys
c = json.load(open(sys.argv[1]))
for k in ("client_endpoint", "engine_endpoint"):
    assert c[k].startswith("tcp://127.0.0.1:"), c[k]
for k in ("server_public", "client_public", "client_secret"):
    assert len(c[k]) == 40, k
assert "server_secret" not in c
PY
# The engines' file beside it: private, with the engines' key pair only.
assert_eq 600 "$(stat -c %a "$WORK/cluster/engine.json")" "engine connection file mode"
python3 - "$conn" "$WORK/cluster/engine.json" <<'PY' || fail "engine connection file contents"
import json, sys
c, e = (json.load(open(p)) for p in sys.argv[1:])
for k in ("client_endpoint", "engine_endpoint", "server_public"):
    assert e[k] == c[k], k
assert len(e["engine_public"]) == 40 and len(e["engine_secret"]) == 40
assert e["engine_public"] != c["client_public"]
for k in ("client_public", "client_secret", "server_secret"):
    assert k not in e, k
assert "engine_secret" not in c
PY

mount_lab --cluster "$conn"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
submit "$EXP/sum.py {\"a\": {\"range\": [0, 5]}, \"b\": {\"linspace\": [0, 1, 3]}}"
tag=$(key "$MNT/status" current)
wait_done "$tag"
assert_eq 15 "$(key "$MNT/results/$tag/status" results)" "results"
assert_eq 16 "$(wc -l <"$MNT/results/$tag/results.csv")" "results.csv lines"
assert_eq "$(printf '%s\n' 0 0.5 1 | sort)" \
    "$(tail -n +2 "$MNT/results/$tag/results.csv" | cut -d, -f2 | sort -u)" "linspace values"
assert_eq "eng1 eng2" "$(tail -n +2 "$MNT/results/$tag/results.csv" | grep -o 'eng[0-9]' | sort -u | xargs)" \
    "both engines used"
log "PASS test_cluster_by_hand"
