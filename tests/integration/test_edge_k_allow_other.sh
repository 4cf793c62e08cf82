#!/usr/bin/env bash
# Edge 8: -o allow_other lets other local users into the mount, and
# /submit runs code as the mount's owner. clabfs accepts allow_other only
# with default_permissions (refused at start, exit status 2, otherwise), and
# /submit and /ctl answer EACCES to any uid but the owner's, even to one
# whose capabilities pass the permission check (CAP_DAC_OVERRIDE). Shown on
# a real mount with a user made for the test: the errno it gets, and the
# notebook (sets, jobs) and the experiment's marker unchanged. Blocking
# reads of wait are bounded per uid (issue 21): one user's 230 reads get
# EBUSY past 16 while another user's and the owner's still block, and all
# return the set's status when it finishes. A blocked read holds no thread
# (issue 22), so the owner's are not limited: 300 of them block too.
# (We mount as root, so /etc/fuse.conf's user_allow_other is not needed.)
. "$(dirname "$0")/lib.sh"

command -v useradd >/dev/null && command -v setpriv >/dev/null ||
    { log "SKIP: needs useradd and setpriv"; exit 77; }
[ "$(id -u)" = 0 ] || { log "SKIP: needs root (to add a user)"; exit 77; }
# Other users walk to the mount point.
chmod 755 "$WORK"

user=clabk$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$user" || fail "useradd $user"
at_exit "userdel '$user'"
user2=clabk2$$
useradd --system --no-create-home --shell /usr/sbin/nologin "$user2" || fail "useradd $user2"
at_exit "userdel '$user2'"
as_user() { setpriv --reuid="$user" --regid="$user" --clear-groups -- "$@"; }
as_user2() { setpriv --reuid="$user2" --regid="$user2" --clear-groups -- "$@"; }
# The same user with CAP_DAC_OVERRIDE: the kernel's permission check
# (default_permissions) lets it write a 0600 file it does not own.
as_user_dac() {
    setpriv --reuid="$user" --regid="$user" --clear-groups \
        --inh-caps=+dac_override --ambient-caps=+dac_override -- "$@"
}
# try_write [RUNNER...] PATH TEXT: how an open for writing, then a write,
# ends, run through RUNNER (as_user, as_user_dac) if given.
PY3=/usr/bin/python3 # root's python3 may live where others cannot reach
[ -x "$PY3" ] || { log "SKIP: needs /usr/bin/python3"; exit 77; }
try_write() {
    local n=$(($# - 2))
    "${@:1:n}" "$PY3" -c '
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
except OSError as e:
    print("open", errno.errorcode[e.errno]); sys.exit(0)
try:
    os.write(fd, sys.argv[2].encode())
    os.close(fd)
except OSError as e:
    print("write", errno.errorcode[e.errno]); sys.exit(0)
print("written")' "${@:n+1}"
}
notebook() {
    python3 - "$STATE/notebook.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(*(db.execute(q).fetchone()[0] for q in (
    "SELECT count(*) FROM sets", "SELECT count(*) FROM jobs",
    "SELECT group_concat(tag) FROM sets")))
PY
}

# allow_other alone: refused before anything is mounted.
for opts in "-o allow_other" "-oallow_other" "-o noatime,allow_other"; do
    rc=0
    # shellcheck disable=SC2086
    timeout 20 "$CLABFS" --state "$STATE" --engines 1 $opts "$MNT" >"$WORK/refused.out" 2>&1 || rc=$?
    mountpoint -q "$MNT" && fail "clabfs mounted with $opts"
    assert_eq 2 "$rc" "clabfs exit status with $opts"
    grep -qF "clabfs: -o allow_other is accepted only with default_permissions" \
        "$WORK/refused.out" || fail "clabfs's reason for $opts: $(cat "$WORK/refused.out")"
done

# With default_permissions: mounted, and open to other users for reading.
mount_lab --engines 1 -o allow_other,default_permissions
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": {\"range\": [0, 3]}}, \"tag\": \"own\"}"
wait_done own 60
before=$(notebook)
assert_eq "1 3 own" "$before" "notebook before the other user"
as_user cat "$MNT/status" >"$WORK/status.other" || fail "$user cannot read /status"
assert_eq 1 "$(key "$WORK/status.other" connected)" "/status as read by $user"
as_user cat "$MNT/results/own/results.csv" >/dev/null || fail "$user cannot read results"

job="$EXP/hostile/marker.py {\"marker\": \"$WORK/marker-other\"}"
assert_eq "open EACCES" "$(try_write as_user "$MNT/submit" "$job")" "$user writing /submit"
assert_eq "open EACCES" "$(try_write as_user "$MNT/ctl" "delete own")" "$user writing /ctl"
# Past the permission check, still not the owner.
assert_eq "open EACCES" "$(try_write as_user_dac "$MNT/submit" "$job")" \
    "$user with CAP_DAC_OVERRIDE writing /submit"
assert_eq "open EACCES" "$(try_write as_user_dac "$MNT/ctl" "delete own")" \
    "$user with CAP_DAC_OVERRIDE writing /ctl"
as_user_dac sh -c "echo '$job' >'$MNT/submit'" 2>/dev/null &&
    fail "$user submitted through a shell redirection"

# Nothing reached the notebook or ran; the owner still can.
sleep 1
assert_eq "$before" "$(notebook)" "notebook after the other user"
[ -e "$WORK/marker-other" ] && fail "the other user's job ran"
assert_eq "written" "$(try_write "$MNT/ctl" "select own")" "the owner writing /ctl"
submit "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": [1]}, \"tag\": \"own2\"}"
wait_done own2 60
assert_eq "2 4 own,own2" "$(notebook)" "notebook after the owner's second set"

# Waiters by uid. One point that holds the engine until the gate opens.
submit "{\"experiment\": \"$EXP/gated.py\", \"tag\": \"gw\",
         \"parameters\": {\"i\": 0, \"gate\": \"$WORK/gate\"}}"
wait_for 30 "gw's point to start" 'test "$(key "$MNT/results/gw/status" pending)" = 1'
# readers PATH N: N threads each read PATH once; a line per read as it
# ends: "ok BYTES" or "err ERRNO".
cat >"$WORK/readers.py" <<'PY'
import errno, sys, threading
path, n = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
def one():
    try:
        with open(path, "rb") as f:
            r = "ok %d" % len(f.read())
    except OSError as e:
        r = "err " + errno.errorcode[e.errno]
    with lock:
        print(r, flush=True)
threads = [threading.Thread(target=one) for _ in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
PY
count() { grep -c "^$1\$" "$2" || true; }
w=$MNT/results/gw/wait
as_user "$PY3" "$WORK/readers.py" "$w" 230 >"$WORK/wait.user" 2>&1 &
PIDS+=($!)
# 230 reads, more than the 16 a uid other than the owner's may have
# blocked: 16 block, the rest are refused at once.
wait_for 30 "refused reads of wait" 'test "$(count "err EBUSY" "$WORK/wait.user")" -ge 1'
wait_for 30 "$user's reads to settle" '
    n=$(wc -l <"$WORK/wait.user"); sleep 1; test "$(wc -l <"$WORK/wait.user")" = "$n"' 
assert_eq 214 "$(count "err EBUSY" "$WORK/wait.user")" "$user's refused reads of wait"
assert_eq 214 "$(wc -l <"$WORK/wait.user")" "$user's reads that ended before the set"
# Another user, and the owner, still wait.
as_user2 "$PY3" "$WORK/readers.py" "$w" 3 >"$WORK/wait.user2" 2>&1 &
PIDS+=($!)
cat "$w" >"$WORK/wait.owner" 2>"$WORK/wait.owner.err" &
owner_cat=$!
PIDS+=($owner_cat)
"$PY3" "$WORK/readers.py" "$w" 300 >"$WORK/wait.owners" 2>&1 &
PIDS+=($!)
sleep 2
kill -0 "$owner_cat" 2>/dev/null ||
    fail "the owner's read of wait ended early: $(cat "$WORK/wait.owner.err")"
assert_eq "" "$(cat "$WORK/wait.owner")" "the owner's wait before the set finished"
assert_eq "" "$(cat "$WORK/wait.user2")" "$user2's reads before the set finished"
assert_eq "" "$(cat "$WORK/wait.owners")" "the owner's 300 reads before the set finished"
assert_eq 214 "$(wc -l <"$WORK/wait.user")" "$user's reads that ended before the set"
# The set finishes: every blocked read returns its status.
touch "$WORK/gate"
wait_done gw 60
wait "$owner_cat" || fail "the owner's read of wait: $(cat "$WORK/wait.owner.err")"
assert_eq "$(cat "$MNT/results/gw/status")" "$(cat "$WORK/wait.owner")" "the owner's wait"
size=$(wc -c <"$WORK/wait.owner")
wait_for 10 "the other users' reads to end" \
    'test "$(wc -l <"$WORK/wait.user")" = 230 && test "$(wc -l <"$WORK/wait.user2")" = 3 &&
     test "$(wc -l <"$WORK/wait.owners")" = 300'
assert_eq 16 "$(count "ok $size" "$WORK/wait.user")" "$user's reads that waited"
assert_eq 3 "$(count "ok $size" "$WORK/wait.user2")" "$user2's reads that waited"
assert_eq 300 "$(count "ok $size" "$WORK/wait.owners")" "the owner's reads that waited"
# The slots were given back: the user may wait again.
assert_eq "ok $size" "$(as_user "$PY3" "$WORK/readers.py" "$w" 1)" "$user's wait of a done set"
log "PASS test_edge_k_allow_other"
