#!/usr/bin/env bash
# The harvest figures of run.sh alone, to measure a change to the read path
# without producing the results again: the first run makes a set of N noop
# results in SEED (kept); every run copies SEED to a scratch state, mounts
# it, and times ls -f / ls -l of results/TAG and cat of results.csv/.tsv
# next to ls -l of a tmpfs dir with as many files and sqlite3 -csv of the
# notebook. Prints medians of 3; asserts nothing.
#
#   tests/bench/harvest.sh SEED [N]     (CLAB_BUILD: default ./build)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
B=${CLAB_BUILD:-$PWD/build}
SEED=$1 N=${2:-100000}
W=$(mktemp -d /tmp/clabharvest.XXXXXX)
M=$W/mnt PID=
cleanup() {
    fusermount3 -u "$M" 2>/dev/null
    mountpoint -q "$W/tmp" && umount "$W/tmp"
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
key() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }
t() { local a=$EPOCHREALTIME; "$@" >/dev/null || return 1; awk -v a=$a -v b=$EPOCHREALTIME 'BEGIN{printf "%.3f", b-a}'; }
med() { printf '%s\n%s\n%s\n' "$(t "$@")" "$(t "$@")" "$(t "$@")" | sort -g | sed -n 2p; }
mount_at() { # STATE
    mkdir -p "$M"
    "$B/fs/clabfs" -f --state "$1" --engines 2 "$M" >>"$W/clabfs.log" 2>&1 &
    PID=$!
    for _ in $(seq 600); do [ "$(key "$M/status" connected)" = 1 ] && return 0; sleep 0.1; done
    return 1
}
if [ ! -s "$SEED/notebook.db" ]; then
    mkdir -p "$SEED"
    mount_at "$SEED" || exit 1
    printf '{"experiment": "%s", "tag": "hv", "parameters": {"i": {"range": [0, %d]}}}\n' \
        "$B/tests/clab-bench-noop" "$N" >"$M/submit"
    until [ "$(key "$M/results/hv/status" done)" = 1 ]; do sleep 1; done
    fusermount3 -u "$M"; wait "$PID"; PID=
fi
cp -a "$SEED" "$W/state"
rm -rf "$W/state/cluster"
mount_at "$W/state" || { cat "$W/clabfs.log"; exit 1; }
d=$M/results/hv
ls -f "$d" >"$W/listing"
n=$(grep -vc '^\.\.\?$' "$W/listing")
echo "entries $n"
echo "ls -f clabfs $(med ls -f "$d")"
echo "ls -l clabfs $(med ls -l "$d")"
mkdir -p "$W/tmp" && mount -t tmpfs -o size=256m,nr_inodes=2000000 tmpfs "$W/tmp" &&
    python3 "$here/bench.py" mkfiles "$W/tmp" "$W/listing" >/dev/null &&
    echo "ls -l tmpfs  $(med ls -l "$W/tmp")"
for ext in csv tsv jsonl; do echo "cat results.$ext $(med cat "$d/results.$ext")"; done
for kind in csv jsonl; do
    sql=$(python3 "$here/bench.py" sql "$W/state/notebook.db" hv $kind)
    mode=-csv; [ $kind = jsonl ] && mode=-list
    echo "sqlite3 $mode $(med sqlite3 -readonly $mode -header "$W/state/notebook.db" "$sql")"
done
cat "$d/results.csv" | md5sum | sed 's/^/csv md5 /'
ls -l "$d" | md5sum | sed 's/^/ls -l md5 /'
