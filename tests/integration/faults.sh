# Helpers of the fault tests (sourced after lib.sh): the exact count at the
# end of every scenario, and process handles to kill.

# pid_of PATTERN: the one process whose command line matches.
pid_of() { pgrep -f "$1" | head -n 1; }

# results_so_far TAG
results_so_far() { key "$MNT/results/$1/status" results; }

# wait_results TAG N [SECONDS]: until at least N results are in.
wait_results() {
    wait_for "${3:-60}" "$2 results of $1" "test \"\$(results_so_far $1)\" -ge $2 2>/dev/null"
}

# check_exact TAG POINTS: the set is done, results + failed = POINTS,
# nothing pending, every job id exactly once, and every point of the
# parameter i in 0..POINTS-1 exactly once across results and failures.
check_exact() {
    local tag=$1 points=$2 st=$MNT/results/$1/status
    assert_eq 0 "$(key "$st" pending)" "$tag pending"
    assert_eq "$points" $(($(key "$st" results) + $(key "$st" failed))) "$tag results + failed"
    assert_eq "$points" "$(key "$st" total)" "$tag total"
    python3 - "$MNT/results/$tag" "$points" <<'PY' || fail "$tag: exactly once"
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
jobs, points = [], []
for sub in (d, os.path.join(d, "failed")):
    for name in os.listdir(sub):
        if not (name.endswith(".json") and name[:-5].isdigit()):
            continue
        doc = json.load(open(os.path.join(sub, name)))
        jobs.append(doc["metadata"]["clab.job"])
        points.append(doc["parameters"]["i"])
dup = {j for j in jobs if jobs.count(j) > 1}
assert not dup, "duplicate job ids: %s" % sorted(dup)
assert sorted(points) == list(range(n)), "points: %s" % sorted(points)
PY
    # results.csv agrees with the files.
    assert_eq "$(key "$st" results)" $(($(wc -l <"$MNT/results/$tag/results.csv") - 1)) \
        "$tag results.csv rows"
}

# sweep TAG POINTS [SLEEP]: submits i in 0..POINTS-1 of sleepy.py.
sweep() {
    submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"$1\",
             \"parameters\": {\"i\": {\"range\": [0, $2]}, \"sleep\": ${3:-0.3}}}"
}

# start_detached N [controller options]: as lib.sh's start_cluster, with
# options for the controller; engines are named eng1..engN.
start_detached() {
    local n=$1 i
    shift
    "$CONTROLLER" --state "$WORK/cluster" "$@" >>"$WORK/controller.log" 2>&1 &
    PIDS+=($!)
    wait_for 15 "cluster.json" "test -s '$WORK/cluster/cluster.json'"
    for i in $(seq "$n"); do add_engine "eng$i"; done
}

# add_engine ID: one more engine for the detached cluster, on the engines'
# connection file.
add_engine() {
    "$ENGINE" --cluster "$WORK/cluster/engine.json" --id "$1" >>"$WORK/engine-$1.log" 2>&1 &
    PIDS+=($!)
}

# engine_pid ID: the engine of this test's detached cluster named ID
# (patterns name $WORK: other tests may run engines with the same names).
engine_pid() { pid_of "clab-engine --cluster $WORK/cluster/engine.json --id $1\$"; }

# Points that say when they start: logged TAG POINTS SLEEP submits i in
# 0..POINTS-1 of exp/edge_logged.py, which appends "TAG i" to $STARTS as it
# starts; started TAG counts those lines, running the experiments alive.
# What ran on the engines is read there, not in a log. The experiment is a
# copy in $WORK: tests run in parallel, and pgrep -f on the one in the
# source tree would count other tests' points too.
STARTS=$WORK/starts
: >"$STARTS"
LOGGED=$WORK/edge_logged.py
cp "$EXP/edge_logged.py" "$LOGGED"
logged() {
    submit "{\"experiment\": \"$LOGGED\", \"tag\": \"$1\",
             \"parameters\": {\"i\": {\"range\": [0, $2]}, \"sleep\": $3, \"log\": \"$STARTS\"}}"
}
started() { grep -c "^$1 " "$STARTS" || true; }
running() { pgrep -f "$LOGGED" | wc -l; }

# queued_at_controller [TAG]: tasks (of TAG) the embedded cluster's
# controller still means to run, queued or running, from its queue.
queued_at_controller() {
    python3 - "$STATE/cluster/controller.db" "${1:-}" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
q = "SELECT count(*) FROM tasks WHERE state < 2"
args = ()
if sys.argv[2]:
    q += " AND tag = ?"
    args = (sys.argv[2],)
print(db.execute(q, args).fetchone()[0])
PY
}

# queue_sql QUERY: one value from a detached controller's queue, $DB
# (default: start_detached's).
queue_sql() {
    python3 - "${DB:-$WORK/cluster/controller.db}" "$1" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1], timeout=10).execute(sys.argv[2]).fetchone()[0])
PY
}

# engines_of TAG: the clab.engine of every result of TAG, one a line.
engines_of() {
    python3 - "$MNT/results/$1" <<'PY'
import json, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    if n.endswith(".json") and n[:-5].isdigit():
        print(json.load(open(os.path.join(d, n)))["metadata"]["clab.engine"])
PY
}
