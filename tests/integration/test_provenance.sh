#!/usr/bin/env bash
# Where a number came from (issue 25, SPEC "Long sweeps on shared
# clusters", Provenance): every record carries clab.experiment_sha256 (the
# experiment file's sha256 as the mount read it at submit) and
# clab.attempt (which dispatch of the point produced it, as the controller
# counts them); a point whose engine is killed under it and that runs
# again says 2; an engine that claims other values in its records is
# overridden; they survive cp -r. results/TAG/provenance says who
# submitted what from where: the user and host, the experiment and its
# sha256, and the commit of the git repository holding it, clean or
# dirty, read from .git (a repository made here), and clabfs's version.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
ROGUE="/usr/bin/python3 $CLAB_SRC/tests/integration/rogue_engine.py"

start_detached 2 --heartbeat-timeout 3
mount_lab --cluster "$WORK/cluster/cluster.json"
wait_for 30 "2 engines" 'test "$(key "$MNT/status" engines)" = 2'

# The experiment lives in a git repository of the test's own.
REPO=$WORK/repo
mkdir -p "$REPO/sub"
cp "$EXP/sleepy.py" "$REPO/sub/exp.py"
EXPFILE=$REPO/sub/exp.py
# An mtime in the past: a file written in the second its index is
# written is "racily clean" to git, which may smudge its entry.
touch -d '-1 minute' "$EXPFILE"
git -C "$REPO" init -q
git -C "$REPO" add sub/exp.py
git -C "$REPO" -c user.name=t -c user.email=t@t commit -q -m exp
COMMIT=$(git -C "$REPO" rev-parse HEAD)
SHA=$(sha256sum "$EXPFILE" | cut -d' ' -f1)
VERSION=$("$CLABFS" --version | awk '{ print $2 }')

# provenance_is TAG SHA DIRTY [MORE]: the set's provenance file, exactly.
provenance_is() {
    local want
    want=$(printf '%s\n' "user $(id -un)" "uid $(id -u)" "host $(hostname)" \
        "experiment $EXPFILE" "experiment_sha256 $2" "module -" "module_sha256 -" \
        "git_repository $REPO" "git_commit $COMMIT" "git_dirty $3" \
        "clabfs_version $VERSION")
    [ $# -lt 4 ] || want=$4$'\n\n'$want
    assert_eq "$want" "$(cat "$MNT/results/$1/provenance")" "results/$1/provenance"
}

# records DIR: one line per record of the set in DIR (results and
# failures): "attempt sha256 engine", sorted.
records() {
    python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
for sub in (d, os.path.join(d, "failed")):
    for n in os.listdir(sub):
        if n.endswith(".json") and n[:-5].isdigit():
            m = json.load(open(os.path.join(sub, n)))["metadata"]
            print(m.get("clab.attempt", "-"), m.get("clab.experiment_sha256", "-"),
                  m.get("clab.engine", "-"))
PY
}

# (1) A set that runs once: attempt 1 and the file's sha256 on each record.
submit "{\"experiment\": \"$EXPFILE\", \"tag\": \"a\",
         \"parameters\": {\"i\": {\"range\": [0, 6]}, \"sleep\": 0.1}}"
wait_done a 60
assert_eq 6 "$(records "$MNT/results/a" | grep -c "^1 $SHA ")" "records of a with attempt 1"
# The stored document is the file's content: a copy says the same.
cp -r "$MNT/results/a" "$WORK/copy-a"
assert_eq 6 "$(records "$WORK/copy-a" | grep -c "^1 $SHA ")" "copied records of a"
provenance_is a "$SHA" no
assert_eq 444 "$(stat -c %a "$MNT/results/a/provenance")" "results/a/provenance's mode"
# The tables carry them as metadata columns, as they do clab.engine.
head -n 1 "$MNT/results/a/results.csv" | grep -q 'clab.attempt' ||
    fail "results.csv has no clab.attempt column: $(head -n 1 "$MNT/results/a/results.csv")"

# (2) eng1 killed in the middle of its points: what it held runs again,
# and says so.
submit "{\"experiment\": \"$EXPFILE\", \"tag\": \"k\",
         \"parameters\": {\"i\": {\"range\": [0, 8]}, \"sleep\": 1.5}}"
wait_for 30 "both engines to run a point of k" "test \"\$(pgrep -fc '$EXPFILE')\" -ge 2"
kill -9 "$(engine_pid eng1)"
wait_for 30 "the controller to drop eng1" 'test "$(key "$MNT/status" engines)" = 1'
wait_done k 120
check_exact k 8
records "$MNT/results/k" >"$WORK/k.records"
assert_eq 0 "$(grep -vc "^[12] $SHA eng2\$" "$WORK/k.records")" \
    "records of k other than attempt 1 or 2 of eng2: $(cat "$WORK/k.records")"
grep -q "^2 $SHA eng2\$" "$WORK/k.records" ||
    fail "no record of k says attempt 2: $(cat "$WORK/k.records")"

# (3) A lying engine: a peer with the engines' file that really is
# dispatched to, and claims attempt 7 and a sha256 of zeros in every
# record it sends. eng2 is stopped and dropped first, so that every point
# goes to the liar.
kill -9 "$(engine_pid eng2)"
wait_for 30 "the controller to drop eng2" 'test "$(key "$MNT/status" engines)" = 0'
$ROGUE "$WORK/cluster/engine.json" liar-1 liar 12 >"$WORK/liar.out" 2>&1 &
liar=$!
PIDS+=($liar)
wait_for 20 "the liar to join" 'test "$(key "$MNT/status" engines)" = 1'
submit "{\"experiment\": \"$EXPFILE\", \"tag\": \"l\",
         \"parameters\": {\"i\": {\"range\": [0, 3]}}}"
wait_done l 30
records "$MNT/results/l" >"$WORK/l.records"
assert_eq 3 "$(grep -c "^1 $SHA liar-1\$" "$WORK/l.records")" \
    "the liar's records, with the controller's attempt and the mount's sha256: $(cat "$WORK/l.records")"
# Only the mount says a point was reused: the liar's claim is not stored.
assert_eq 0 "$(grep -l '"clab.reused_from"' "$MNT"/results/l/[0-9]*.json 2>/dev/null | wc -l)" \
    "records of l that claim to be reused"
wait "$liar" || true

# (4) The experiment edited after its commit: the work tree is dirty, and
# a new set says so, with the new sha256. Set a, extended with it, lists
# both submits, oldest first.
first=$(cat "$MNT/results/a/provenance")
echo '# edited' >>"$EXPFILE"
SHA2=$(sha256sum "$EXPFILE" | cut -d' ' -f1)
add_engine eng3
wait_for 20 "eng3 to join" 'test "$(key "$MNT/status" engines)" = 1'
submit "{\"experiment\": \"$EXPFILE\", \"tag\": \"d\",
         \"parameters\": {\"i\": 1, \"sleep\": 0}}"
wait_done d 30
provenance_is d "$SHA2" yes
assert_eq "1 $SHA2 eng3" "$(records "$MNT/results/d")" "the record of d"
submit "{\"experiment\": \"$EXPFILE\", \"tag\": \"a\",
         \"parameters\": {\"i\": 9, \"sleep\": 0}}"
provenance_is a "$SHA2" yes "$first"
# The same files again add nothing.
submit "{\"experiment\": \"$EXPFILE\", \"tag\": \"a\",
         \"parameters\": {\"i\": 10, \"sleep\": 0}}"
provenance_is a "$SHA2" yes "$first"
# Points that never ran (cancelled) carry the sha256, and no attempt.
submit "{\"experiment\": \"$EXPFILE\", \"tag\": \"c\",
         \"parameters\": {\"i\": {\"range\": [0, 4]}, \"sleep\": 30}}"
echo "cancel c" >"$MNT/ctl"
wait_done c 30
assert_eq "4 - $SHA2" "$(records "$MNT/results/c" | awk '$1 == "-" && $2 == sha { n++ } END { print n + 0 " - " sha }' sha="$SHA2")" \
    "cancelled records of c"
# clab-python: the module it imports (a dotted name under --path), its
# sha256, and the commit of the module's repository, not clab-python's.
mkdir -p "$REPO/pkg"
printf 'def f(p):\n    return {"y": 1}\n' >"$REPO/pkg/model.py"
submit "{\"experiment\": \"$CLAB_SRC/scripts/clab-python\", \"tag\": \"py\",
         \"arguments\": [\"pkg.model:f\", \"--path\", \"$REPO\"],
         \"parameters\": {\"i\": 1}}"
assert_eq "module $REPO/pkg/model.py|module_sha256 $(sha256sum "$REPO/pkg/model.py" | cut -d' ' -f1)|git_repository $REPO|git_commit $COMMIT" \
    "$(grep -E '^(module|module_sha256|git_repository|git_commit) ' "$MNT/results/py/provenance" | paste -sd'|')" \
    "clab-python's provenance"
# Outside any repository: dashes.
mkdir -p "$WORK/plain"
cp "$EXP/sleepy.py" "$WORK/plain/exp.py"
submit "{\"experiment\": \"$WORK/plain/exp.py\", \"tag\": \"p\",
         \"parameters\": {\"i\": 1, \"sleep\": 0}}"
assert_eq "git_repository - git_commit - git_dirty -" \
    "$(grep '^git_' "$MNT/results/p/provenance" | tr '\n' ' ' | sed 's/ $//')" \
    "provenance outside a repository"

log "PASS test_provenance"
