#!/usr/bin/env bash
# SPEC's promises about the clabfs daemon itself, on real mounts: the
# default state directory is $CLABFS_STATE, else $XDG_STATE_HOME/clabfs,
# else ~/.local/state/clabfs; --engines defaults to one engine per CPU;
# SIGINT unmounts cleanly (the daemon and its embedded cluster exit) and
# nothing submitted is lost.
. "$(dirname "$0")/lib.sh"

clabfs_pids() { pgrep -f "fs/clabfs .*$MNT\$" || true; }

# unmount_and_wait: fusermount3 -u, then until clabfs and its cluster exit.
unmount_and_wait() {
    fusermount3 -u "$MNT"
    wait_for 60 "clabfs to exit" 'test -z "$(clabfs_pids)"'
}

# mount_default: mounts without --state, in an environment made of the
# given assignments only (plus PATH), so that no outer variable leaks in.
mount_default() {
    env -i PATH="$PATH" "$@" "$CLABFS" --engines 1 "$MNT"
    wait_for 30 "connected" 'test "$(key "$MNT/status" connected)" = 1'
}

# where_state: the directories, among the three candidates, that hold a
# notebook.
where_state() {
    local d out=
    for d in "$WORK/env-state" "$WORK/xdg/clabfs" "$WORK/home/.local/state/clabfs"; do
        [ -e "$d/notebook.db" ] && out="$out ${d#$WORK/}"
    done
    echo "${out# }"
}
mkdir -p "$WORK/home" "$WORK/xdg"

mount_default CLABFS_STATE="$WORK/env-state" XDG_STATE_HOME="$WORK/xdg" HOME="$WORK/home"
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": [1, 2]}, \"tag\": \"s1\"}"
wait_done s1 60
unmount_and_wait
assert_eq "env-state" "$(where_state)" "state with CLABFS_STATE"

mount_default XDG_STATE_HOME="$WORK/xdg" HOME="$WORK/home"
unmount_and_wait
assert_eq "env-state xdg/clabfs" "$(where_state)" "state with XDG_STATE_HOME"

mount_default HOME="$WORK/home"
unmount_and_wait
assert_eq "env-state xdg/clabfs home/.local/state/clabfs" "$(where_state)" "state with HOME only"

# The first directory is the one the notebook of s1 lives in: mounting it
# again (CLABFS_STATE) shows the set, the others do not have it.
mount_default CLABFS_STATE="$WORK/env-state" HOME="$WORK/home"
assert_eq "s1" "$(ls "$MNT/results" | xargs)" "sets in \$CLABFS_STATE's notebook"
unmount_and_wait
mount_default HOME="$WORK/home"
assert_eq "" "$(ls "$MNT/results" | xargs)" "sets in ~/.local/state/clabfs's notebook"
unmount_and_wait

# --engines defaults to the number of CPUs.
"$CLABFS" --state "$STATE" "$MNT"
wait_for 30 "connected" 'test "$(key "$MNT/status" connected)" = 1'
cpus=$(nproc)
wait_for 30 "$cpus engines" 'test "$(key "$MNT/status" engines)" = '"$cpus"
sleep 1 # no more than that come
assert_eq "$cpus" "$(key "$MNT/status" engines)" "engines by default"
assert_eq "$cpus" "$(ls "$MNT/engines" | wc -l)" "/engines by default"

# SIGINT unmounts cleanly, with a set half done; nothing is lost.
submit "{\"experiment\": \"$EXP/sleepy.py\", \"parameters\": {\"i\": {\"range\": [0, 10]}, \"sleep\": 0.5}, \"tag\": \"int\"}"
wait_for 30 "a first result" 'test "$(key "$MNT/results/int/status" results)" -ge 1'
pid=$(clabfs_pids)
[ -n "$pid" ] || fail "no clabfs process found"
kill -INT $pid
wait_for 20 "the mount to go on SIGINT" "! mountpoint -q '$MNT'"
wait_for 20 "clabfs to exit on SIGINT" 'test -z "$(clabfs_pids)"'
wait_for 20 "the embedded cluster to stop" "! pgrep -f 'clab-(controller|engine) .*$STATE' >/dev/null"
"$CLABFS" --state "$STATE" --engines 2 "$MNT"
wait_for 30 "connected" 'test "$(key "$MNT/status" connected)" = 1'
wait_done int 60
assert_eq 10 "$(key "$MNT/results/int/status" total)" "points of int after SIGINT"
assert_eq 10 "$(key "$MNT/results/int/status" results)" "results of int after SIGINT"
log "PASS test_promises_daemon"
