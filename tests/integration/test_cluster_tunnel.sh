#!/usr/bin/env bash
# clabfs --cluster FILE --ssh HOST: the client link tunnelled through ssh to
# a controller that only the login node can reach. Two hosts (netns): B is
# the login node, with the controller on B's own loopback, its engines and
# an sshd; clabfs runs in A's network stack (the mount stays in the test's
# mount namespace: nsenter --net, not ip netns exec, which would hide it).
# ctest: resource netns sshd -- network namespaces and a throwaway sshd (tests/cluster/)
. "$(dirname "$0")/lib.sh"
. "$CLAB_SRC/tests/cluster/netns.sh"
. "$CLAB_SRC/tests/cluster/sshd.sh"

# (d) --ssh is for a named cluster only.
rc=0
"$CLABFS" --state "$STATE" --ssh root@127.0.0.1 "$MNT" 2>"$WORK/d.err" || rc=$?
assert_eq 2 "$rc" "exit status of --ssh without --cluster"
mountpoint -q "$MNT" && fail "mounted although --ssh came without --cluster"

rc=0
netns_two_hosts || rc=$?
[ "$rc" -ne 77 ] || exit 77
[ "$rc" -eq 0 ] || fail "netns_two_hosts"
rc=0
sshd_start "$WORK/sshd" "$NETNS_ADDR_B" || rc=$?
[ "$rc" -ne 77 ] || exit 77
[ "$rc" -eq 0 ] || fail "sshd_start"

# The login node B: controller on its loopback, two engines beside it.
on_host B "$CONTROLLER" --state "$WORK/cluster" >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
wait_for 15 "cluster.json" "test -s '$WORK/cluster/cluster.json'"
for i in 1 2; do
    on_host B "$ENGINE" --cluster "$WORK/cluster/engine.json" --id "eng$i" \
        >>"$WORK/engine-$i.log" 2>&1 &
    PIDS+=($!)
done
endpoint=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_endpoint"])' \
    "$WORK/cluster/cluster.json")
case $endpoint in tcp://127.0.0.1:*) ;; *) fail "client endpoint $endpoint is not on B's loopback" ;; esac

# The ssh clabfs runs must accept B's throwaway host key: the test's ssh
# wrapper (SSHD_BIN) reads a config that says so.
mount_tunnel() {
    PATH=$SSHD_BIN:$PATH nsenter --net="/run/netns/$NETNS_A" \
        "$CLABFS" --state "$STATE" --cluster "$WORK/cluster/cluster.json" \
        --ssh "root@$NETNS_ADDR_B:$SSHD_PORT" --ssh-key "$SSH_KEY" --waiting-time 2 "$MNT"
    wait_for 60 "connected through the tunnel" 'test "$(key "$MNT/status" connected)" = 1'
}
clabfs_pid() { pgrep -f "^$CLABFS --state $STATE " | head -n 1; }
# The ssh processes clabfs started (their parent is clabfs).
tunnel_ssh() { local p; p=$(clabfs_pid); [ -z "$p" ] || pgrep -P "$p" -x ssh || true; }

# kill_remounted SIG: mounts through the tunnel again and sends clabfs SIG;
# sets pid (clabfs) and ssh (its tunnel), which must die with it.
kill_remounted() {
    mount_tunnel
    pid=$(clabfs_pid)
    ssh=$(tunnel_ssh)
    [ -n "$ssh" ] || fail "no ssh child after the remount"
    kill -"$1" "$pid"
}

# check_set TAG N: the set is done with exactly N results, one per point.
check_set() {
    wait_done "$1" 180
    assert_eq "$2" "$(key "$MNT/results/$1/status" results)" "results of $1"
    assert_eq "$2" "$(tail -n +2 "$MNT/results/$1/results.csv" | wc -l)" "rows of $1"
    assert_eq "$2" "$(tail -n +2 "$MNT/results/$1/results.csv" | cut -d, -f1,2 | sort -u | wc -l)" \
        "distinct points of $1"
}

# (a) a sweep through the tunnel.
mount_tunnel
[ -n "$(tunnel_ssh)" ] || fail "no ssh child of clabfs"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
submit "$EXP/sum.py {\"a\": {\"range\": [0, 4]}, \"b\": {\"linspace\": [0, 1, 5]}}"
check_set "$(key "$MNT/status" current)" 20

# (b) the tunnel lost: ssh killed and the link down, so that restarts fail
# for a while; the sweep submitted meanwhile completes once it heals.
old=$(tunnel_ssh)
link_down
kill -KILL $old
wait_for 30 "connected 0" 'test "$(key "$MNT/status" connected)" = 0'
submit "$EXP/sum.py {\"a\": {\"range\": [10, 14]}, \"b\": {\"linspace\": [0, 1, 5]}}"
tag2=$(key "$MNT/status" current)
sleep 3
assert_eq 0 "$(key "$MNT/status" connected)" "connected while the tunnel is down"
link_up
wait_for 90 "connected 1 again" 'test "$(key "$MNT/status" connected)" = 1'
new=$(tunnel_ssh)
[ -n "$new" ] && [ "$new" != "$old" ] || fail "ssh not restarted (old $old, now [$new])"
check_set "$tag2" 20

# (c) no ssh outlives clabfs: unmounted, stopped with SIGTERM, killed
# with -9.
pid=$(clabfs_pid)
fusermount3 -u "$MNT"
wait_for 60 "clabfs to exit" "! kill -0 $pid 2>/dev/null"
wait_for 10 "its ssh to exit" "! kill -0 $new 2>/dev/null"
kill_remounted TERM
wait_for 20 "clabfs to exit on SIGTERM" "! kill -0 $pid 2>/dev/null"
wait_for 10 "its ssh to exit (SIGTERM)" "! kill -0 $ssh 2>/dev/null"
mountpoint -q "$MNT" && fail "still mounted after SIGTERM"
kill_remounted KILL
wait_for 10 "ssh to die with clabfs (kill -9)" "! kill -0 $ssh 2>/dev/null"
fusermount3 -uz "$MNT" 2>/dev/null || true
log "PASS test_cluster_tunnel"
