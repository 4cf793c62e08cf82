#!/usr/bin/env bash
# Submits one SIR sweep per population size, then waits for each set in
# turn and prints a summary line as soon as it is done:
#
#   sweep_wait.sh MOUNT [N ...]        (default sizes: 200 500 1000)
#
# Reading MOUNT/results/TAG/wait blocks until nothing of TAG is pending,
# then returns its status; Ctrl-C interrupts it. Output, one line per set:
#   TAG results R failed F mean_final_size M
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: sweep_wait.sh MOUNT [N ...]" >&2
    exit 2
fi
mnt=$1
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(200 500 1000)
exp=$(cd "$(dirname "$0")" && pwd)/sir.py

for n in "${sizes[@]}"; do
    printf '{"experiment": "%s", "tag": "sir-N%s", "parameters": {"N": %s, "beta": [0.2, 0.4], "seed": {"range": [0, 5]}}}\n' \
        "$exp" "$n" "$n" >"$mnt/submit"
done

for n in "${sizes[@]}"; do
    tag=sir-N$n
    status=$(cat "$mnt/results/$tag/wait")
    awk -F, -v tag="$tag" -v status="$status" '
        BEGIN {
            split(status, lines, "\n")
            for (i in lines) { split(lines[i], kv, " "); st[kv[1]] = kv[2] }
        }
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { sum += $col["final_size"]; n++ }
        END {
            printf "%s results %d failed %d mean_final_size %s\n", tag, st["results"],
                st["failed"], n ? sprintf("%.6f", sum / n) : "NA"
        }' "$mnt/results/$tag/results.csv"
done
