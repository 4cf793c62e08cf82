#!/usr/bin/env bash
# A set deleted and submitted again under its tag is a new set with new
# inode numbers (issue 22): what still holds the old one answers ENOENT,
# as a deleted directory does, instead of showing the new set through an
# old handle. A process holding the old set's directory open (fstat,
# listing through the descriptor), and one whose working directory it is
# (a path resolved before the delete: stat ., ls), get ENOENT; the tag's
# path names the new set, with another inode number, at once.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2
sweep() { # TAG N
    submit "{\"experiment\": \"$EXP/sum.py\", \"tag\": \"$1\",
             \"parameters\": {\"a\": {\"range\": [0, $2]}, \"b\": 1}}"
    wait_done "$1" 60
}
sweep s 3
set_dir=$MNT/results/s
old_ino=$(stat -c %i "$set_dir")
old_result=$(stat -c %i "$set_dir/1.json")

# holder.py DIR: holds DIR open and makes it its working directory; on
# each line of stdin, answers how fstat, a listing through the descriptor,
# stat "." and a listing of "." end: "ino N", "n N" or the errno's name.
cat >"$WORK/holder.py" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
os.chdir(sys.argv[1])
def try_(f):
    try:
        return f()
    except OSError as e:
        return errno.errorcode[e.errno]
for _ in sys.stdin:
    print(try_(lambda: "ino %d" % os.fstat(fd).st_ino),
          try_(lambda: "n %d" % len(os.listdir(fd))),
          try_(lambda: "ino %d" % os.stat(".").st_ino),
          try_(lambda: "n %d" % len(os.listdir("."))), sep=",", flush=True)
PY
coproc HOLDER { python3 "$WORK/holder.py" "$set_dir"; }
PIDS+=("$HOLDER_PID")
ask() { echo >&"${HOLDER[1]}"; read -r -t 10 line <&"${HOLDER[0]}" || fail "holder silent"; echo "$line"; }
n=$(ls -A "$set_dir" | wc -l)
assert_eq "ino $old_ino,n $n,ino $old_ino,n $n" "$(ask)" "the held set before the delete"

echo "delete s" >"$MNT/ctl"
sweep s 5
new_ino=$(stat -c %i "$set_dir")
[ "$new_ino" != "$old_ino" ] || fail "the new set s has the old one's inode number $old_ino"
[ "$(stat -c %i "$set_dir/1.json")" != "$old_result" ] || fail "1.json kept its inode number"
assert_eq 5 "$(key "$set_dir/status" results)" "the new set's results"
assert_eq "ENOENT,ENOENT,ENOENT,ENOENT" "$(ask)" "the held old set after delete and resubmit"
assert_eq 5 "$(ls "$set_dir" | grep -c '[0-9]\.json$')" "results listed by the tag's path"
exec {HOLDER[1]}>&-
log "PASS test_views_stale"
