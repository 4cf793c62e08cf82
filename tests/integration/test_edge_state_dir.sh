#!/usr/bin/env bash
# A state directory that exists already is used safely (issue 21): under a
# umask of 022, every file clabfs creates there is mode 0600 (the notebook
# and its WAL included, which SQLite would make 0644), and clabfs follows
# no symbolic link there. A link (or a FIFO) planted as clabfs.log, the
# notebook, its -wal or -shm, the lock, the embedded cluster's directory or
# one of its logs makes clabfs refuse to start: exit status 1, a message
# naming it, nothing mounted, the link's target and the directory
# unchanged.
. "$(dirname "$0")/lib.sh"

mkdir -m 0755 "$STATE"
(
    umask 022
    "$CLABFS" --state "$STATE" --engines 1 "$MNT"
)
wait_for 30 "connected" 'test "$(key "$MNT/status" connected)" = 1'
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": [1, 2, 3]}, \"tag\": \"s\"}"
wait_done s 60

# modes DIR: "NAME MODE" for each entry of DIR but directories and sockets.
modes() { find "$1" -mindepth 1 -maxdepth 1 ! -type d ! -type s -printf '%f %m\n' | sort; }
assert_eq "clabfs.lock 600
clabfs.log 600
notebook.db 600
notebook.db-shm 600
notebook.db-wal 600" "$(modes "$STATE")" "files clabfs made in the state directory"
assert_eq 700 "$(stat -c %a "$STATE/cluster")" "the embedded cluster's directory"
# The controller's files too: its queue (and SQLite's beside it), its keys,
# the connection files, its lock and the engines it lists.
assert_eq "cluster.json 600
controller.db 600
controller.db-shm 600
controller.db-wal 600
controller.lock 600
controller.log 600
engine-1.log 600
engine.json 600
engines 600
server.key 600" "$(modes "$STATE/cluster")" "files in the embedded cluster's directory"
fusermount3 -u "$MNT"
wait_for 60 "clabfs to exit" "! pgrep -f -- '--state $STATE' >/dev/null"

# refused NAME: with NAME planted, clabfs exits 1 with a message naming
# it, mounts nothing and changes nothing in the state directory.
listing() { (cd "$STATE" && find . -printf '%p %y %m %s %T@ %l\n' | sort); }
refused() {
    local before rc=0
    before=$(listing)
    timeout 20 "$CLABFS" --state "$STATE" --engines 1 "$MNT" >"$WORK/refused.out" 2>&1 || rc=$?
    assert_eq 1 "$rc" "clabfs's exit status with $1 planted"
    mountpoint -q "$MNT" && fail "clabfs mounted with $1 planted"
    grep -qF "clabfs: $STATE/$1 is $2" "$WORK/refused.out" ||
        fail "clabfs's message with $1 planted: $(cat "$WORK/refused.out")"
    assert_eq "$before" "$(listing)" "the state directory after the refusal ($1)"
}
outside=$WORK/outside
echo "not clabfs's" >"$outside"
chmod 644 "$outside"
for name in clabfs.log notebook.db-wal notebook.db-shm notebook.db clabfs.lock \
    cluster/controller.log cluster/engine-1.log; do
    mv "$STATE/$name" "$WORK/saved" 2>/dev/null || rm -f "$WORK/saved"
    ln -s "$outside" "$STATE/$name"
    refused "$name" "a symbolic link"
    assert_eq "not clabfs's" "$(cat "$outside")" "the target of $name"
    assert_eq 644 "$(stat -c %a "$outside")" "the mode of the target of $name"
    rm "$STATE/$name"
    [ ! -e "$WORK/saved" ] || mv "$WORK/saved" "$STATE/$name"
done
# The embedded cluster's directory, a link to a directory elsewhere.
mv "$STATE/cluster" "$WORK/cluster-saved"
mkdir "$WORK/elsewhere"
ln -s "$WORK/elsewhere" "$STATE/cluster"
refused cluster "a symbolic link"
assert_eq "" "$(ls -A "$WORK/elsewhere")" "the directory the link points to"
rm "$STATE/cluster"
mv "$WORK/cluster-saved" "$STATE/cluster"
# A FIFO as the log: refused, not waited on for ever.
mv "$STATE/clabfs.log" "$WORK/saved"
mkfifo -m 600 "$STATE/clabfs.log"
refused clabfs.log "not a regular file"
rm "$STATE/clabfs.log"
mv "$WORK/saved" "$STATE/clabfs.log"

# With nothing planted, the lab mounts again on the same notebook.
mount_lab --engines 1
assert_eq 3 "$(key "$MNT/results/s/status" results)" "results after the refusals"
assert_eq "clabfs.lock 600
clabfs.log 600
notebook.db 600
notebook.db-shm 600
notebook.db-wal 600" "$(modes "$STATE")" "files in the state directory, mounted again"
log "PASS test_edge_state_dir"
