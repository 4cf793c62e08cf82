#!/usr/bin/env bash
# Access: only holders of the connection files' keys get in (cluster.json
# for clients, engine.json for engines). A client or an engine with
# another CURVE key pair is refused by the controller's ZAP handler (and
# the refusal is logged): the client is never welcomed and
# its task never runs, the engine never gets a task. Connection files
# readable by group or others are refused with a clear message; the state
# and ipc run directories are private; the mount is private to its owner.
. "$(dirname "$0")/lib.sh"

HOSTILE=$CLAB_BUILD/tests/tools/clab-hostile
[ -x "$HOSTILE" ] || fail "$HOSTILE not built (tests/tools is not in the build)"
# Let other users walk to the files, so that only the modes under test
# (and the mount's own check) stand in their way.
chmod 755 "$WORK"

start_cluster 1
conn=$WORK/cluster/cluster.json
controller_pid=${PIDS[0]}

eng=$WORK/cluster/engine.json

# A copy of a connection file with another key pair of its role: what
# someone who guessed the endpoints and the server's public key would hold.
doctor() { # in out role
    local keys
    keys=$("$HOSTILE" keygen) || fail "keygen"
    python3 - "$1" "$2" "$3" $keys <<'PY' || fail "doctoring $2"
import json, os, sys
src, dst, role, pub, sec = sys.argv[1:]
c = json.load(open(src))
assert c[role + "_public"] != pub
c[role + "_public"], c[role + "_secret"] = pub, sec
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(c).encode())
os.close(fd)
PY
}
doctor "$conn" "$WORK/wrong-client.json" client
doctor "$eng" "$WORK/wrong-engine.json" engine
wrong_client_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_public"])' "$WORK/wrong-client.json")
wrong_engine_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["engine_public"])' "$WORK/wrong-engine.json")

# An engine with the wrong key, alongside the real one.
"$ENGINE" --cluster "$WORK/wrong-engine.json" --id intruder >>"$WORK/engine-intruder.log" 2>&1 &
PIDS+=($!)
intruder_pid=$!

# The right keys: welcomed, and a submitted task runs (the probe can pass).
"$HOSTILE" --cluster "$conn" hello --timeout 10 >/dev/null || fail "right keys not welcomed"
"$HOSTILE" --cluster "$conn" submit --experiment "$EXP/hostile/marker.py" \
    --params "{\"marker\": \"$WORK/marker-right\"}" --timeout 10 >/dev/null ||
    fail "right keys: submit not accepted"
wait_for 30 "the right client's task to run" "test -e '$WORK/marker-right'"

# The wrong client keys: no welcome, no acceptance, nothing runs.
set +e
"$HOSTILE" --cluster "$WORK/wrong-client.json" hello --timeout 3 >/dev/null
rc_hello=$?
"$HOSTILE" --cluster "$WORK/wrong-client.json" submit --experiment "$EXP/hostile/marker.py" \
    --params "{\"marker\": \"$WORK/marker-wrong\"}" --timeout 3 >/dev/null
rc_submit=$?
set -e
assert_eq 3 "$rc_hello" "hello with the wrong client keys (3: no welcome)"
assert_eq 3 "$rc_submit" "submit with the wrong client keys (3: nothing heard)"

# Work submitted through clabfs goes to the real engine only.
mount_lab --cluster "$conn"
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": {\"range\": [0, 20]}}, \"tag\": \"acc\"}"
wait_done acc 60
assert_eq 20 "$(key "$MNT/results/acc/status" results)" "results"
assert_eq "eng1" "$(python3 -c 'import glob, json, sys
print(" ".join(sorted({json.load(open(f))["metadata"]["clab.engine"]
                       for f in glob.glob(sys.argv[1] + "/[0-9]*.json")})))' "$MNT/results/acc")" \
    "engines that ran the set"
# The intruder has knocked (and been refused) by now; it is in no list.
wait_for 15 "the intruder to be refused" \
    "grep -qF 'client key $wrong_engine_key is not the cluster' '$WORK/controller.log'"
assert_eq "eng1" "$(ls "$MNT/engines" | xargs)" "/engines"
assert_eq 1 "$(key "$MNT/status" engines)" "engines in /status"
[ -e "$WORK/marker-wrong" ] && fail "the wrong client's task ran"
kill -0 "$intruder_pid" 2>/dev/null || fail "the intruder engine gave up (it should keep knocking)"
kill -0 "$controller_pid" 2>/dev/null || fail "the controller died"

# The controller logged the refusals, with the keys it refused.
clog=$WORK/controller.log
grep -qF "zap: refused a CURVE connection from 127.0.0.1: client key $wrong_client_key is not the cluster's" "$clog" ||
    fail "no refusal of the wrong client key in the controller log"
grep -qF "zap: refused a CURVE connection from 127.0.0.1: client key $wrong_engine_key is not the cluster's" "$clog" ||
    fail "no refusal of the wrong engine key in the controller log"
# Still refused after all this time: the engines the lab knows are eng1.
assert_eq "eng1" "$(ls "$MNT/engines" | xargs)" "/engines at the end"

# Connection files readable by group or others are refused, clearly.
for mode in 644 640 604; do
    cp "$eng" "$WORK/open-engine-$mode.json"
    cp "$conn" "$WORK/open-$mode.json"
    chmod "$mode" "$WORK/open-$mode.json" "$WORK/open-engine-$mode.json"
    set +e
    timeout 10 "$ENGINE" --cluster "$WORK/open-engine-$mode.json" >"$WORK/open-engine.out" 2>&1
    rc=$?
    mkdir -p "$WORK/mnt2"
    timeout 10 "$CLABFS" --state "$WORK/state2" --cluster "$WORK/open-$mode.json" "$WORK/mnt2" \
        >"$WORK/open-clabfs.out" 2>&1
    rc2=$?
    set -e
    assert_eq 1 "$rc" "clab-engine exit with a mode $mode connection file"
    grep -q "cannot use connection file $WORK/open-engine-$mode.json: group or others can read it (chmod 600 it)" \
        "$WORK/open-engine.out" || fail "clab-engine message for mode $mode: $(cat "$WORK/open-engine.out")"
    [ "$rc2" -ne 0 ] || fail "clabfs accepted a mode $mode connection file"
    grep -q "clabfs: cannot use connection file $WORK/open-$mode.json: group or others can read it (chmod 600 it)" \
        "$WORK/open-clabfs.out" || fail "clabfs message for mode $mode: $(cat "$WORK/open-clabfs.out")"
    mountpoint -q "$WORK/mnt2" && fail "clabfs mounted with a mode $mode connection file"
done

# Private files and directories of the controller.
assert_eq 700 "$(stat -c %a "$WORK/cluster")" "controller state directory mode"
assert_eq 600 "$(stat -c %a "$conn")" "connection file mode"
assert_eq 600 "$(stat -c %a "$eng")" "engine connection file mode"
assert_eq 600 "$(stat -c %a "$WORK/cluster/server.key")" "server key mode"
# The ipc run directory of a local (--ipc) controller.
"$CONTROLLER" --state "$WORK/ipc" --ipc >>"$WORK/controller-ipc.log" 2>&1 &
PIDS+=($!)
wait_for 15 "the ipc controller" "test -S '$WORK/ipc/run/clients.sock'"
assert_eq 700 "$(stat -c %a "$WORK/ipc/run")" "ipc run directory mode"
assert_eq 700 "$(stat -c %a "$WORK/ipc")" "ipc state directory mode"
# ...and with a umask that would leave them open, still private.
sh -c 'umask 000; exec "$0" "$@"' "$CONTROLLER" --state "$WORK/ipc2" --ipc \
    >>"$WORK/controller-ipc2.log" 2>&1 &
PIDS+=($!)
wait_for 15 "the second ipc controller" "test -S '$WORK/ipc2/run/clients.sock'"
assert_eq 700 "$(stat -c %a "$WORK/ipc2/run")" "ipc run directory mode under umask 0"
assert_eq 600 "$(stat -c %a "$WORK/ipc2/cluster.json")" "connection file mode under umask 0"
assert_eq 600 "$(stat -c %a "$WORK/ipc2/engine.json")" "engine connection file mode under umask 0"

# The mount is its owner's: no allow_other / allow_root, and another user
# (nobody) cannot list or read it, though it can reach the directory above.
opts=$(awk -v m="$MNT" '$2 == m { print $4 }' /proc/mounts)
[ -n "$opts" ] || fail "$MNT not in /proc/mounts"
case ",$opts," in *,allow_other,* | *,allow_root,*) fail "mount options: $opts" ;; esac
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
as_nobody ls "$WORK" >/dev/null || fail "nobody cannot list $WORK (the test needs it to)"
as_nobody ls "$MNT" >/dev/null 2>&1 && fail "nobody can list the mount"
as_nobody cat "$MNT/status" >/dev/null 2>&1 && fail "nobody can read /status"
as_nobody sh -c "echo '/bin/true {}' >'$MNT/submit'" 2>/dev/null && fail "nobody can submit"
as_nobody test -e "$WORK/ipc/run/clients.sock" && fail "nobody can reach the ipc socket"
# The owner still can.
assert_eq 20 "$(key "$MNT/results/acc/status" results)" "owner reads the mount"
log "PASS test_access"
