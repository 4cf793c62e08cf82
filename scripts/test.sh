#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#   1. install what is missing, build, ctest: unit tests and integration
#      tests on real mounts with real controllers and engines;
#   2. the same suite built with AddressSanitizer + UBSan
#      (-DCLAB_SANITIZE=ON); a sanitizer report from any program, daemons
#      included, fails the run;
#   3. the libFuzzer targets (tests/fuzz/run.sh), CLAB_FUZZ_SECONDS each
#      (default 60);
#   4. clabfs under valgrind's memcheck in two integration tests;
#   4b. the slow listing case (test_views_listing with CLAB_SLOW=1);
#   5. the Debian package (tests/package/test_package.sh): built, installed,
#      a sweep run with the installed programs, man pages rendered, units
#      verified, purged;
#   6. the benchmark harness at CI sizes (tests/bench/run.sh), which prints
#      its table; figures, not pass/fail (run.sh alone for the quick sizes,
#      run.sh --full for 10^6);
#   7. the suite's self-check (tests/selfcheck.sh): mutants it must catch.
# CLAB_QUICK=1 runs step 1 only (for developers between edits).
# CLAB_SLOW=1 adds the slow cases. Arguments go to every ctest run, e.g.
# scripts/test.sh -R grid -V. Budget: about 45 minutes on 2 cores.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/deps.sh"
clab_install_deps
build=${CLAB_BUILD:-$src/build}

# CLAB_TEST_JOBS: how many tests ctest runs at once (-j), in every stage;
# tests that must run alone or hold a resource say so in their files
# (tests/CMakeLists.txt, HACKING.md "Tests").
jobs=${CLAB_TEST_JOBS:-4}

# step NAME: a new stage; each stage's wall time is printed as it ends and
# all of them at the end.
stage= stage_t0= stages=()
stage_end() {
    [ -n "$stage" ] || return 0
    stages+=("$(printf '%6d s  %s' $((SECONDS - stage_t0)) "$stage")")
    printf '==== %s: %d s\n' "$stage" $((SECONDS - stage_t0)) >&2
    stage=
}
step() {
    stage_end
    stage=$* stage_t0=$SECONDS
    printf '\n==== %s\n' "$*" >&2
}
summary() {
    local rc=$?
    stage_end
    printf '\n==== stage times (exit %d, %d s in all, ctest -j %s)\n' "$rc" "$SECONDS" "$jobs" >&2
    printf '%s\n' "${stages[@]}" >&2
}
trap summary EXIT

step "build and test ($build)"
clab_build "$src" "$build" RelWithDebInfo
(cd "$build" && ctest --output-on-failure --no-tests=error --timeout 900 -j "$jobs" "$@")
[ "${CLAB_QUICK:-0}" = 1 ] && exit 0

asan=${CLAB_ASAN_BUILD:-$src/build-asan}
step "ASan + UBSan build and test ($asan)"
clab_build "$src" "$asan" Debug -DCLAB_SANITIZE=ON
logs=$asan/sanitizer-logs
# The Slurm launcher tests are mostly clab-cluster (bash) waiting on Slurm's
# 30 s walltime checks; the C they run is the same engines and controller
# that test_cluster_netns and test_cluster_deadline put under the
# sanitizers. Skipping them here keeps the run inside its budget. So do
# the epyc parity and ClusterLab tests: their time goes to Python starting
# epyc on the engines, and the C they take (a job's files, clab.records,
# cancels by job) is under the sanitizers in test_submit_files,
# test_clab_python and test_epyc_mount.
asan_skip='integration\.test_(cluster_slurm|epyc_parity|clusterlab)'

rm -rf "$logs" && mkdir -p "$logs"
# Reports go to files, so that one from a daemon (whose stderr is a log in
# a test's private directory) is not lost; any file there fails the step.
# Leak checks run at every clean exit, the daemons' included.
(cd "$asan" &&
    ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:abort_on_error=0" \
    UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1" \
    ctest --output-on-failure --no-tests=error --timeout 900 -j "$jobs" -E "$asan_skip" "$@")
if [ -n "$(ls -A "$logs")" ]; then
    for f in "$logs"/*; do
        echo "== $f" >&2
        head -n 60 "$f" >&2
    done
    echo "sanitizer reports above" >&2
    exit 1
fi

step "fuzzing, ${CLAB_FUZZ_SECONDS:-60} s per target"
CLAB_FUZZ_BUILD=${CLAB_FUZZ_BUILD:-$src/build-fuzz} "$src/tests/fuzz/run.sh" "${CLAB_FUZZ_SECONDS:-60}"

step "clabfs under valgrind"
(cd "$build" && CLAB_VALGRIND=1 ctest --output-on-failure --no-tests=error --timeout 900 -j "$jobs" \
    -R 'integration\.(test_submit_file|test_grid)$')

step "slow cases: a listing of 100,000 results (CLAB_SLOW=1)"
(cd "$build" && CLAB_SLOW=1 ctest --output-on-failure --no-tests=error --timeout 900 \
    -R 'integration\.test_views_listing$')

step "Debian package: build, install, run, purge"
"$src/tests/package/test_package.sh"

step "benchmark harness, CI sizes"
BENCH_SET=${BENCH_SET:-2000} BENCH_HARVEST=${BENCH_HARVEST:-2000} BENCH_ACD=${BENCH_ACD:-20000} \
    BENCH_BASE_POINTS=${BENCH_BASE_POINTS:-1000} BENCH_SLOW_POINTS=${BENCH_SLOW_POINTS:-300} \
    BENCH_DISPATCH_ENGINES=${BENCH_DISPATCH_ENGINES:-20} \
    BENCH_DISPATCH_POINTS=${BENCH_DISPATCH_POINTS:-1000} \
    BENCH_SPACE=${BENCH_SPACE:-20000} BENCH_REUSE=${BENCH_REUSE:-2000} \
    "$src/tests/bench/run.sh" --out "$build/bench/results.csv"

step "self-check: mutants the suite must catch"
CLAB_TEST_JOBS=$jobs "$src/tests/selfcheck.sh"
