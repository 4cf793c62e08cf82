#!/usr/bin/env bash
# A submit racing a cancel (or a delete) of the same tag has one outcome
# at both ends: points accepted after the cancel began run. Each of RACES
# races submits POINTS points to a set, writes `cancel TAG` (one race in
# three `delete TAG`), and 0-50 ms later (while the cancel is being
# written) submits 4 late points to the same tag; the set's `wait` must
# then return (nothing left pending in the notebook nor queued for ever at
# the controller), every late point has its result if its submit came
# after the cancel began and was cancelled with the rest if it came first,
# and every early point was cancelled or ran, once. Before the controller's
# cancel was bounded by the notebook's newest job id, the late points
# could reach the controller before the cancel did, be cancelled there
# while pending in the notebook, and `wait` hung until a remount.
# CI: 100 races of 5,000 points; CLAB_SLOW=1: 100 races of 60,000.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

RACES=${CLAB_RACES:-100}
POINTS=${CLAB_RACE_POINTS:-5000}
[ "${CLAB_SLOW:-0}" = 1 ] && POINTS=${CLAB_RACE_POINTS:-60000}

mount_lab --engines 2
# The exception of a cancelled point, as the notebook writes it.
CANCELLED=${CLAB_CANCELLED_TEXT:-$(sed -n 's/^#define CLAB_CANCELLED_EXCEPTION "\(.*\)"$/\1/p' \
    "$CLAB_SRC/backend/common/record.h")}
[ -n "$CANCELLED" ] || fail "no CLAB_CANCELLED_EXCEPTION in backend/common/record.h"
python3 - "$MNT" "$EXP/sleepy.py" "$RACES" "$POINTS" "$CANCELLED" <<'PY' || fail "the races"
import json, os, random, sys, threading, time

mnt, exp, races, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(int(os.environ.get("CLAB_RACE_SEED", "7")))

def write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)

def job(tag, params):
    return json.dumps({"experiment": exp, "tag": tag, "parameters": params}) + "\n"

def wait(tag, limit):
    """cat results/TAG/wait, bounded: the status it returns."""
    out = {}
    def read():
        out["text"] = open(os.path.join(mnt, "results", tag, "wait")).read()
    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(limit)
    if t.is_alive():
        raise SystemExit("race %s: wait did not return in %d s" % (tag, limit))
    return dict(l.split(" ", 1) for l in out["text"].splitlines())

cancel_text = sys.argv[5]
t0, after = time.time(), 0
for r in range(races):
    tag = "race%d" % r
    # The early points sleep long: few run before the cancel kills them.
    write(os.path.join(mnt, "submit"),
          job(tag, {"i": {"range": [0, points]}, "sleep": 30}))
    delay = rng.uniform(0, 0.05)
    late = threading.Thread(target=lambda: (time.sleep(delay), write(
        os.path.join(mnt, "submit"), job(tag, {"late": [1, 2, 3, 4], "sleep": 0}))))
    late.start()
    # One race in three deletes the set instead: a submit after the delete
    # starts the set afresh with its 4 points; one before goes with it.
    verb = "delete" if r % 3 == 2 else "cancel"
    write(os.path.join(mnt, "ctl"), "%s %s\n" % (verb, tag))
    late.join()
    d = os.path.join(mnt, "results", tag)
    if verb == "delete":
        if os.path.exists(d):
            st = wait(tag, 60)
            ran = sorted(json.loads(l)["parameters"]["late"]
                         for l in open(os.path.join(d, "results.jsonl")))
            if ran != [1, 2, 3, 4] or st["total"].strip() != "4":
                raise SystemExit("race %s: after the delete, late points run %s, "
                                 "status %s" % (tag, ran, st))
            after += 1
            write(os.path.join(mnt, "ctl"), "delete %s\n" % tag)
        continue
    st = wait(tag, 60)
    # Each late point once: run (a result), or cancelled when its submit
    # won the race to the notebook and came before the cancel.
    docs = [json.loads(l) for l in open(os.path.join(d, "results.jsonl"))]
    late = [x for x in docs if "late" in x["parameters"]]
    ran = sorted(x["parameters"]["late"] for x in late
                 if x["metadata"]["epyc.experiment.status"])
    cancelled = sorted(x["parameters"]["late"] for x in late
                       if x["metadata"].get("epyc.experiment.exception") == cancel_text)
    if sorted(ran + cancelled) != [1, 2, 3, 4] or (ran and cancelled):
        raise SystemExit("race %s (late submit %.0f ms after the cancel): late points "
                         "run %s, cancelled %s, status %s" %
                         (tag, delay * 1000, ran, cancelled, st))
    if st["pending"].strip() != "0" or \
            int(st["results"]) + int(st["failed"]) != points + 4:
        raise SystemExit("race %s: status %s for %d points" % (tag, st, points + 4))
    after += bool(ran)
    write(os.path.join(mnt, "ctl"), "delete %s\n" % tag)
print("%d races of %d points in %.0f s: in %d the late submit came after the cancel "
      "began, and its points ran; in the others it came first and was cancelled with "
      "it" % (races, points, time.time() - t0, after))
# Most late submits come while the cancel is being written: else the race
# was not run.
if after < races // 2:
    raise SystemExit("only %d of %d races had the late submit after the cancel" %
                     (after, races))
PY
# Nothing of any race is left at the controller.
wait_for 30 "the controller's queue to empty" 'test "$(queued_at_controller)" = 0'
log "PASS test_edge_cancel_race"
