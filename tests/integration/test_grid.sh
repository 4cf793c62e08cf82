#!/usr/bin/env bash
# A 3x4 grid on the embedded cluster with 2 engines, harvested with real
# echo, cat, ls, wc, awk, cut, sort and python3's json module.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

# Watch ready_fraction from the moment of submission: in every read of
# /status (and of the set's status) it agrees with the counts of that same
# read, and it never falls.
submit "$EXP/sum.py {\"a\": [1, 2, 3], \"b\": [10, 20, 30, 40], \"sleep\": 0.2}"
tag=$(key "$MNT/status" current)
[ -n "$tag" ] && [ "$tag" != "-" ] || fail "no current set after submit"
: >"$WORK/fractions"
: >"$WORK/status.jsonl"
done_=0
while [ $done_ = 0 ]; do
    cat "$MNT/results/$tag/status" >"$WORK/set-status"
    [ "$(key "$WORK/set-status" done)" = 1 ] && done_=1
    check_fraction "$WORK/set-status" >/dev/null
    cat "$MNT/status" >"$WORK/status"
    check_fraction "$WORK/status" >>"$WORK/fractions"
    cat "$MNT/status.json" >>"$WORK/status.jsonl"
    sleep 0.05
done
awk 'NR > 1 && $1 + 0 < prev + 0 { print "fell from " prev " to " $1; bad = 1} { prev = $1 }
     END { exit bad }' "$WORK/fractions" || fail "ready_fraction decreased"
[ "$(wc -l <"$WORK/fractions")" -ge 3 ] || fail "too few samples of ready_fraction"
[ "$(awk '$1 > 0 && $1 < 1' "$WORK/fractions" | wc -l)" -ge 1 ] ||
    fail "no sample of ready_fraction between 0 and 1: $(tr '\n' ' ' <"$WORK/fractions")"
python3 - "$WORK/status.jsonl" <<'PY' || fail "/status.json's ready_fraction disagrees with its counts"
import sys, json
for line in open(sys.argv[1]):
    s = json.loads(line)
    fin, pend = s["results"] + s["failed"], s["pending"]
    want = fin / (fin + pend) if fin + pend else 1.0
    assert abs(s["ready_fraction"] - want) < 1e-9, s
PY

# /status when done.
assert_eq 2 "$(key "$MNT/status" engines)" "engines"
assert_eq 1 "$(key "$MNT/status" connected)" "connected"
assert_eq 1.000000 "$(key "$MNT/status" ready_fraction)" "ready_fraction"
assert_eq 12 "$(key "$MNT/status" results)" "results"
assert_eq 0 "$(key "$MNT/status" failed)" "failed"
assert_eq 0 "$(key "$MNT/status" pending)" "pending"
assert_eq 12 "$(key "$MNT/results/$tag/status" total)" "set total"

# The listing: twelve results, numbered 1..12.
assert_eq "$(seq 12 | sed 's/$/.json/' | sort)" "$(ls "$MNT/results/$tag" | grep '^[0-9]*\.json$' | sort)" \
    "result files"
assert_eq "" "$(ls "$MNT/results/$tag/failed")" "failed/ listing"

# results.csv: header then one row per point, each exactly once, sum right.
csv=$MNT/results/$tag/results.csv
assert_eq 13 "$(wc -l <"$csv")" "results.csv lines"
header=$(head -n 1 "$csv")
assert_eq "a,b,sleep,label,sum,tag,clab.attempt,clab.engine,clab.exit_status,clab.experiment_sha256,clab.host,clab.host_reported,clab.job,epyc.experiment.classname,epyc.experiment.elapsed_time,epyc.experiment.end_time,epyc.experiment.experiment_time,epyc.experiment.setup_time,epyc.experiment.start_time,epyc.experiment.status,epyc.experiment.teardown_time" \
    "$header" "results.csv header"
# Columns 1,2 are a,b; the label column is quoted ("x, ""y""") so count
# from the front only.
assert_eq "$(for a in 1 2 3; do for b in 10 20 30 40; do echo "$a,$b"; done; done | sort)" \
    "$(tail -n +2 "$csv" | cut -d, -f1,2 | sort)" "each point exactly once"
tail -n +2 "$csv" | awk -F, '{ if ($6 != $1 + $2) { print "bad sum: " $0; bad = 1 } } END { exit bad }' \
    || fail "sum column"
tail -n +2 "$csv" | grep -c ',0.2,"x, ""y""",' | grep -qx 12 || fail "quoted label column"
tail -n +2 "$csv" | awk -F, '$(NF - 1) != "TRUE" { bad = 1 } END { exit bad }' || fail "status column"

# Every N.json has SPEC's shape and metadata.
python3 - "$MNT/results/$tag" "$EXP/sum.py" <<'PY' || fail "N.json contents"
import json, sys, os
d, exp = sys.argv[1], sys.argv[2]
want = {"epyc.experiment.classname", "epyc.experiment.start_time", "epyc.experiment.end_time",
        "epyc.experiment.elapsed_time", "epyc.experiment.experiment_time",
        "epyc.experiment.status", "clab.job", "clab.engine", "clab.host", "clab.exit_status",
        "clab.host_reported", "epyc.experiment.setup_time", "epyc.experiment.teardown_time",
        "clab.attempt", "clab.experiment_sha256"}
host = os.uname().nodename
jobs = set()
for n in range(1, 13):
    doc = json.load(open(os.path.join(d, f"{n}.json")))
    assert set(doc) == {"metadata", "parameters", "results"}, doc.keys()
    m = doc["metadata"]
    assert set(m) == want, set(m) ^ want
    assert m["epyc.experiment.classname"] == exp
    # The embedded cluster is on ipc://: its engines run on this host.
    assert m["clab.host"] == host and m["clab.host_reported"] == host, m
    assert m["epyc.experiment.status"] is True and m["clab.exit_status"] == 0
    assert m["epyc.experiment.elapsed_time"] >= m["epyc.experiment.experiment_time"] >= 0.2
    assert m["epyc.experiment.start_time"] <= m["epyc.experiment.end_time"]
    assert doc["results"]["sum"] == doc["parameters"]["a"] + doc["parameters"]["b"]
    jobs.add(m["clab.job"])
assert len(jobs) == 12
PY

# Both engines did work (field 9: clab.engine, after clab.attempt; the label is two).
assert_eq 2 "$(tail -n +2 "$csv" | awk -F, '{ print $9 }' | sort -u | wc -l)" "engines used"
log "PASS test_grid"
