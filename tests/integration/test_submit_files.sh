#!/usr/bin/env bash
# A job's "files" on a real mount and cluster (no shared file system is
# assumed: each point reads them from its scratch directory, nowhere
# else): one-shot and framed-worker points find them, whole; a 1 MiB file
# travels with a job text of 1.4 MiB; each content is stored once per
# submit in the notebook and at the controller, never in a task; an
# engine killed mid-sweep gets them again in its next life; over 1 MiB
# is E2BIG, recorded in errors.
. "$(dirname "$0")/lib.sh"

cat >"$WORK/reader.py" <<'PY'
#!/usr/bin/env python3
# Answers each point with the sha256 of the files in its working directory.
import hashlib, json, os, sys, time

def answer(p):
    time.sleep(p.get("sleep", 0))
    return {"files": {n: hashlib.sha256(open(n, "rb").read()).hexdigest()
                      for n in sorted(os.listdir("."))}, "pid": os.getpid()}

if os.environ.get("CLAB_WORKER") == "framed":
    for line in sys.stdin:
        m = json.loads(line)
        out = answer(m["clab.parameters"])
        out["clab.seq"] = m["clab.seq"]
        print(json.dumps(out), flush=True)
else:
    print(json.dumps(answer(json.loads(sys.stdin.readline()))))
PY
chmod +x "$WORK/reader.py"
head -c $((1024 * 1024 - 6)) /dev/urandom >"$WORK/big.bin" # with a.txt, 1 MiB
printf 'hello\n' >"$WORK/a.txt"
printf 'other\n' >"$WORK/b.txt"

mount_lab --engines 2
# job TAG WORKER POINTS SLEEP FILE...: one write, as a program writes it.
job() {
    python3 - "$MNT/submit" "$WORK/reader.py" "$@" <<'PY'
import base64, json, os, sys
submit, exp, tag, worker, points, sleep, *files = sys.argv[1:]
job = {"experiment": exp, "tag": tag, "parameters": {"i": {"range": [0, int(points)]},
                                                     "sleep": float(sleep)},
       "files": {os.path.basename(f): base64.b64encode(open(f, "rb").read()).decode()
                 for f in files}}
if worker != "no":
    job["worker"] = worker
data = json.dumps(job).encode()
fd = os.open(submit, os.O_WRONLY)
try:
    off = 0
    while off < len(data):
        off += os.write(fd, data[off:])
finally:
    os.close(fd)
print(len(data))
PY
}
len=$(job once no 12 0.3 "$WORK/a.txt" "$WORK/big.bin")
[ "$len" -gt $((1365 * 1024)) ] || fail "the job text is only $len bytes"
job warm framed 12 0.3 "$WORK/a.txt" "$WORK/big.bin" >/dev/null
job other framed 6 0 "$WORK/b.txt" >/dev/null
# An engine killed while it holds tasks: its next life has no files yet.
wait_for 30 "a point of once" 'test "$(key "$MNT/results/once/status" results)" -ge 2'
victim=$(pgrep -f "clab-engine.*$WORK" | head -n 1)
kill -9 "$victim"
for t in once warm other; do wait_done $t 180; done

python3 - "$MNT/results" "$WORK" "$STATE" <<'PY' || fail "files"
import glob, hashlib, json, os, sqlite3, sys
root, work, state = sys.argv[1:]
sha = lambda n: hashlib.sha256(open(os.path.join(work, n), "rb").read()).hexdigest()
want = {"once": {"a.txt": sha("a.txt"), "big.bin": sha("big.bin")},
        "other": {"b.txt": sha("b.txt")}}
want["warm"] = want["once"]
pids = set()
for tag, files in want.items():
    docs = [json.load(open(f)) for f in glob.glob(os.path.join(root, tag, "[0-9]*.json"))]
    assert len(docs) == {"once": 12, "warm": 12, "other": 6}[tag], (tag, len(docs))
    assert not os.listdir(os.path.join(root, tag, "failed")), tag
    for d in docs:
        assert d["results"]["files"] == files, (tag, d["results"]["files"])
    if tag == "warm":
        pids = {d["results"]["pid"] for d in docs}
# A framed worker per engine life for warm, none shared with other's files.
other = {d["results"]["pid"] for d in
         (json.load(open(f)) for f in glob.glob(os.path.join(root, "other", "[0-9]*.json")))}
assert not pids & other, (pids, other)
nb = sqlite3.connect(os.path.join(state, "notebook.db"))
assert nb.execute("SELECT count(*), sum(length(data)) FROM files").fetchone() == \
    (3, 1024 * 1024 + 6), nb.execute("SELECT count(*), sum(length(data)) FROM files").fetchone()
assert nb.execute("SELECT count(*) FROM bundles").fetchone() == (3,)
ctl = sqlite3.connect(os.path.join(state, "cluster", "controller.db"))
n, = ctl.execute("SELECT count(*) FROM files").fetchone()
assert n <= 3, n
# (Delivered tasks are deleted: the queue may be empty by now.)
longest, = ctl.execute("SELECT max(length(body)) FROM tasks").fetchone()
assert longest is None or longest < 2000, longest
print("files: every point had them; stored once; controller keeps %d" % n)
PY

# Over 1 MiB decoded: E2BIG at write or close, recorded, nothing added.
head -c $((1024 * 1024 + 1)) /dev/urandom >"$WORK/toobig.bin"
if job toobig no 1 0 "$WORK/toobig.bin" 2>"$WORK/err" >/dev/null; then
    fail "a job with 1 MiB and 1 byte of files was accepted"
fi
grep -q "Argument list too long" "$WORK/err" || fail "not E2BIG: $(cat "$WORK/err")"
grep -q "files: 1048577 bytes, over the limit of 1048576" "$MNT/errors" ||
    fail "no record in errors"
[ ! -e "$MNT/results/toobig" ] || fail "the refused job made a set"
log "PASS test_submit_files"
