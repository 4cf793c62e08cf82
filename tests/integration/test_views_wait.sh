#!/usr/bin/env bash
# results/TAG/wait on a real mount: a read blocks until nothing is
# pending, then returns the set's status; timeout and Ctrl-C (SIGINT)
# interrupt it at once; forty readers blocked in it leave the mount
# answering everyone else.
. "$(dirname "$0")/lib.sh"

# now_ms: milliseconds since the epoch; since_ms START: milliseconds since.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
since_ms() { echo $(($(now_ms) - $1)); }

# Time limits, stretched when clabfs runs under valgrind.
slow=1
[ "${CLAB_VALGRIND:-0}" != 1 ] || slow=10

mount_lab --engines 2
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

# A set that takes a few seconds: 12 points of 0.5 s on 2 engines.
submit "{\"experiment\": \"$EXP/sum.py\", \"parameters\": {\"a\": {\"range\": [0, 12]}, \"b\": 1, \"sleep\": 0.5}, \"tag\": \"w\"}"
w=$MNT/results/w/wait
assert_eq 0 "$(stat -c %s "$w")" "size of a wait not yet done"

# Forty readers blocked at once, more than libfuse's default of 10 threads.
waiters=()
for i in $(seq 40); do
    cat "$w" >"$WORK/waiter.$i" 2>"$WORK/waiter.$i.err" &
    waiters+=($!)
done
PIDS+=("${waiters[@]}")
sleep 0.5
start=$(now_ms)
for _ in 1 2 3; do
    cat "$MNT/status" >/dev/null
    ls "$MNT/results/w" >/dev/null
done
took=$(since_ms $start)
log "status and ls with 40 waiters: ${took} ms"
[ "$took" -lt $((2000 * slow)) ] || fail "the mount stalled behind waiters (${took} ms)"
assert_eq 0 "$(key "$MNT/results/w/status" done)" "not done yet"

# timeout(1) sends SIGTERM; the read ends at once.
start=$(now_ms)
rc=0
timeout 1 cat "$w" >"$WORK/timed" || rc=$?
took=$(since_ms $start)
assert_eq 124 "$rc" "timeout's exit status"
[ "$took" -lt $((1800 * slow)) ] || fail "timeout took ${took} ms"
assert_eq "" "$(cat "$WORK/timed")" "output of an interrupted wait"

# Ctrl-C: SIGINT to a reader in the foreground of an interactive shell
# is the same signal; it dies of it at once. (A background job of a script
# ignores SIGINT, so cat gets the default action back first.)
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp("cat", ["cat", sys.argv[1]])' "$w" >/dev/null &
pid=$!
sleep 0.3
start=$(now_ms)
kill -INT $pid
rc=0
wait $pid || rc=$?
took=$(since_ms $start)
assert_eq 130 "$rc" "exit status after SIGINT"
[ "$took" -lt $((800 * slow)) ] || fail "SIGINT took ${took} ms"

# The set finishes: each blocked reader gets the status it finished with.
start=$(now_ms)
out=$(cat "$w")
log "wait returned after $(since_ms $start) ms"
assert_eq 0 "$(echo "$out" | key /dev/stdin pending)" "pending when wait returns"
assert_eq 1 "$(echo "$out" | key /dev/stdin done)" "done when wait returns"
assert_eq 12 "$(echo "$out" | key /dev/stdin results)" "results when wait returns"
assert_eq 12 "$(ls "$MNT/results/w" | grep -c '\.json$')" "result files when wait returns"
for p in "${waiters[@]}"; do wait "$p" || fail "a waiter exited with $?"; done
for i in $(seq 40); do
    assert_eq "" "$(cat "$WORK/waiter.$i.err")" "errors of waiter $i"
    assert_eq "$(grep -v '^engines\|^connected' <<<"$out")" \
        "$(grep -v '^engines\|^connected' "$WORK/waiter.$i")" "waiter $i"
done
# Done already: at once, the same as status, and stat gives its size.
assert_eq "$(cat "$MNT/results/w/status")" "$(cat "$w")" "wait on a finished set"
assert_eq "$(cat "$w" | wc -c)" "$(stat -c %s "$MNT/results/w/status")" "size"
[ ! -e "$MNT/results/nosuch/wait" ] || fail "wait of a set that does not exist"
log "PASS test_views_wait"
