#!/usr/bin/env bash
# SPEC: clabfs's --retries is how often the embedded cluster re-runs a task
# whose engine was lost. With --retries 0, an engine killed -9 in the middle
# of a point leaves that point failed with `engine lost` (and nothing else
# fails); with the default (3), the point runs again on the restarted
# engine and nothing fails. Each case: one point on one engine, counted by
# the runs that got through under a live engine (sleepy.py's log: "i
# engine-pid"; the killed engine's experiment is orphaned, may still get
# through, and then logs parent pid 1) and by the notebook.
. "$(dirname "$0")/lib.sh"

engine_pids() { pgrep -f "clab-engine --cluster $STATE/" || true; }

# lose_engine_mid_point TAG: submits one 6 s point, waits until the one
# engine is busy with it, kills that engine with -9, waits for the set.
lose_engine_mid_point() {
    local tag=$1 victim
    submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"$tag\",
             \"parameters\": {\"i\": [0], \"sleep\": 6, \"log\": \"$WORK/$tag.runs\"}}"
    wait_for 30 "the engine to be busy" \
        'grep -qx "state busy" "$MNT"/engines/* 2>/dev/null'
    victim=$(engine_pids)
    assert_eq 1 "$(echo "$victim" | wc -w)" "embedded engines"
    kill -9 "$victim"
    # The supervisor starts a new engine; the controller gives up on the
    # old one after its heartbeat timeout (10 s).
    wait_done "$tag" 90
}

# --retries 0: the point fails with `engine lost`, having never run to the end.
mount_lab --engines 1 --retries 0
lose_engine_mid_point r0
st=$MNT/results/r0/status
assert_eq 0 "$(key "$st" results)" "r0 results"
assert_eq 1 "$(key "$st" failed)" "r0 failed"
assert_eq 0 "$(key "$st" pending)" "r0 pending"
python3 - "$MNT/results/r0/failed" <<'PY' || fail "r0's failure"
import json, os, sys
[name] = os.listdir(sys.argv[1])
m = json.load(open(os.path.join(sys.argv[1], name)))["metadata"]
assert m["epyc.experiment.exception"] == "engine lost", m["epyc.experiment.exception"]
PY
# runs_under_engine TAG: runs that got through with their engine alive.
runs_under_engine() { awk '$2 != 1' "$WORK/$1.runs" 2>/dev/null | wc -l; }
assert_eq 0 "$(runs_under_engine r0)" "r0 runs to the end under an engine"

# The default: a second lab (fresh state), the same loss, no failure; the
# point ran to the end exactly once (the killed run never got there).
fusermount3 -u "$MNT"
wait_for 60 "the first lab to exit" '! pgrep -f "$STATE/" >/dev/null'
STATE=$WORK/state2
mount_lab --engines 1
lose_engine_mid_point r3
st=$MNT/results/r3/status
assert_eq 1 "$(key "$st" results)" "r3 results"
assert_eq 0 "$(key "$st" failed)" "r3 failed"
assert_eq 0 "$(key "$st" pending)" "r3 pending"
assert_eq 1 "$(runs_under_engine r3)" "r3 runs to the end under an engine"
log "PASS test_promises_t14_retries"
