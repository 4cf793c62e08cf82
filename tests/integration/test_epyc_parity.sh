#!/usr/bin/env bash
# SPEC "epyc, faithfully", measured against epyc 1.7.2 itself (EPYC_SRC),
# on one real mount:
# - tests/epyc/compare.py runs the same classes and points (every kind the
#   SPEC names, and the experiment classes of epyc's own test suite)
#   through epyc's Lab and through clab-python one-shot, clab-python as a
#   framed worker and clabfs.ClusterLab, and diffs the notebooks field for
#   field; its table is printed, and any difference fails;
# - tests/epyc/suite.py runs epyc's own test_clusterlabs.py unchanged
#   against clabfs.ClusterLab (the lab class, its profile and its sleeps
#   substituted), and the tests of test_labs.py,
#   test_repeatedexperiments.py and test_summaryexperiments.py that run
#   through a lab (README, "epyc's own tests", lists what the adapter
#   changes and what cannot run as written).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PYTHONPATH=$EPYC_SRC "$PY" -c 'import epyc, cloudpickle, h5py' ||
    fail "epyc, cloudpickle or h5py do not import with $PY (scripts/deps.sh)"
export TMPDIR=$WORK

mount_lab --engines 2
"$PY" "$CLAB_SRC/tests/epyc/compare.py" "$MNT" "$CLAB_SRC/scripts/clab-python" \
    --work "$WORK" >"$WORK/compare.out" 2>"$WORK/compare.err" || {
    cat "$WORK/compare.out" "$WORK/compare.err" >&2
    fail "compare.py found differences"
}
sed -n '/^kind /,$p' "$WORK/compare.out"
"$PY" "$CLAB_SRC/tests/epyc/suite.py" "$MNT" >"$WORK/suite.out" 2>&1 || {
    grep -v ' DEBUG \|^INFO' "$WORK/suite.out" >&2
    fail "epyc's tests failed against clabfs.ClusterLab"
}
tail -n 3 "$WORK/suite.out"
log "PASS test_epyc_parity"
