#!/usr/bin/env bash
# Throughput of a trivial sweep on the embedded cluster (2 engines) next to
# `xargs -P2 -n1` running the same program, in one invocation, so that the
# ratio is measured on the same machine state. Prints figures; asserts
# nothing about speed.
#   tests/bench/throughput.sh [POINTS]     (needs CLAB_BUILD, default build/)
#   CLAB_BENCH_SYNC="normal results full" CLAB_BENCH_ROUNDS=3 tests/bench/throughput.sh
# measures the notebook's durability modes in turn (median of the rounds).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
CLAB_BUILD=${CLAB_BUILD:-$src/build}
export CLAB_BUILD CLAB_SRC=$src
points=${1:-2000}
noop=$CLAB_BUILD/tests/clab-bench-noop
[ -x "$noop" ] || { echo "build first: $noop missing" >&2; exit 1; }
. "$src/tests/integration/lib.sh"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.0f", n / (e - s) }'; }

t0=$(now)
seq "$points" | xargs -P2 -n1 "$noop" >/dev/null
t1=$(now)
base=$(rate "$points" "$t0" "$t1")

# sweep MODE: one mount with CLAB_NOTEBOOK_SYNC=MODE (normal: no commit
# synced; results: the default, commits of results before their ack are;
# full: every commit is), a fresh state each time. Prints results/s.
sweep() {
    rm -rf "$STATE"
    CLAB_NOTEBOOK_SYNC=$1 mount_lab --engines 2
    wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
    local t0 t1
    t0=$(now)
    submit "{\"experiment\": \"$noop\", \"parameters\": {\"i\": {\"range\": [0, $points]}}, \"tag\": \"bench\"}"
    wait_done bench 600
    t1=$(now)
    assert_eq "$points" "$(key "$MNT/results/bench/status" results)" "results"
    fusermount3 -u "$MNT"
    wait_for 30 "clabfs to exit" "! pgrep -f 'clabfs --state $STATE' >/dev/null"
    rate "$points" "$t0" "$t1"
}

# CLAB_BENCH_SYNC: the notebook's modes to measure, each ROUNDS times in
# turn (the default mode alone unless asked).
modes=${CLAB_BENCH_SYNC:-results}
rounds=${CLAB_BENCH_ROUNDS:-1}
declare -A got
for _ in $(seq "$rounds"); do
    for m in $modes; do got[$m]="${got[$m]:-} $(sweep "$m")"; done
done
lab=$(echo ${got[${modes%% *}]} | tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')

printf 'points                %d\n' "$points"
printf 'xargs -P2 -n1         %s results/s\n' "$base"
for m in $modes; do
    printf 'clabfs, 2 engines     %s results/s (notebook sync %s; each round:%s)\n' \
        "$(echo ${got[$m]} | tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" "$m" "${got[$m]}"
done
printf 'ratio clabfs/xargs    %s\n' "$(awk -v a="$lab" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
