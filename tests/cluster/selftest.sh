# Harness of the tests/cluster/ self-tests: pass/fail counts, a watchdog
# that bounds the whole run, and one EXIT trap that runs the test's clean-up
# steps, prints "N passed, N failed" and sets the exit status (0, 1, or 77
# when the machine cannot run it).
#
#   source tests/cluster/selftest.sh
#   st_begin SECONDS            # watchdog; EXIT/INT/TERM traps
#   st_on_exit "slurm_stop"     # clean-up steps, run in order
#   st_check "what" CMD...      # counts a pass or a fail
#   st_skip "reason"            # exits 77

ST_PASSED=0
ST_FAILED=0
ST_SKIPPED=
ST_CLEANUP=()
ST_WATCHDOG=
ST_T0=$SECONDS

st_on_exit() { ST_CLEANUP+=("$1"); }

st_pass() {
    ST_PASSED=$((ST_PASSED + 1))
    printf 'ok   %s\n' "$1"
}

st_fail() {
    ST_FAILED=$((ST_FAILED + 1))
    printf 'FAIL %s\n' "$1"
}

# st_check DESCRIPTION CMD...: runs CMD; its status is the verdict.
st_check() {
    local what=$1
    shift
    if "$@"; then st_pass "$what"; else st_fail "$what"; fi
}

# st_skip REASON: the machine cannot run this test.
st_skip() {
    ST_SKIPPED=$1
    exit 77
}

_st_exit() {
    local rc=$? step
    trap - EXIT INT TERM
    if [ -n "$ST_WATCHDOG" ]; then
        # Its sleep is stopped after it: were the sleep first, the watchdog
        # would wake up and signal us in the middle of the clean-up.
        local sleeper
        sleeper=$(pgrep -P "$ST_WATCHDOG")
        kill "$ST_WATCHDOG" 2>/dev/null
        wait "$ST_WATCHDOG" 2>/dev/null
        [ -z "$sleeper" ] || kill $sleeper 2>/dev/null
    fi
    for step in "${ST_CLEANUP[@]}"; do eval "$step" || true; done
    if [ -n "$ST_SKIPPED" ] || [ "$rc" -eq 77 ]; then
        # cluster_skip has already printed its own reason.
        [ -n "$ST_SKIPPED" ] && [ "$ST_SKIPPED" = "${CLUSTER_SKIP_REASON:-}" ] ||
            printf 'SKIP: %s\n' "${ST_SKIPPED:-${CLUSTER_SKIP_REASON:-machine cannot run this test}}"
        printf '%d passed, %d failed\n' "$ST_PASSED" "$ST_FAILED"
        exit 77
    fi
    if [ "$rc" -ne 0 ] && [ "$ST_FAILED" -eq 0 ]; then
        st_fail "test script ended with status $rc"
    fi
    printf '(%d s) %d passed, %d failed\n' "$((SECONDS - ST_T0))" "$ST_PASSED" "$ST_FAILED"
    printf '%d passed, %d failed\n' "$ST_PASSED" "$ST_FAILED"
    [ "$ST_FAILED" -eq 0 ] || exit 1
    exit 0
}

# st_begin SECONDS: the run ends (with its clean-up) after SECONDS at most.
st_begin() {
    local limit=$1 me=$$
    trap _st_exit EXIT
    trap "st_fail 'interrupted (watchdog after $limit s, or a signal)'; exit 1" INT TERM
    # The watchdog holds no pipe of ours (ctest waits for those) and takes
    # its sleep along when it is stopped.
    (
        trap 'kill "$sp" 2>/dev/null; exit 0' TERM
        sleep "$limit" &
        sp=$!
        wait "$sp"
        kill -TERM "$me"
    ) >/dev/null 2>&1 </dev/null &
    ST_WATCHDOG=$!
}
