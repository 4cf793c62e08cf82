#!/usr/bin/env bash
# Another process may read the live notebook (sqlite3, a backup tool, a
# script): the daemon keeps SQLite's locks on notebook.db, so the reader's
# close does not take itself for the last connection and delete the WAL
# under clabfs. Afterwards the lab still stores results, and they are on
# disk where a reader sees them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

mount_lab --engines 2
sweep first 6 0.05
wait_done first 60
db=$STATE/notebook.db
[ -e "$db-wal" ] || fail "no WAL beside the live notebook"
count_rows() {
    /usr/bin/python3 - "$db" "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
print(c.execute("SELECT count(*) FROM results WHERE tag = ?", (sys.argv[2],)).fetchone()[0])
c.close()
PY
}
assert_eq 6 "$(count_rows first)" "rows of first read by another process"
[ -e "$db-wal" ] || fail "the reader's close deleted the live notebook's WAL"
pid=$(pid_of "clabfs --state $STATE")
ls -l "/proc/$pid/fd" | grep -q 'notebook.db-wal (deleted)' && fail "clabfs writes to a deleted WAL"

sweep second 8 0.05
wait_done second 60
check_exact second 8
assert_eq 8 "$(count_rows second)" "rows of second read by another process"
log "PASS test_edge_notebook_reader"
