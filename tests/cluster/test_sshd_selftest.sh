#!/bin/bash
# Self-test of tests/cluster/sshd.sh: a throwaway sshd on loopback runs
# commands for our key only, forwards a port (the clabfs --ssh tunnel), and
# its `ssh` wrapper works for programs that call plain `ssh HOST`; then the
# same across the netns.sh pair (sshd in host A, client in host B) when
# namespaces work here. sshd_stop leaves no sshd and no session behind.
# About 10-20 s. Run: bash tests/cluster/test_sshd_selftest.sh
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/selftest.sh"
source "$HERE/netns.sh"
source "$HERE/sshd.sh"

DIR=$(mktemp -d /tmp/clab-sshd.XXXXXX)
st_begin 180
st_on_exit sshd_stop
st_on_exit netns_cleanup
st_on_exit "cluster_reap_dir '$DIR' 2"
st_on_exit "rm -rf '$DIR'"
PY=$CLUSTER_PY

sshd_start "$DIR/lo"
rc=$?
[ "$rc" -ne 77 ] || st_skip "$CLUSTER_SKIP_REASON"
st_check "sshd_start on 127.0.0.1" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || exit 1
echo "     sshd on $SSHD_ADDR:$SSHD_PORT, pid $SSHD_PID"
st_check "ssh_cmd echo ok" [ "$(ssh_cmd echo ok </dev/null)" = ok ]
st_check "SSH_CMD runs as root" [ "$("${SSH_CMD[@]}" id -u </dev/null)" = 0 ]
st_check "SSH_OPTS + root@ADDR" [ "$(ssh "${SSH_OPTS[@]}" "root@$SSHD_ADDR" echo opts </dev/null)" = opts ]
st_check "plain 'ssh 127.0.0.1' through SSHD_BIN" \
    [ "$(PATH=$SSHD_BIN:$PATH ssh -o BatchMode=yes 127.0.0.1 echo plain </dev/null)" = plain ]
st_check "plain 'ssh clabhost' through SSHD_BIN" \
    [ "$(PATH=$SSHD_BIN:$PATH ssh clabhost echo alias </dev/null)" = alias ]
ssh-keygen -q -t ed25519 -N '' -f "$DIR/other_key" </dev/null
other_key() {
    ssh -i "$DIR/other_key" -p "$SSHD_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=QUIET \
        "root@$SSHD_ADDR" true </dev/null
}
st_check "another key is refused" eval '! other_key'

# -L forwarding, as clabfs --ssh will use it.
cat >"$DIR/echo.py" <<'EOF'
import socket, socketserver, sys
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)
if sys.argv[1] == "serve":
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[2])), Echo).serve_forever()
with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2) as s:
    s.sendall(b"through\n")
    print(s.makefile().readline().strip())
EOF
EPORT=$(cluster_free_port)
"$PY" "$DIR/echo.py" serve "$EPORT" >/dev/null 2>&1 </dev/null &
ECHO=$!
LPORT=$(cluster_free_port)
ssh_cmd -N -o ExitOnForwardFailure=yes -L "127.0.0.1:$LPORT:127.0.0.1:$EPORT" </dev/null >/dev/null 2>&1 &
TUNNEL=$!
through() { [ "$("$PY" "$DIR/echo.py" once "$LPORT" 2>/dev/null)" = through ]; }
st_check "ssh -L $LPORT -> $EPORT carries TCP" cluster_wait 15 through
kill "$TUNNEL" "$ECHO" 2>/dev/null
wait "$TUNNEL" "$ECHO" 2>/dev/null

# A session still open when sshd_stop runs is ended with it.
ssh_cmd "echo \$\$ >'$DIR/session.pid'; exec sleep 302" </dev/null >/dev/null 2>&1 &
CLIENT=$!
session() { [ -s "$DIR/session.pid" ] && ! cluster_pid_gone "$(cat "$DIR/session.pid")"; }
st_check "a long session runs (sleep 302)" cluster_wait 10 session
pid=$SSHD_PID
sshd_stop
st_check "sshd_stop: sshd $pid gone" cluster_pid_gone "$pid"
st_check "sshd_stop: the open session ended" cluster_wait 5 eval '! session'
client_gone() { cluster_pid_gone "$CLIENT"; }
st_check "sshd_stop: the session's client returned" cluster_wait 10 client_gone
wait "$CLIENT" 2>/dev/null
st_check "sshd_stop: no sshd of $DIR/lo left" eval "! pgrep -f '$DIR/lo/sshd_config' >/dev/null"
sshd_stop
st_check "sshd_stop twice is harmless" true

# Across two hosts: sshd in A, client in B.
netns_two_hosts
rc=$?
if [ "$rc" -eq 77 ]; then
    echo "     netns part skipped: $CLUSTER_SKIP_REASON"
    exit 0
fi
st_check "netns_two_hosts" [ "$rc" -eq 0 ]
sshd_start "$DIR/ns" "$NETNS_ADDR_A"
st_check "sshd_start on host A's $NETNS_ADDR_A" [ $? -eq 0 ]
st_check "sshd runs in host A" [ "$SSHD_NS_HOST" = A ]
st_check "from B: ssh A echo ok" [ "$(on_host B "${SSH_CMD[@]}" echo ok </dev/null)" = ok ]
st_check "the command ran in A's network stack" \
    eval "on_host B \"\${SSH_CMD[@]}\" ip -4 -o addr show </dev/null | grep -qF ' $NETNS_ADDR_A/'"
pid=$SSHD_PID
sshd_stop
st_check "sshd_stop: sshd $pid in A gone" cluster_pid_gone "$pid"
st_check "sshd_stop: no sshd of $DIR/ns left" eval "! pgrep -f '$DIR/ns/sshd_config' >/dev/null"
netns_cleanup
st_check "no namespace left" eval "! netns_exists $NETNS_A && ! netns_exists $NETNS_B"
