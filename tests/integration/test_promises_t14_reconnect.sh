#!/usr/bin/env bash
# SPEC: clabfs's --reconnections N and --waiting-time S. With the detached
# controller killed, the log says the controller is unreachable once N
# reconnection attempts have failed (the promise is that log message), and
# the waits between attempts grow only up to S: after 8 s without a
# controller (an uncapped back-off from 0.1 s would be waiting 6.4 s by
# then), a restarted controller is connected again within ~2 s with
# --waiting-time 1. Jobs submitted meanwhile then run.
# ctest: serial -- asserts a reconnect within 2.5 s of the controller's restart
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

start_detached 1
mount_lab --cluster "$WORK/cluster/cluster.json" --reconnections 3 --waiting-time 1
clog=$STATE/clabfs.log
unreachable='unreachable after 3 attempts'
[ "$(grep -c "$unreachable" "$clog")" = 0 ] || fail "unreachable before the controller went away"

kill -9 "$(pid_of "clab-controller --state $WORK/cluster")"
wait_for 10 "connected 0" 'test "$(key "$MNT/status" connected)" = 0'
wait_for 15 "the log to say unreachable" "grep -q '$unreachable' '$clog'"
sweep w 4 0
sleep 8
assert_eq 1 "$(grep -c 'unreachable after' "$clog")" "unreachable messages"

"$CONTROLLER" --state "$WORK/cluster" >>"$WORK/controller.log" 2>&1 &
PIDS+=($!)
t0=$(date +%s%N)
wait_for 30 "connected 1" 'test "$(key "$MNT/status" connected)" = 1'
ms=$((($(date +%s%N) - t0) / 1000000))
log "connected again ${ms} ms after the controller's restart"
[ "$ms" -le 2500 ] || fail "connected ${ms} ms after the restart, over --waiting-time 1 + slack"
wait_done w 60
check_exact w 4
log "PASS test_promises_t14_reconnect"
