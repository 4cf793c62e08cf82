#!/bin/sh
# Issue 8's size limits: no function over MAX_FN lines (signature line to
# closing brace) and no source file over MAX_FILE lines, in every *.c of
# the directories given. clang-format's Linux brace style puts a function's
# braces alone in column 0 and its signature's first line in column 0.
# usage: check_sizes.sh MAX_FN MAX_FILE DIR...
max_fn=$1 max_file=$2
shift 2
status=0
for dir in "$@"; do
    for f in "$dir"/*.c; do
        n=$(wc -l <"$f")
        if [ "$n" -gt "$max_file" ]; then
            echo "$f: $n lines (limit $max_file)"
            status=1
        fi
        awk -v max="$max_fn" -v file="$f" '
            /^[A-Za-z_]/ { sig = NR; name = $0 }
            /^\{$/ { start = sig; fn = name }
            /^\}/ && start {
                n = NR - start + 1
                if (n > max) { printf "%s:%d: %s: %d lines (limit %d)\n", file, start, fn, n, max; bad = 1 }
                start = 0
            }
            END { exit bad }' "$f" || status=1
    done
done
exit $status
