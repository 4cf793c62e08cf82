#!/usr/bin/env bash
# clab-cluster's ssh launcher against a real sshd (tests/cluster/sshd.sh) on
# loopback: two engines on the host `clabhost` (2 slots) run a sweep exactly
# once, only engine.json reaches the engine side (never cluster.json or the
# server's key), and `stop` leaves no engine. The controller binds a veth
# interface's address (--bind IFACE), as a login node's would, and gets
# what follows -- on its command line.
# ctest: resource sshd -- a throwaway sshd (tests/cluster/sshd.sh)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
. "$CLAB_SRC/tests/cluster/sshd.sh"

[ -e /dev/fuse ] || { log "SKIP: no /dev/fuse"; exit 77; }
export CLAB_BINDIR=$CLAB_BUILD/backend
cc=$CLAB_SRC/scripts/clab-cluster
cstate=$WORK/ssh-cluster
# The engine side is this same machine, in a directory of the test's (so
# that lib.sh's clean-up finds its engines too). Stopped before sshd is.
rdir=$WORK/engine-side
at_exit '"$cc" stop --state "$cstate" >/dev/null 2>&1'
rc=0
sshd_start "$WORK/sshd" 127.0.0.1 || rc=$?
[ $rc = 0 ] || { [ $rc = 77 ] && exit 77; fail "sshd_start: $rc"; }

# The controller's address is a real non-loopback one.
cluster_own_iface clabs$(($$ % 100000)) 233 || fail "ip link add"

export PATH=$SSHD_BIN:$PATH

"$cc" start --state "$cstate" --launcher ssh --hosts clabhost:2 --bind "$IF" \
    --engine-bin "$ENGINE" --engine-dir "$rdir" -- --heartbeat-timeout 7 >"$WORK/start.out" ||
    fail "start: $(cat "$WORK/start.out")"
# What follows -- reaches clab-controller's command line.
ctl=$(pgrep -ax clab-controller | grep -F -- "--state $cstate " || true)
[ "$(grep -c . <<<"$ctl")" = 1 ] || fail "controllers of $cstate: [$ctl]"
[[ "$ctl" == *" --heartbeat-timeout 7"* ]] || fail "the controller did not get '-- --heartbeat-timeout 7': $ctl"
assert_eq "2" "$(wc -l <"$cstate/ssh.engines")" "engines recorded"
case $(sed -n 's/.*"engine_endpoint": *"\([^"]*\)".*/\1/p' "$cstate/engine.json") in
"tcp://$ADDR:"*) ;;
*) fail "engine endpoint not on $ADDR: $(cat "$cstate/engine.json")" ;;
esac
assert_eq "$rdir" "$(awk '{ print $4; exit }' "$cstate/ssh.engines")" "engine-side directory"
assert_eq "engine.json" "$(ssh_cmd "ls $rdir | grep -v '\.log\$'" </dev/null | tr '\n' ' ' | sed 's/ $//')" \
    "files on the engine side"
cmp -s "$cstate/engine.json" "$rdir/engine.json" || fail "the engine side's engine.json differs"
# The engines run with the copied file, under the ids HOST-k.
for id in clabhost-1 clabhost-2; do
    pgrep -f -- "--cluster $rdir/engine.json --id $id\$" >/dev/null || fail "engine $id not running"
done
# Neither the clients' file nor the server's secret left the state dir.
for f in cluster.json server.key; do
    [ ! -e "$rdir/$f" ] || fail "$f reached the engine side"
done
grep -rlF "$(sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p' "$cstate/cluster.json")" \
    "$rdir" 2>/dev/null && fail "the client key reached the engine side"

mount_lab --cluster "$cstate/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
"$cc" status --state "$cstate" >"$WORK/status.out" || fail "status: not running"
grep -qx "ssh host clabhost engines 2 connected 2" "$WORK/status.out" || fail "status: $(cat "$WORK/status.out")"
sweep ss 20 0.2
wait_done ss 120
check_exact ss 20
# Every point ran on one of the two ssh engines, and both worked.
python3 - "$MNT/results/ss" <<'PY' || fail "engines of the results"
import json, os, sys
d = sys.argv[1]
eng = [json.load(open(os.path.join(d, n)))["metadata"]["clab.engine"]
       for n in os.listdir(d) if n.endswith(".json") and n[:-5].isdigit()]
assert set(eng) == {"clabhost-1", "clabhost-2"}, sorted(set(eng))
PY
unmount_lab

"$cc" stop --state "$cstate" >/dev/null
pgrep -f -- "--cluster $rdir/engine.json" >/dev/null && fail "ssh engines left after stop"
pgrep -f "$cstate" >/dev/null && fail "processes left after stop"
[ ! -e "$rdir/engine.json" ] || fail "engine.json left on the engine side after stop"
log "PASS test_cluster_ssh"
