#!/usr/bin/env bash
# Edge 8: -o allow_other lets other local users into the mount, and
# /submit runs code as the mount's owner. clabfs accepts allow_other only
# with default_permissions (refused at start, exit status 2, otherwise), and
# /submit and /ctl answer EACCES to any uid but the owner's, even to one
# whose capabilities pass the permission check (CAP_DAC_OVERRIDE). Shown on
# a real mount with a user made for the test: the errno it gets, and the
# notebook (sets, jobs) and the experiment's marker unchanged.
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
as_user() { setpriv --reuid="$user" --regid="$user" --clear-groups -- "$@"; }
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
log "PASS test_edge_k_allow_other"
