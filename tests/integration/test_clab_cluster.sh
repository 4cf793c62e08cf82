#!/usr/bin/env bash
# scripts/clab-cluster start|status|stop with a real mount joining it, and
# clabfs leaving cleanly on SIGTERM (the mount goes, nothing submitted is
# lost: the results are there at the next mount).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

export CLAB_BINDIR=$CLAB_BUILD/backend
cc=$CLAB_SRC/scripts/clab-cluster
cstate=$WORK/detached
out=$("$cc" start --state "$cstate" --engines 2)
assert_eq "connection $cstate/cluster.json" "$(echo "$out" | tail -n 1)" "start output"
"$cc" status --state "$cstate" >"$WORK/status.out" || fail "status says not running"
assert_eq "engines 2" "$(sed -n 2p "$WORK/status.out")" "status engines"
assert_eq 600 "$(stat -c %a "$cstate/cluster.json")" "connection file mode"
assert_eq 600 "$(stat -c %a "$cstate/engine.json")" "engine connection file mode"
# The engines it started hold the engines' file, not the clients'.
for p in $(cat "$cstate/engines.pid"); do
    tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "--cluster $cstate/engine.json" ||
        fail "engine $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"
done

mount_lab --cluster "$cstate/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
sweep cc 12 0.3
wait_results cc 2
kill -TERM "$(pid_of "clabfs --state $STATE")"
wait_for 15 "clabfs to exit on SIGTERM" "! pgrep -f 'clabfs --state $STATE' >/dev/null"
mountpoint -q "$MNT" && fail "still mounted after SIGTERM"
grep -q "unmounting $MNT" "$STATE/clabfs.log" || fail "no clean unmount in the log"

mount_lab --cluster "$cstate/cluster.json"
wait_done cc 120
check_exact cc 12
unmount_lab

assert_eq "stopped; the queue stays in $cstate" "$("$cc" stop --state "$cstate")" "stop output"
"$cc" status --state "$cstate" >/dev/null && fail "status says running after stop"
pgrep -f "$cstate" >/dev/null && fail "processes left after stop"
log "PASS test_clab_cluster"
