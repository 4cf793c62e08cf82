#!/usr/bin/env bash
# clab-wait (issue 25): waits for a set, from its results/TAG directory or
# from a mount and a tag, and exits 0 when it is done with no failure, 1
# when done with failures, 2 on a usage error or an unknown set (with a
# message on stderr) and 124 on --timeout. Not on a terminal it prints
# plain lines, one per change and at most one a second, the last one the
# set's end; on a terminal (script -qc) a bar redrawn in place.
. "$(dirname "$0")/lib.sh"

WAIT=$CLAB_SRC/scripts/clab-wait
LINE='[0-9]+/[0-9]+ done, [0-9]+ failed, [0-9]+\.[0-9]{2} points/s, eta ([0-9]+:[0-9]{2}:[0-9]{2}|-)'
mount_lab --engines 2

# run_wait OUT ARGS...: clab-wait's stdout in OUT, stderr in OUT.err; prints
# its exit status.
run_wait() {
    local out=$1 rc=0
    shift
    /usr/bin/python3 "$WAIT" "$@" >"$out" 2>"$out.err" </dev/null || rc=$?
    echo "$rc"
}

# Usage errors and unknown sets: 2 and a message.
assert_eq 0 "$(run_wait "$WORK/help" --help)" "--help"
grep -q "^usage: clab-wait" "$WORK/help" || fail "--help says no usage: $(cat "$WORK/help")"
for args in "" "--bogus" "--timeout abc $MNT/results/x" "--interval 0 $MNT/results/x" \
    "--mount $MNT" "$MNT/results/nosuch" "--mount $MNT nosuch" "$WORK"; do
    # shellcheck disable=SC2086
    assert_eq 2 "$(run_wait "$WORK/usage" $args)" "exit status of clab-wait $args"
    [ -s "$WORK/usage.err" ] || fail "clab-wait $args said nothing on stderr"
    [ ! -s "$WORK/usage" ] || fail "clab-wait $args printed on stdout: $(cat "$WORK/usage")"
done
grep -q "nosuch" "$WORK/usage.err" || true

# A set that succeeds: 0, plain lines, the last one its end.
submit "{\"experiment\": \"$EXP/sum.py\", \"tag\": \"ok\",
         \"parameters\": {\"a\": {\"range\": [0, 6]}, \"b\": 1, \"sleep\": 0.4}}"
start=$SECONDS
assert_eq 0 "$(run_wait "$WORK/ok" "$MNT/results/ok")" "clab-wait of a set that succeeds"
took=$((SECONDS - start + 1))
cat "$WORK/ok" >&2
grep -q $'\r' "$WORK/ok" && fail "carriage returns when not on a terminal"
grep -Evx "ok: $LINE" "$WORK/ok" && fail "lines not in the plain format"
tail -n 1 "$WORK/ok" | grep -Eqx 'ok: 6/6 done, 0 failed, [0-9]+\.[0-9]{2} points/s, eta -' ||
    fail "last line of ok: $(tail -n 1 "$WORK/ok")"
[ "$(wc -l <"$WORK/ok")" -le $((took + 1)) ] || fail "more than a line a second over ${took}s"
[ "$(sort "$WORK/ok" | uniq -d | wc -l)" = 0 ] || fail "a line repeated without a change"

# The same set through --mount: done at once, one line.
assert_eq 0 "$(run_wait "$WORK/ok2" --mount "$MNT" ok)" "clab-wait --mount of a finished set"
assert_eq 1 "$(wc -l <"$WORK/ok2")" "lines for a finished set"

# A set with a failure: 1.
submit "{\"experiment\": \"$EXP/fail.sh\", \"tag\": \"bad\", \"parameters\": {\"a\": [1, 2, 3]}}"
assert_eq 1 "$(run_wait "$WORK/bad" --mount "$MNT" bad --interval 0.2)" "clab-wait of a set with a failure"
tail -n 1 "$WORK/bad" | grep -Eqx 'bad: 3/3 done, 1 failed, [0-9]+\.[0-9]{2} points/s, eta -' ||
    fail "last line of bad: $(tail -n 1 "$WORK/bad")"

# A set that outlasts --timeout: 124 within a few seconds; cancelled, 1.
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"slow\", \"parameters\": {\"sleep\": 60}}"
start=$SECONDS
assert_eq 124 "$(run_wait "$WORK/slow" --timeout 1 --interval 0.2 "$MNT/results/slow")" \
    "clab-wait --timeout 1 of a set that runs a minute"
[ $((SECONDS - start)) -le 5 ] || fail "--timeout 1 took $((SECONDS - start)) s"
grep -q "timed out" "$WORK/slow.err" || fail "no timeout message: $(cat "$WORK/slow.err")"
tail -n 1 "$WORK/slow" | grep -Eqx 'slow: 0/1 done, 0 failed, 0\.00 points/s, eta -' ||
    fail "last line of slow: $(tail -n 1 "$WORK/slow")"
echo "cancel slow" >"$MNT/ctl"
assert_eq 1 "$(run_wait "$WORK/slow2" --timeout 30 "$MNT/results/slow")" "clab-wait of a cancelled set"

# On a terminal: a bar redrawn in place, ended by a newline.
if command -v script >/dev/null; then
    rc=0
    script -qec "/usr/bin/python3 '$WAIT' '$MNT/results/ok'" /dev/null >"$WORK/tty" || rc=$?
    assert_eq 0 "$rc" "clab-wait on a terminal"
    grep -q $'\r' "$WORK/tty" || fail "no carriage return on a terminal: $(od -c "$WORK/tty" | head)"
    grep -Eq "\[#+\] 6/6 done, 0 failed" "$WORK/tty" || fail "no bar on a terminal: $(cat -A "$WORK/tty")"
fi
log "PASS test_progress_wait"
