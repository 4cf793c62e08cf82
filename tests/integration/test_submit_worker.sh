#!/usr/bin/env bash
# Worker mode's submit fields on a real mount: "arguments" and "worker"
# (true, or "framed") reach the controller's queue in every task of the
# job, exactly as written, and a job without them sends tasks without
# those keys. Bad
# values are refused with EINVAL and recorded in /errors with a caret.
. "$(dirname "$0")/lib.sh"

# No engine: the tasks stay in the controller's queue to be read there (a
# task is deleted once its result is delivered).
mount_lab --engines 0

submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": [1, 2, 3]}, \"tag\": \"w\", \"arguments\": [\"m:f\", \"--path\", \"/a b\", \"\"], \"worker\": true}"
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": [1, 2]}, \"tag\": \"p\", \"arguments\": [], \"worker\": false}"
submit "$EXP/trivial.sh {\"x\": [1]}"
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": [1, 2]}, \"tag\": \"f\", \"worker\": \"framed\"}"

# tasks TAG: the task bodies of TAG in the controller's queue, without job
# and params, one canonical JSON line each, sorted.
tasks() {
    python3 - "$STATE/cluster/controller.db" "$1" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
out = []
for (body,) in db.execute("SELECT body FROM tasks WHERE tag = ?", (sys.argv[2],)):
    t = json.loads(body)
    t.pop("job"); t.pop("params")
    out.append(json.dumps(t, sort_keys=True))
print("\n".join(sorted(out)))
PY
}
wait_for 30 "eight tasks at the controller" \
    'test "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=10).execute(\"SELECT count(*) FROM tasks\").fetchone()[0])" "$STATE/cluster/controller.db" 2>/dev/null)" = 8'

w="{\"arguments\": [\"m:f\", \"--path\", \"/a b\", \"\"], \"experiment\": \"$EXP/trivial.sh\", \"tag\": \"w\", \"timeout\": 0.0, \"worker\": true}"
assert_eq "$(printf '%s\n%s\n%s' "$w" "$w" "$w")" "$(tasks w)" "worker tasks"
p="{\"experiment\": \"$EXP/trivial.sh\", \"tag\": \"p\", \"timeout\": 0.0}"
assert_eq "$(printf '%s\n%s' "$p" "$p")" "$(tasks p)" "one-shot tasks (empty arguments, worker false)"
f="{\"experiment\": \"$EXP/trivial.sh\", \"tag\": \"f\", \"timeout\": 0.0, \"worker\": \"framed\"}"
assert_eq "$(printf '%s\n%s' "$f" "$f")" "$(tasks f)" "framed worker tasks"

# Refusals: EINVAL at write, an /errors record each, nothing submitted.
python3 - "$MNT/submit" "$EXP/trivial.sh" "$MNT/errors" <<'PY' || fail "refusals"
import errno, os, sys
path, exp, errors = sys.argv[1:]
cases = [
    ('"arguments": "-v"', '"arguments"'),
    ('"arguments": ["a", 1]', '1]'),
    ('"arguments": [%s]' % ", ".join('"a"' for _ in range(65)), None),
    ('"arguments": ["%s"]' % ("x" * 4097), '"xxx'),
    ('"worker": "yes"', '"worker"'),
    ('"worker": "Framed"', '"worker"'),
]
before = open(errors).read().count("] submit: ")
for more, _ in cases:
    text = '{"experiment": "%s", "parameters": {}, "tag": "bad", %s}' % (exp, more)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
        sys.exit("accepted: " + text[:100])
    except OSError as e:
        if e.errno != errno.EINVAL:
            sys.exit("errno %d for %s" % (e.errno, text[:100]))
    finally:
        os.close(fd)
after = open(errors).read()
if after.count("] submit: ") != before + len(cases):
    sys.exit("not every refusal is in /errors:\n" + after[-2000:])
if "^" not in after or "arguments[1] must be a string" not in after:
    sys.exit("no caret or reason in /errors:\n" + after[-2000:])
PY
[ ! -e "$MNT/results/bad" ] || fail "a refused job made a set"
