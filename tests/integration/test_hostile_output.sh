#!/usr/bin/env bash
# Hostile experiments: stdout over 16 MiB, invalid UTF-8, 100000 nested
# arrays, NUL bytes, 50 sleepers left behind, stdout closed while running
# on, 20 MiB of stderr, an envelope whose exception or traceback is NaN,
# Infinity or a big integer. Each becomes the result the experiment contract
# names (a failed one with its one-line exception, or for the noisy one a
# success), only a tail of stderr is kept (none for a success, a few KiB
# ending with its last line for a failure), the sleepers are gone, and the
# engine survives to run more.
. "$(dirname "$0")/lib.sh"

H=$EXP/hostile
start_cluster 1
engine_pid=${PIDS[1]}
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "1 engine" 'test "$(key "$MNT/status" engines)" = 1'

job() { # tag experiment [extra JSON fields]
    submit "{\"experiment\": \"$H/$2\", \"parameters\": {\"marker\": \"$WORK\"}, \"tag\": \"$1\"${3:+, $3}}"
}
job big big_output.sh
job utf8 invalid_utf8.sh
job deep deep_json.sh
job nul nul_bytes.sh
job fork forker.sh
job closed closed_stdout.sh '"timeout": 2'
job noisy noisy_stderr.sh
job noisyfail noisy_fail.sh
# Issue 21: the relaxed reader's NaN is no string for clab.exception or
# clab.traceback (it was stored as the text "?NaN").
for n in nan inf big; do
    job "exc$n" nan_envelope.py "\"arguments\": [\"exception\", \"$n\"]"
    job "tb$n" nan_envelope.py "\"arguments\": [\"traceback\", \"$n\"]"
done

# failed_with TAG EXCEPTION: the set has one failed result, with it.
failed_with() {
    wait_done "$1" 60
    assert_eq 0 "$(key "$MNT/results/$1/status" results)" "$1: results"
    assert_eq 1 "$(key "$MNT/results/$1/status" failed)" "$1: failed"
    local f
    f=$(ls "$MNT/results/$1/failed/"*.json)
    python3 - "$f" "$2" <<'PY' || fail "$1: failed result"
import json, sys
doc = json.load(open(sys.argv[1]))
m = doc["metadata"]
assert m["epyc.experiment.status"] is False, m
assert m["epyc.experiment.exception"] == sys.argv[2], m["epyc.experiment.exception"]
assert "\n" not in m["epyc.experiment.exception"]
assert doc["parameters"] == {"marker": sys.argv[1].split("/mnt/")[0]}, doc["parameters"]
PY
}
failed_with big "output over 16 MiB"
failed_with utf8 "stdout is not a JSON object: invalid UTF-8 at line 1, column 8"
failed_with deep "stdout is not a JSON object: nested too deep at line 1, column 2054"
failed_with nul "stdout is not a JSON object: control character in a string at line 1, column 9"
failed_with fork "exit status 3"
failed_with closed "timeout after 2 s"

# A number as clab.exception fails the point as not a string; as
# clab.traceback it is no traceback, and stderr's tail is kept instead.
for n in nan inf big; do
    failed_with "exc$n" "clab.exception is not a string"
    failed_with "tb$n" "ValueError: boom"
    python3 - "$(ls "$MNT/results/tb$n/failed/"*.json)" <<'PY' || fail "tb$n: traceback"
import json, sys
m = json.load(open(sys.argv[1]))["metadata"]
assert m["epyc.experiment.traceback"] == "stderr before the envelope\n", m
PY
done

# The forker's sleepers died with its process group, at once.
python3 - "$(ls "$MNT/results/fork/failed/"*.json)" <<'PY' || fail "forker timing"
import json, sys
m = json.load(open(sys.argv[1]))["metadata"]
assert m["epyc.experiment.elapsed_time"] < 10, m["epyc.experiment.elapsed_time"]
assert "left 50 sleepers" in m["epyc.experiment.traceback"], m["epyc.experiment.traceback"]
PY
wait_for 10 "the sleepers to be gone" "! pgrep -f 'clab-sleeper-$WORK' >/dev/null"

# 20 MiB of stderr: a success, and only a tail of it kept.
wait_done noisy 60
assert_eq 1 "$(key "$MNT/results/noisy/status" results)" "noisy: results"
python3 - "$MNT/results/noisy/1.json" <<'PY' || fail "noisy result"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["results"] == {"quiet": True}, doc["results"]
assert doc["metadata"]["epyc.experiment.status"] is True
# A success keeps none of its stderr.
assert not any("traceback" in k for k in doc["metadata"]), doc["metadata"].keys()
assert len(open(sys.argv[1], "rb").read()) < 4096
PY
# 20 MiB of stderr then a failure: the traceback is its tail, a few KiB
# of it at most, ending with the last line written.
failed_with noisyfail "exit status 3"
python3 - "$(ls "$MNT/results/noisyfail/failed/"*.json)" <<'PY' || fail "noisy failure's traceback"
import json, sys
tb = json.load(open(sys.argv[1]))["metadata"]["epyc.experiment.traceback"]
assert 0 < len(tb) <= 65536, len(tb)
assert tb.rstrip("\n").endswith("\nthe last line"), tb[-100:]
assert set(tb.rstrip("\n")[:-len("\nthe last line")]) == {"e"}, tb[:100]
PY

# The engine survived all of it and still works.
kill -0 "$engine_pid" 2>/dev/null || fail "the engine died"
assert_eq 1 "$(key "$MNT/status" engines)" "engines"
submit "$EXP/sum.py {\"a\": [1, 2], \"b\": [10, 20]}"
tag=$(key "$MNT/status" current)
wait_done "$tag" 60
assert_eq 4 "$(key "$MNT/results/$tag/status" results)" "results after the hostile ones"
# No sanitizer report from any program so far (under scripts/test.sh's
# ASan step; the clean-up looks again once all have exited).
no_sanitizer_reports
log "PASS test_hostile_output"
