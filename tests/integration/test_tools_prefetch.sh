#!/usr/bin/env bash
# clabfs --prefetch N reaches the embedded cluster's controller (its command
# line), also after the controller is restarted; out of range it is refused
# before anything is mounted; with --cluster it is ignored, and says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

"$CLABFS" --help | grep -q -- '--prefetch N' || fail "--help does not list --prefetch"

# Out of range: refused, nothing mounted, no state directory made.
for bad in 0 17 -1 x; do
    rc=0
    "$CLABFS" --state "$STATE" --engines 1 --prefetch "$bad" "$MNT" 2>"$WORK/err" || rc=$?
    assert_eq 2 "$rc" "exit status of --prefetch $bad"
    grep -q -- '--prefetch' "$WORK/err" || fail "the refusal of --prefetch $bad does not name it"
    mountpoint -q "$MNT" && fail "mounted with --prefetch $bad"
done
[ ! -e "$STATE" ] || fail "a refused start made the state directory"

# controller_args: the embedded controller's command line, one per line.
controller_args() {
    tr '\0' '\n' <"/proc/$(pid_of "clab-controller --state $STATE/cluster")/cmdline"
}
mount_lab --engines 1 --prefetch 5
controller_args | grep -A1 -x -- '--prefetch' | tail -n 1 | grep -qx 5 ||
    fail "the controller did not get --prefetch 5: $(controller_args | tr '\n' ' ')"
submit "{\"experiment\": \"$EXP/sleepy.py\", \"tag\": \"p\",
         \"parameters\": {\"i\": {\"range\": [0, 8]}, \"sleep\": 0.05}}"
wait_done p 60

# A restarted controller keeps it.
old=$(pid_of "clab-controller --state $STATE/cluster")
kill -9 "$old"
wait_for 20 "the controller to be restarted" \
    "p=\$(pid_of 'clab-controller --state $STATE/cluster'); [ -n \"\$p\" ] && [ \"\$p\" != $old ]"
controller_args | grep -A1 -x -- '--prefetch' | tail -n 1 | grep -qx 5 ||
    fail "the restarted controller lost --prefetch 5: $(controller_args | tr '\n' ' ')"
unmount_lab

# Without it, the controller keeps its own default.
mount_lab --engines 1
controller_args | grep -qx -- '--prefetch' && fail "--prefetch passed without being given"
unmount_lab

# With --cluster it does not apply: the mount works and stderr says so.
start_cluster 1
STATE=$WORK/state2
"$CLABFS" --state "$STATE" --cluster "$WORK/cluster/cluster.json" --prefetch 3 "$MNT" \
    2>"$WORK/err" || fail "--prefetch with --cluster stopped the mount: $(cat "$WORK/err")"
wait_for 30 "connected" 'test "$(key "$MNT/status" connected)" = 1'
grep -q -- '--prefetch' "$WORK/err" || fail "--prefetch with --cluster was ignored silently"
log "with --cluster: $(cat "$WORK/err")"
log "PASS test_tools_prefetch"
