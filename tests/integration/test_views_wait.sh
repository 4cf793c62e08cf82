#!/usr/bin/env bash
# results/TAG/wait on a real mount: a read blocks until nothing is
# pending, then returns the set's status; timeout and Ctrl-C (SIGINT)
# interrupt it at once; forty readers really blocked in it (asleep in a
# read(2) that waits for clabfs) leave the mount answering everyone else.
# ctest: serial -- asserts milliseconds: reads under 2 s beside 40 waiters, timeout(1) under 1.8 s, SIGINT under 0.8 s
. "$(dirname "$0")/lib.sh"

# now_ms: milliseconds since the epoch; since_ms START: milliseconds since.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
since_ms() { echo $(($(now_ms) - $1)); }

# Time limits, stretched when clabfs runs under valgrind.
slow=1
[ "${CLAB_VALGRIND:-0}" != 1 ] || slow=10

mount_lab --engines 2
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

# A set that takes a few seconds: 12 points of 0.8 s on 2 engines.
submit "{\"experiment\": \"$EXP/sum.py\", \"parameters\": {\"a\": {\"range\": [0, 12]}, \"b\": 1, \"sleep\": 0.8}, \"tag\": \"w\"}"
w=$MNT/results/w/wait
assert_eq 0 "$(stat -c %s "$w")" "size of a wait not yet done"

# Forty readers blocked at once, more than libfuse's default of 10 threads.
waiters=()
for i in $(seq 40); do
    cat "$w" >"$WORK/waiter.$i" 2>"$WORK/waiter.$i.err" &
    waiters+=($!)
done
PIDS+=("${waiters[@]}")
# blocked PID...: how many of these processes are cat, asleep in a read(2)
# of the mount that waits for clabfs's answer (their kernel stacks say so).
cat >"$WORK/blocked.py" <<'EOF'
import os, shutil, sys
n = 0
for p in sys.argv[1:]:
    try:
        exe = os.readlink("/proc/%s/exe" % p)
        state = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[0]
        stack = open("/proc/%s/stack" % p).read()
    except OSError:
        continue
    n += (os.path.basename(exe) == "cat" and state == "S" and
          "fuse_file_read_iter" in stack and "request_wait_answer" in stack)
print(n)
EOF
blocked() { python3 "$WORK/blocked.py" "$@"; }
# blocked_readers: the waiters blocked, with nothing written yet.
blocked_readers() {
    [ "$(cat "$WORK"/waiter.[0-9]* | wc -c)" = 0 ] || { echo "output"; return; }
    blocked "${waiters[@]}"
}
wait_for 10 "40 readers blocked in the wait" 'test "$(blocked_readers)" = 40'
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
wait_for 10 "the reader to block" 'test "$(blocked $pid)" = 1'
start=$(now_ms)
kill -INT $pid
rc=0
wait $pid || rc=$?
took=$(since_ms $start)
assert_eq 130 "$rc" "exit status after SIGINT"
[ "$took" -lt $((800 * slow)) ] || fail "SIGINT took ${took} ms"

# All forty are still blocked, with the set still running.
assert_eq 40 "$(blocked_readers)" "readers still blocked"
assert_eq 0 "$(key "$MNT/results/w/status" done)" "not done while they are blocked"

# The set finishes: each blocked reader gets the status it finished with.
start=$(now_ms)
out=$(cat "$w")
log "wait returned after $(since_ms $start) ms"
assert_eq 0 "$(echo "$out" | key /dev/stdin pending)" "pending when wait returns"
assert_eq 1 "$(echo "$out" | key /dev/stdin done)" "done when wait returns"
assert_eq 12 "$(echo "$out" | key /dev/stdin results)" "results when wait returns"
assert_eq 12 "$(ls "$MNT/results/w" | grep -c '^[0-9]*\.json$')" "result files when wait returns"
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
