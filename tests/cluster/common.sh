# Shared by the tests/cluster/ libraries (slurm.sh, netns.sh, sshd.sh):
# installing a Debian package on demand, free loopback ports, bounded waits,
# and reaping the processes that belong to one test directory. Sourced, never
# run; it sets no trap and no shell option, so that it fits both the
# integration tests' lib.sh and the self-tests here.

[ -n "${CLUSTER_COMMON_SOURCED:-}" ] && return 0
CLUSTER_COMMON_SOURCED=1

# Why the last start function returned 77; callers print it and exit 77.
CLUSTER_SKIP_REASON=

# The system's python3 starts faster than a pyenv shim.
if [ -x /usr/bin/python3 ]; then CLUSTER_PY=/usr/bin/python3; else CLUSTER_PY=python3; fi

cluster_log() { printf '%s\n' "$*" >&2; }

# cluster_skip REASON: records why the machine cannot do it; returns 77.
cluster_skip() {
    CLUSTER_SKIP_REASON=$*
    cluster_log "SKIP: $*"
    return 77
}

# cluster_need_root: 77 unless root (daemons, namespaces, apt-get).
cluster_need_root() {
    [ "$(id -u)" -eq 0 ] || cluster_skip "needs root (uid $(id -u))"
}

# cluster_apt_install CMD PKG...: installs PKGs unless CMD is already on the
# PATH (or an absolute path that exists). The lock timeout keeps a parallel
# install from failing ours; the policy of the container decides whether
# package scripts may start the system's daemons (Debian images deny it).
cluster_apt_install() {
    local cmd=$1
    shift
    if [ -x "$cmd" ] || command -v "$cmd" >/dev/null 2>&1; then return 0; fi
    cluster_need_root || return 77
    command -v apt-get >/dev/null 2>&1 || cluster_skip "no $cmd and no apt-get to install $*" || return 77
    cluster_log "installing $* (for $cmd)"
    local out
    out=$(mktemp /tmp/cluster-apt.XXXXXX)
    if ! DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=600 \
        install -y --no-install-recommends "$@" >"$out" 2>&1; then
        tail -n 5 "$out" >&2
        rm -f "$out"
        cluster_skip "apt-get install $* failed (no package registry?)"
        return 77
    fi
    rm -f "$out"
    [ -x "$cmd" ] || command -v "$cmd" >/dev/null 2>&1 ||
        cluster_skip "$cmd still missing after installing $*"
}

# cluster_free_port [ADDR]: prints a TCP port nobody listens on now. The
# kernel picks it (bind to port 0), so parallel tests do not collide unless
# one of them grabs it between our close and the daemon's bind.
cluster_free_port() {
    "$CLUSTER_PY" -c "$CLUSTER_FREE_PORT_PY" "${1:-127.0.0.1}"
}
CLUSTER_FREE_PORT_PY='
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
s.close()
'

# cluster_wait SECONDS CMD...: runs CMD every 0.2 s until it succeeds;
# fails once SECONDS have passed. CMD's output is not hidden here (a trap
# that fires inside a redirection would print into it): CMD is quiet.
cluster_wait() {
    local limit=$1
    shift
    local end=$((SECONDS + limit))
    while :; do
        "$@" && return 0
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# cluster_pids_of_dir DIR: PIDs whose command line or environment names DIR
# (daemons started with DIR paths, and everything they spawned, which keeps
# the environment, e.g. SLURM_CONF=DIR/slurm.conf in a job's processes).
cluster_pids_of_dir() {
    local dir=$1 p f
    local -a words
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" != "$$" ] && [ "$p" != "$BASHPID" ] || continue
        for f in cmdline environ; do
            # mapfile is a builtin: scanning every process forks nothing.
            mapfile -d "" -t words 2>/dev/null <"/proc/$p/$f" || continue
            if [[ "${words[*]}" == *"$dir"* ]]; then
                echo "$p"
                break
            fi
        done
    done
}

# cluster_reap_dir DIR [GRACE]: TERM then (after GRACE s, default 5) KILL
# every process tied to DIR; returns 0 once none is left. Only processes
# that carry the test's own private directory are touched.
cluster_reap_dir() {
    local dir=$1 grace=${2:-5} pids
    pids=$(cluster_pids_of_dir "$dir")
    [ -n "$pids" ] || return 0
    kill -TERM $pids 2>/dev/null || true
    cluster_wait "$grace" cluster_no_pids_of_dir "$dir" && return 0
    pids=$(cluster_pids_of_dir "$dir")
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    cluster_wait 5 cluster_no_pids_of_dir "$dir"
}

cluster_no_pids_of_dir() { [ -z "$(cluster_pids_of_dir "$1")" ]; }

# cluster_register_cleanup CMD: when lib.sh's at_exit exists (integration
# tests), CMD joins its clean-up; otherwise the caller's own trap must run it.
cluster_register_cleanup() {
    if declare -F at_exit >/dev/null; then at_exit "$1"; fi
}

# cluster_pid_gone PID: true once PID has exited (a zombie not yet waited
# for counts as gone: kill -0 would still succeed on it).
cluster_pid_gone() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [ "${stat%% *}" = Z ]
}

# cluster_descendants PID: PID's children, grandchildren... (one per line),
# read from /proc without forking a process per entry.
cluster_descendants() {
    local -A kids=()
    local p stat ppid
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        read -r stat 2>/dev/null <"/proc/$p/stat" || continue
        stat=${stat##*) }
        ppid=${stat#* } # "STATE PPID ..." after the command's name
        ppid=${ppid%% *}
        kids[$ppid]+=" $p"
    done
    local -a todo=("$1")
    local -A seen=()
    while [ ${#todo[@]} -gt 0 ]; do
        p=${todo[0]}
        todo=("${todo[@]:1}")
        for stat in ${kids[$p]:-}; do
            [ -z "${seen[$stat]:-}" ] || continue
            seen[$stat]=1
            echo "$stat"
            todo+=("$stat")
        done
    done
}

# cluster_own_iface NAME NET: a non-loopback interface of the test's own, a
# veth pair (containers often lack the dummy driver) named NAME (its peer
# NAMEp) holding 10.NET.X.1/32, X from the PID so that parallel tests do not
# share it; sets IF and ADDR; the pair goes with the test (lib.sh's
# at_exit). Returns non-zero if the kernel refuses the pair.
cluster_own_iface() {
    IF=$1
    ADDR=10.$2.$(($$ % 250 + 1)).1
    ip link add "$IF" type veth peer name "${IF}p" || return 1
    cluster_register_cleanup "ip link del $IF 2>/dev/null"
    ip addr add "$ADDR/32" dev "$IF" && ip link set "$IF" up && ip link set "${IF}p" up
}
