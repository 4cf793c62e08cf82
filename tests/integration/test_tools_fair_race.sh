#!/usr/bin/env bash
# Issue 15 item 2, the take-back race: with a deep prefetch and points of
# uneven length, the tail of every set has engines freeing up while others
# hold tasks they may be starting at that very moment. Over many such
# tails, every point must run exactly once (a task taken back after it
# started would run twice; one given back and not reassigned would never
# end) and every set must finish.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

# Starts are logged as in edge_logged.py. Tasks go out in rounds, so the
# engine that gets point 0 also holds 3 and 6: those are long, the others
# short and uneven, so that the other engines free up, at different
# moments, while it holds tasks it may be about to start.
uneven=$WORK/uneven.py
cat >"$uneven" <<'PY'
#!/usr/bin/env python3
import json, os, sys, time
p = json.loads(sys.stdin.readline())
with open(p["log"], "a") as f:
    f.write("%s %s\n" % (os.environ.get("CLAB_TAG", "?"), p["i"]))
time.sleep(0.6 if p["i"] % 3 == 0 else (p["i"] * 7 % 5) * 0.04)
print(json.dumps({"i": p["i"]}))
PY
chmod +x "$uneven"

ROUNDS=8
POINTS=9
start_detached 3 --prefetch 4
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "3 engines" 'test "$(key "$MNT/status" engines)" = 3'
for r in $(seq "$ROUNDS"); do
    submit "{\"experiment\": \"$uneven\", \"tag\": \"r$r\",
             \"parameters\": {\"i\": {\"range\": [0, $POINTS]}, \"log\": \"$STARTS\"}}"
    wait_done "r$r" 60
done
for r in $(seq "$ROUNDS"); do
    check_exact "r$r" "$POINTS"
    assert_eq 0 "$(key "$MNT/results/r$r/status" failed)" "r$r failed"
    assert_eq "$(seq 0 $((POINTS - 1)) | xargs)" \
        "$(sed -n "s/^r$r //p" "$STARTS" | sort -n | xargs)" "r$r: each point started once"
done
log "PASS test_tools_fair_race"
