#!/usr/bin/env bash
# Space given back: a set of 20,000 points, some run and delivered, then
# cancelled and deleted, leaves the state directory's databases (notebook
# and controller queue, their WALs included, logs not) within 1 MiB of an
# empty lab's once the background freeing is done, and the set is gone
# from the mount at once.
. "$(dirname "$0")/lib.sh"

N=${CLAB_SPACE_POINTS:-20000}
# The bytes of both databases and their WAL and shared-memory files.
state_bytes() {
    find "$STATE" -type f \( -name 'notebook.db*' -o -name 'controller.db*' \) \
        -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}
# The database files alone: what the freeing and the vacuum shrink.
db_bytes() {
    find "$STATE" -type f \( -name notebook.db -o -name controller.db \) \
        -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

mount_lab --engines 1
unmount_lab
EMPTY=$(state_bytes)
[ "$(find "$STATE" -name controller.db | wc -l)" = 1 ] || fail "no controller.db in $STATE"
log "empty lab: $EMPTY bytes"

mount_lab --engines 1
python3 -c "import json; print(json.dumps({'experiment': '$EXP/trivial.sh',
    'tag': 'big', 'parameters': {'x': list(range($N))}}))" >"$MNT/submit"
wait_for 30 "some points of big to finish" \
    'test "$(key "$MNT/results/big/status" results)" -ge 20'
echo 'cancel big' >"$MNT/ctl"
FULL=$(db_bytes)
echo 'delete big' >"$MNT/ctl"
[ ! -e "$MNT/results/big" ] || fail "big is still in the mount after its delete"
log "after cancel: $FULL bytes in the databases"
[ "$FULL" -gt $((EMPTY + 1048576)) ] || fail "big never took more than 1 MiB ($FULL)"
wait_for 30 "the deleted set's pages to go back" \
    'test "$(db_bytes)" -le $((EMPTY + 1048576))'
unmount_lab
LEFT=$(state_bytes)
log "after delete and unmount: $LEFT bytes (empty $EMPTY)"
[ "$LEFT" -le $((EMPTY + 1048576)) ] ||
    fail "state after delete is $LEFT bytes, more than 1 MiB above an empty lab's ($EMPTY)"
log "PASS test_space_given_back"
