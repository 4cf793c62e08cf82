#!/usr/bin/env bash
# epyc parity on /ctl: `describe TAG TEXT` sets a set's description (its
# description file and notebook.json show it); `finish TAG` locks the set:
# its pending points are cancelled as `cancel TAG` does (in the notebook and
# at the controller), later submits to it and `retry TAG` fail with EACCES
# and an /errors record, notebook.json says "locked": true, and all of it
# survives a remount. Unknown tags fail with ENOENT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

mount_lab --engines 1
logged keep 3 0.05
wait_done keep 60

# describe: the rest of the line, spaces and all.
echo 'describe keep a sweep of   three points' >"$MNT/ctl"
assert_eq "a sweep of   three points" "$(cat "$MNT/results/keep/description")" \
    "description after describe"
( echo 'describe nosuch some text' >"$MNT/ctl" ) 2>/dev/null && fail "describe of an unknown set"
grep -q 'ctl: ENOENT: no result set "nosuch"' "$MNT/errors" || fail "/errors for describe"
( echo 'describe keep' >"$MNT/ctl" ) 2>/dev/null && fail "describe without a text"

# A cancelled set, to compare finish's records with.
logged other 6 5
wait_for 30 "a point of other to start" 'test "$(started other)" -ge 1'
echo 'cancel other' >"$MNT/ctl"
wait_for 15 "the running point of other to be killed" 'test "$(running)" -eq 0'

# finish: the pending points are cancelled, as cancel does, at once.
logged c 20 0.3
wait_results c 2
echo 'finish c' >"$MNT/ctl"
st=$MNT/results/c/status
assert_eq 0 "$(key "$st" pending)" "pending after finish"
assert_eq 1 "$(key "$st" done)" "done after finish"
ok=$(key "$st" results)
cancelled=$(key "$st" failed)
assert_eq 20 $((ok + cancelled)) "results + cancelled after finish"
[ "$cancelled" -ge 10 ] || fail "only $cancelled cancelled by finish"
python3 - "$MNT/results/c/failed" "$MNT/results/other/failed" <<'PY' || fail "finish's records"
import json, os, sys
def excs(d):
    out = set()
    for name in os.listdir(d):
        m = json.load(open(os.path.join(d, name)))["metadata"]
        assert m["epyc.experiment.status"] is False, m
        out.add(m["epyc.experiment.exception"])
    return out
got, want = excs(sys.argv[1]), excs(sys.argv[2])
assert len(want) == 1 and got == want, (got, want)
PY
wait_for 15 "the running point of c to be killed" 'test "$(running)" -eq 0'
wait_for 15 "the controller to forget c" 'test "$(queued_at_controller c)" -eq 0'
before=$(started c)
sleep 1
assert_eq "$ok" "$(key "$st" results)" "results after finish"
assert_eq "$before" "$(started c)" "points of c started after finish"

# notebook.json: c is locked, the others are not, c keeps its description.
echo 'describe c the finished one' >"$MNT/ctl"
locked() {
    python3 - "$MNT/notebook.json" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
rs = nb["resultsets"]
print(" ".join("%s=%s" % (t, str(rs[t]["locked"]).lower()) for t in sorted(rs)),
      rs["c"]["description"], sep="|")
PY
}
assert_eq "c=true epyc.resultset.default=false keep=false other=false|the finished one" "$(locked)" "notebook.json after finish"

# Submits to a locked set and retry on it are refused.
errs=$(grep -c . "$MNT/errors" || true)
( logged c 2 0.05 ) 2>/dev/null && fail "a submit to a finished set"
grep -q 'submit: EACCES' "$MNT/errors" || fail "/errors for a submit to a finished set"
( echo 'retry c' >"$MNT/ctl" ) 2>/dev/null && fail "retry of a finished set"
grep -q 'ctl: EACCES' "$MNT/errors" || fail "/errors for retry of a finished set"
[ "$(grep -c . "$MNT/errors")" -gt "$errs" ] || fail "no new /errors records"
assert_eq 0 "$(key "$st" pending)" "pending after the refused submit and retry"
( echo 'finish nosuch' >"$MNT/ctl" ) 2>/dev/null && fail "finish of an unknown set"
# finish twice is harmless; other sets still take submits.
echo 'finish c' >"$MNT/ctl"
logged d 2 0.05
wait_done d 30

# After a remount: still locked.
unmount_lab
mount_lab --engines 1
assert_eq "c=true d=false epyc.resultset.default=false keep=false other=false|the finished one" "$(locked)" \
    "notebook.json after the remount"
( logged c 2 0.05 ) 2>/dev/null && fail "a submit to a finished set after the remount"
assert_eq 0 "$(key "$st" pending)" "pending after the remount"
assert_eq 0 "$(queued_at_controller c)" "c's tasks at the controller at the end"
log "PASS test_parity_ctl"
