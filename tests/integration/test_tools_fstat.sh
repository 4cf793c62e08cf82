#!/usr/bin/env bash
# fstat on an open table tells the size of what reading it then returns,
# while results arrive: many rounds of open, fstat, read to the end, both
# with os.read and with Python's own read() (which does an fstat of its
# own before it reads), on results.csv, .tsv and .jsonl.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"f\",
         \"parameters\": {\"i\": {\"range\": [0, 400]}, \"sleep\": 0}}"
wait_for 30 "the first results" "test \"\$(key '$MNT/results/f/status' results)\" -ge 1"

python3 - "$MNT/results/f" <<'PY' || fail "fstat and read disagree"
import os, sys
d = sys.argv[1]
files = [os.path.join(d, n) for n in ("results.csv", "results.tsv", "results.jsonl")]

def done():
    with open(os.path.join(d, "status")) as f:
        return "done 1\n" in f.read()

def by_os_read(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        got = 0
        while True:
            b = os.read(fd, 65536)
            if not b:
                return size, got
            got += len(b)
    finally:
        os.close(fd)

def by_file_read(p):
    with open(p, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        return size, len(f.read())

rounds, bad, sizes, finished = 0, [], set(), 0
while finished < 20:  # and a few rounds once the set is done
    for p in files:
        for how in (by_os_read, by_file_read):
            size, got = how(p)
            rounds += 1
            sizes.add((p, size))
            if size != got:
                bad.append((os.path.basename(p), how.__name__, size, got))
    if done():
        finished += 1
print("%d rounds, %d sizes seen, %d disagreements" % (rounds, len(sizes), len(bad)),
      file=sys.stderr)
assert len(sizes) > 30, "too few changes of size: the load was not there"
assert not bad, "fstat size != bytes read: %s" % bad[:10]
PY
log "PASS test_tools_fstat"
