#!/usr/bin/env bash
# Honest files on a real mount while results arrive: every copy that cp,
# rsync, cat, wc -c, tail -n and Python take is one whole state of the
# file (a prefix of the final table, ending at a row), sizes from ls -l,
# stat, wc -c and os.path.getsize agree with the bytes, tail -f follows the
# tables to the last row, results never change, /engines describes the
# engines, /ctl selects, and /status.json, experiment and description hold
# exactly what they should.
. "$(dirname "$0")/lib.sh"

# Every point gives the same keys, so the tables only ever grow. The point
# x = 299 ends only once $WORK/gate exists (at most 60 s), which the rounds
# of copies below open after their third round: the set is still pending
# for them however slow they are on a loaded machine.
cat >"$WORK/exp.sh" <<'EOF'
#!/bin/sh
read -r p
sleep 0.04
if [ "$p" = '{"x":299}' ]; then
    n=0
    while [ ! -e "${0%/*}/gate" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
fi
printf '{"p": %s, "s": "a, \\"b\\""}\n' "$p"
EOF
chmod +x "$WORK/exp.sh"

# status_json_is FILE EXPECTED-JSON: the file is one JSON object on one
# line, equal to EXPECTED in keys, values and types (1.0 is not 1), but
# for "requests": the FUSE requests answered so far, by operation, and
# their total (issue 22); and the progress (issue 25: rate, eta, started),
# compared when EXPECTED has them, else only typed (test_progress_status
# checks their values).
status_json_is() {
    python3 - "$1" "$2" <<'PY' || fail "$1 is not $2"
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n") and data.count(b"\n") == 1, data
got, want = json.loads(data), json.loads(sys.argv[2])
req = got.pop("requests")
prog = {k: got.pop(k) for k in ("rate", "eta", "started")}
assert type(prog["rate"]) is float and prog["rate"] >= 0, prog
assert prog["eta"] is None or type(prog["eta"]) is int, prog
assert prog["started"] is None or type(prog["started"]) is str, prog
for k in set(prog) & set(want):
    assert prog[k] == want[k] and type(prog[k]) is type(want[k]), (prog, want)
    del want[k]
assert all(type(v) is int and v >= 0 for v in req.values()), req
assert req["total"] == sum(v for k, v in req.items() if k != "total") > 0, req
assert {"lookup", "getattr", "readdirplus", "open", "read"} <= set(req), req
assert got == want and all(type(got[k]) is type(want[k]) for k in want), (got, want)
PY
}

mount_lab --engines 2
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
# Before any set: no current one, and nothing finished of nothing pending
# is ready (fraction 1).
status_json_is "$MNT/status.json" \
    '{"connected": 1, "current": null, "engines": 2, "failed": 0, "pending": 0, "ready_fraction": 1.0, "results": 0,
      "rate": 0.0, "eta": null, "started": null}'
assert_eq "$(printf 'engines 2\nconnected 1\ncurrent -\nready_fraction 1.000000\nresults 0\nfailed 0\npending 0\nrate 0.000000\neta -\nstarted -')" \
    "$(cat "$MNT/status")" "/status before any set"
set_dir=$MNT/results/t
description='honest files: "quoted", commas, ünïcode'
submit "{\"experiment\": \"$WORK/exp.sh\", \"parameters\": {\"x\": {\"range\": [0, 300]}}, \"tag\": \"t\",
         \"description\": \"honest files: \\\"quoted\\\", commas, ünïcode\"}"

# results.jsonl followed from the start, while it is still empty; the
# csv once the first result is in: before it, the table is the header of
# the parameters alone, which the first result's columns rewrite.
timeout 120 tail -n +1 -f "$set_dir/results.jsonl" >"$WORK/follow.jsonl" &
followers=($!)
wait_for 30 "the first result" '[ "$(key "$set_dir/status" results)" -ge 1 ]'
timeout 120 tail -n +1 -f "$set_dir/results.csv" >"$WORK/follow.csv" &
followers+=($!)
PIDS+=("${followers[@]}")

mkdir "$WORK/snap"
# Python: one open, fstat before and after reading, getsize while open.
cat >"$WORK/reader.py" <<'EOF'
import json, os, sys
path, out = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY)
before = os.fstat(fd).st_size
chunks = []
while True:
    b = os.read(fd, 7919)
    if not b:
        break
    chunks.append(b)
data = b"".join(chunks)
size = os.path.getsize(path)
os.close(fd)
if len(data) != before:
    sys.exit(f"{path}: fstat said {before}, read {len(data)}")
if size < before:
    sys.exit(f"{path}: getsize {size} < fstat {before} with the file open")
if path.endswith(".json"):
    json.loads(data)
open(out, "wb").write(data)
EOF
# Results never change once visible: every N.json is hashed (with its
# mtime) each round while results arrive, and once more at rest.
cat >"$WORK/hashes.py" <<'EOF'
import hashlib, json, os, sys
d, state = sys.argv[1], sys.argv[2]
seen = json.load(open(state)) if os.path.exists(state) else {}
for name in os.listdir(d):
    if not (name.endswith(".json") and name[:-5].isdigit()):
        continue
    p = os.path.join(d, name)
    data = open(p, "rb").read()
    now = [hashlib.sha256(data).hexdigest(), os.stat(p).st_mtime]
    json.loads(data)
    if seen.setdefault(name, now) != now:
        sys.exit("%s changed: %s, then %s" % (name, seen[name], now))
json.dump(seen, open(state, "w"))
print(len(seen))
EOF
i=0
busy=0
while [ "$(key "$set_dir/status" done)" != 1 ]; do
    i=$((i + 1))
    [ "$(key "$set_dir/status" pending)" -gt 0 ] && busy=$((busy + 1))
    [ $busy -lt 3 ] || : >"$WORK/gate"
    cp "$set_dir/results.csv" "$WORK/snap/cp.$i.csv"
    rsync "$set_dir/results.tsv" "$WORK/snap/rsync.$i.tsv" || fail "rsync exit $?"
    cat "$set_dir/results.jsonl" >"$WORK/snap/cat.$i.jsonl"
    wc -c <"$set_dir/results.csv" >"$WORK/snap/wc.$i"
    tail -n 2 "$set_dir/results.csv" >"$WORK/snap/tail.$i.csv"
    python3 "$WORK/reader.py" "$set_dir/results.csv" "$WORK/snap/py.$i.csv" || fail "python reader"
    python3 "$WORK/reader.py" "$set_dir/pending" "$WORK/snap/py.$i.pending" || fail "python pending"
    python3 "$WORK/reader.py" "$MNT/notebook.json" "$WORK/snap/py.$i.json" || fail "notebook.json"
    cp "$MNT/notebook.json" "$WORK/snap/cp.$i.json"
    python3 "$WORK/hashes.py" "$set_dir" "$WORK/hashes" >/dev/null || fail "a result changed"
    [ $i -lt 500 ] || fail "the set never finished"
done
log "$i rounds of copies in ${SECONDS}s, $busy while points were pending"
[ "$busy" -ge 3 ] || fail "too few rounds while results arrived ($busy)"

# Each copy is the final table cut at a row: a prefix ending in a newline.
cat "$set_dir/results.csv" >"$WORK/final.csv"
cat "$set_dir/results.tsv" >"$WORK/final.tsv"
cat "$set_dir/results.jsonl" >"$WORK/final.jsonl"
python3 - "$WORK" <<'EOF' || fail "copies are not whole states"
import glob, json, os, sys
w = sys.argv[1]
final = {ext: open(f"{w}/final.{ext}", "rb").read() for ext in ("csv", "tsv", "jsonl")}
# The table before the first result: the parameter's header alone.
header_only = b"x\n"
def prefix(path, ext):
    data = open(path, "rb").read()
    if ext != "jsonl" and data == header_only:
        return len(data)
    assert final[ext].startswith(data), f"{path} is not a prefix of the final {ext}"
    assert data == b"" or data.endswith(b"\n"), f"{path} ends inside a row"
    return len(data)
n = 0
for path in glob.glob(f"{w}/snap/*"):
    name = os.path.basename(path)
    ext = name.rsplit(".", 1)[-1]
    if name.startswith("wc."):
        size = int(open(path).read())
        # The header alone is the table before the first result, a whole state too.
        assert size == len(header_only) or final["csv"][:size].endswith(b"\n"), f"wc -c said {size}"
    elif name.startswith("tail."):
        data = open(path, "rb").read()
        # The header alone is the table before the first result.
        if data != header_only:
            assert data.count(b"\n") == 2 and data in final["csv"], f"{path}: {data!r}"
            assert final["csv"].index(data) == 0 or final["csv"][final["csv"].index(data) - 1:][:1] == b"\n"
    elif ext in final:
        prefix(path, ext)
    elif ext == "pending":
        for line in open(path, "rb").read().splitlines():
            doc = json.loads(line)
            assert list(doc) == ["job", "parameters"] and set(doc["parameters"]) == {"x"}, line
    elif ext == "json":
        doc = json.load(open(path))
        assert doc["version"] == "2" and "t" in doc["resultsets"], path
    n += 1
assert n >= 27, n  # nine copies a round, three rounds at least
EOF
assert_eq 301 "$(wc -l <"$WORK/final.csv")" "final results.csv lines"

# Followers got every row exactly once, in order.
sleep 2.5
assert_eq "$(md5sum <"$WORK/final.jsonl")" "$(md5sum <"$WORK/follow.jsonl")" "tail -f results.jsonl"
assert_eq "$(md5sum <"$WORK/final.csv")" "$(md5sum <"$WORK/follow.csv")" "tail -f results.csv"
# Closed before the unmount, so that it is not a lazy one.
kill "${followers[@]}"
wait "${followers[@]}" 2>/dev/null || true

# At rest, every size agrees with the bytes: stat, ls -l, wc -c (fstat and
# a seek), cat, Python.
files=("$set_dir"/results.* "$set_dir"/pending "$set_dir"/status "$set_dir"/experiment
    "$set_dir"/description "$set_dir"/1.json "$set_dir"/300.json "$MNT"/status
    "$MNT"/status.json "$MNT"/notebook.json "$MNT"/errors "$MNT"/engines/*)
for f in "${files[@]}"; do
    s=$(stat -c %s "$f")
    assert_eq "$s" "$(cat "$f" | wc -c)" "cat | wc -c of $f"
    assert_eq "$s" "$(wc -c <"$f")" "wc -c < $f"
    assert_eq "$s" "$(ls -l "$f" | awk '{ print $5 }')" "ls -l of $f"
done
python3 - "${files[@]}" <<'EOF' || fail "getsize"
import os, sys
for f in sys.argv[1:]:
    assert os.path.getsize(f) == len(open(f, "rb").read()), f
EOF
# The small files say exactly what was submitted and where the set is.
assert_eq "$WORK/exp.sh" "$(cat "$set_dir/experiment")" "experiment"
assert_eq $(($(printf '%s' "$WORK/exp.sh" | wc -c) + 1)) "$(wc -c <"$set_dir/experiment")" "experiment bytes"
assert_eq "$description" "$(cat "$set_dir/description")" "description"
assert_eq $(($(printf '%s' "$description" | wc -c) + 1)) "$(wc -c <"$set_dir/description")" \
    "description bytes"
status_json_is "$MNT/status.json" \
    '{"connected": 1, "current": "t", "engines": 2, "failed": 0, "pending": 0, "ready_fraction": 1.0, "results": 300}'
# tail -n and cp on the whole table.
assert_eq "$(tail -n 3 "$WORK/final.csv")" "$(tail -n 3 "$set_dir/results.csv")" "tail -n 3"
cp "$set_dir/results.csv" "$WORK/cp.csv"
cmp "$WORK/cp.csv" "$WORK/final.csv" || fail "cp at rest"

# Every result hashed while they arrived is the same at rest, and all 300
# are there.
assert_eq 300 "$(python3 "$WORK/hashes.py" "$set_dir" "$WORK/hashes")" "results hashed"
# Results never change: same bytes and same mtime later on.
m1=$(stat -c %Y.%y "$set_dir/1.json")
c1=$(md5sum <"$set_dir/1.json")
sleep 1.1
assert_eq "$m1" "$(stat -c %Y.%y "$set_dir/1.json")" "1.json mtime"
assert_eq "$c1" "$(md5sum <"$set_dir/1.json")" "1.json content"

# /engines: one flat-keyed file per engine, live processes, tasks add up.
assert_eq 2 "$(ls "$MNT/engines" | wc -l)" "engine files"
for e in "$MNT"/engines/*; do
    assert_eq "host pid state tasks" "$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }' "$e")" \
        "keys of $e"
    kill -0 "$(key "$e" pid)" || fail "engine pid of $e is not a process"
    assert_eq "$(hostname)" "$(key "$e" host)" "host of $e"
done
wait_for 15 "tasks to add up" \
    'test "$(cat "$MNT"/engines/* | awk "\$1 == \"tasks\" { s += \$2 } END { print s }")" = 300'
wait_for 15 "idle engines" \
    'test "$(cat "$MNT"/engines/* | grep -c "^state idle$")" = 2'

# /ctl: select, and the errnos of the rest, recorded in /errors.
submit "{\"experiment\": \"$WORK/exp.sh\", \"parameters\": {\"x\": [1]}, \"tag\": \"u\"}"
assert_eq u "$(key "$MNT/status" current)" "current after submit"
wait_done u 60
assert_eq 0 "$(wc -c <"$MNT/results/u/description")" "description of a set without one"
status_json_is "$MNT/status.json" \
    '{"connected": 1, "current": "u", "engines": 2, "failed": 0, "pending": 0, "ready_fraction": 1.0, "results": 1}'
echo "select t" >"$MNT/ctl" || fail "select t"
assert_eq t "$(key "$MNT/status" current)" "current after select"
python3 - "$MNT/ctl" <<'EOF' || fail "ctl errnos"
import errno, os, sys
def attempt(text):
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, text.encode())
        os.close(fd)
        return 0
    except OSError as e:
        os.close(fd)
        return e.errno
assert attempt("select nosuch\n") == errno.ENOENT
assert attempt("select ../t\n") == errno.EINVAL
assert attempt("launch t\n") == errno.EINVAL
assert attempt("cancel nosuch2\n") == errno.ENOENT
assert attempt("select u\n") == 0
EOF
assert_eq u "$(key "$MNT/status" current)" "current after python select"
grep -q '^\[.*\] ctl: ENOENT: no result set "nosuch"$' "$MNT/errors" || fail "ENOENT in errors"
grep -q '^\[.*\] ctl: ENOENT: no result set "nosuch2"$' "$MNT/errors" || fail "cancel ENOENT in errors"
assert_eq 4 "$(grep -c '\] ctl: ' "$MNT/errors")" "ctl records in errors"
log "PASS test_views_files"
