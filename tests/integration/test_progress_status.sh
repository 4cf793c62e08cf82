#!/usr/bin/env bash
# Progress in every status (issue 25): rate (points per second over the
# last minute), eta (seconds, or - when unknown) and started (the set's
# first submit, ISO 8601 UTC), as the last keys of /status,
# results/TAG/status and in status.json. Mid-sweep the rate is above 0 and
# the eta a number that agrees with pending / rate; a later submit to the
# tag leaves started alone; once the set is done the eta is -, and the
# record stays the same while nothing happens to the set. With no set at
# all, /status says rate 0, eta - and started -.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 6
keys() { awk '{ print $1 }' "$1" | paste -sd' '; }
assert_eq "engines connected current ready_fraction results failed pending rate eta started" \
    "$(keys "$MNT/status")" "/status's keys in order"
assert_eq "0.000000 - -" "$(key "$MNT/status" rate) $(key "$MNT/status" eta) $(key "$MNT/status" started)" \
    "rate, eta and started of a lab without sets"
python3 - "$MNT/status.json" <<'PY' || fail "status.json of a lab without sets"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["rate"] == 0 and s["eta"] is None and s["started"] is None, s
PY

# Six points, each held until its gate file exists; three let through.
gates=$(for i in 1 2 3 4 5 6; do printf '"%s/gate%d",' "$WORK" "$i"; done)
before=$(date -u +%s)
submit "{\"experiment\": \"$EXP/gated.py\", \"tag\": \"p\",
         \"parameters\": {\"gate\": [${gates%,}]}}"
after=$(date -u +%s)
touch "$WORK/gate1" "$WORK/gate2" "$WORK/gate3"
wait_for 60 "three results" 'test "$(key "$MNT/results/p/status" results)" = 3'
cp "$MNT/results/p/status" "$WORK/mid"
cat "$WORK/mid" >&2
assert_eq "engines connected current ready_fraction results failed pending total done rate eta started" \
    "$(keys "$WORK/mid")" "results/p/status's keys in order"
awk '$1 == "rate" && $2 + 0 > 0 { ok = 1 } END { exit !ok }' "$WORK/mid" ||
    fail "rate mid-sweep is not above 0"
# eta = ceil(pending / rate), to the rate's printed precision.
awk '{ v[$1] = $2 }
     END { if (v["eta"] !~ /^[0-9]+$/) exit 1
           want = v["pending"] / v["rate"]
           exit !(v["eta"] >= want - 1 && v["eta"] <= want + 1) }' "$WORK/mid" ||
    fail "eta mid-sweep is not ceil(pending / rate)"
started=$(key "$WORK/mid" started)
[[ $started =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
    fail "started [$started] is not ISO 8601 UTC to the second"
at=$(date -u -d "$started" +%s)
[ "$at" -ge "$before" ] && [ "$at" -le "$after" ] ||
    fail "started $started is not the submit's time (between $before and $after)"
assert_eq "$started" "$(key "$MNT/status" started)" "/status's started (p is current)"
python3 - "$MNT/results/p/status" "$MNT/status.json" <<'PY' || fail "status.json mid-sweep"
import json, sys
text = dict(l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines())
s = json.load(open(sys.argv[2]))
assert s["current"] == "p" and s["started"] == text["started"], s
assert isinstance(s["rate"], float) and s["rate"] > 0, s
assert isinstance(s["eta"], int) and s["eta"] >= 0, s
PY

# A second submit to p, a second or more later, keeps the first's time.
sleep 1.1
submit "{\"experiment\": \"$EXP/gated.py\", \"tag\": \"p\",
         \"parameters\": {\"gate\": [\"$WORK/gate7\"]}}"
assert_eq "$started" "$(key "$MNT/results/p/status" started)" "started after a second submit"
assert_eq 4 "$(key "$MNT/results/p/status" pending)" "pending after the second submit"

touch "$WORK/gate4" "$WORK/gate5" "$WORK/gate6" "$WORK/gate7"
wait_done p 60
cat "$MNT/results/p/status" >&2
assert_eq "- $started" "$(key "$MNT/results/p/status" eta) $(key "$MNT/results/p/status" started)" \
    "eta and started of the finished set"
awk '$1 == "rate" && $2 + 0 > 0 { ok = 1 } END { exit !ok }' "$MNT/results/p/status" ||
    fail "rate within a minute of the last point is not above 0"
# The rate is the minute's up to the set's last change: a finished set's
# record reads the same later, as its mtime says, and its wait returns it.
cp "$MNT/results/p/status" "$WORK/end"
m=$(stat -c %Y "$MNT/results/p/status")
sleep 1.1
assert_eq "$(cat "$WORK/end")" "$(cat "$MNT/results/p/status")" "the finished set's status a second later"
assert_eq "$m" "$(stat -c %Y "$MNT/results/p/status")" "its mtime a second later"
assert_eq "$(cat "$WORK/end")" "$(timeout 10 cat "$MNT/results/p/wait")" "its wait"
python3 - "$MNT/status.json" "$started" <<'PY' || fail "status.json of the finished set"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["eta"] is None and s["started"] == sys.argv[2] and s["rate"] > 0, s
PY
log "PASS test_progress_status"
