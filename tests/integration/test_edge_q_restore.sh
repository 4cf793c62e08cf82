#!/usr/bin/env bash
# Crash consistency: a copy of the notebook's files taken while results
# arrive (what an OS crash leaves, or a backup: the notebook as of some
# commit), restored after the sweep
# finished and remounted against the same controller, whose queue holds the
# later results as delivered. The points the copy lacks are pending again;
# they must run again and the sweep end with every point done exactly once
# and nothing pending.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

POINTS=60
# Results (and failures) the notebook file $1 holds for set $2.
stored() {
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT count(*) FROM results WHERE tag = ?", (sys.argv[2],)).fetchone()[0])
PY
}
queued_at_controller() {
    python3 - "$STATE/cluster/controller.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
print(db.execute("SELECT count(*) FROM tasks WHERE state < 3").fetchone()[0])
PY
}

mount_lab --engines 2
logged s "$POINTS" 0.1
wait_results s 20
# A copy of the files as they are (the WAL holds every commit since the
# last checkpoint; a frame being written is cut off, as in a crash). Not
# SQLite's backup API: clabfs opens its notebook before it daemonizes, so
# its child holds no POSIX lock on it and any other connection to the live
# file would take itself for the last one and delete the WAL at close.
mkdir "$WORK/copy"
cp "$STATE/notebook.db" "$WORK/copy/notebook.db"
cp "$STATE/notebook.db-wal" "$WORK/copy/notebook.db-wal"
kept=$(stored "$WORK/copy/notebook.db" s) # folds the WAL in
log "the copy holds $kept result(s) of $POINTS"
[ "$kept" -ge 20 ] && [ "$kept" -lt "$POINTS" ] || fail "a copy taken mid-sweep holds $kept"
wait_done s 120
check_exact s "$POINTS"
assert_eq "$POINTS" "$(started s)" "points started before the restore"

# Restore the copy in place of the notebook, the controller untouched.
unmount_lab
rm -f "$STATE/notebook.db-wal" "$STATE/notebook.db-shm"
cp "$WORK/copy/notebook.db" "$STATE/notebook.db"
mount_lab --engines 2
lost=$((POINTS - kept))
assert_eq "$lost" "$(key "$MNT/results/s/status" pending)" "pending after the restore"
wait_done s 60
check_exact s "$POINTS"
assert_eq $((POINTS + lost)) "$(started s)" "points started (the lost ones once more)"
assert_eq 0 "$(queued_at_controller)" "tasks left at the controller"
log "PASS test_edge_q_restore"
