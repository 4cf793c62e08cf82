#!/usr/bin/env bash
# Edge 9, the key split. The controller writes DIR/cluster.json for clients
# and DIR/engine.json for engines, each 0600 with only its own key pair; its
# ZAP handler admits the client key only on the client socket and the
# engine key only on the engine socket. Shown on the end state: what a
# peer with each key receives (a welcome, a task) and the controller's
# queue (controller.db), before and after. Restarted on the same DIR the
# controller keeps both key pairs; a state directory from before the split
# (one key pair for both) gets a fresh engine key pair and engine.json,
# and its cluster.json keeps working for clients.
. "$(dirname "$0")/lib.sh"

HOSTILE=$CLAB_BUILD/tests/tools/clab-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE not built (tests/tools is not in the build)"

cdir=$WORK/cluster
conn=$cdir/cluster.json
eng=$cdir/engine.json
db=$cdir/controller.db

start_controller() {
    "$CONTROLLER" --state "$cdir" >>"$WORK/controller.log" 2>&1 &
    PIDS+=($!)
    controller_pid=$!
}
stop_pid() { # pid
    kill -TERM "$1"
    wait_for 15 "pid $1 to stop" "! kill -0 $1 2>/dev/null"
}
# The controller's queue: job, state, engine, tries of every task.
queue() {
    python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for row in db.execute("SELECT job, state, coalesce(engine, '-'), tries FROM tasks ORDER BY job"):
    print(*row)
PY
}
# probe NAME: a task that creates $WORK/marker-NAME, submitted with the
# client keys; it stays queued while no engine is connected.
probe() {
    "$HOSTILE" --cluster "$conn" submit --experiment "$EXP/hostile/marker.py" \
        --params "{\"marker\": \"$WORK/marker-$1\"}" --timeout 10 >/dev/null ||
        fail "probe $1 not accepted with the client keys"
}
# expect_rc WANT WHAT COMMAND...: the exit status of COMMAND.
expect_rc() {
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >"$WORK/cmd.out" 2>&1 || rc=$?
    [ "$rc" = "$want" ] || { cat "$WORK/cmd.out" >&2; fail "$what: exit $rc, expected $want"; }
}
# Neither key gets in where it does not belong, and the queue stays as it was.
check_split() { # client-file engine-file label
    local before
    before=$(queue)
    [ -n "$before" ] || fail "$3: the queue is empty (the test needs a queued task)"
    expect_rc 3 "$3: a client key on the engine socket (3: no task)" \
        "$HOSTILE" --cluster "$1" take --timeout 4
    assert_eq "$before" "$(queue)" "$3: queue after a client key asked for tasks"
    expect_rc 3 "$3: an engine key on the client socket (3: no welcome)" \
        "$HOSTILE" --engine-file "$2" hello --timeout 3
    expect_rc 3 "$3: an engine key submitting (3: nothing heard)" \
        "$HOSTILE" --engine-file "$2" submit --experiment "$EXP/hostile/marker.py" \
        --params "{\"marker\": \"$WORK/marker-intruder\"}" --timeout 3
    assert_eq "$before" "$(queue)" "$3: queue after an engine key submitted"
    [ -e "$WORK/marker-intruder" ] && fail "$3: the engine key's submission ran"
    # Each key where it belongs: the checks above could fail.
    expect_rc 0 "$3: the client key on the client socket" \
        "$HOSTILE" --cluster "$1" hello --timeout 10
    expect_rc 0 "$3: the engine key on the engine socket (a task)" \
        "$HOSTILE" --engine-file "$2" take --timeout 10
    # The probe engine said goodbye: its task is queued again, no try counted.
    wait_for 10 "the task back in the queue" 'test "$(queue)" = "$before"'
}

start_controller
wait_for 15 "cluster.json" "test -s '$conn'"
probe one
check_split "$conn" "$eng" "split"

# The two files: private, each with its own key pair only.
assert_eq 600 "$(stat -c %a "$conn")" "cluster.json mode"
assert_eq 600 "$(stat -c %a "$eng")" "engine.json mode"
python3 - "$conn" "$eng" <<'PY' || fail "contents of cluster.json and engine.json"
import json, sys
c, e = (json.load(open(p)) for p in sys.argv[1:])
common = {"version", "role", "client_endpoint", "engine_endpoint", "server_public"}
assert set(c) == common | {"client_public", "client_secret"}, sorted(c)
assert set(e) == common | {"engine_public", "engine_secret"}, sorted(e)
assert (c["role"], e["role"]) == ("client", "engine")
for k in ("client_endpoint", "engine_endpoint", "server_public"):
    assert c[k] == e[k], k
assert c["client_public"] != e["engine_public"]
assert c["client_secret"] not in json.dumps(e) and e["engine_secret"] not in json.dumps(c)
PY

# Each program refuses the other's file, and says which file to use.
expect_rc 1 "clab-engine with cluster.json" "$ENGINE" --cluster "$conn" --id wrongfile
grep -qF "cannot use connection file $conn: this is a client connection file; engines use engine.json" \
    "$WORK/cmd.out" || fail "clab-engine's reason: $(cat "$WORK/cmd.out")"
mkdir -p "$WORK/mnt2"
rc=0
timeout 20 "$CLABFS" --state "$WORK/state2" --cluster "$eng" "$WORK/mnt2" >"$WORK/cmd.out" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "clabfs accepted engine.json"
mountpoint -q "$WORK/mnt2" && fail "clabfs mounted with engine.json"
grep -qF "cannot use connection file $eng: this is an engine connection file; clients use cluster.json" \
    "$WORK/cmd.out" || fail "clabfs's reason: $(cat "$WORK/cmd.out")"

# A real engine on engine.json runs the queued task.
"$ENGINE" --cluster "$eng" --id real >>"$WORK/engine-real.log" 2>&1 &
PIDS+=($!)
engine_pid=$!
wait_for 30 "the probe to run" "test -e '$WORK/marker-one'"
wait_for 10 "the probe done on engine real" "queue | grep -q ' 2 real 0$'"
stop_pid "$engine_pid"

# Restarted on the same DIR: the same key pairs, and the old files work.
cp -p "$conn" "$WORK/cluster-before.json"
cp -p "$eng" "$WORK/engine-before.json"
stop_pid "$controller_pid"
start_controller
wait_for 30 "the restarted controller to welcome the old client file" \
    "'$HOSTILE' --cluster '$WORK/cluster-before.json' hello --timeout 2 >/dev/null"
for f in cluster engine; do
    python3 - "$cdir/$f.json" "$WORK/$f-before.json" <<'PY' || fail "$f.json changed on restart"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a == b, (a, b)
PY
done
probe two
check_split "$WORK/cluster-before.json" "$WORK/engine-before.json" "restarted"

# A state directory from before the split: one key pair for both, in a
# cluster.json without a role, and no engine.json.
stop_pid "$controller_pid"
python3 - "$conn" "$WORK/legacy.json" <<'PY' || fail "making a legacy cluster.json"
import json, os, sys
c = json.load(open(sys.argv[1]))
old = {k: c[k] for k in ("client_endpoint", "engine_endpoint", "server_public",
                         "client_public", "client_secret")}
old["version"] = 1
for p in (sys.argv[1], sys.argv[2]):
    fd = os.open(p + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, json.dumps(old).encode())
    os.close(fd)
    os.rename(p + ".new", p)
PY
rm -f "$eng"
start_controller
wait_for 30 "the upgraded controller to welcome the legacy file" \
    "'$HOSTILE' --cluster '$WORK/legacy.json' hello --timeout 2 >/dev/null"
wait_for 5 "engine.json" "test -s '$eng'"
assert_eq 600 "$(stat -c %a "$eng")" "engine.json mode after the upgrade"
python3 - "$WORK/legacy.json" "$conn" "$eng" <<'PY' || fail "keys after the upgrade"
import json, sys
old, c, e = (json.load(open(p)) for p in sys.argv[1:])
assert c["client_public"] == old["client_public"] and c["server_public"] == old["server_public"]
assert c["client_secret"] == old["client_secret"]
assert e["engine_public"] != old["client_public"], "the engine key is the old shared key"
assert "client_secret" not in e and "engine_secret" not in c
PY
# The legacy file's one key pair is now a client key only: an engine
# holding it gets no task (check_split's first case), engine.json does.
probe three
check_split "$WORK/legacy.json" "$eng" "upgraded"
expect_rc 3 "the legacy key pair as an engine (3: no task)" \
    "$HOSTILE" --engine-file "$WORK/legacy.json" take --timeout 4
"$ENGINE" --cluster "$eng" --id real2 >>"$WORK/engine-real2.log" 2>&1 &
PIDS+=($!)
wait_for 30 "probes two and three to run" "test -e '$WORK/marker-two' -a -e '$WORK/marker-three'"
kill -0 "$controller_pid" 2>/dev/null || fail "the controller died"
log "PASS test_edge_k_keys"
