#!/usr/bin/env bash
# Reuse (issue 25, SPEC "Long sweeps on shared clusters"): a submit with
# "reuse": true fills each point whose experiment identity (the file's
# sha256), arguments and parameters match a successful result anywhere in
# the lab from that result (clab.reused_from TAG/N, clab.job the new
# job's), instead of running it; the experiment counts its runs in a log,
# so the test knows which points really ran. Without the flag nothing is
# reused; an edited experiment matches nothing; 1.0 is not 1; a failure
# is never reused; `/ctl recompute TAG` runs a set's reused points again
# as new results (new N), the reused files staying.
. "$(dirname "$0")/lib.sh"

mount_lab --engines 2

EXPF=$WORK/exp.py
RUNS=$WORK/runs
cat >"$EXPF" <<EOF
#!/usr/bin/env python3
# Logs each run; fails when x is 99.
import json, os, sys
p = json.loads(sys.stdin.readline())
with open("$RUNS", "a") as f:
    f.write("%s %s\n" % (p["x"], os.environ["CLAB_JOB"]))
if p["x"] == 99:
    sys.exit(3)
print(json.dumps({"y": 2 * p["x"]}))
EOF
chmod +x "$EXPF"
: >"$RUNS"
runs() { wc -l <"$RUNS"; }

# records TAG: one line per result file of the set: "N x reused_from
# attempt job", sorted by N ("-" for what a record lacks).
records() {
    python3 - "$MNT/results/$1" <<'PY'
import json, os, sys
d = sys.argv[1]
rows = []
for n in os.listdir(d):
    if n.endswith(".json") and n[:-5].isdigit():
        doc = json.load(open(os.path.join(d, n)))
        m = doc["metadata"]
        rows.append((int(n[:-5]), doc["parameters"]["x"], m.get("clab.reused_from", "-"),
                     m.get("clab.attempt", "-"), m.get("clab.job", "-")))
for r in sorted(rows):
    print(*r)
PY
}
reused() { records "$1" | awk '$3 != "-"' | wc -l; }

# (1) a: x in [0, 4), run.
submit "{\"experiment\": \"$EXPF\", \"tag\": \"a\", \"parameters\": {\"x\": {\"range\": [0, 4]}}}"
wait_done a 60
assert_eq 4 "$(runs)" "runs after a"

# (2) b: x in [0, 6) with reuse: the four of a are filled, two run.
submit "{\"experiment\": \"$EXPF\", \"tag\": \"b\", \"reuse\": true,
         \"parameters\": {\"x\": {\"range\": [0, 6]}}}"
wait_done b 60
assert_eq 6 "$(runs)" "runs after b"
assert_eq 4 "$(reused b)" "reused points of b"
assert_eq "done 1 results 6 failed 0 pending 0" \
    "$(for k in done results failed pending; do printf '%s %s ' $k "$(key "$MNT/results/b/status" $k)"; done | sed 's/ $//')" \
    "b's status"
assert_eq 7 "$(wc -l <"$MNT/results/b/results.csv")" "results.csv lines of b"
# Each reused record names a's result of the same x, and the new job.
records b | while read -r n x from attempt job; do
    if [ "$from" = - ]; then
        case $x in 4 | 5) ;; *) fail "b/$n (x $x) ran instead of being reused" ;; esac
        [ "$attempt" != - ] || fail "b/$n ran without clab.attempt"
        grep -q "^$x $job\$" "$RUNS" || fail "b/$n's job $job did not run x $x"
        continue
    fi
    src=$MNT/results/$from.json
    [ "${from%%/*}" = a ] || fail "b/$n reused from $from, not a"
    assert_eq "$x" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parameters"]["x"])' "$src")" "x of $from"
    [ "$job" != "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["clab.job"])' "$src")" ] ||
        fail "b/$n keeps the job of $from"
    if grep -q " $job\$" "$RUNS"; then fail "b/$n's job $job ran"; fi
done
assert_eq "" "$(grep -h reused_from "$MNT/results/a/"*.json)" "a's records"

# (3) a set made of reused points only is done at once: its wait returns.
submit "{\"experiment\": \"$EXPF\", \"tag\": \"w\", \"reuse\": true,
         \"parameters\": {\"x\": [1, 2]}}"
timeout 10 cat "$MNT/results/w/wait" >/dev/null || fail "wait of a reused-only set"
assert_eq 2 "$(reused w)" "reused points of w"
assert_eq 6 "$(runs)" "runs after w"

# (4) without the flag nothing is reused.
submit "{\"experiment\": \"$EXPF\", \"tag\": \"c\", \"parameters\": {\"x\": [0, 1]}}"
wait_done c 60
assert_eq 0 "$(reused c)" "reused points of c"
assert_eq 8 "$(runs)" "runs after c"

# (5) 1.0 is not 1: parameters match as typed JSON (the text the
# experiment reads differs).
submit "{\"experiment\": \"$EXPF\", \"tag\": \"t\", \"reuse\": true, \"parameters\": {\"x\": [1.0]}}"
wait_done t 60
assert_eq 0 "$(reused t)" "reused points of t (1.0)"
assert_eq 9 "$(runs)" "runs after t"

# (6) a failure is never reused.
submit "{\"experiment\": \"$EXPF\", \"tag\": \"f\", \"parameters\": {\"x\": [99]}}"
wait_done f 60
submit "{\"experiment\": \"$EXPF\", \"tag\": \"g\", \"reuse\": true, \"parameters\": {\"x\": [99]}}"
wait_done g 60
assert_eq 1 "$(key "$MNT/results/g/status" failed)" "failures of g"
assert_eq 11 "$(runs)" "runs after g"

# (7) recompute b: its four reused points run again as b/7..10; the
# reused files stay.
echo 'recompute b' >"$MNT/ctl"
wait_done b 60
assert_eq 15 "$(runs)" "runs after recompute b"
assert_eq 10 "$(key "$MNT/results/b/status" results)" "b's results after recompute"
assert_eq 4 "$(reused b)" "reused files of b after recompute"
assert_eq "7 8 9 10" "$(records b | awk '$1 > 6 && $3 == "-" { print $1 }' | paste -sd' ')" "recomputed N of b"
assert_eq "0 1 2 3" "$(records b | awk '$1 > 6 { print $2 }' | sort -n | paste -sd' ')" "recomputed x of b"
# A second recompute has nothing left to run.
echo 'recompute b' >"$MNT/ctl"
assert_eq 0 "$(key "$MNT/results/b/status" pending)" "b's pending after a second recompute"

# (8) an edited experiment matches nothing.
echo '# edited' >>"$EXPF"
submit "{\"experiment\": \"$EXPF\", \"tag\": \"e\", \"reuse\": true,
         \"parameters\": {\"x\": {\"range\": [0, 6]}}}"
wait_done e 60
assert_eq 0 "$(reused e)" "reused points of e (edited experiment)"
assert_eq 21 "$(runs)" "runs after e"

# (9) a bad value is refused with its position.
if printf '{"experiment": "%s", "reuse": 1, "parameters": {"x": [1]}}\n' "$EXPF" \
    >"$MNT/submit" 2>/dev/null; then
    fail "reuse: 1 accepted"
fi
grep -q 'field "reuse" must be true or false' "$MNT/errors" ||
    fail "no refusal of reuse: 1 in /errors: $(cat "$MNT/errors")"

unmount_lab
log "PASS test_reuse"
