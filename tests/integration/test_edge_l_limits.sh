#!/usr/bin/env bash
# Issue 9, edge 7: no job is silently impossible. Through a real mount:
# - a point whose parameters are too big for CLAB_PARAMS (one environment
#   string is at most 128 KiB) runs, with its parameters whole on stdin and
#   no CLAB_PARAMS;
# - a job whose task would be over the controller's 1 MiB is refused at
#   submit with E2BIG and an /errors record, and nothing else changes;
# - an experiment printing 12000 results (or millions) fails with the
#   reason, and the engine stays small and alive.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 1
wait_for 30 "1 engine" 'test "$(key "$MNT/status" engines)" = 1'

# Experiments of this test, in its work directory.
cat >"$WORK/stdin_env.py" <<'PY'
#!/usr/bin/env python3
import json, os, sys
text = sys.stdin.read()
p = json.loads(text)
print(json.dumps({"stdin_len": len(text), "big_len": len(p["big"]), "x": p["x"],
                  "has_env": "CLAB_PARAMS" in os.environ}))
PY
cat >"$WORK/many.py" <<'PY'
#!/usr/bin/env python3
import json, sys
n = json.loads(sys.stdin.read())["n"]
sys.stdout.write("[" + ",".join(["{}"] * n) + "]\n")
PY
chmod +x "$WORK/stdin_env.py" "$WORK/many.py"

# 1. Parameters over 128 KiB: the point runs, stdin only.
python3 - "$MNT/submit" "$WORK/stdin_env.py" <<'PY' || fail "big point submit"
import json, sys
job = {"experiment": sys.argv[2], "tag": "bigenv",
       "parameters": {"big": "p" * 200000, "x": [1, 2]}}
with open(sys.argv[1], "w") as f:
    f.write(json.dumps(job))
PY
wait_done bigenv 60
assert_eq 2 "$(key "$MNT/results/bigenv/status" results)" "bigenv: results"
assert_eq 0 "$(key "$MNT/results/bigenv/status" failed)" "bigenv: failed"
python3 - "$MNT/results/bigenv" <<'PY' || fail "bigenv results"
import json, os, sys
for n in (1, 2):
    r = json.load(open(os.path.join(sys.argv[1], "%d.json" % n)))["results"]
    assert r["big_len"] == 200000 and r["has_env"] is False, r
    assert r["stdin_len"] == len('{"big":"","x":1}\n') + 200000, r
PY

# 2. A task over the controller's limit: E2BIG at write, one new /errors
#    record, no set, nothing pending.
status_before=$(grep -v -E '^(engines|connected|ready_fraction)' "$MNT/status")
python3 - "$MNT/submit" "$MNT/errors" "$WORK/stdin_env.py" <<'PY' || fail "task over the limit"
import errno, json, os, re, sys
path, errors, exp = sys.argv[1:]
def records():
    return re.findall(r"^\[.*?(?=^\[|\Z)", open(errors).read(), re.S | re.M)
before = records()
# 2 bytes written, 6 sent: the text is 360 KB, its task 1.08 MB.
text = '{"experiment": "%s", "tag": "huge", "parameters": {"s": "%s", "x": [1, 2]}}' % (
    exp, "\\b" * 180000)
assert len(text) < 1 << 20
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
got = 0
try:
    os.write(fd, text.encode())
except OSError as e:
    got = e.errno
try:
    os.close(fd)
except OSError as e:
    got = got or e.errno
assert got == errno.E2BIG, "errno %s" % errno.errorcode.get(got, got)
after = records()
assert len(after) == len(before) + 1, (len(before), len(after))
assert re.match(r"\[[^]]+\] submit: E2BIG: .*over the limit of 1048576", after[-1]), after[-1][:300]
PY
test ! -e "$MNT/results/huge" || fail "a refused job made a set"
assert_eq "$status_before" "$(grep -v -E '^(engines|connected|ready_fraction)' "$MNT/status")" "status after the refusal"

# 3. Too many results: the point fails with the reason; 10000 is fine.
submit "$WORK/many.py {\"n\": [10000, 12000, 5000000]}"
tag=$(key "$MNT/status" current)
wait_done "$tag" 120
assert_eq 10000 "$(key "$MNT/results/$tag/status" results)" "many: one point's 10000 results"
assert_eq 2 "$(key "$MNT/results/$tag/status" failed)" "many: failed"
python3 - "$MNT/results/$tag" <<'PY' || fail "many: failures"
import glob, json, sys
got = {}
for f in glob.glob(sys.argv[1] + "/failed/*.json"):
    d = json.load(open(f))
    got[d["parameters"]["n"]] = d["metadata"]["epyc.experiment.exception"]
assert got == {12000: "output has 12000 results (at most 10000)",
               5000000: "output has 5000000 results (at most 10000)"}, got
rows = sum(1 for _ in open(sys.argv[1] + "/results.jsonl"))
assert rows == 10000 + 2, rows
PY
# The engine never held millions of objects: its peak RSS stays small.
engine=$(pgrep -f "clab-engine --cluster $STATE" | head -1 || true)
[ -n "$engine" ] || fail "no engine found"
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$engine/status")
[ "$hwm" -lt 204800 ] || fail "the engine's peak RSS is $hwm KiB"
log "PASS test_edge_l_limits"
