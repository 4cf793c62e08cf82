#!/usr/bin/env bash
# clab-cluster's checks and --bind: bad input exits 2 and starts nothing;
# remote engines against a loopback-bound controller are refused (exit 2,
# nothing started); --bind IFACE:PORT makes the controller listen for
# engines there (the clients' endpoint stays on 127.0.0.1) and the default
# is this host's own address; `add` grows a local cluster.
# ctest: resource sshd -- a throwaway sshd (tests/cluster/sshd.sh)
. "$(dirname "$0")/lib.sh"
. "$CLAB_SRC/tests/cluster/sshd.sh"

export CLAB_BINDIR=$CLAB_BUILD/backend
cc=$CLAB_SRC/scripts/clab-cluster
cstate=$WORK/bind-cluster
at_exit '"$cc" stop --state "$cstate" >/dev/null 2>&1'

# refused WHAT ARGS...: exit 2, a message, no state directory, no process.
refused() {
    local what=$1 rc=0
    shift
    "$cc" "$@" --state "$cstate" >/dev/null 2>"$WORK/err" || rc=$?
    assert_eq 2 "$rc" "exit status: $what"
    [ -s "$WORK/err" ] || fail "$what: no message"
    [ ! -e "$cstate" ] || fail "$what: made $cstate"
    ! pgrep -f "$cstate" >/dev/null || fail "$what: started $(pgrep -af "$cstate")"
}
refused "unknown launcher" start --launcher pbs --engines 2
refused "ssh without --hosts" start --launcher ssh
refused "--jobs above --engines" start --launcher slurm --engines 2 --jobs 3
refused "--engines not a number" start --engines two
refused "--jobs not a number" start --launcher slurm --engines 2 --jobs x
refused "bad slots" start --launcher ssh --hosts a:0
refused "unknown interface" start --launcher slurm --bind clabnosuch0
refused "bad port" start --launcher slurm --bind 10.0.0.1:http
refused "unknown option" start --frobnicate
refused "slurm on loopback" start --launcher slurm --engines 2 --bind 127.0.0.1
grep -q loopback "$WORK/err" || fail "refusal says: $(cat "$WORK/err")"
refused "slurm on lo" start --launcher slurm --bind lo
refused "slurm, endpoint forced to loopback" start --launcher slurm -- --engine-endpoint 'tcp://127.0.0.1:*'
refused "ssh to another host on loopback" start --launcher ssh --hosts far.example:2 --bind 127.0.0.1
grep -q loopback "$WORK/err" || fail "refusal says: $(cat "$WORK/err")"

# add on a local cluster: 1 engine, then 2 more.
"$cc" start --state "$cstate" --engines 1 >/dev/null || fail "local start"
"$cc" add --state "$cstate" --engines 2 >/dev/null || fail "local add"
"$cc" status --state "$cstate" >"$WORK/status.out" || fail "status: not running"
assert_eq "engines 3" "$(sed -n 2p "$WORK/status.out")" "engines after add"
wait_for 20 "3 engines connected" "grep -qx 'engines connected 3' <(\"\$cc\" status --state '$cstate')"
"$cc" stop --state "$cstate" >/dev/null
! pgrep -f "$cstate" >/dev/null || fail "processes left after stop"
rm -rf "$cstate"

rc=0
sshd_start "$WORK/sshd" 127.0.0.1 || rc=$?
[ $rc = 0 ] || { [ $rc = 77 ] && exit 77; fail "sshd_start: $rc"; }
export PATH=$SSHD_BIN:$PATH
cluster_own_iface clabb$(($$ % 100000)) 236 || fail "ip link add"
PORT=$(cluster_free_port "$ADDR")
endpoint() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$2"; }

# Engines that die at once fail the start, which then stops the rest.
rc=0
"$cc" start --state "$cstate" --launcher ssh --hosts clabhost:2 --bind "$IF" \
    --engine-bin /bin/false --engine-dir "$WORK/engine-side" >/dev/null 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status of a start whose engines die"
"$cc" status --state "$cstate" >/dev/null && fail "controller left after a failed start"
! pgrep -f "$cstate" >/dev/null || fail "processes left after a failed start"
rm -rf "$cstate"

# --bind IFACE:PORT: the engines' endpoint on that address and port.
"$cc" start --state "$cstate" --launcher ssh --hosts clabhost --bind "$IF:$PORT" \
    --engine-bin "$ENGINE" --engine-dir "$WORK/engine-side" >/dev/null || fail "start --bind $IF:$PORT"
assert_eq "tcp://$ADDR:$PORT" "$(endpoint engine_endpoint "$cstate/engine.json")" "engine endpoint"
case $(endpoint client_endpoint "$cstate/cluster.json") in
tcp://127.0.0.1:*) ;;
*) fail "client endpoint: $(endpoint client_endpoint "$cstate/cluster.json")" ;;
esac
ss -Htln "( sport = :$PORT )" | grep -qF "$ADDR:$PORT" || fail "nothing listens on $ADDR:$PORT"
wait_for 20 "the ssh engine connected" "grep -qx 'engines connected 1' <(\"\$cc\" status --state '$cstate')"
"$cc" stop --state "$cstate" >/dev/null
! pgrep -f -- "--cluster $WORK/engine-side" >/dev/null || fail "ssh engine left after stop"

# No --bind: this host's first address (hostname -I).
want=$(hostname -I | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n 1)
if [ -n "$want" ]; then
    "$cc" start --state "$cstate" --launcher ssh --hosts clabhost \
        --engine-bin "$ENGINE" --engine-dir "$WORK/engine-side" >/dev/null || fail "start, default bind"
    case $(endpoint engine_endpoint "$cstate/engine.json") in
    "tcp://$want:"*) ;;
    *) fail "default engine endpoint: $(endpoint engine_endpoint "$cstate/engine.json"), not on $want" ;;
    esac
    "$cc" stop --state "$cstate" >/dev/null
fi
! pgrep -f "$cstate" >/dev/null || fail "processes left after stop"
log "PASS test_cluster_bind"
