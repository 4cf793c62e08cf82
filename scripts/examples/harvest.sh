#!/bin/sh
# Cron-style harvest of a clabfs result set: appends the results that are
# new since the last run to a local CSV, and does nothing when there are
# none. Run it as often as you like (it takes a lock, so runs never mix):
#
#   harvest.sh MOUNT/results/TAG/results.csv LOCAL.csv
#   */10 * * * * /path/to/harvest.sh ~/lab/results/sir/results.csv ~/sir.csv
#
# results.csv only grows while no new result column appears: rows come in
# completion order and never change, so the local copy is a prefix of it
# and the new bytes are appended. When a new column rewrites the header,
# the local copy is replaced whole. Either way it ends up byte for byte
# equal to results.csv as it was when this run read it.
set -eu
if [ $# -ne 2 ]; then
    echo "usage: harvest.sh MOUNT/results/TAG/results.csv LOCAL.csv" >&2
    exit 2
fi
src=$1
dst=$2

exec 9>>"$dst.lock"
flock 9
tmp=$(mktemp "$dst.XXXXXX")
trap 'rm -f "$tmp"' EXIT

# One open of results.csv is one state of the table, however many results
# arrive while it is read.
cp "$src" "$tmp"
have=$(stat -c %s "$dst" 2>/dev/null || echo 0)
if [ "$have" -gt 0 ] && cmp -s -n "$have" "$dst" "$tmp"; then
    tail -c +"$((have + 1))" "$tmp" >>"$dst"
else
    mv "$tmp" "$dst"
fi
