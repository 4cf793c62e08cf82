# A throwaway sshd for tests: its own host key, a client key pair that only
# it accepts (for root), its config, pid and log in the test's directory, on
# a loopback address or on a netns.sh host's address (it then runs inside
# that host). Nothing of the machine's ssh set-up is used or changed, except
# /run/sshd, sshd's privilege-separation directory, made when missing.
#
#   source tests/cluster/sshd.sh
#   sshd_start "$DIR" || exit $?          # 77 = cannot here
#   ssh_cmd echo ok                        # or "${SSH_CMD[@]}" echo ok
#   PATH=$SSHD_BIN:$PATH clab-cluster ...  # plain `ssh ADDR` works too
#   sshd_stop                              # from the caller's EXIT trap
#
# sshd_start DIR [ADDR] [PORT]: ADDR defaults to 127.0.0.1; when ADDR is
# NETNS_ADDR_A or NETNS_ADDR_B (netns.sh) sshd runs in that host (or set
# SSHD_HOST=A|B). PORT defaults to a free one. After it: SSHD_DIR,
# SSHD_ADDR, SSHD_PORT, SSH_KEY (client private key), SSH_OPTS (options
# without the destination), SSH_CMD (the full command, destination
# included), SSHD_CONFIG_CLIENT (an ssh_config naming ADDR and the alias
# `clabhost`), SSHD_BIN (a directory whose `ssh` uses that config).

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SSHD_DIR=
SSHD_ADDR=
SSHD_PORT=
SSHD_PID=
SSHD_NS_HOST=
SSH_KEY=
SSHD_CONFIG_CLIENT=
SSHD_BIN=
SSH_OPTS=()
SSH_CMD=()

sshd_install() {
    cluster_need_root || return 77
    cluster_apt_install /usr/sbin/sshd openssh-server || return 77
    cluster_apt_install ssh openssh-client || return 77
    command -v ssh-keygen >/dev/null || cluster_skip "no ssh-keygen"
}

# _sshd_in_host CMD...: CMD in the sshd's network namespace (or here).
_sshd_in_host() {
    if [ -n "$SSHD_NS_HOST" ]; then on_host "$SSHD_NS_HOST" "$@"; else "$@"; fi
}

_sshd_keys() {
    local d=$SSHD_DIR
    ssh-keygen -q -t ed25519 -N '' -C clab-test-host -f "$d/host_key" </dev/null >/dev/null &&
        ssh-keygen -q -t ed25519 -N '' -C clab-test-client -f "$d/client_key" </dev/null >/dev/null &&
        cp "$d/client_key.pub" "$d/authorized_keys" &&
        chmod 600 "$d/host_key" "$d/client_key" "$d/authorized_keys"
}

_sshd_write_configs() {
    local d=$SSHD_DIR
    cat >"$d/sshd_config" <<EOF
# Written by tests/cluster/sshd.sh: a throwaway sshd for one test.
ListenAddress $SSHD_ADDR:$SSHD_PORT
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
# The client tunnel of clabfs --ssh needs forwarding.
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 200:30:400
MaxSessions 200
LogLevel VERBOSE
EOF
    cat >"$d/ssh_config" <<EOF
Host clabhost $SSHD_ADDR
    HostName $SSHD_ADDR
    Port $SSHD_PORT
    User root
    IdentityFile $d/client_key
    IdentitiesOnly yes
    BatchMode yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
EOF
    SSHD_CONFIG_CLIENT=$d/ssh_config
    SSHD_BIN=$d/bin
    mkdir -p "$SSHD_BIN"
    printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$(command -v ssh)" "$d/ssh_config" >"$SSHD_BIN/ssh"
    chmod +x "$SSHD_BIN/ssh"
    SSH_KEY=$d/client_key
    SSH_OPTS=(-i "$SSH_KEY" -p "$SSHD_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no
        -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=ERROR)
    SSH_CMD=(ssh "${SSH_OPTS[@]}" "root@$SSHD_ADDR")
}

# sshd_start DIR [ADDR] [PORT]: returns once sshd accepts our key (at most
# ~20 s); 77 when this machine cannot; on failure nothing is left running.
sshd_start() {
    local dir=${1:?sshd_start DIR [ADDR] [PORT]}
    sshd_install || return $?
    mkdir -p "$dir" || return 1
    SSHD_DIR=$(cd "$dir" && pwd)
    SSHD_ADDR=${2:-127.0.0.1}
    SSHD_NS_HOST=${SSHD_HOST:-}
    if [ -z "$SSHD_NS_HOST" ] && [ -n "${NETNS_A:-}" ]; then
        [ "$SSHD_ADDR" != "$NETNS_ADDR_A" ] || SSHD_NS_HOST=A
        [ "$SSHD_ADDR" != "$NETNS_ADDR_B" ] || SSHD_NS_HOST=B
    fi
    # A free port in the stack where sshd will listen.
    SSHD_PORT=${3:-$(_sshd_in_host "$CLUSTER_PY" -c "$CLUSTER_FREE_PORT_PY" "$SSHD_ADDR" 2>/dev/null)}
    [ -n "$SSHD_PORT" ] || { cluster_log "sshd_start: no free port on $SSHD_ADDR"; return 1; }
    cluster_register_cleanup sshd_stop
    # sshd refuses to start without its privilege-separation directory.
    [ -d /run/sshd ] || mkdir -p -m 0755 /run/sshd || return 1
    _sshd_keys || { sshd_stop; return 1; }
    _sshd_write_configs
    /usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" 2>"$SSHD_DIR/sshd-t.err" || {
        cat "$SSHD_DIR/sshd-t.err" >&2
        sshd_stop
        return 1
    }
    _sshd_in_host /usr/sbin/sshd -D -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" \
        >/dev/null 2>&1 </dev/null &
    SSHD_PID=$!
    if ! cluster_wait 20 _sshd_answers; then
        cluster_log "sshd_start: no ssh to $SSHD_ADDR:$SSHD_PORT within 20 s"
        tail -n 20 "$SSHD_DIR/sshd.log" >&2 2>/dev/null
        sshd_stop
        return 1
    fi
}

_sshd_answers() {
    [ -s "$SSHD_DIR/sshd.pid" ] && ! cluster_pid_gone "$SSHD_PID" &&
        [ "$(_sshd_in_host timeout 10 "${SSH_CMD[@]}" echo up </dev/null 2>/dev/null)" = up ]
}

# ssh_cmd CMD...: runs CMD as root on the sshd's host, from this host (wrap
# in on_host B ... to be a client elsewhere: on_host B "${SSH_CMD[@]}" ...).
ssh_cmd() { "${SSH_CMD[@]}" "$@"; }

# sshd_stop: stops sshd and every session it started (their processes are
# its descendants); processes left detached by a session (nohup, setsid)
# are the test's to stop. Safe to call twice or before start.
sshd_stop() {
    [ -n "$SSHD_PID" ] || return 0
    local pids
    pids="$SSHD_PID $(cluster_descendants "$SSHD_PID")"
    kill -TERM $pids 2>/dev/null || true
    cluster_wait 10 cluster_pid_gone "$SSHD_PID" || kill -KILL $pids 2>/dev/null || true
    wait "$SSHD_PID" 2>/dev/null || true
    SSHD_PID=
}
