#!/usr/bin/env bash
# /submit through real clients: the read-back on the same descriptor, the
# errnos write(2) and close(2) give, /errors, and nothing changing on a
# rejected job.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 1

# Read-back: tag and points on the same open file.
exec 3<>"$MNT/submit"
printf '%s\n' "{\"experiment\": \"$EXP/trivial.sh\", \"parameters\": {\"x\": [1, 2], \"y\": {\"range\": [0, 3]}}, \"tag\": \"rb\", \"repetitions\": 2}" >&3
answer=$(cat <&3)
exec 3>&-
assert_eq "$(printf 'tag rb\npoints 12')" "$answer" "read-back"
wait_done rb
assert_eq 12 "$(key "$MNT/results/rb/status" results)" "repetitions x points"

# errnos, through python3's os.write/os.close (a real client that shows them).
python3 - "$MNT/submit" "$EXP/trivial.sh" <<'PY' || fail "errnos"
import errno, os, sys
path, exp = sys.argv[1], sys.argv[2]
def attempt(text):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        try:
            os.write(fd, text.encode())
        except OSError as e:
            return e.errno
    finally:
        try:
            os.close(fd)
        except OSError as e:
            return e.errno
    return 0
cases = [
    ('{"experiment": "%s", "parameters": {"a": [1,' % exp, errno.EINVAL),   # incomplete: at close
    ('not json', errno.EINVAL),
    ('{"experiment": "%s", "parameters": {"a": []}}' % exp, errno.EINVAL),
    ('{"experiment": "%s", "parameters": {}, "tag": "../x"}' % exp, errno.EINVAL),
    ('{"experiment": "%s", "parameters": {}, "colour": 1}' % exp, errno.EINVAL),
    ('/no/such/experiment {"a": 1}', errno.ENOENT),
    ('/etc/passwd {"a": 1}', errno.EACCES),
    ('%s {"a": {"range": [0, 2000000]}}' % exp, errno.E2BIG),
    ('%s {"a": 1}' % exp, 0),
]
bad = 0
for text, want in cases:
    got = attempt(text)
    if got != want:
        print("for %r: want %s, got %s" % (text, errno.errorcode.get(want, want),
                                           errno.errorcode.get(got, got)))
        bad = 1
sys.exit(bad)
PY

# Every rejection is in /errors with a caret; the accepted one is not.
assert_eq 8 "$(grep -c '^\[' "$MNT/errors")" "/errors records"
grep -q 'submit: ENOENT: experiment "/no/such/experiment": no such file' "$MNT/errors" ||
    fail "ENOENT record"
grep -q '\^$' "$MNT/errors" || fail "caret line"

# Rejected jobs changed nothing: two sets (rb and the last accepted one).
assert_eq 2 "$(ls "$MNT/results" | wc -l)" "sets after rejections"
# A write to a read-only file is refused.
( echo x >"$MNT/status" ) 2>/dev/null && fail "status is writable"
log "PASS test_submit_file"
