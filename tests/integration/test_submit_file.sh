#!/usr/bin/env bash
# /submit through real clients: the read-back on the same descriptor, the
# errnos write(2) and close(2) give (and which of the two fails), /errors
# with the caret at the exact column, and nothing changing on a rejected job.
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

# errnos, through python3's os.write/os.close (a real client that shows
# which call fails): an incomplete text fails at close and only there,
# every other rejection at write. Then every rejection is in /errors, in
# order, with the right column, and the caret exactly under that column of
# the quoted text.
python3 - "$MNT/submit" "$EXP/trivial.sh" "$MNT/errors" <<'PY' || fail "errnos and carets"
import errno, os, re, sys
path, exp, errors = sys.argv[1:]
def attempt(text):
    """("write" or "close" or None, errno) of one open/write/close."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    failed = None
    try:
        os.write(fd, text.encode())
    except OSError as e:
        failed = ("write", e.errno)
    try:
        os.close(fd)
    except OSError as e:
        failed = failed and ("write and close", failed[1]) or ("close", e.errno)
    return failed or (None, 0)
# (text, errno, the call that fails, where the caret goes: a substring it
# points at the start of, None for the end of the text)
cases = [
    ('{"experiment": "%s", "parameters": {"a": [1,' % exp, errno.EINVAL, "close", None),
    ('not json', errno.EINVAL, "write", 'not json'),
    ('{"experiment": "%s", "parameters": {"a": []}}' % exp, errno.EINVAL, "write", '"a": []'),
    ('{"experiment": "%s", "parameters": {}, "tag": "../x"}' % exp, errno.EINVAL, "write", '"tag"'),
    ('{"experiment": "%s", "parameters": {}, "colour": 1}' % exp, errno.EINVAL, "write", '"colour"'),
    ('/no/such/experiment {"a": 1}', errno.ENOENT, "write", '/no/such'),
    ('/etc/passwd {"a": 1}', errno.EACCES, "write", '/etc/passwd'),
    ('%s {"a": {"range": [0, 2000000]}}' % exp, errno.E2BIG, "write", '{"a"'),
    ('%s {"a": 1}' % exp, 0, None, None),
]
bad = 0
for text, want, call, _ in cases:
    got_call, got = attempt(text)
    if (got_call, got) != (call, want):
        print("for %r: want %s at %s, got %s at %s" % (text, errno.errorcode.get(want, want), call,
              errno.errorcode.get(got, got), got_call))
        bad = 1
records = re.findall(r"^\[[^]]*\] submit: .*?(?=^\[|\Z)", open(errors).read(), re.S | re.M)
rejected = [c for c in cases if c[1]]
if len(records) != len(rejected):
    print("/errors has %d records, want %d" % (len(records), len(rejected)))
    sys.exit(1)
lead = "  Command: "
for (text, want, _, at), rec in zip(rejected, records):
    lines = rec.rstrip("\n").split("\n")
    col = len(text) + 1 if at is None else text.index(at) + 1
    ok = (len(lines) == 4 and lines[0].split("] submit: ")[1].startswith(errno.errorcode[want] + ": ")
          and lines[1] == "  at line 1, column %d" % col and lines[2].startswith(lead)
          and re.fullmatch(r" *\^", lines[3]) is not None)
    if ok:
        # The quoted text is a window of the job; the caret stands under
        # the column's character (one past the end for the end of text).
        shown = lines[2][len(lead):]
        where = text.find(shown)
        ok = where >= 0 and where + len(lines[3]) - 1 - len(lead) == col - 1
    if not ok:
        print("record for %r, want column %d:\n%s" % (text, col, rec))
        bad = 1
sys.exit(bad)
PY
assert_eq 8 "$(grep -c '^\[' "$MNT/errors")" "/errors records"
grep -q 'submit: ENOENT: experiment "/no/such/experiment": no such file' "$MNT/errors" ||
    fail "ENOENT record"
grep -q '\^$' "$MNT/errors" || fail "caret line"

# Rejected jobs changed nothing: two sets (rb and the last accepted one).
assert_eq 2 "$(ls "$MNT/results" | wc -l)" "sets after rejections"
# A write to a read-only file is refused.
( echo x >"$MNT/status" ) 2>/dev/null && fail "status is writable"
log "PASS test_submit_file"
