#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# bounded time, starting from the seed corpus in tests/fuzz/corpus/<target>.
# New inputs go to a scratch copy, so the committed corpus stays small;
# a crash leaves its input in the work directory and fails the script, and
# so does a seed corpus that cannot be copied or a target that ran no more
# inputs than its seeds (libFuzzer's "Done N runs" and final stats).
#
#   tests/fuzz/run.sh [SECONDS]        default 60 per target
#   CLAB_FUZZ_BUILD=DIR                build directory (default build-fuzz)
#   CLAB_FUZZ_TARGETS="fuzz_submit"    a subset
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
build=${CLAB_FUZZ_BUILD:-$src/build-fuzz}
targets=${CLAB_FUZZ_TARGETS:-fuzz_submit fuzz_space fuzz_protocol}
cc=${CLAB_FUZZ_CC:-clang}

command -v "$cc" >/dev/null || { echo "fuzz: $cc not found (scripts/deps.sh installs clang)" >&2; exit 1; }
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
    -DCLAB_FUZZ=ON -DBUILD_TESTING=ON >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $targets >/dev/null

work=$(mktemp -d /tmp/clabfuzz.XXXXXX)
status=0
for t in $targets; do
    mkdir -p "$work/$t/corpus" "$work/$t/crash"
    # A missing or empty seed corpus is a broken tree, not a reason to fuzz
    # from nothing.
    seeds=$({ find "$src/tests/fuzz/corpus/$t" -maxdepth 1 -type f 2>/dev/null || true; } | wc -l)
    if [ "$seeds" -eq 0 ] || ! cp "$src/tests/fuzz/corpus/$t/"* "$work/$t/corpus/"; then
        echo "fuzz: $t: cannot copy the seed corpus tests/fuzz/corpus/$t ($seeds files)" >&2
        status=1
        continue
    fi
    # -rss_limit_mb and -timeout turn memory blow-ups and hangs into
    # findings; -max_len lets a mutation grow past the seeds.
    set +e
    (cd "$work/$t/crash" &&
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -max_len=8192 -dict="$src/tests/fuzz/json.dict" -print_final_stats=1 \
            "$work/$t/corpus" >"$work/$t.log" 2>&1)
    rc=$?
    set -e
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$work/$t.log")
    # libFuzzer's own count of what it ran ("Done N runs in S second(s)").
    done_runs=$(sed -n 's/^Done \([0-9][0-9]*\) runs in .*/\1/p' "$work/$t.log" | tail -n 1)
    if [ $rc -ne 0 ]; then
        echo "fuzz: $t FAILED after ${runs:-?} executions (exit $rc); input and log in $work/$t" >&2
        grep -E 'ERROR|SUMMARY|check failed|runtime error' "$work/$t.log" | head -n 20 >&2 || true
        status=1
    elif [ "${done_runs:-0}" -le "$seeds" ] || [ "${runs:-0}" -le "$seeds" ]; then
        # Fewer runs than seeds: the fuzzer did not even read its corpus.
        echo "fuzz: $t ran ${done_runs:-no} input(s) (${runs:-?} units) from $seeds seeds; log in $work/$t.log" >&2
        tail -n 20 "$work/$t.log" >&2
        status=1
    else
        echo "fuzz: $t ok: ${runs:-?} executions in ${secs}s, corpus $(ls "$work/$t/corpus" | wc -l) inputs"
    fi
done
[ $status -eq 0 ] && rm -rf "$work"
exit $status
