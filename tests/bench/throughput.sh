#!/usr/bin/env bash
# Throughput of a trivial sweep on the embedded cluster (2 engines) next to
# `xargs -P2 -n1` running the same program, in one invocation, so that the
# ratio is measured on the same machine state. Prints figures; asserts
# nothing about speed.
#   tests/bench/throughput.sh [POINTS]     (needs CLAB_BUILD, default build/)
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

mount_lab --engines 2
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'
t0=$(now)
submit "{\"experiment\": \"$noop\", \"parameters\": {\"i\": {\"range\": [0, $points]}}, \"tag\": \"bench\"}"
wait_done bench 600
t1=$(now)
lab=$(rate "$points" "$t0" "$t1")
assert_eq "$points" "$(key "$MNT/results/bench/status" results)" "results"

printf 'points                %d\n' "$points"
printf 'xargs -P2 -n1         %s results/s\n' "$base"
printf 'clabfs, 2 engines     %s results/s\n' "$lab"
printf 'ratio clabfs/xargs    %s\n' "$(awk -v a="$lab" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
