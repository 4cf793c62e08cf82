#!/usr/bin/env bash
# The notebook on a tiny tmpfs that fills up: submissions fail with ENOSPC
# and a clear record in /errors, results that cannot be stored wait in the
# controller, nothing is corrupted, and all recovers when space returns.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

small=$WORK/small
mkdir -p "$small"
mount -t tmpfs -o size=4m tmpfs "$small" || fail "cannot mount a tmpfs (not root?)"
at_exit 'fusermount3 -uz "$MNT" 2>/dev/null; sleep 0.5; umount -l "$small" 2>/dev/null'
STATE=$small/state

start_detached 2
mount_lab --cluster "$WORK/cluster/cluster.json"
sweep full 40 0.2
wait_results full 3
# Fill what is left of the tmpfs.
dd if=/dev/zero of="$small/filler" bs=64k 2>/dev/null || true
python3 - "$MNT/submit" "$EXP/sleepy.py" <<'PY' || fail "submit on a full disk"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, ('{"experiment": "%s", "parameters": {"i": {"range": [0, 3000]}}, "tag": "x"}'
                  % sys.argv[2]).encode())
    sys.exit("write succeeded on a full disk")
except OSError as e:
    assert e.errno == errno.ENOSPC, errno.errorcode.get(e.errno)
finally:
    os.close(fd)
PY
grep -q 'submit: ENOSPC: the notebook could not record the job' "$MNT/errors" || fail "/errors"
[ -e "$MNT/results/x" ] && fail "a rejected job left a set"
# Reads still work on a full disk.
cat "$MNT/status" "$MNT/results/full/results.csv" >/dev/null
wait_for 30 "a result that cannot be stored" "grep -q 'cannot store' '$STATE/clabfs.log'"
rm -f "$small/filler"
wait_done full 180
check_exact full 40
python3 -c "
import sqlite3, sys
db = sqlite3.connect('file:$STATE/notebook.db?mode=ro', uri=True)
r = db.execute('PRAGMA integrity_check').fetchone()[0]
sys.exit(0 if r == 'ok' else r)" || fail "notebook integrity"
sweep after 5 0.1
wait_done after 60
check_exact after 5
log "PASS test_fault_disk_full"
