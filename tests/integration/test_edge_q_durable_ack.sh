#!/usr/bin/env bash
# Results are on disk before their acknowledgement: the notebook's WAL is
# synced (fsync or fdatasync on notebook.db-wal) by the commits that store
# results, so an OS crash cannot take back a result the controller was
# told to forget. Seen from the outside with strace on clabfs's threads:
# with synchronous = NORMAL for every commit (the old way) a small sweep
# syncs the WAL never (no checkpoint comes that early).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
command -v strace >/dev/null || { log "SKIP: no strace"; exit 77; }

mount_lab --engines 2
pid=$(pgrep -f "clabfs --state $STATE" | head -n 1)
args=()
for t in /proc/"$pid"/task/*; do args+=(-p "${t##*/}"); done
strace -f -qq -y -e trace=fsync,fdatasync -o "$WORK/strace.out" "${args[@]}" &
STRACE=$!
at_exit "kill $STRACE 2>/dev/null"
sleep 1
sweep s 20 0.05
wait_done s 60
check_exact s 20
kill "$STRACE"
wait "$STRACE" 2>/dev/null || true
syncs=$(grep -c 'notebook.db-wal' "$WORK/strace.out" || true)
log "WAL syncs during 20 results: $syncs"
[ "$syncs" -ge 1 ] || fail "the WAL was never synced while results were stored"
log "PASS test_edge_q_durable_ack"
