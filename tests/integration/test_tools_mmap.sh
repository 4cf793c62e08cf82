#!/usr/bin/env bash
# mmap of a finished set's tables works (pandas memory_map=True): they open
# through the page cache once nothing is pending, and hold what `cat`
# reads. A live set's tables stay direct (mmap: ENODEV), and points added
# to a finished tag are seen at the next open.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # pandas is a Debian package; python3 on PATH may be another
"$PY" -c 'import pandas' 2>/dev/null || { log "SKIP: no pandas for $PY"; exit 77; }

mount_lab --engines 2
pts() { # TAG FROM TO SLEEP
    submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"$1\",
             \"parameters\": {\"i\": {\"range\": [$2, $3]}, \"sleep\": $4}}"
}

# mapped FILE: the bytes of FILE read through a shared, read-only mmap.
mapped() {
    "$PY" - "$1" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as m:
    sys.stdout.buffer.write(m[:])
os.close(fd)
PY
}

pts m 0 12 0.05
wait_done m 60
for f in results.csv results.tsv results.jsonl; do
    cat "$MNT/results/m/$f" >"$WORK/cat.$f"
    mapped "$MNT/results/m/$f" >"$WORK/mmap.$f" || fail "mmap of finished $f failed"
    cmp "$WORK/cat.$f" "$WORK/mmap.$f" || fail "mmap of $f differs from cat"
done
assert_eq 13 "$(wc -l <"$WORK/mmap.results.csv")" "lines of the mapped results.csv"

# pandas with memory_map=True reads what it reads without it.
"$PY" - "$MNT/results/m/results.csv" <<'PY' || fail "pandas memory_map=True"
import sys
import pandas as pd
a = pd.read_csv(sys.argv[1], memory_map=True)
b = pd.read_csv(sys.argv[1])
assert a.equals(b), (a, b)
assert sorted(a["i"]) == list(range(12)), a["i"]
PY

# More points to the finished tag: while they run the table is live again
# (no mmap), and once they are in the next open maps all of them.
pts m 12 16 1.5
wait_for 10 "m to be live again" "test \"\$(key '$MNT/results/m/status' done)\" = 0"
"$PY" - "$MNT/results/m/results.csv" <<'PY' || fail "a live table was mapped"
import errno, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    mmap.mmap(fd, os.fstat(fd).st_size, access=mmap.ACCESS_READ)
except OSError as e:
    assert e.errno == errno.ENODEV, e
else:
    raise SystemExit("mmap of a live table succeeded")
PY
wait_done m 60
cat "$MNT/results/m/results.csv" >"$WORK/cat2.csv"
mapped "$MNT/results/m/results.csv" >"$WORK/mmap2.csv" || fail "mmap after more points"
cmp "$WORK/cat2.csv" "$WORK/mmap2.csv" || fail "mmap after more points differs from cat"
assert_eq 17 "$(wc -l <"$WORK/mmap2.csv")" "lines of the mapped results.csv after more points"
log "PASS test_tools_mmap"
