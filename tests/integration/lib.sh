# Shared by the integration tests: a private work directory per test, a
# real clabfs mount, real controllers and engines, and a clean-up that
# always unmounts and reaps every process the test started, pass or fail.
set -euo pipefail

: "${CLAB_BUILD:?run through ctest, or set CLAB_BUILD to the build directory}"
: "${CLAB_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# epyc 1.7.2, the reference the parity tests run, unchanged and outside
# the project (its ORIGIN says so): EPYC_SRC, by default beside the clone.
: "${EPYC_SRC:=$(cd "$CLAB_SRC/.." && pwd)/shared/epyc-1.7.2}"
export EPYC_SRC
CLABFS=$CLAB_BUILD/fs/clabfs
CONTROLLER=$CLAB_BUILD/backend/clab-controller
ENGINE=$CLAB_BUILD/backend/clab-engine
EXP=$CLAB_SRC/tests/integration/exp

WORK=$(mktemp -d /tmp/clabtest.XXXXXX)
MNT=$WORK/mnt
STATE=$WORK/state
mkdir -p "$MNT"
PIDS=()
FAILED=0
AT_EXIT=()

# at_exit COMMAND: one more clean-up step, run by cleanup once it holds the
# test's status. Never chain a step before cleanup in an EXIT trap of its
# own: cleanup's `rc=$?` would then be that step's status, and a failed
# test would pass whenever the step succeeds.
at_exit() { AT_EXIT+=("$1"); }

log() { printf '%s\n' "$*" >&2; }

# Sanitizer reports: scripts/test.sh's ASan + UBSan step sends them to
# files (log_path in ASAN_OPTIONS / UBSAN_OPTIONS), daemons' included. Tests
# run in parallel, so each one adds its name and PID to log_path: every
# program it starts inherits that, and a report file named so is this
# test's failure (the step itself fails on any file there). Without
# sanitizers there is none.
SANITIZER_PREFIXES=()
for _var in ASAN_OPTIONS UBSAN_OPTIONS; do
    _opts=${!_var:-}
    _path=$(printf '%s\n' "$_opts" | tr ':' '\n' | sed -n 's/^log_path=//p' | tail -n 1)
    [ -n "$_path" ] || continue
    _path=$_path.$(basename "$0" .sh).$$
    export "$_var=$_opts:log_path=$_path"
    SANITIZER_PREFIXES+=("$_path")
done
sanitizer_reports() {
    local p
    for p in "${SANITIZER_PREFIXES[@]}"; do
        find "$(dirname "$p")" -maxdepth 1 -type f -name "$(basename "$p").*" 2>/dev/null
    done | sort -u
}
SANITIZER_BEFORE=$(sanitizer_reports)
# new_sanitizer_reports: the report files written since the test began.
new_sanitizer_reports() {
    comm -13 <(printf '%s\n' "$SANITIZER_BEFORE" | sed '/^$/d') <(sanitizer_reports)
}
# no_sanitizer_reports: fails the test on any new report, printing it.
no_sanitizer_reports() {
    local f new
    new=$(new_sanitizer_reports)
    [ -n "$new" ] || return 0
    for f in $new; do
        log "== $f"
        head -n 40 "$f" >&2
    done
    fail "sanitizer reports above"
}

cleanup() {
    local rc=$? step
    for step in "${AT_EXIT[@]}"; do eval "$step" || true; done
    if mountpoint -q "$MNT" 2>/dev/null; then
        fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true
    fi
    [ -z "${VALGRIND_PID:-}" ] || valgrind_verdict || rc=1
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    # clabfs stops its embedded cluster on unmount; wait for all of it.
    for _ in $(seq 100); do
        pgrep -f "$WORK" >/dev/null || break
        sleep 0.1
    done
    pkill -KILL -f "$WORK" 2>/dev/null || true
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    # Reports of leaks come at exit: look once every process is gone.
    if [ -n "$(new_sanitizer_reports)" ]; then
        log "---- sanitizer reports written during this test:"
        for p in $(new_sanitizer_reports); do log "== $p"; head -n 40 "$p" >&2; done
        rc=1
    fi
    if [ $rc -ne 0 ] || [ $FAILED -ne 0 ]; then
        log "---- logs of $WORK"
        find "$WORK" -name '*.log' -exec sh -c 'echo "== $1"; tail -n 30 "$1"' _ {} \; >&2 || true
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    log "FAIL: $*"
    FAILED=1
    exit 1
}

assert_eq() { # expected actual what
    [ "$1" == "$2" ] || fail "$3: expected [$1], got [$2]"
}

# Value of KEY in a flat-keyed file.
key() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# mount_lab [clabfs options]: mounts on $MNT in the background and waits
# until the lab is connected to its cluster.
mount_lab() {
    if [ "${CLAB_VALGRIND:-0}" = 1 ]; then
        mount_lab_valgrind "$@"
    else
        "$CLABFS" --state "$STATE" "$@" "$MNT"
    fi
    wait_for 30 "connected" 'test "$(key "$MNT/status" connected)" = 1'
}

# unmount_lab: fusermount3 -u, then until the clabfs of $STATE has exited
# (natively or under valgrind; its embedded cluster goes with it):
# fusermount3 returns before clabfs has finished, and on a loaded machine a
# check of the processes left right after it would find clabfs still there.
unmount_lab() {
    fusermount3 -u "$MNT"
    wait_for 60 "clabfs of $STATE to exit" "! pgrep -f -- '--state $STATE ' >/dev/null"
}

# pid_gone PID: true once PID has exited. kill -9 returns before the process
# is gone (one in the middle of an fsync dies after it), and a child of the
# test not yet waited for stays a zombie, which kill -0 still finds.
pid_gone() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    st=${st##*) }
    [ "${st%% *}" = Z ]
}

# check_fraction SNAPSHOT: in one read of a status file, ready_fraction is
# finished / (finished + pending) to print precision, finished counting
# failures, and 1 when both are 0. Prints the fraction.
check_fraction() {
    awk '{ v[$1] = $2 }
         END {
             if (!("ready_fraction" in v) || !("results" in v) || !("failed" in v) || !("pending" in v))
                 { print "missing keys" > "/dev/stderr"; exit 1 }
             fin = v["results"] + v["failed"]; all = fin + v["pending"]
             want = all ? fin / all : 1
             d = v["ready_fraction"] - want
             if (d < -0.0000006 || d > 0.0000006)
                 { print "ready_fraction " v["ready_fraction"] " != " want > "/dev/stderr"; exit 1 }
             print v["ready_fraction"]
         }' "$1" || { cat "$1" >&2; fail "ready_fraction of $1 disagrees with its counts"; }
}

# wait_for SECONDS WHAT CONDITION
wait_for() {
    local limit=$1 what=$2 cond=$3 end=$((SECONDS + $1))
    until eval "$cond"; do
        [ $SECONDS -lt $end ] || fail "timed out after ${limit}s waiting for $what"
        sleep 0.1
    done
}

# wait_done TAG [SECONDS]
wait_done() {
    wait_for "${2:-120}" "set $1 to finish" "test \"\$(key '$MNT/results/$1/status' done)\" = 1"
}

# submit TEXT: writes one job with a real shell redirection.
submit() { printf '%s\n' "$1" >"$MNT/submit"; }

# start_cluster N: a detached controller on TCP with CURVE, N engines
# (on the engines' connection file, engine.json; clients use cluster.json).
start_cluster() {
    "$CONTROLLER" --state "$WORK/cluster" >>"$WORK/controller.log" 2>&1 &
    PIDS+=($!)
    wait_for 15 "cluster.json" "test -s '$WORK/cluster/cluster.json'"
    local i
    for i in $(seq "$1"); do
        "$ENGINE" --cluster "$WORK/cluster/engine.json" --id "eng$i" \
            >>"$WORK/engine-$i.log" 2>&1 &
        PIDS+=($!)
    done
}

# CLAB_VALGRIND=1 makes mount_lab run clabfs under valgrind's memcheck: in
# the foreground (-f), as a background job of the test, so that valgrind
# follows it to its exit. The clean-up unmounts it as usual, then waits for
# valgrind's verdict and fails the test on any memory error or definite
# leak (the report is printed). The embedded cluster's programs run
# natively: valgrind does not follow children.
VALGRIND_PID=
mount_lab_valgrind() {
    # Under valgrind /proc/self/exe is valgrind's own: say where the
    # controller and engine are.
    CLAB_BINDIR=${CLAB_BINDIR:-$CLAB_BUILD/backend} \
        valgrind --tool=memcheck --error-exitcode=97 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-origins=yes --log-file="$WORK/valgrind.log" \
        "$CLABFS" -f --state "$STATE" "$@" "$MNT" >>"$WORK/clabfs-valgrind.log" 2>&1 &
    VALGRIND_PID=$!
    PIDS+=("$VALGRIND_PID")
    wait_for 120 "clabfs under valgrind to mount" "mountpoint -q '$MNT'"
}

# Waits (after the unmount) for the clabfs under valgrind to finish its leak
# check; returns 1 when valgrind found errors or clabfs failed.
valgrind_verdict() {
    local vrc=0 _
    for _ in $(seq 600); do
        kill -0 "$VALGRIND_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$VALGRIND_PID" 2>/dev/null; then
        log "valgrind: clabfs did not exit within 60 s of the unmount"
        vrc=1
    else
        wait "$VALGRIND_PID" || vrc=$?
    fi
    VALGRIND_PID=
    if [ "$vrc" -ne 0 ]; then
        log "---- valgrind (exit $vrc; 97 means memory errors or leaks)"
        cat "$WORK/valgrind.log" >&2 || true
        return 1
    fi
    log "valgrind: no memory errors or definite leaks in clabfs"
    return 0
}
