#!/usr/bin/env bash
# Issue 15 item 2: an engine that frees up while the queue is empty takes
# over a task another engine holds but has not started. eng-A runs a long
# point (set a); then set b's three short points arrive: one goes to the
# idle engine, and with --prefetch 2 the busy one is handed a second that
# it cannot start before the long point ends. Once the idle engine is done
# with its share, that held task is taken back and run there. Asserted from
# the results' clab.engine and start/end times: no point waited on a busy
# engine while another engine was idle, and every point ran exactly once.
# ctest: serial -- asserts that no point waited over 1 s on a busy engine while another was idle
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

LONG=7
SHORT=1
start_detached 2 --prefetch 2
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

logged a 1 "$LONG"
wait_for 30 "the long point to start" 'test "$(started a)" = 1'
tb=$(date +%s.%N)
logged b 3 "$SHORT"
wait_done b 60
t1=$(date +%s.%N)
wait_done a 60
wall=$(awk -v a="$tb" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
log "3 points of ${SHORT} s beside one of ${LONG} s on 2 engines: ${wall} s wall"

check_exact a 1
check_exact b 3
assert_eq 0 "$(($(key "$MNT/results/a/status" failed) + $(key "$MNT/results/b/status" failed)))" \
    "failed"
# Each point started exactly once: a task taken back was never run twice.
assert_eq 1 "$(started a)" "starts of set a"
assert_eq 3 "$(started b)" "starts of set b"
assert_eq "0 1 2" "$(sed -n 's/^b //p' "$STARTS" | sort -n | xargs)" "points of b started"

# From the results: for each point of b, the time between b's submission
# and its start during which another engine sat idle. More than SLACK
# (a round trip and a process start, with room for a loaded machine) means
# it waited on a busy engine while another could have run it.
python3 - "$MNT/results" "$tb" 1.0 <<'PY' || fail "a point waited while an engine was idle"
import datetime, json, os, sys
root, tb, slack = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def t(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
runs = []
for tag in ("a", "b"):
    d = os.path.join(root, tag)
    for n in os.listdir(d):
        if n.endswith(".json") and n[0].isdigit():
            md = json.load(open(os.path.join(d, n)))["metadata"]
            runs.append((tag, md["clab.engine"], t(md["epyc.experiment.start_time"]),
                         t(md["epyc.experiment.end_time"])))
engines = sorted({r[1] for r in runs})
def idle(engine, lo, hi):
    """Seconds of [lo, hi] in which engine ran nothing."""
    busy, cur = 0.0, lo
    for _, e, s, f in sorted(r for r in runs if r[1] == engine):
        s, f = max(s, cur), min(f, hi)
        if f > s:
            busy += f - s
            cur = f
    return max(0.0, (hi - lo) - busy)
bad = []
for tag, e, s, f in runs:
    print("%s on %s: %.2f .. %.2f s" % (tag, e, s - tb, f - tb))
    if tag != "b":
        continue
    for other in engines:
        if other != e and idle(other, tb, s) > slack:
            bad.append("b started at %.2f s on %s while %s was idle %.2f s before"
                       % (s - tb, e, other, idle(other, tb, s)))
assert len(engines) == 2, "engines used: %s" % engines
assert not bad, "; ".join(bad)
PY
log "PASS test_tools_fair_takeback"
