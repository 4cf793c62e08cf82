#!/usr/bin/env bash
# The benchmark of issue 10: every figure of clabfs measured next to what a
# user would pick instead (xargs, GNU parallel, ipyparallel, sqlite3, cat,
# a tmpfs directory), in the same invocation, so that each ratio compares
# one machine state. Prints a table and writes it as CSV. Asserts nothing
# about speed: a figure that cannot be measured is an n/a row, not a
# failure.
#
#   tests/bench/run.sh [--full] [--out FILE.csv] [--keep] [--kept-set DIR] [--space]
#
# Quick (default) runs in a few minutes on 2 cores; --full uses the sizes
# of the issue (10^6 results, 200 engines) and takes much longer. It builds
# nothing: CLAB_BUILD (default ./build) must hold clabfs, clab-controller,
# clab-engine and tests/clab-bench-noop. Missing tools (GNU parallel,
# sqlite3, Debian's python3-ipyparallel) are installed with apt-get.
# Everything listens on loopback (or ipc) only; every exit path unmounts
# and ends the processes this script started, and only those.
# --kept-set DIR: only the harvest and listing figures, on a set of
# BENCH_HARVEST noop results made once in the state directory DIR and
# kept there; each run mounts a copy (to compare two builds on one set).
# --space: only the space-given-back figures (BENCH_SPACE points).
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
here=$src/tests/bench
CLAB_BUILD=${CLAB_BUILD:-$PWD/build}
FULL=0
KEEP=0
OUT=
KEPT_SET=
SPACE_ONLY=0
while [ $# -gt 0 ]; do
    case $1 in
    --full) FULL=1 ;;
    --keep) KEEP=1 ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#--out=} ;;
    --kept-set) KEPT_SET=$2; shift ;;
    --space) SPACE_ONLY=1 ;;
    --kept-set=*) KEPT_SET=${1#--kept-set=} ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
CLAB_BUILD=$(cd "$CLAB_BUILD" 2>/dev/null && pwd) || {
    echo "run.sh: no build directory ${CLAB_BUILD} (set CLAB_BUILD)" >&2
    exit 1
}
OUT=${OUT:-$CLAB_BUILD/bench/results.csv}
CLABFS=$CLAB_BUILD/fs/clabfs
CONTROLLER=$CLAB_BUILD/backend/clab-controller
ENGINE=$CLAB_BUILD/backend/clab-engine
NOOP=$CLAB_BUILD/tests/clab-bench-noop
for b in "$CLABFS" "$CONTROLLER" "$ENGINE" "$NOOP"; do
    [ -x "$b" ] || {
        echo "run.sh: $b is missing: build first (cmake --build $CLAB_BUILD)" >&2
        exit 1
    }
done

# Sizes (each can be set in the environment). Quick: a set of 10^4 results
# (throughput, ls), then one of 10^5 (harvest); full: 10^5, then 10^6.
# Producing results is what takes the time, so each set is made once and
# every later figure reads it; BENCH_HARVEST=$BENCH_SET uses only one.
if [ $FULL = 1 ]; then
    : "${BENCH_BASE_POINTS:=10000}" "${BENCH_SLOW_POINTS:=3000}"
    : "${BENCH_SET:=100000}" "${BENCH_HARVEST:=1000000}" "${BENCH_ACD:=1000000}"
    : "${BENCH_SPACE:=1000000}"
    : "${BENCH_REUSE:=100000}"
    : "${BENCH_DISPATCH_ENGINES:=200}" "${BENCH_DISPATCH_POINTS:=20000}"
else
    : "${BENCH_BASE_POINTS:=2000}" "${BENCH_SLOW_POINTS:=1000}"
    : "${BENCH_SET:=10000}" "${BENCH_HARVEST:=100000}" "${BENCH_ACD:=100000}"
    : "${BENCH_SPACE:=100000}"
    : "${BENCH_REUSE:=10000}"
    : "${BENCH_DISPATCH_ENGINES:=50}" "${BENCH_DISPATCH_POINTS:=5000}"
fi
: "${BENCH_PY_POINTS:=$BENCH_SET}"
# The listing after a mount and the blocked readers of wait (issue 22):
# 10^5 results and 10,000 readers with --full or CLAB_SLOW=1 (the quick
# mode then lists its 10^5 harvest set), else the quick set and 1,000.
SLOW=0
[ $FULL = 1 ] || [ "${CLAB_SLOW:-0}" = 1 ] && SLOW=1
[ $SLOW = 1 ] && : "${BENCH_WAITERS:=10000}"
: "${BENCH_WAITERS:=1000}"
LAT_COUNT=50
PY=/usr/bin/python3 # Debian's: the one python3-ipyparallel installs into

# ---- tools ---------------------------------------------------------------

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

install_missing() {
    local need=()
    command -v parallel >/dev/null || need+=(parallel)
    command -v sqlite3 >/dev/null || need+=(sqlite3)
    command -v fusermount3 >/dev/null || need+=(fuse3)
    [ -x $PY ] || need+=(python3)
    $PY -c 'import ipyparallel' 2>/dev/null || need+=(python3-ipyparallel)
    [ ${#need[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        log "missing ${need[*]} and not root: those rows will be n/a"
        return 0
    fi
    log "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null 2>&1; } ||
        log "apt-get install ${need[*]} failed: those rows will be n/a"
}

# ---- processes and clean-up ------------------------------------------------

WORK=$(mktemp -d /tmp/clabbench.XXXXXX)
PIDS=()   # processes this script started (their command lines name $WORK)
PGIDS=()  # process groups it started (ipyparallel forks helpers)
MOUNTS=() # FUSE mounts, and the tmpfs
at_end_rm=() # directories of ours outside $WORK
ROWS=$WORK/rows.tsv
INFO=$WORK/info.tsv
: >"$ROWS"
: >"$INFO"

# mine PID: true when PID still runs a program this script started (its
# command line names $WORK): a PID that exited may have been reused.
mine() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF "$WORK"; }

stop_pids() { # SIGNAL PID...
    local sig=$1 p
    shift
    for p in "$@"; do mine "$p" && kill "-$sig" "$p" 2>/dev/null; done
    return 0
}

stop_groups() { # SIGNAL PGID...
    local sig=$1
    shift
    stop_pids "$sig" $(group_members "$@")
}

# all_gone PID...: none of them still runs one of ours.
all_gone() {
    local p
    for p in "$@"; do mine "$p" && return 1; done
    return 0
}

group_members() { # PGID...: the processes of those groups still ours
    local g
    for g in "$@"; do pgrep -g "$g" 2>/dev/null; done
}

unmount() {
    local m=$1
    mountpoint -q "$m" 2>/dev/null || return 0
    if [ "${m##*/}" = tmpfs ]; then
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    else
        fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
    fi
}

cleanup() {
    local rc=$? i all
    trap - EXIT INT TERM
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do unmount "${MOUNTS[i]}"; done
    stop_groups TERM "${PGIDS[@]}"
    stop_pids CONT "${PIDS[@]}" # engines bench_away stopped end on TERM too
    stop_pids TERM "${PIDS[@]}"
    all=("${PIDS[@]}" $(group_members "${PGIDS[@]}"))
    for _ in $(seq 100); do all_gone "${all[@]}" && break; sleep 0.1; done
    stop_pids KILL "${all[@]}"
    wait 2>/dev/null
    rm -rf "${at_end_rm[@]}"
    # The state of 10^6 points is large: keep it only when asked to (or
    # when the lab would not mount, to read its logs).
    if [ $KEEP = 1 ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
        [ $rc -eq 0 ] || log "rerun with --keep to keep the logs and state"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- measuring -------------------------------------------------------------

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.6f", e - s }'; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { printf f, v }'; }

# row FIGURE BASELINE BASELINE_VALUE CLABFS_VALUE UNIT
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }
info() { printf '%s\t%s\n' "$1" "$2" >>"$INFO"; }

# timeit CMD...: seconds CMD took (stdout to /dev/null); empty on failure.
timeit() {
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>>"$WORK/errors.log" || return 1
    t1=$(now)
    elapsed "$t0" "$t1"
}

# median3 CMD...: the median of three timeit runs.
median3() {
    local a b c
    a=$(timeit "$@") && b=$(timeit "$@") && c=$(timeit "$@") || return 1
    printf '%s\n%s\n%s\n' "$a" "$b" "$c" | sort -g | sed -n 2p
}

key() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }

# wait_until SECONDS CONDITION: polls every 50 ms; 1 on timeout.
wait_until() {
    local end=$((SECONDS + $1))
    until eval "$2"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.05
    done
}

# mount_lab MNT STATE [clabfs options]: clabfs in the foreground (so that
# $! is its pid) in the background; sets LAB_PID. 1 if not connected.
mount_lab() {
    local mnt=$1 state=$2
    shift 2
    mkdir -p "$mnt"
    "$CLABFS" -f --state "$state" "$@" "$mnt" >>"$WORK/clabfs-${mnt##*/}.log" 2>&1 &
    LAB_PID=$!
    PIDS+=("$LAB_PID")
    MOUNTS+=("$mnt")
    wait_until 60 "test \"\$(key '$mnt/status' connected)\" = 1"
}

# unmount_lab MNT PID: unmounts and waits (bounded) for clabfs to exit.
unmount_lab() {
    unmount "$1"
    for _ in $(seq 200); do all_gone "$2" && return 0; sleep 0.1; done
    log "clabfs $2 did not exit after the unmount"
}

# run_set MNT TAG POINTS LIMIT: submits noop over i in [0, POINTS), waits
# until the set is done; prints its results/s (submit to done).
run_set() {
    local mnt=$1 tag=$2 n=$3 limit=$4 t0 t1
    t0=$(now)
    printf '{"experiment": "%s", "tag": "%s", "parameters": {"i": {"range": [0, %d]}}}\n' \
        "$NOOP" "$tag" "$n" >"$mnt/submit" || return 1
    wait_until "$limit" "test \"\$(key '$mnt/results/$tag/status' done)\" = 1" || return 1
    t1=$(now)
    awk -v n="$n" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", n / (e - s) }'
}

# run_job MNT TAG POINTS LIMIT EXPERIMENT [MORE JSON FIELDS [AXIS]]: as
# run_set, for any experiment (worker mode: '"worker": true, "arguments":
# [...]'), over AXIS (default i); 1 too when any point failed.
run_job() {
    local mnt=$1 tag=$2 n=$3 limit=$4 exp=$5 more=${6:-} axis=${7:-i} t0 t1
    t0=$(now)
    printf '{"experiment": "%s", "tag": "%s", "parameters": {"%s": {"range": [0, %d]}}%s}\n' \
        "$exp" "$tag" "$axis" "$n" "${more:+, $more}" >"$mnt/submit" || return 1
    wait_until "$limit" "test \"\$(key '$mnt/results/$tag/status' done)\" = 1" || return 1
    [ "$(key "$mnt/results/$tag/status" failed)" = 0 ] || return 1
    t1=$(now)
    awk -v n="$n" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", n / (e - s) }'
}

rate_of() { # POINTS SECONDS
    awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'
}

machine() {
    info "mode" "$([ $FULL = 1 ] && echo full || echo quick)"
    info "nproc" "$(nproc)"
    info "cpu" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    info "memory" "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    info "kernel" "$(uname -r)"
    info "clabfs build" "$CLAB_BUILD ($(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    info "GNU parallel" "$(parallel --version 2>/dev/null | head -n 1 || echo none)"
    info "ipyparallel" "$($PY -c 'import ipyparallel; print(ipyparallel.__version__)' 2>/dev/null || echo none)"
    info "load average (start)" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- the figures -------------------------------------------------------------

# Baselines of throughput: the same program, 2 at a time, no clabfs.
bench_baselines() {
    local n=$BENCH_BASE_POINTS m=$BENCH_SLOW_POINTS t
    log "throughput baselines: xargs ($n points), GNU parallel ($m)"
    t=$(timeit timeout 600 sh -c 'seq "$1" | xargs -P2 -n1 "$2"' sh "$n" "$NOOP") &&
        BASE_XARGS=$(rate_of "$n" "$t") || BASE_XARGS="n/a: xargs failed"
    t=$(timeit timeout 600 sh -c 'seq "$1" | xargs -P2 -n1 sh -c '\''echo "{\"i\": $1}" | "$0"'\'' "$2"' \
        sh "$n" "$NOOP") && BASE_XARGS_SH=$(rate_of "$n" "$t") || BASE_XARGS_SH="n/a: xargs via sh failed"
    if command -v parallel >/dev/null; then
        t=$(timeit timeout 900 sh -c 'seq "$1" | parallel --will-cite -j2 "echo '\''{\"i\": {}}'\'' | $2"' \
            sh "$m" "$NOOP") && BASE_PARALLEL=$(rate_of "$m" "$t") ||
            BASE_PARALLEL="n/a: GNU parallel failed"
    else
        BASE_PARALLEL="n/a: GNU parallel not installed"
    fi
}

# ipyparallel: a controller and 2 engines on 127.0.0.1, in a profile of our
# own; throughput of a load-balanced map and the apply_sync round trip.
bench_ipyparallel() {
    local prof=$WORK/ipython/profile_bench out i g
    IPP_RATE="n/a" IPP_LAT="n/a" IPP_INPROC="n/a"
    if ! $PY -c 'import ipyparallel' 2>/dev/null || ! command -v ipcontroller >/dev/null; then
        IPP_RATE="n/a: python3-ipyparallel not installed"
        IPP_LAT=$IPP_RATE IPP_INPROC=$IPP_RATE
        return
    fi
    log "ipyparallel: controller + 2 engines on 127.0.0.1 ($BENCH_SLOW_POINTS points)"
    mkdir -p "$prof"
    export IPYTHONDIR=$WORK/ipython
    # setsid: each gets a process group of its own (ipcontroller forks its
    # schedulers), ended as a group afterwards.
    setsid ipcontroller --profile-dir="$prof" --ip=127.0.0.1 >"$WORK/ipcontroller.log" 2>&1 &
    PIDS+=($!) PGIDS+=($!)
    if ! wait_until 60 "test -s '$prof/security/ipcontroller-engine.json'"; then
        IPP_RATE="n/a: ipcontroller did not start ($(tail -n 1 "$WORK/ipcontroller.log"))"
        IPP_LAT=$IPP_RATE IPP_INPROC=$IPP_RATE
    else
        for i in 1 2; do
            setsid ipengine --profile-dir="$prof" >"$WORK/ipengine-$i.log" 2>&1 &
            PIDS+=($!) PGIDS+=($!)
        done
        out=$(timeout 600 $PY "$here/bench.py" ipp "$prof" "$NOOP" "$BENCH_SLOW_POINTS" "$LAT_COUNT" 2)
        IPP_RATE=$(awk '$1 == "throughput" { print $2 }' <<<"$out")
        IPP_INPROC=$(awk '$1 == "inproc" { print $2 }' <<<"$out")
        [ -n "$IPP_INPROC" ] || IPP_INPROC="n/a: the in-process map failed"
        IPP_LAT=$(awk '$1 == "latency" { printf "%.3f", $2 * 1000 }' <<<"$out")
        if [ -z "$IPP_RATE" ]; then
            IPP_RATE="n/a: $(sed -n 's/^error //p' <<<"$out" | head -c 200)"
            [ "$IPP_RATE" != "n/a: " ] || IPP_RATE="n/a: timed out or crashed"
            IPP_LAT=$IPP_RATE IPP_INPROC=$IPP_RATE
        fi
    fi
    unset IPYTHONDIR
    local members
    members=$(group_members "${PGIDS[@]}")
    stop_groups TERM "${PGIDS[@]}"
    for _ in $(seq 100); do all_gone $members && break; sleep 0.1; done
    stop_pids KILL $members
}

# The main lab: the embedded cluster with 2 engines, state on disk.
MNT=$WORK/mnt
STATE=$WORK/state
TP_TAG=tp
HV_TAG=tp

bench_throughput() {
    log "clabfs: $BENCH_SET points on the embedded cluster (2 engines)"
    CLAB_RATE=$(run_set "$MNT" "$TP_TAG" "$BENCH_SET" $((BENCH_SET / 50 + 120))) ||
        CLAB_RATE="n/a: the set of $BENCH_SET did not finish"
    local f="throughput, noop, 2 at a time ($BENCH_SET points on clabfs)"
    row "$f" "xargs -P2 -n1, bare exec ($BENCH_BASE_POINTS)" "$BASE_XARGS" "$CLAB_RATE" "points/s"
    row "$f" "xargs -P2 via sh, params on stdin ($BENCH_BASE_POINTS)" "$BASE_XARGS_SH" "$CLAB_RATE" "points/s"
    row "$f" "GNU parallel -j2, params on stdin ($BENCH_SLOW_POINTS)" "$BASE_PARALLEL" "$CLAB_RATE" "points/s"
    row "$f" "ipyparallel 7, load-balanced, subprocess ($BENCH_SLOW_POINTS)" "$IPP_RATE" "$CLAB_RATE" "points/s"
    if [ "$BENCH_HARVEST" != "$BENCH_SET" ]; then
        HV_TAG=hv
        log "clabfs: $BENCH_HARVEST points for the harvest"
        run_set "$MNT" "$HV_TAG" "$BENCH_HARVEST" $((BENCH_HARVEST / 100 + 300)) >/dev/null ||
            HV_TAG=
    fi
}

# Worker mode (issue 11): the same compiled noop kept warm, against the
# one-shot rate measured just before it (same size, same lab); and
# clab-python running a trivial callable as a worker, against
# ipyparallel's load-balanced map of an in-process function.
bench_worker() {
    local n=$BENCH_SET rate py
    log "worker mode: $n noop points, then $BENCH_PY_POINTS clab-python points"
    rate=$(run_job "$MNT" wnoop "$n" $((n / 50 + 120)) "$NOOP" '"worker": true') ||
        rate="n/a: the worker set of $n did not finish"
    row "throughput, compiled noop, worker mode ($n points, 2 engines)" \
        "clabfs one-shot, same noop, same lab ($n)" "$CLAB_RATE" "$rate" "points/s"
    py=$(printf '"worker": true, "arguments": ["experiments:square", "--path", "%s"]' \
        "$src/tests/python")
    rate=$(run_job "$MNT" wpy "$BENCH_PY_POINTS" $((BENCH_PY_POINTS / 20 + 120)) \
        "$src/scripts/clab-python" "$py" x) || rate="n/a: the clab-python worker set failed"
    row "throughput, Python no-op, clab-python worker ($BENCH_PY_POINTS points, 2 engines)" \
        "ipyparallel 7, load-balanced map, in-process function ($BENCH_SLOW_POINTS)" \
        "$IPP_INPROC" "$rate" "points/s"
}

# Bytes on disk per finished point: the state directory (notebook and the
# embedded controller's store) over every finished point so far.
bench_disk() {
    local bytes fin=0 st
    # Every set in the notebook (the worker sets too): all are on disk.
    for st in "$MNT"/results/*/status; do
        fin=$((fin + $(key "$st" results) + $(key "$st" failed)))
    done
    bytes=$(du -sb "$STATE" | cut -f1)
    local cb
    cb=$(du -sb "$STATE/cluster" 2>/dev/null | cut -f1)
    if [ "$fin" -gt 0 ]; then
        row "state on disk per finished point ($fin points)" "" "" "$((bytes / fin))" "bytes"
        row "  of which the embedded controller's store" "" "" "$((${cb:-0} / fin))" "bytes"
        # The notebook's biggest tables and indexes, and its WAL: what a
        # point costs, part by part.
        local name size
        while IFS='|' read -r name size; do
            row "  of which notebook $name" "" "" "$((size / fin))" "bytes"
        done < <(sqlite3 -readonly "$STATE/notebook.db" \
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 5" 2>/dev/null)
        size=$(stat -c %s "$STATE/notebook.db-wal" 2>/dev/null || echo 0)
        row "  of which notebook.db-wal" "" "" "$((size / fin))" "bytes"
    else
        row "state on disk per finished point" "" "" "n/a: no finished point" "bytes"
    fi
}

# Harvest: cat of the three tables against sqlite3 on the notebook and cat
# of a plain file with the same bytes.
bench_harvest() {
    local dir=$MNT/results/$HV_TAG db=$STATE/notebook.db n ext sql mode t b p
    if [ -z "$HV_TAG" ]; then
        row "harvest" "" "" "n/a: the harvest set did not finish" "s"
        return
    fi
    n=$(key "$dir/status" results)
    log "harvest: cat of results.{csv,tsv,jsonl} of $n results"
    for ext in csv tsv jsonl; do
        local f="cat results.$ext, $n results" first
        # The first read renders the table; once its set is done the kernel
        # keeps its pages (issue 22), and the median of the next three
        # reads says what that is worth.
        first=$(timeit timeout 900 cat "$dir/results.$ext") || first="n/a: cat failed"
        if ! timeout 900 cat "$dir/results.$ext" >"$WORK/plain.$ext"; then
            row "$f" "" "" "n/a: cat failed" "s"
            continue
        fi
        t=$(median3 timeout 900 cat "$dir/results.$ext") || t="n/a: cat failed"
        case $ext in
        csv) mode=-csv kind=csv ;;
        tsv) mode=-tabs kind=csv ;;
        jsonl) mode=-list kind=jsonl ;;
        esac
        if ! command -v sqlite3 >/dev/null; then
            b="n/a: sqlite3 not installed"
        elif ! sql=$($PY "$here/bench.py" sql "$db" "$HV_TAG" $kind); then
            b="n/a: ${sql#error }"
        else
            b=$(median3 timeout 900 sqlite3 -readonly $mode -header "$db" "$sql") ||
                b="n/a: sqlite3 failed"
        fi
        row "$f, the first read" "sqlite3 $mode of the same rows (notebook.db)" "$b" "$first" "s"
        row "$f" "sqlite3 $mode of the same rows (notebook.db)" "$b" "$t" "s"
        p=$(median3 cat "$WORK/plain.$ext") || p="n/a: cat failed"
        row "$f" "cat of a plain file, same $(stat -c %s "$WORK/plain.$ext") bytes" "$p" "$t" "s"
        rm -f "$WORK/plain.$ext"
    done
}

# ls -f of the results directory against a tmpfs directory with the same
# names (made here, and kept for bench_listing).
TMPFS_LS=
bench_ls() {
    local dir=$MNT/results/$LS_TAG tmp=$WORK/tmpfs n out tf cf
    log "ls of results/$LS_TAG"
    timeout 600 ls -f "$dir" >"$WORK/listing" || { row "ls" "" "" "n/a: ls -f failed" "s"; return; }
    n=$(grep -vc '^\.\.\?$' "$WORK/listing")
    cf=$(median3 timeout 600 ls -f "$dir") || cf="n/a: ls -f failed"
    mkdir -p "$tmp"
    if mount -t tmpfs -o size=256m,nr_inodes=2000000 tmpfs "$tmp" 2>>"$WORK/errors.log"; then
        MOUNTS+=("$tmp")
    else
        tmp=$(mktemp -d /dev/shm/clabbench.XXXXXX) # already tmpfs
        at_end_rm+=("$tmp")
    fi
    if out=$($PY "$here/bench.py" mkfiles "$tmp" "$WORK/listing"); then
        tf=$(median3 ls -f "$tmp") || tf="n/a: ls -f failed"
        TMPFS_LS=$tmp
    else
        tf="n/a: ${out#error }"
    fi
    row "ls -f results/TAG, $n entries" "ls -f, tmpfs dir, same names" "$tf" "$cf" "s"
}

# requests MNT: the FUSE requests that lab answered so far (/status.json).
requests() {
    $PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"]["total"])' \
        "$1/status.json" 2>/dev/null
}

median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }

# ls -l of a finished set: the first after a mount (the kernel has nothing
# of it) and a second one right after (what the kernel kept), against
# ls -l of the tmpfs directory; and the FUSE requests that second one sent
# (clabfs's request count, less what reading it costs). The main lab is
# mounted again three times (no engines) for the medians.
bench_listing() {
    local dir=$MNT/results/$LS_TAG n first=() second=() reqs=() t1 t2 r0 r1 o tl i
    if [ -z "$LS_TAG" ] || [ -z "$TMPFS_LS" ]; then
        row "ls -l results/TAG" "" "" "n/a: no set or no tmpfs copy to list" "s"
        return
    fi
    n=$(ls -f "$TMPFS_LS" | grep -vc '^\.\.\?$')
    log "ls -l of results/$LS_TAG ($n entries), the first after a mount and a second"
    for i in 1 2 3; do
        mount_lab "$MNT" "$STATE" --engines 0 || { row "ls -l" "" "" "n/a: no remount" "s"; return; }
        t1=$(timeit timeout 900 ls -l "$dir") || t1="n/a: ls -l failed"
        r0=$(requests "$MNT") && r1=$(requests "$MNT") && o=$((r1 - r0))
        t2=$(timeit timeout 900 ls -l "$dir") || t2="n/a: ls -l failed"
        if r0=$(requests "$MNT") && [ -n "$r1" ]; then
            reqs+=($((r0 - r1 - o)))
        fi
        first+=("$t1") second+=("$t2")
        unmount_lab "$MNT" "$LAB_PID"
    done
    tl=$(median3 ls -l "$TMPFS_LS") || tl="n/a: ls -l failed"
    row "ls -l results/TAG, $n entries, the first after a mount (median of 3)" \
        "ls -l, tmpfs dir, same names" "$tl" "$(median "${first[@]}")" "s"
    row "ls -l results/TAG, $n entries, a second one (median of 3)" \
        "ls -l, tmpfs dir, same names" "$tl" "$(median "${second[@]}")" "s"
    if [ ${#reqs[@]} -gt 0 ]; then
        row "FUSE requests of that second ls -l ($n entries)" "" "" "$(median "${reqs[@]}")" "requests"
    else
        row "FUSE requests of that second ls -l ($n entries)" "" "" "n/a: no request count" "requests"
    fi
}

# BENCH_WAITERS readers blocked in a read of results/TAG/wait (one point
# that runs until its gate opens): clabfs's threads and RSS, a read of
# /status meanwhile, and how many readers return the status at the end.
bench_waiters() {
    local n=$BENCH_WAITERS gate=$WORK/gate.waiters out f
    f="$n blocked readers of wait"
    log "$f"
    printf '{"experiment": "%s", "tag": "waiters", "parameters": {"i": 0, "gate": "%s"}}\n' \
        "$src/tests/integration/exp/gated.py" "$gate" >"$MNT/submit" ||
        { row "$f" "" "" "n/a: submit failed" ""; return; }
    out=$(ulimit -n $((n + 256)) 2>/dev/null
        timeout 900 $PY "$here/bench.py" waiters "$MNT" waiters "$n" "$LAB_PID" "$gate")
    v() { awk -v k="$1" '$1 == k { print $2 }' <<<"$out"; }
    if [ -z "$(v returned)" ]; then
        row "$f" "" "" "n/a: ${out#error }" ""
        return
    fi
    row "$f: readers blocked at once" "" "" "$(v blocked)" "of $n"
    row "$f: clabfs threads" "" "" "$(v threads)" "threads"
    row "$f: clabfs RSS" "" "" "$(v rss_mib)" "MiB"
    row "$f: a read of /status meanwhile (median of 5)" "" "" "$(v status_ms)" "ms"
    row "$f: readers that returned the set's status" "" "" "$(v returned)" "of $n"
    [ "$(v other)" = - ] || log "waiters: other outcomes: $(sed -n 's/^other //p' <<<"$out")"
}

bench_latency() {
    local out lat
    log "latency: $LAT_COUNT one-point jobs"
    if out=$(timeout 300 $PY "$here/bench.py" latency "$MNT" "$NOOP" "$LAT_COUNT" lat); then
        lat=$(awk '$1 == "median" { printf "%.3f", $2 * 1000 }' <<<"$out")
    else
        lat="n/a: ${out#error }"
    fi
    row "one point, submit -> results/TAG/1.json (median of $LAT_COUNT)" \
        "ipyparallel apply_sync, noop via subprocess (median of $LAT_COUNT)" "$IPP_LAT" "$lat" "ms"
}

# Accept, cancel and delete BENCH_ACD points: one write each, timed by the
# write (and close) returning.
bench_acd() {
    local n=$BENCH_ACD out job
    log "accept, cancel, delete of $n points"
    job=$(printf '{"experiment": "%s", "tag": "acd", "parameters": {"i": {"range": [0, %d]}}}' "$NOOP" "$n")
    local verb what
    for verb in accept cancel delete; do
        case $verb in
        accept) out=$(timeout 600 $PY "$here/bench.py" write "$MNT/submit" "$job") ;;
        *) out=$(timeout 600 $PY "$here/bench.py" write "$MNT/ctl" "$verb acd") ;;
        esac
        what=$(awk '$1 == "seconds" { print $2 }' <<<"$out")
        [ -n "$what" ] || what="n/a: ${out#error }"
        row "$verb $n points (one write to $([ $verb = accept ] && echo submit || echo ctl))" "" "" "$what" "s"
        [ "${what#n/a}" = "$what" ] || break
    done
}

# Bytes of the databases of state directory $1 (notebook.db and the
# controller's store, found wherever it is), with their WAL and shared
# memory files (all) or alone (db).
space_bytes() {
    local names=(-name 'notebook.db*' -o -name 'controller.db*')
    [ "$2" = db ] && names=(-name notebook.db -o -name controller.db)
    find "$1" -type f \( "${names[@]}" \) -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

# wait_still STATE SECONDS: until the databases of STATE stop changing
# for 2 s (bounded by SECONDS); 1 on the bound.
wait_still() {
    local end=$((SECONDS + $2)) last=-1 same=0 b
    while [ $SECONDS -lt "$end" ]; do
        b=$(space_bytes "$1" all)
        if [ "$b" = "$last" ]; then same=$((same + 1)); else same=0; last=$b; fi
        [ $same -ge 20 ] && return 0
        sleep 0.1
    done
    return 1
}

# Space given back (issue 23): a fresh lab (embedded controller, no
# engines: every point stays queued there) measured empty after an
# unmount; then BENCH_SPACE points accepted (and handed to the
# controller), cancelled and deleted; the notebook's WAL sampled every
# 50 ms from the delete until both databases are back within 1 MiB of the
# empty lab's (or stop shrinking); the state after an unmount against the
# empty lab's. Logs are not counted.
bench_space() {
    # mount_lab sets LAB_PID: local, so that the main lab's stays for the
    # figures after this one (waiters, peak RSS, the remount).
    local n=$BENCH_SPACE mnt=$WORK/space st=$WORK/space-state empty left t0 t1 sampler LAB_PID
    log "space given back: $n points accepted, cancelled and deleted on a fresh lab"
    if ! mount_lab "$mnt" "$st" --engines 0; then
        row "state after delete of $n points" "" "" "n/a: the lab did not mount (see $WORK)" ""
        return
    fi
    unmount_lab "$mnt" "$LAB_PID"
    empty=$(space_bytes "$st" all)
    mount_lab "$mnt" "$st" --engines 0 || return
    printf '{"experiment": "%s", "tag": "space", "parameters": {"i": {"range": [0, %d]}}}\n' \
        "$NOOP" "$n" >"$mnt/submit"
    wait_still "$st" $((n / 2000 + 60))
    echo 'cancel space' >"$mnt/ctl"
    log "space: $(space_bytes "$st" all) bytes with the set, $empty empty"
    rm -f "$WORK/wal-peak"
    (
        peak=0
        while :; do
            b=$(stat -c %s "$st/notebook.db-wal" 2>/dev/null || echo 0)
            [ "$b" -gt "$peak" ] && peak=$b && echo "$peak" >"$WORK/wal-peak"
            sleep 0.05
        done
    ) &
    sampler=$!
    t0=$(now)
    echo 'delete space' >"$mnt/ctl"
    wait_until $((n / 1000 + 120)) "test \$(space_bytes '$st' db) -le $((empty + 1048576))" ||
        wait_still "$st" 60
    t1=$(now)
    kill "$sampler"
    wait "$sampler" 2>/dev/null
    unmount_lab "$mnt" "$LAB_PID"
    left=$(space_bytes "$st" all)
    row "delete of $n points: its space back in the databases (background freeing)" "" "" \
        "$(elapsed "$t0" "$t1")" "s"
    row "state after delete of $n points (bytes above an empty lab, unmounted)" "" "" \
        "$((left - empty))" "bytes"
    row "notebook WAL peak during delete of $n points and its freeing" "" "" \
        "$(cat "$WORK/wal-peak" 2>/dev/null || echo 0)" "bytes"
}

# Reuse (issue 25): one submit of BENCH_REUSE points with "reuse": true
# against the lab's stored results (the harvest set: 10^5 quick, 10^6
# full), in microseconds per point, beside the same submit without reuse:
# points that match nothing (the lookup alone: one index probe each) and
# points that all match the harvest set (each filled from its result).
# Each set is deleted at once, before its points run.
bench_reuse() {
    local n=$BENCH_REUSE stored lo=$((BENCH_HARVEST + 1)) kind out us plain=""
    [ -n "$HV_TAG" ] || { row "reuse" "" "" "n/a: no harvest set" ""; return; }
    stored=$(key "$MNT/results/$HV_TAG/status" results)
    log "reuse: $n points against the $stored results of $HV_TAG (and the lab's others)"
    for kind in plain miss hit; do
        local range="[$lo, $((lo + n))]" more=""
        [ $kind = plain ] || more=', "reuse": true'
        [ $kind = hit ] && range="[0, $n]"
        # An idle lab: the deleted set before this one is cancelled at the
        # controller and its results are in, so nothing but the submit
        # holds the notebook's writer while it is timed.
        wait_until 60 "test \"\$(key '$MNT/status' pending)\" = 0" || true
        sleep 1
        out=$(timeout 600 $PY "$here/bench.py" write "$MNT/submit" \
            "$(printf '{"experiment": "%s", "tag": "re%s", "parameters": {"i": {"range": %s}}%s}' \
                "$NOOP" "$kind" "$range" "$more")")
        us=$(awk -v n="$n" '$1 == "seconds" { printf "%.2f", $2 * 1e6 / n }' <<<"$out")
        printf 'delete re%s\n' "$kind" >"$MNT/ctl" 2>/dev/null || true
        [ -n "$us" ] || us="n/a: ${out#error }"
        case $kind in
        plain) plain=$us ;;
        miss) row "submit with reuse, no point matches ($n points; $stored results in $HV_TAG and more)" \
            "the same submit without reuse" "$plain" "$us" "us/point" ;;
        hit) row "submit with reuse, every point filled from a stored result ($n points)" \
            "the same submit without reuse" "$plain" "$us" "us/point" ;;
        esac
    done
}

hwm_of() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

# clabfs's peak RSS so far (VmHWM only grows: each mark includes the ones
# before), to tell which phase set the peak.
HWM_MARKS=()
mark_hwm() { HWM_MARKS+=("$1	$(hwm_of "$LAB_PID")"); }

# Peak RSS (VmHWM) of clabfs and of each process of its embedded cluster.
bench_rss() {
    local p name hwm k=0 m
    for m in "${HWM_MARKS[@]}"; do
        row "peak RSS, clabfs, through ${m%%	*}" "" "" "${m#*	}" "MiB"
    done
    hwm=$(hwm_of "$LAB_PID")
    row "peak RSS, clabfs, whole run" "" "" "${hwm:-n/a: clabfs gone}" "MiB"
    for p in $(pgrep -P "$LAB_PID"); do
        name=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | awk '{ print $1 }')
        hwm=$(hwm_of "$p")
        case $name in
        *clab-controller) row "peak RSS, clab-controller" "" "" "$hwm" "MiB" ;;
        *clab-engine) k=$((k + 1)); row "peak RSS, clab-engine $k" "" "" "$hwm" "MiB" ;;
        esac
    done
}

# One detached controller (loopback TCP, CURVE) and N engines; a second
# clabfs joins it as a client and submits the set.
bench_dispatch() {
    local n=$BENCH_DISPATCH_ENGINES pts=$BENCH_DISPATCH_POINTS cs=$WORK/dcluster conn i rate
    local f="tasks/s, one controller, $n engine processes ($pts points)"
    log "dispatch: one controller, $n engines, $pts points"
    "$CONTROLLER" --state "$cs" >>"$WORK/dcontroller.log" 2>&1 &
    local cpid=$!
    PIDS+=("$cpid")
    if ! wait_until 30 "test -s '$cs/cluster.json'"; then
        row "$f" "" "" "n/a: the controller did not start" "tasks/s"
        return
    fi
    # Engines may get a connection file of their own (engine.json).
    conn=$cs/cluster.json
    [ -e "$cs/engine.json" ] && conn=$cs/engine.json
    # All at once, as a Slurm job's tasks start: how long until every one
    # has joined (the controller lists them in STATE/engines).
    local t0 reg
    t0=$(date +%s.%N)
    DISPATCH_ENGINES=()
    for i in $(seq "$n"); do
        "$ENGINE" --cluster "$conn" --id "eng$i" >>"$WORK/dengine.log" 2>&1 &
        PIDS+=($!)
        DISPATCH_ENGINES+=($!)
    done
    if wait_until 120 "[ \"\$(wc -l 2>/dev/null <'$cs/engines' || echo 0)\" -ge $n ]"; then
        reg=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.2f}')")
    else
        reg="n/a: $(wc -l <"$cs/engines" 2>/dev/null || echo 0) of $n joined in 120 s"
    fi
    row "registration of $n engines started at once" "" "" "$reg" "s"
    if ! mount_lab "$WORK/dmnt" "$WORK/dstate" --cluster "$cs/cluster.json"; then
        row "$f" "" "" "n/a: clabfs could not join the cluster" "tasks/s"
        return
    fi
    if ! wait_until 120 "test \"\$(key '$WORK/dmnt/status' engines)\" -ge $n 2>/dev/null"; then
        row "$f" "" "" "n/a: only $(key "$WORK/dmnt/status" engines) of $n engines joined" "tasks/s"
        return
    fi
    local cpu0 cpu1
    cpu0=$(cpu_ticks "$cpid")
    rate=$(run_set "$WORK/dmnt" disp "$pts" $((pts / 20 + 120))) || rate="n/a: the set did not finish"
    cpu1=$(cpu_ticks "$cpid")
    row "$f" "" "" "$rate" "tasks/s"
    # What the controller itself spent per task, and so how many tasks one
    # core of it could hand out were the engines never the limit.
    if [ -n "$cpu0" ] && [ -n "$cpu1" ] && [ "${rate#n/a}" = "$rate" ]; then
        local per
        per=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" -v n="$pts" \
            'BEGIN { printf "%.4f", (b - a) / hz / n * 1000 }')
        row "controller CPU per task, during that run" "" "" "$per" "ms"
        row "dispatch ceiling of one controller core (1 / CPU per task)" "" "" \
            "$(awk -v p="$per" 'BEGIN { if (p > 0) printf "%.0f", 1000 / p; else print "n/a" }')" "tasks/s"
    fi
    bench_away "$cs" "$pts"
    local hwm
    hwm=$(hwm_of "$cpid")
    row "peak RSS, that controller (dispatch, then the remount)" "" "" "${hwm:-n/a}" "MiB"
    unmount_lab "$WORK/dmnt" "$LAB_PID"
}

# utime + stime of PID, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# tasks_where CLUSTER_STATE WHERE: how many tasks of the detached
# controller's queue match WHERE.
tasks_where() { sqlite3 -readonly "$1/controller.db" "SELECT count(*) FROM tasks WHERE $2" 2>/dev/null; }

# Reconnection after a long absence: results pile up at the controller
# while no clabfs is mounted, then stream in after the remount. The
# engines are stopped (SIGSTOP) while a set of N is submitted, and clabfs
# unmounted once the controller holds every task, so that none is stored
# before; the engines go on, and once every point is done at the
# controller the remount is timed to the last result readable, with
# clabfs's peak RSS through it and the results stored per second.
bench_away() {
    local cs=$1 n=$2 t0 t1 waiting
    kill -STOP "${DISPATCH_ENGINES[@]}" 2>/dev/null
    printf '{"experiment": "%s", "tag": "away", "parameters": {"i": {"range": [0, %d]}}}\n' \
        "$NOOP" "$n" >"$WORK/dmnt/submit" ||
        { row "results stored after a remount" "" "" "n/a: submit failed" "s"; return; }
    # Every task at the controller: queued, running or done there, or
    # delivered already (a delivered task's row is deleted).
    held_or_stored() {
        echo $(($(tasks_where "$cs" "tag = 'away'") + $(key "$WORK/dmnt/results/away/status" results)))
    }
    if ! wait_until 120 "[ \"\$(held_or_stored)\" = $n ]"; then
        row "results stored after a remount" "" "" "n/a: the controller did not get the $n tasks" "s"
        return
    fi
    unmount_lab "$WORK/dmnt" "$LAB_PID"
    kill -CONT "${DISPATCH_ENGINES[@]}" 2>/dev/null
    if ! wait_until $((n / 20 + 120)) "[ \"\$(tasks_where '$cs' \"tag = 'away' AND state < 2\")\" = 0 ]"; then
        row "results stored after a remount" "" "" "n/a: the $n points did not finish at the controller" "s"
        return
    fi
    waiting=$(tasks_where "$cs" "tag = 'away' AND state = 2")
    local f="results stored after a remount, $waiting waiting at the controller"
    log "remount: $waiting results waiting at the controller"
    t0=$(now)
    if ! mount_lab "$WORK/dmnt" "$WORK/dstate" --cluster "$cs/cluster.json" ||
        ! wait_until $((n / 100 + 120)) "test \"\$(key '$WORK/dmnt/results/away/status' results)\" = $n"; then
        row "$f" "" "" "n/a: not all were stored after the remount" "s"
        return
    fi
    t1=$(now)
    row "$f" "" "" "$(elapsed "$t0" "$t1")" "s"
    row "results stored per second after that remount ($waiting waiting)" "" "" \
        "$(awk -v n="$waiting" -v t="$(elapsed "$t0" "$t1")" 'BEGIN { printf "%.0f", n / t }')" \
        "results/s"
    row "peak RSS, clabfs through that remount" "" "" "$(hwm_of "$LAB_PID")" "MiB"
}

# --kept-set: the harvest and listing figures alone, on a copy of the kept
# set (made on the first run), so that a change to the read path is
# measured without producing the results again.
bench_kept_set() {
    if [ ! -s "$KEPT_SET/notebook.db" ]; then
        log "making the kept set: $BENCH_HARVEST points in $KEPT_SET"
        mkdir -p "$KEPT_SET"
        mount_lab "$WORK/seed" "$KEPT_SET" --engines 2 &&
            run_set "$WORK/seed" hv "$BENCH_HARVEST" $((BENCH_HARVEST / 100 + 300)) >/dev/null ||
            { row "kept set" "" "" "n/a: the set was not made (see $WORK)" ""; KEEP=1; return; }
        unmount_lab "$WORK/seed" "$LAB_PID"
    fi
    cp -a "$KEPT_SET/." "$STATE" && rm -rf "$STATE/cluster"
    HV_TAG=hv TP_TAG=hv
    if ! mount_lab "$MNT" "$STATE" --engines 2; then
        row "kept set" "" "" "n/a: the copy did not mount (see $WORK)" ""
        KEEP=1
        return
    fi
    bench_harvest
    LS_TAG=hv
    bench_ls
    info "results.csv md5" "$(md5sum <"$MNT/results/hv/results.csv" | cut -d' ' -f1)"
    unmount_lab "$MNT" "$LAB_PID"
    bench_listing
}

main() {
    local t_start=$SECONDS
    install_missing
    machine
    if [ $SPACE_ONLY = 1 ]; then
        bench_space
        info "wall time" "$((SECONDS - t_start)) s"
        echo
        $PY "$here/bench.py" table "$ROWS" "$OUT" "$INFO"
        return
    fi
    if [ -n "$KEPT_SET" ]; then
        bench_kept_set
        info "wall time" "$((SECONDS - t_start)) s"
        echo
        $PY "$here/bench.py" table "$ROWS" "$OUT" "$INFO"
        return
    fi
    bench_baselines
    bench_ipyparallel
    log "mounting clabfs (embedded cluster, 2 engines) on $MNT"
    if ! mount_lab "$MNT" "$STATE" --engines 2 ||
        ! wait_until 60 "test \"\$(key '$MNT/status' engines)\" = 2"; then
        row "clabfs" "" "" "n/a: the lab did not mount with 2 engines (see $WORK)" ""
        KEEP=1
    else
        local main_pid=$LAB_PID
        bench_throughput
        bench_worker
        mark_hwm "the throughput and harvest sets"
        bench_disk
        bench_harvest
        mark_hwm "the harvest"
        LS_TAG=$TP_TAG
        [ $SLOW = 1 ] && [ $FULL = 0 ] && [ -n "$HV_TAG" ] && LS_TAG=$HV_TAG
        bench_ls
        bench_latency
        mark_hwm "ls and latency"
        bench_acd
        bench_space
        bench_reuse
        bench_waiters
        mark_hwm "$BENCH_WAITERS blocked readers of wait"
        LAB_PID=$main_pid bench_rss
        unmount_lab "$MNT" "$main_pid"
        bench_listing
    fi
    bench_dispatch
    info "load average (end)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    info "wall time" "$((SECONDS - t_start)) s"
    info "csv" "$OUT"
    echo
    $PY "$here/bench.py" table "$ROWS" "$OUT" "$INFO"
}

main
