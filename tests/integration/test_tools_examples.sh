#!/usr/bin/env bash
# The examples in scripts/examples/ with the real programs: the R script
# (read.csv, mean and sd per parameter, a PNG, the table it plotted), the
# gnuplot script (a PNG from results.tsv), the cron-style harvest (appends
# only new results, idempotent, survives a new column) and the shell loop
# over wait.
. "$(dirname "$0")/lib.sh"

EX=$CLAB_SRC/scripts/examples
for tool in Rscript gnuplot flock cmp; do
    command -v $tool >/dev/null || fail "$tool is not installed (scripts/deps.sh installs it)"
done

# is_png FILE MIN_BYTES
is_png() {
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$1 is not a PNG"
    [ "$(stat -c %s "$1")" -ge "$2" ] || fail "$1 is only $(stat -c %s "$1") bytes"
}

mount_lab --engines 2

# An SIR sweep: 3 values of beta, 6 seeds each.
submit "{\"experiment\": \"$EX/sir.py\", \"parameters\": {\"beta\": [0.2, 0.3, 0.5], \"N\": 300, \"seed\": {\"range\": [0, 6]}}, \"tag\": \"sir\"}"
cat "$MNT/results/sir/wait" >/dev/null
csv=$MNT/results/sir/results.csv
assert_eq 19 "$(wc -l <"$csv")" "sir rows"

# R: the table it plots is awk's mean and sd of final_size per beta.
Rscript "$EX/mean_sd.R" "$csv" beta final_size "$WORK/r.png" >"$WORK/r.out" 2>"$WORK/r.err" ||
    fail "mean_sd.R: $(cat "$WORK/r.err")"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { b = $col["beta"]; y = $col["final_size"]; n[b]++; s[b] += y; ss[b] += y * y; v[b, n[b]] = y }
    END {
        for (b in n) {
            m = s[b] / n[b]; d = 0
            for (i = 1; i <= n[b]; i++) d += (v[b, i] - m) ^ 2
            printf "%s %d %.6f %.6f\n", b, n[b], m, sqrt(d / (n[b] - 1))
        }
    }' "$csv" | sort -n >"$WORK/awk.out"
assert_eq "$(cat "$WORK/awk.out")" "$(cat "$WORK/r.out")" "R's table of means against awk's"
assert_eq 3 "$(wc -l <"$WORK/r.out")" "R's table rows"
is_png "$WORK/r.png" 4000

# gnuplot: one point per result.
gnuplot -e "tsv='$MNT/results/sir/results.tsv'; x='beta'; y='final_size'; out='$WORK/g.png'" \
    "$EX/plot.gp" >"$WORK/g.out" 2>&1 || fail "plot.gp: $(cat "$WORK/g.out")"
assert_eq "18 points" "$(cat "$WORK/g.out")" "gnuplot's count"
is_png "$WORK/g.png" 4000

# harvest.sh: runs while results arrive only ever append; at rest the local
# CSV is results.csv, and running again changes nothing.
cat >"$WORK/exp.sh" <<'EOF'
#!/bin/sh
read -r p
sleep 0.05
x=$(echo "$p" | sed 's/.*"x":\([0-9]*\).*/\1/')
if [ "$x" -ge 1000 ]; then
    echo "{\"v\": $x, \"w\": \"new, column\"}"
else
    echo "{\"v\": $x}"
fi
EOF
chmod +x "$WORK/exp.sh"
submit "{\"experiment\": \"$WORK/exp.sh\", \"parameters\": {\"x\": {\"range\": [0, 120]}}, \"tag\": \"h\"}"
src=$MNT/results/h/results.csv
local_csv=$WORK/harvest/h.csv
mkdir -p "$WORK/harvest"
runs=0
while [ "$(key "$MNT/results/h/status" done)" != 1 ]; do
    [ -f "$local_csv" ] && cp "$local_csv" "$WORK/before.csv" || : >"$WORK/before.csv"
    "$EX/harvest.sh" "$src" "$local_csv" || fail "harvest.sh"
    # Only appends, but for the header alone (the table before the first
    # result), which the first result's columns rewrite.
    [ "$(cat "$WORK/before.csv")" = x ] ||
        cmp -s -n "$(stat -c %s "$WORK/before.csv")" "$WORK/before.csv" "$local_csv" ||
        fail "a harvest run changed what it had"
    runs=$((runs + 1))
    sleep 0.2
done
[ $runs -ge 3 ] || fail "only $runs harvests while results arrived"
# Two at once, as overlapping cron runs would.
"$EX/harvest.sh" "$src" "$local_csv" &
h1=$!
"$EX/harvest.sh" "$src" "$local_csv" &
h2=$!
wait $h1 || fail "harvest.sh (first of two)"
wait $h2 || fail "harvest.sh (second of two)"
cmp "$local_csv" "$src" || fail "harvested CSV differs from results.csv"
m=$(stat -c %Y.%s "$local_csv")
sleep 1.1
"$EX/harvest.sh" "$src" "$local_csv"
assert_eq "$m" "$(stat -c %Y.%s "$local_csv")" "a run with nothing new"
assert_eq "$(seq 0 119)" "$(tail -n +2 "$local_csv" | cut -d, -f2 | sort -n)" "each result once"
# A new column rewrites the header: the local copy follows.
submit "{\"experiment\": \"$WORK/exp.sh\", \"parameters\": {\"x\": {\"range\": [1000, 1010]}}, \"tag\": \"h\"}"
cat "$MNT/results/h/wait" >/dev/null
"$EX/harvest.sh" "$src" "$local_csv"
cmp "$local_csv" "$src" || fail "harvested CSV after a new column"
assert_eq 131 "$(wc -l <"$local_csv")" "rows after the new column"
assert_eq x,v,w "$(head -n 1 "$local_csv" | cut -d, -f1-3)" "header after the new column"
log "harvest: $runs runs while results arrived"

# sweep_wait.sh: one line per set, each after its wait returned.
"$EX/sweep_wait.sh" "$MNT" 100 200 >"$WORK/sweep.out" 2>&1 || fail "sweep_wait.sh: $(cat "$WORK/sweep.out")"
python3 - "$MNT/results" "$WORK/sweep.out" <<'EOF' || fail "sweep_wait.sh output"
import json, os, sys
results, out = sys.argv[1], open(sys.argv[2]).read().splitlines()
assert len(out) == 2, out
for line, n in zip(out, (100, 200)):
    tag = f"sir-N{n}"
    d = f"{results}/{tag}"
    docs = [json.load(open(f"{d}/{f}")) for f in os.listdir(d) if f.endswith(".json") and f[:-5].isdigit()]
    assert len(docs) == 10 and all(doc["parameters"]["N"] == n for doc in docs)
    mean = sum(doc["results"]["final_size"] for doc in docs) / len(docs)
    assert line == f"{tag} results 10 failed 0 mean_final_size {mean:.6f}", (line, mean)
print("sweep_wait.sh: " + " | ".join(out))
EOF
log "PASS test_tools_examples"
