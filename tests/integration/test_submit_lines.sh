#!/usr/bin/env bash
# Issue 15 item 6 and epyc's if_exists through real shell redirections on
# a mount: an empty parameter name is refused (EINVAL); one write holding
# several jobs, one per line, is taken all or nothing in one notebook
# transaction and answered job by job; if_exists skip adds nothing and
# says `points 0`, if_exists error refuses with EEXIST; every refusal is
# in /errors and changes nothing.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 1
T=$EXP/trivial.sh
sets() { ls "$MNT/results" | sort | tr '\n' ' '; }
errors() { grep -c '] submit: ' "$MNT/errors" || true; }

# An empty parameter name.
if printf '{"experiment": "%s", "parameters": {"": [1, 2]}, "tag": "e"}\n' "$T" >"$MNT/submit" 2>/dev/null; then
    fail "an empty parameter name was accepted"
fi
assert_eq "" "$(sets)" "no set after the empty name"
grep -q 'parameter "": a parameter name must not be empty' "$MNT/errors" || fail "no reason in /errors"
assert_eq 1 "$(errors)" "/errors records"

# Three jobs, one per line (the second pretty-printed over two lines, the
# third the shorthand), through printf, which writes line by line: three
# sets, and the answer on the descriptor lists each.
exec 3<>"$MNT/submit"
printf '{"experiment": "%s", "parameters": {"x": [1, 2]}, "tag": "a"}\n{"experiment": "%s",\n "parameters": {"x": [1, 2, 3]}, "tag": "b"}\n%s {"y": [1]}\n' "$T" "$T" "$T" >&3
answer=$(cat <&3)
exec 3>&-
assert_eq "$(printf 'tag a\npoints 2\ntag b\npoints 3')" "$(printf '%s\n' "$answer" | head -n 4)" "the answer lists every job"
printf '%s\n' "$answer" | sed -n 5p | grep -q '^tag set-' || fail "third job's tag: $answer"
assert_eq "points 1" "$(printf '%s\n' "$answer" | sed -n 6p)" "third job's points"
wait_done a
wait_done b
assert_eq 2 "$(key "$MNT/results/a/status" results)" "set a"
assert_eq 3 "$(key "$MNT/results/b/status" results)" "set b"
assert_eq 3 "$(ls "$MNT/results" | wc -l)" "three sets"

# One write(2) holding several jobs (python's os.write, or cat of a small
# file) is all or nothing: a good job then a bad one adds nothing, and so
# does a job followed by another on the same line.
python3 - "$MNT/submit" "$T" <<'PY' || fail "all or nothing"
import errno, os, sys
path, exp = sys.argv[1:]
good = '{"experiment": "%s", "parameters": {"x": [7]}, "tag": "c"}' % exp
for text, want in [(good + '\n/no/such {"x": 1}\n', errno.ENOENT),
                   (good + ' {"x": 2}\n', errno.EINVAL),
                   (good + '\n{"experiment": "%s", "parameters": {"": 1}}\n' % exp, errno.EINVAL)]:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
        sys.exit("accepted: %r" % text)
    except OSError as e:
        if e.errno != want:
            sys.exit("%r: errno %s" % (text, errno.errorcode.get(e.errno)))
    finally:
        os.close(fd)
fd = os.open(path, os.O_RDWR)
os.write(fd, (good + '\n' + good.replace('"c"', '"c2"') + '\n').encode())
answer = os.read(fd, 4096).decode()
os.close(fd)
if answer != "tag c\npoints 1\ntag c2\npoints 1\n":
    sys.exit("answer %r" % answer)
PY
assert_eq 1 "$(key "$MNT/results/c/status" total)" "set c: only the accepted write"
assert_eq 4 "$(errors)" "/errors records"
tail -n 12 "$MNT/errors" | grep -q 'one job per line' || fail "no reason for two jobs on a line"

# if_exists: skip answers points 0 and adds nothing; error is EEXIST; add
# (the default) adds.
exec 3<>"$MNT/submit"
printf '{"experiment": "%s", "parameters": {"x": [5, 6]}, "tag": "a", "if_exists": "skip"}\n' "$T" >&3
answer=$(cat <&3)
exec 3>&-
assert_eq "$(printf 'tag a\npoints 0')" "$answer" "skip's answer"
assert_eq 2 "$(key "$MNT/results/a/status" total)" "skip added nothing"
python3 - "$MNT/submit" "$T" <<'PY' || fail "if_exists error"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, ('{"experiment": "%s", "parameters": {"x": [5]}, "tag": "a", "if_exists": "error"}\n' % sys.argv[2]).encode())
    sys.exit("accepted")
except OSError as e:
    if e.errno != errno.EEXIST:
        sys.exit("errno %s" % errno.errorcode.get(e.errno))
finally:
    os.close(fd)
PY
tail -n 4 "$MNT/errors" | grep -q 'EEXIST: result set "a" exists' || { tail -n 4 "$MNT/errors" >&2; fail "no EEXIST record"; }
tail -n 4 "$MNT/errors" | grep -q '^ *\^' || fail "no caret for EEXIST"
assert_eq 2 "$(key "$MNT/results/a/status" total)" "error added nothing"
# skip and error on a new tag create it; add extends.
submit "{\"experiment\": \"$T\", \"parameters\": {\"x\": [1]}, \"tag\": \"d\", \"if_exists\": \"error\"}"
submit "{\"experiment\": \"$T\", \"parameters\": {\"x\": [2]}, \"tag\": \"d\", \"if_exists\": \"add\"}"
assert_eq 2 "$(key "$MNT/results/d/status" total)" "error then add on a new tag"
if printf '{"experiment": "%s", "parameters": {}, "if_exists": "maybe"}\n' "$T" >"$MNT/submit" 2>/dev/null; then
    fail "if_exists maybe accepted"
fi
