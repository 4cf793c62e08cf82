# Two "hosts" for tests: two network namespaces, each with its own network
# stack (own loopback, own ports), joined only by a veth pair on a private
# /30. Traffic between them never leaves the machine and reaches no other
# address; a daemon on the machine's 127.0.0.1 is out of their reach.
#
#   source tests/cluster/netns.sh
#   netns_two_hosts || exit $?        # 77 = no namespaces here
#   on_host A clab-controller --bind "$NETNS_ADDR_A" ... &
#   on_host B clab-engine ...          # reaches A only over the veth
#   link_down; ...; link_up            # a network partition and its end
#   netns_cleanup                      # from the caller's EXIT trap
#
# on_host runs a program (ip netns exec), not a shell function: wrap
# functions as `on_host A bash -c '...'`. After netns_two_hosts:
# NETNS_A, NETNS_B (namespace names), NETNS_IF_A, NETNS_IF_B (veth ends),
# NETNS_ADDR_A, NETNS_ADDR_B (their IPv4 addresses).

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NETNS_A=
NETNS_B=
NETNS_IF_A=
NETNS_IF_B=
NETNS_ADDR_A=
NETNS_ADDR_B=

# netns_two_hosts: makes the pair; 77 when this machine cannot (not root,
# no ip, no namespaces or veth); on any failure nothing is left behind.
netns_two_hosts() {
    cluster_need_root || return 77
    command -v ip >/dev/null || cluster_apt_install ip iproute2 || return 77
    local id=$$ x
    # Names carry the test's PID: parallel tests never share a host.
    NETNS_A=clab-$id-a NETNS_B=clab-$id-b
    NETNS_IF_A=cv$id-a NETNS_IF_B=cv$id-b
    x=$((id % 256))
    NETNS_ADDR_A=10.231.$x.1 NETNS_ADDR_B=10.231.$x.2
    cluster_register_cleanup netns_cleanup
    # Left by a killed test that had our PID: nobody else uses these names.
    netns_cleanup
    if ! ip netns add "$NETNS_A" 2>/dev/null; then
        netns_cleanup
        cluster_skip "ip netns add failed (no network namespaces here)"
        return 77
    fi
    ip netns add "$NETNS_B" || { netns_cleanup; return 1; }
    # Made inside A, the pair never exists in the machine's own namespace.
    if ! ip -n "$NETNS_A" link add "$NETNS_IF_A" type veth peer name "$NETNS_IF_B" netns "$NETNS_B" 2>/dev/null; then
        netns_cleanup
        cluster_skip "ip link add type veth failed (no veth here)"
        return 77
    fi
    ip -n "$NETNS_A" addr add "$NETNS_ADDR_A/30" dev "$NETNS_IF_A" &&
        ip -n "$NETNS_B" addr add "$NETNS_ADDR_B/30" dev "$NETNS_IF_B" &&
        ip -n "$NETNS_A" link set lo up &&
        ip -n "$NETNS_B" link set lo up &&
        link_up || {
        netns_cleanup
        return 1
    }
}

# on_host A|B CMD...: runs CMD inside host A's or B's network stack.
on_host() {
    local ns
    case $1 in
    A | a) ns=$NETNS_A ;;
    B | b) ns=$NETNS_B ;;
    *) cluster_log "on_host: A or B, not '$1'" && return 2 ;;
    esac
    shift
    ip netns exec "$ns" "$@"
}

# link_down: takes both ends of the veth down, as a cable pulled out:
# connections stay open (in the kernels' view) but nothing passes.
link_down() {
    ip -n "$NETNS_A" link set "$NETNS_IF_A" down &&
        ip -n "$NETNS_B" link set "$NETNS_IF_B" down
}

# link_up: both ends up; returns once each host routes to the other again.
link_up() {
    ip -n "$NETNS_A" link set "$NETNS_IF_A" up &&
        ip -n "$NETNS_B" link set "$NETNS_IF_B" up &&
        cluster_wait 10 _netns_routed
}

_netns_routed() {
    ip -n "$NETNS_A" route get "$NETNS_ADDR_B" 2>/dev/null | grep -q "dev $NETNS_IF_A" &&
        ip -n "$NETNS_B" route get "$NETNS_ADDR_A" 2>/dev/null | grep -q "dev $NETNS_IF_B" &&
        ip -n "$NETNS_A" link show "$NETNS_IF_A" 2>/dev/null | grep -q 'state UP' &&
        ip -n "$NETNS_B" link show "$NETNS_IF_B" 2>/dev/null | grep -q 'state UP'
}

# netns_cleanup: kills every process still inside either host, then deletes
# both namespaces (the veth goes with them). Safe to call twice.
netns_cleanup() {
    local ns pids
    for ns in "$NETNS_A" "$NETNS_B"; do
        [ -n "$ns" ] && netns_exists "$ns" || continue
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
        cluster_wait 5 _netns_empty "$ns" || {
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
            cluster_wait 5 _netns_empty "$ns" || true
        }
        ip netns del "$ns" 2>/dev/null || cluster_log "netns_cleanup: cannot delete $ns"
    done
}

_netns_empty() { [ -z "$(ip netns pids "$1" 2>/dev/null)" ]; }

# netns_exists NAME: true while the namespace is listed.
netns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF "$1"; }
