#!/usr/bin/env bash
# /ctl cancel, retry and delete on a real mount with a real cluster: the
# counts after each, the records they leave, and errors for unknown sets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

mount_lab --engines 1
sweep keep 3 0.05
wait_done keep 60
sweep c 20 0.3
wait_results c 2

# cancel: every pending point becomes a failed result `cancelled`, at once.
echo 'cancel c' >"$MNT/ctl"
st=$MNT/results/c/status
assert_eq 0 "$(key "$st" pending)" "pending after cancel"
assert_eq 1 "$(key "$st" done)" "done after cancel"
ok=$(key "$st" results)
cancelled=$(key "$st" failed)
assert_eq 20 $((ok + cancelled)) "results + cancelled"
[ "$cancelled" -ge 10 ] || fail "only $cancelled cancelled"
python3 - "$MNT/results/c/failed" <<'PY' || fail "cancelled records"
import json, os, sys
d = sys.argv[1]
for name in os.listdir(d):
    m = json.load(open(os.path.join(d, name)))["metadata"]
    assert m["epyc.experiment.exception"] == "cancelled", m
    assert m["epyc.experiment.status"] is False
PY
wait_for 15 "the controller to cancel c" "grep -q 'cancelled c:' '$STATE/cluster/controller.log'"
sleep 1 # a result of the point that was running must not be counted now
assert_eq "$ok" "$(key "$st" results)" "results after cancel"

# retry: the cancelled points run again; each i is then in results once.
echo 'retry c' >"$MNT/ctl"
assert_eq "$cancelled" "$(key "$st" pending)" "pending after retry"
wait_done c 120
assert_eq 20 "$(key "$st" results)" "results after retry"
assert_eq "$cancelled" "$(key "$st" failed)" "the cancelled records stay"
assert_eq "$(seq 0 19)" "$(tail -n +2 "$MNT/results/c/results.csv" | cut -d, -f1 | sort -n)" \
    "every point once in results.csv"
echo 'retry c' >"$MNT/ctl" # nothing left to retry
assert_eq 0 "$(key "$st" pending)" "a second retry"

# delete: the set is gone, the other one becomes current.
echo 'delete c' >"$MNT/ctl"
assert_eq keep "$(ls "$MNT/results")" "sets after delete"
assert_eq keep "$(key "$MNT/status" current)" "current after delete"

# Unknown sets and unknown commands.
( echo 'cancel nosuch' >"$MNT/ctl" ) 2>/dev/null && fail "cancel of an unknown set"
( echo 'frobnicate c' >"$MNT/ctl" ) 2>/dev/null && fail "an unknown command"
grep -q 'ctl: ENOENT: no result set "nosuch"' "$MNT/errors" || fail "/errors"
log "PASS test_ctl"
