#!/usr/bin/env bash
# Every case folder of tests/submit-cases replayed through a real mount:
# python3's os.open / os.write / os.close on MOUNT/submit, as a program
# would do it (short writes are continued, as the kernel splits big ones).
# Each case must fail with the folder's errno at write or at close (the
# same errno either way), or succeed when the folder says OK with exactly
# the number of points in its file "points". Then
# /errors must hold a new record for each rejection, with its errno (the
# last 32 are kept), and the rejected jobs must have changed nothing:
# results/ holds exactly the sets of the accepted cases, with exactly
# their points.
#
# The cluster is stopped on purpose: accepted jobs are recorded in the
# notebook whether or not it is reachable (SPEC), and one accepted case is
# a million points that must not run here.
. "$(dirname "$0")/lib.sh"

"$CONTROLLER" --state "$WORK/cluster" >>"$WORK/controller.log" 2>&1 &
cpid=$!
wait_for 15 "cluster.json" "test -s '$WORK/cluster/cluster.json'"
kill -TERM "$cpid"
wait "$cpid" || true
"$CLABFS" --state "$STATE" --cluster "$WORK/cluster/cluster.json" "$MNT"
wait_for 15 "the mount" "mountpoint -q '$MNT'"

python3 - "$CLAB_SRC/tests/submit-cases" "$MNT" <<'PY' || fail "replay"
import errno, os, re, sys

cases, mnt = sys.argv[1], sys.argv[2]
submit = os.path.join(mnt, "submit")
names = sorted(n for n in os.listdir(cases) if not n.startswith("."))
assert len(names) >= 150, len(names)  # a lost folder must not pass

def errors():
    with open(os.path.join(mnt, "errors"), "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return re.findall(r"^\[.*?(?=^\[|\Z)", text, re.S | re.M)

def attempt(data):
    """(errno at write, errno at close, read-back) of one open/write/close."""
    fd = os.open(submit, os.O_RDWR)
    werr = cerr = 0
    answer = b""
    try:
        off = 0
        while off < len(data):
            try:
                off += os.write(fd, data[off:])
            except OSError as e:
                werr = e.errno
                break
        if not werr and data:
            answer = os.read(fd, 4096)
    finally:
        try:
            os.close(fd)
        except OSError as e:
            cerr = e.errno
    return werr, cerr, answer

bad, rejected, at_close, expected_sets = 0, 0, 0, {}
for name in names:
    data = open(os.path.join(cases, name, "input"), "rb").read()
    word = open(os.path.join(cases, name, "errno")).read().strip()
    want = 0 if word == "OK" else getattr(errno, word)
    # Blank text is no job at all to the mount (nothing is written, or only
    # white space, as `: > submit` or a stray newline): nothing happens,
    # where the parser alone calls it an empty job.
    blank = not data.strip(b" \t\n\r")
    before = errors()
    werr, cerr, answer = attempt(data)
    after = errors()
    got = werr or cerr
    if blank:
        if (werr, cerr) != (0, 0) or after != before:
            print("%s: blank text must be ignored, got write %s close %s" % (name, werr, cerr))
            bad = 1
        continue
    if got != want or (werr and cerr):
        print("%s: want %s, got write %s close %s" % (name, word,
              errno.errorcode.get(werr, werr), errno.errorcode.get(cerr, cerr)))
        bad = 1
        continue
    if want == 0:
        # One "tag T / points N" pair per job of the write (JSON lines),
        # with N "job ID" lines after it when the job asks ("answer").
        pairs = re.findall(rb"tag (\S+)\npoints (\d+)\n((?:job \S+\n)*)", answer)
        if not pairs or b"".join(b"tag %s\npoints %s\n%s" % p for p in pairs) != answer or \
                any(p[2] and p[2].count(b"\n") != int(p[1]) for p in pairs):
            print("%s: read-back %r" % (name, answer))
            bad = 1
            continue
        # Every accepted case says its exact number of points.
        want_points = int(open(os.path.join(cases, name, "points")).read())
        got_points = sum(int(p[1]) for p in pairs)
        if got_points != want_points:
            print("%s: points %d, the case says %d" % (name, got_points, want_points))
            bad = 1
        for tag, points, _ in pairs:
            tag = tag.decode()
            expected_sets[tag] = expected_sets.get(tag, 0) + int(points)
        if after != before:
            print("%s: accepted, yet /errors changed" % name)
            bad = 1
        continue
    rejected += 1
    at_close += cerr != 0
    new = after[-1] if after else ""
    if len(after) != min(rejected, 32) or new in before or \
            not re.match(r"\[[^]]+\] submit: %s: " % word, new):
        print("%s: /errors has %d record(s), the newest %r" % (name, len(after), new[:200]))
        bad = 1

# Nothing but the accepted cases' sets exist, each with exactly their points.
sets = sorted(os.listdir(os.path.join(mnt, "results")))
if sets != sorted(expected_sets):
    print("results/ holds %s, expected %s" % (sets, sorted(expected_sets)))
    bad = 1
for tag, points in expected_sets.items():
    st = dict(l.split(None, 1) for l in open(os.path.join(mnt, "results", tag, "status")))
    if int(st.get("total", -1)) != points or int(st.get("pending", -1)) != points:
        print("set %s: total %s pending %s, expected %d" % (tag, st.get("total"),
              st.get("pending"), points))
        bad = 1
if 1000000 not in expected_sets.values():
    print("the million-point case was not accepted")
    bad = 1
if at_close < 3:
    print("only %d rejection(s) at close: the partial-write cases did not reach close" % at_close)
    bad = 1
print("replayed %d cases: %d rejected (%d at close), %d set(s) accepted" % (
      len(names), rejected, at_close, len(expected_sets)))
sys.exit(bad)
PY
log "PASS test_hostile_submit"
