#!/usr/bin/env bash
# A real engine facing a hostile controller: tests/tools/clab-hostile plays
# the controller (fresh keys, its own connection file) and sends the engine
# wrong frame counts, bad versions, types and bodies, unknown messages,
# nonsense cancels, broken and odd tasks, and a task over the 64 MiB
# message limit. The engine drops what does not fit, is back after the
# oversized task (libzmq drops that connection for good, so the engine
# must connect afresh), answers a good task (sent twice: it runs once),
# keeps its heartbeats.
# End states: the fake controller's own observations (tests/tools/
# clab-hostile.c prints them, one line per result received, by job id),
# the engine process alive, the relative
# task ("bin/true") never ran a program of that name from the engine's
# working directory, and every scratch directory (the missing experiment's
# and the good task's) is gone.
. "$(dirname "$0")/lib.sh"

HOSTILE=$CLAB_BUILD/tests/tools/clab-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE not built (tests/tools is not in the build)"

# The good task is sleepy.py's, logging each run; it comes twice.
"$HOSTILE" fake-controller --out "$WORK/fake.json" --experiment "$EXP/sleepy.py" \
    --params "{\"i\": 1, \"sleep\": 0.3, \"log\": \"$WORK/runs\"}" \
    >"$WORK/fake.out" 2>"$WORK/fake.log" &
fake_pid=$!
PIDS+=($fake_pid)
wait_for 15 "the fake controller" "test -s '$WORK/fake.json'"
# A trap for the relative task: a bin/true under the engine's working
# directory that leaves a mark if anything runs it.
mkdir -p "$WORK/cwd/bin" "$WORK/scratch"
printf '#!/bin/sh\ntouch %s/ran-relative\n' "$WORK" >"$WORK/cwd/bin/true"
chmod +x "$WORK/cwd/bin/true"
(cd "$WORK/cwd" && exec "$ENGINE" --cluster "$WORK/fake.json" --id victim \
    --scratch "$WORK/scratch" >>"$WORK/engine-victim.log" 2>&1) &
victim_pid=$!
PIDS+=($victim_pid)
rc=0
wait "$fake_pid" || rc=$?
cat "$WORK/fake.out" >&2
[ $rc -eq 0 ] || { cat "$WORK/fake.log" >&2; fail "fake controller: exit $rc"; }
grep -q '^fake controller: heartbeats again after the oversized task$' "$WORK/fake.out" ||
    fail "no heartbeats after the oversized task"
grep -q '^fake controller: the good task came back ok$' "$WORK/fake.out" || fail "good task"
# Sent twice while the engine held it, it ran once.
assert_eq 1 "$(wc -l <"$WORK/runs")" "runs of the good task, sent twice"
kill -0 "$victim_pid" 2>/dev/null || fail "the engine died facing a hostile controller"
grep -q '^fake controller: the engine is still alive' "$WORK/fake.out" ||
    fail "no heartbeat after the good task"
# Outcomes per job id: the relative, the missing and the good task each
# came back with one outcome (a resend after an ack lost with the dropped
# connection repeats the same line), and no other job produced a result.
outcomes() { sed -n 's/^fake controller: result //p' "$WORK/fake.out" | sort -u; }
assert_eq 3 "$(outcomes | wc -l)" "distinct job outcomes"
assert_eq "fake-$fake_pid-relative failed: cannot execute bin/true: not an absolute path" \
    "$(outcomes | grep -e '-relative ')" "the relative task's outcome"
assert_eq "fake-$fake_pid-missing failed: experiment not found on $(hostname)" \
    "$(outcomes | grep -e '-missing ')" "the missing task's outcome"
assert_eq "fake-$fake_pid-valid ok" "$(outcomes | grep -e '-valid ')" "the good task's outcome"
# The relative and the missing task: nothing ran, nothing left behind.
[ ! -e "$WORK/ran-relative" ] || fail "the relative experiment bin/true was run"
assert_eq "" "$(ls -A "$WORK/scratch")" "scratch directories left by the engine"
# No sanitizer report from any program so far (under scripts/test.sh's
# ASan step; the clean-up looks again once all have exited).
no_sanitizer_reports
log "PASS test_hostile_engine"
