#!/bin/bash
# Self-test of tests/cluster/netns.sh: host B reaches host A over the veth
# and only there; with the link down a new connection fails, an open one
# survives and delivers what was sent meanwhile once the link is up again;
# clean-up leaves no namespace, no veth and no process. About 15 s.
# Run: bash tests/cluster/test_netns_selftest.sh
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/selftest.sh"
source "$HERE/netns.sh"

DIR=$(mktemp -d /tmp/clab-netns.XXXXXX)
st_begin 120
st_on_exit netns_cleanup
st_on_exit "cluster_reap_dir '$DIR' 2"
st_on_exit "rm -rf '$DIR'"
PY=$CLUSTER_PY
PORT=7411

# An echo server (one thread per connection) and two clients: `once`
# connects, sends one line and prints the answer; `hold` keeps one
# connection open across the test's link_down / link_up.
cat >"$DIR/echo.py" <<'EOF'
import socket, socketserver, sys, os, time

class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)

def serve(addr, port):
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer((addr, port), Echo).serve_forever()

def once(addr, port):
    with socket.create_connection((addr, port), timeout=2) as s:
        s.sendall(b"ping\n")
        print(s.makefile().readline().strip())

def hold(addr, port, flag):
    s = socket.create_connection((addr, port), timeout=2)
    f = s.makefile()
    s.sendall(b"one\n")
    print(f.readline().strip(), flush=True)
    while not os.path.exists(flag):
        time.sleep(0.05)
    s.settimeout(30)  # TCP retransmits once the link is back
    s.sendall(b"two\n")
    print(f.readline().strip(), flush=True)

cmd, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
{"serve": lambda: serve(addr, port), "once": lambda: once(addr, port),
 "hold": lambda: hold(addr, port, sys.argv[4])}[cmd]()
EOF

netns_two_hosts
rc=$?
[ "$rc" -ne 77 ] || st_skip "$CLUSTER_SKIP_REASON"
st_check "netns_two_hosts" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || exit 1
st_check "namespace $NETNS_A exists" netns_exists "$NETNS_A"
st_check "namespace $NETNS_B exists" netns_exists "$NETNS_B"
no_veth_here() { ! ip link show "$NETNS_IF_A" >/dev/null 2>&1 && ! ip link show "$NETNS_IF_B" >/dev/null 2>&1; }
st_check "the veth is not in the machine's own namespace" no_veth_here
st_check "loopback up in A" [ -n "$(on_host A ip link show lo up)" ]
st_check "loopback up in B" [ -n "$(on_host B ip link show lo up)" ]

on_host A "$PY" "$DIR/echo.py" serve "$NETNS_ADDR_A" "$PORT" >"$DIR/serve.out" 2>&1 </dev/null &
SERVER=$!
ping_a() { [ "$(on_host B "$PY" "$DIR/echo.py" once "$NETNS_ADDR_A" "$PORT" 2>/dev/null)" = ping ]; }
st_check "B -> A:$PORT over TCP" cluster_wait 10 ping_a

# Own network stacks: a server on the machine's loopback is out of B's reach
# (B's 127.0.0.1 is its own); neither host routes anywhere but the pair.
HOSTPORT=$(cluster_free_port)
"$PY" "$DIR/echo.py" serve 127.0.0.1 "$HOSTPORT" >"$DIR/serve-host.out" 2>&1 </dev/null &
HOSTSERVER=$!
host_up() { [ "$("$PY" "$DIR/echo.py" once 127.0.0.1 "$HOSTPORT" 2>/dev/null)" = ping ]; }
st_check "a server on the machine's 127.0.0.1:$HOSTPORT answers there" cluster_wait 10 host_up
b_to_host() { on_host B "$PY" "$DIR/echo.py" once 127.0.0.1 "$HOSTPORT" >/dev/null 2>&1; }
st_check "B cannot reach the machine's 127.0.0.1:$HOSTPORT" eval '! b_to_host'
# Checked on the routing table, never by sending: from the machine's own
# namespace that address would go out of its default route.
no_host_route() { ! ip route get "$NETNS_ADDR_A" 2>/dev/null | grep -q "dev cv"; }
st_check "the machine has no route to A's $NETNS_ADDR_A through a veth" no_host_route
no_default() { [ -z "$(on_host "$1" ip route show default)" ]; }
st_check "A has no default route (nothing leaves the pair)" no_default A
st_check "B has no default route (nothing leaves the pair)" no_default B
kill "$HOSTSERVER"
wait "$HOSTSERVER" 2>/dev/null

# A connection held across a partition.
on_host B "$PY" "$DIR/echo.py" hold "$NETNS_ADDR_A" "$PORT" "$DIR/send-two" >"$DIR/hold.out" 2>&1 </dev/null &
HOLDER=$!
first_answer() { grep -qx one "$DIR/hold.out"; }
st_check "held connection B -> A answers" cluster_wait 10 first_answer
st_check "link_down" link_down
st_check "a new connection B -> A fails with the link down" eval '! ping_a'
touch "$DIR/send-two" # sent into the void: TCP keeps it for retransmission
sleep 2
st_check "nothing answered while down" eval '! grep -qx two "$DIR/hold.out"'
st_check "link_up" link_up
st_check "B -> A works again" cluster_wait 10 ping_a
second_answer() { grep -qx two "$DIR/hold.out"; }
st_check "the held connection delivers what was sent while down" cluster_wait 20 second_answer
wait "$HOLDER"
st_check "the held connection's client ended cleanly" [ $? -eq 0 ]

ns_a=$NETNS_A ns_b=$NETNS_B if_a=$NETNS_IF_A
netns_cleanup
st_check "netns_cleanup: $ns_a gone" eval "! netns_exists $ns_a"
st_check "netns_cleanup: $ns_b gone" eval "! netns_exists $ns_b"
st_check "netns_cleanup: no veth $if_a left" eval "! ip link show $if_a >/dev/null 2>&1"
server_gone() { cluster_pid_gone "$SERVER"; }
st_check "netns_cleanup: the server in A was stopped" cluster_wait 5 server_gone
wait "$SERVER" 2>/dev/null
netns_cleanup
st_check "netns_cleanup twice is harmless" true
