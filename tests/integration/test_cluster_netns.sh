#!/usr/bin/env bash
# Two hosts (network namespaces joined by a veth): the controller and
# clabfs in host A, two engines in host B that reach the controller only
# over TCP with CURVE. A sweep runs exactly once on B's engines; pulling
# the cable mid-sweep past the heartbeat timeout loses nothing; an engine
# in B with another controller's key is refused and never gets a task;
# an experiment on A but missing on B fails its point with `experiment not found on
# HOST`.
# ctest: resource netns -- network namespaces and a veth pair (tests/cluster/netns.sh)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
. "$CLAB_SRC/tests/cluster/netns.sh"

rc=0
netns_two_hosts || rc=$?
[ "$rc" -ne 77 ] || { log "SKIP: $CLUSTER_SKIP_REASON"; exit 77; }
[ "$rc" -eq 0 ] || fail "netns_two_hosts: $rc"
command -v nsenter >/dev/null || { log "SKIP: no nsenter"; exit 77; }

# in_a CMD...: host A's network, the machine's mounts (ip netns exec would
# give clabfs a mount namespace of its own, its mount out of our sight).
in_a() { nsenter --net="/run/netns/$NETNS_A" "$@"; }
b_engine() { # ID CONNFILE
    on_host B "$ENGINE" --cluster "$2" --id "$1" >>"$WORK/engine-$1.log" 2>&1 &
    PIDS+=($!)
}

in_a "$CONTROLLER" --state "$WORK/cluster" --engine-endpoint "tcp://$NETNS_ADDR_A:*" \
    --heartbeat-timeout 3 >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
wait_for 15 "engine.json" "test -s '$WORK/cluster/engine.json'"
endpoint=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["engine_endpoint"])' \
    "$WORK/cluster/engine.json")
case $endpoint in tcp://"$NETNS_ADDR_A":[0-9]*) ;; *) fail "engine.json endpoint $endpoint" ;; esac
in_a "$CLABFS" --state "$STATE" --cluster "$WORK/cluster/cluster.json" "$MNT"
wait_for 30 "connected" 'test "$(key "$MNT/status" connected)" = 1'
b_engine b1 "$WORK/cluster/engine.json"
b_engine b2 "$WORK/cluster/engine.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

# (a) exactly once, on B's engines only.
sweep a 20 0.1
wait_done a 60
check_exact a 20
assert_eq 0 "$(key "$MNT/results/a/status" failed)" "failed points of a"
bad=$(engines_of a | grep -vx 'b[12]' || true)
[ -z "$bad" ] || fail "points of a ran on engines other than b1, b2: $bad"

# Who ran them is what the controller knows: clab.host is the address B's
# engines connect from, whatever they say; their own word on their host
# is clab.host_reported.
hosts_of() { # KEY: the distinct values of a metadata key over a's results
    python3 - "$MNT/results/a" "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
print(" ".join(sorted({json.load(open(os.path.join(d, n)))["metadata"][sys.argv[2]]
                       for n in os.listdir(d) if n.endswith(".json") and n[:-5].isdigit()})))
PY
}
assert_eq "$NETNS_ADDR_B" "$(hosts_of clab.host)" "clab.host of the points B's engines ran"
# (m) an experiment that exists on A and not on B: its point fails, naming
# the engine's host (B's, as its results of a say: namespaces share the name).
bhost=$(hosts_of clab.host_reported)
assert_eq "$(hostname)" "$bhost" "clab.host_reported of the points B's engines ran"
# The file is on A (clabfs accepts only an experiment it sees) and hidden
# from B: an empty tmpfs over its directory in B's engines' mount namespaces
# (ip netns exec gives each its own, slave to ours).
mkdir -p "$WORK/aonly"
cp "$EXP/sleepy.py" "$WORK/aonly/"
for id in b1 b2; do
    p=$(engine_pid "$id")
    [ -n "$p" ] || fail "no engine $id"
    nsenter --mount="/proc/$p/ns/mnt" mount -t tmpfs -o size=1m none "$WORK/aonly" ||
        fail "cannot hide $WORK/aonly from engine $id"
    nsenter --mount="/proc/$p/ns/mnt" test ! -e "$WORK/aonly/sleepy.py" ||
        fail "$WORK/aonly/sleepy.py still seen by engine $id"
done
[ -e "$WORK/aonly/sleepy.py" ] || fail "the tmpfs of B's engines reached host A"
submit "{\"experiment\": \"$WORK/aonly/sleepy.py\", \"tag\": \"m\",
         \"parameters\": {\"i\": {\"range\": [0, 1]}}}"
wait_done m 30
assert_eq 1 "$(key "$MNT/results/m/status" failed)" "failed points of m"
assert_eq 0 "$(key "$MNT/results/m/status" results)" "results of m"
python3 - "$MNT/results/m/failed" "experiment not found on $bhost" <<'PY' || fail "the missing experiment's record"
import json, os, sys
d, want = sys.argv[1], sys.argv[2]
recs = [json.load(open(os.path.join(d, n)))["metadata"] for n in os.listdir(d)]
assert len(recs) == 1, len(recs)
m = recs[0]
assert m["epyc.experiment.exception"] == want, m["epyc.experiment.exception"]
assert m["epyc.experiment.status"] is False, m
assert m["clab.engine"] in ("b1", "b2"), m["clab.engine"]
PY

# (b) the cable pulled for over twice the heartbeat timeout mid-sweep, then back.
sweep b 30 0.4
wait_results b 4
link_down
sleep 7
link_up
wait_done b 120
check_exact b 30
assert_eq 0 "$(key "$MNT/results/b/status" failed)" "failed points of b"

# (c) a wrong key: another controller's engine.json, pointed at ours. That
# controller binds every address of host A: its engine.json names A's
# address, the one other hosts can use, not a name or 0.0.0.0.
in_a "$CONTROLLER" --state "$WORK/other" --engine-endpoint 'tcp://*:*' \
    >>"$WORK/other.log" 2>&1 &
other=$!
PIDS+=($other)
wait_for 15 "the other engine.json" "test -s '$WORK/other/engine.json'"
kill -TERM "$other"
other_ep=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["engine_endpoint"])' \
    "$WORK/other/engine.json")
case $other_ep in tcp://"$NETNS_ADDR_A":[0-9]*) ;; *) fail "tcp://*:* wrote $other_ep" ;; esac
python3 - "$WORK/other/engine.json" "$endpoint" "$WORK/rogue.json" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1]))
c["engine_endpoint"] = sys.argv[2]
fd = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(c).encode())
os.close(fd)
PY
b_engine rogue "$WORK/rogue.json"
sweep c 16 0.5
sleep 3
wait_done c 60
check_exact c 16
assert_eq 0 "$(queue_sql "SELECT count(*) FROM tasks WHERE engine = 'rogue'")" \
    "tasks given to the engine with a wrong key"
assert_eq 2 "$(key "$MNT/status" engines)" "engines with a wrong key among them"
pgrep -f "clab-engine --cluster $WORK/rogue.json" >/dev/null ||
    fail "the wrong-key engine died instead of retrying"
log "PASS test_cluster_netns"
