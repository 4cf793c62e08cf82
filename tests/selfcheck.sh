#!/usr/bin/env bash
# The suite's self-check: break the tree on purpose in a scratch copy and
# make sure the suite notices. Each mutant is one small change with a
# name; the tests that should catch it run against the mutated build, and
# those that fail are printed as its catchers. A mutant that no test
# catches, or whose pattern no longer matches the code exactly once, fails
# the self-check.
#
# Two kinds:
#  - source mutants (table below): one exact replacement in one file;
#  - exit-3 mutants: every integration script with `exit 3` appended must
#    fail (a clean-up trap that masks the status would let it pass).
#
# usage: tests/selfcheck.sh [NAME...]   (default: every mutant)
# CLAB_SELFCHECK_DIR keeps the scratch copy there (default: a temp dir).
# CLAB_TEST_JOBS: ctest's parallel level, as in scripts/test.sh (tests
# declared serial or holding a resource run as they do there).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/deps.sh"

# name | file | exact text | replacement | ctest regex of the tests that
# must catch it. Text and replacement use \n for newlines.
MUTANTS=(
    "cancel-noop|backend/controller/controller_clients.c|        cancel_tag(c, cl->id, tag, json_is_integer(upto) ? json_integer_value(upto) : -1,|        (void)upto; (void)jobs; if (0) cancel_tag(c, cl->id, tag, -1, /* mutant: cancel reaches nothing */|integration\.(test_edge_cancel|test_ctl)$"
    "ready-fraction-ignores-failures|fs/status.c|    long finished = info.done;|    long finished = info.results;|integration\.(test_failures|test_grid)$"
    "metadata-key-misspelled|backend/common/record.c|(md, \"epyc.experiment.status\", json_boolean(ok))|(md, \"epyc.experiment.stauts\", json_boolean(ok))|unit\.test_record$|integration\.test_promises_experiment$"
    "status-json-wrong-value|fs/status.c|\"pending\", (json_int_t)info.pending)|\"pending\", (json_int_t)info.pending + 1)|integration\.(test_views_files|test_grid)$"
    "submit-ack-before-commit|fs/notebook/notebook_submit.c|    rc = clab_nbp_write_end(nb, rc);\nout:\n    pthread_mutex_unlock(&nb->ctl_lock);|    rc = clab_nbp_write_end(nb, rc < 0 ? rc : -EIO) < 0 \&\& rc >= 0 ? 0 : rc; /* mutant: acknowledged, never committed */\nout:\n    pthread_mutex_unlock(\&nb->ctl_lock);|integration\.(test_promises_durable_submit|test_grid)$"
    "no-take-back|backend/controller/controller_dispatch.c|    if (c->queued == 0)\n        take_back(c);|    if (c->queued == 0)\n        (void)c; /* mutant: no take-back */|integration\.test_tools_fair_takeback$"
    "worker-never-reused|backend/engine/worker.c|        if (!unfit_why) {|        if (0 \&\& !unfit_why) {|unit\.test_worker$|integration\.test_worker_mode$"
    "framed-any-seq|backend/engine/worker_point.c|seq != wk->seq)|0 \&\& seq != wk->seq) /* mutant: any seq answers */|unit\.test_worker$|integration\.test_worker_stray$"
    "deadline-ignored|backend/controller/controller_dispatch.c|*skip = too_long(c, e);|*skip = NULL; (void)too_long; /* mutant: deadlines ignored */|integration\.test_cluster_deadline$"
    "sigterm-experiment-fails|backend/engine/engine.c|    return clab_stop_requested != 0;|    return 0; /* mutant: an experiment signalled with its engine fails */|integration\.test_cluster_deadline$"
    "cancel-one-transaction|fs/notebook/notebook_ctl.c|#define CANCEL_PAGE 512|#define CANCEL_PAGE 1000000 /* mutant: a whole cancel in one transaction */|integration\.test_edge_cancel_big$"
    "cancel-upto-ignored|backend/controller/controller_clients.c|json_is_integer(upto) ? json_integer_value(upto) : -1,|-1, /* mutant: a cancel takes every task of its tag */|integration\.(test_edge_cancel_upto|test_edge_cancel_race)$"
    "claims-without-proof|backend/controller/controller_engines.c|        int proven = controller_proof_ok(c, e, job, json_object_get(j, \"proof\"));|        int proven = 1; /* mutant: any listed job may be claimed */|integration\.test_hostile_rogue$"
    "incarnation-unchecked|backend/controller/controller_engines.c|    if (strcmp(inc ? inc : \"\", e->incarnation) == 0)|    if (1) /* mutant: anyone may speak for an engine */|integration\.test_hostile_rogue$"
    "lost-tasks-kept|backend/engine/engine.c|    if (epoch && json_is_integer(sent) &&|    if (0 \&\& epoch \&\& json_is_integer(sent) \&\& /* mutant: a lost task message is never noticed */|integration\.test_hostile_rogue$"
    "stamp-ignored|fs/notebook/notebook_ingest.c|    json_t *m = stamped_metadata(stored_metadata(meta, pt), pt->stamp);|    json_t *m = stored_metadata(meta, pt); /* mutant: the record says who ran it */|integration\.(test_hostile_rogue|test_grid)$"
    "no-invalidation|fs/fuse_ops.c|    fs->lab->send_changes = clab_fusep_send_changes;|    fs->lab->send_changes = NULL; /* mutant: the kernel keeps what changed */|integration\.test_views_cache$"
    "interrupt-ignored|fs/fuse_ops.c|    if (clab_waits_interrupt(data)) {|    if (0 \&\& clab_waits_interrupt(data)) { /* mutant: Ctrl-C waits for the set */|integration\.(test_views_wait|test_views_waiters)$"
    "child-never-restarted|fs/child.c|    ch->restart_at = now + ch->backoff;|    ch->restart_at = now + 1e9; /* mutant: a dead child stays dead */|integration\.(test_cluster_tunnel|test_promises_t14_retries)$"
)

want=("$@")
selected() { [ ${#want[@]} -eq 0 ] && return 0; local w; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

jobs=${CLAB_TEST_JOBS:-4}
work=${CLAB_SELFCHECK_DIR:-$(mktemp -d /tmp/clab-selfcheck.XXXXXX)}
copy=$work/src
build=$work/build
rm -rf "$copy" && mkdir -p "$copy"
(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy")
clab_install_deps
clab_build "$copy" "$build" RelWithDebInfo

caught=0 missed=0
report=()
ctest_first_failure() { # REGEX: runs those tests; prints those that failed
    local out
    out=$(cd "$build" && ctest --no-tests=error --timeout 600 -j "$jobs" -R "$1" 2>&1) && return 1
    echo "$out" | sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (\(Failed\|Timeout\|Not Run\|SEGFAULT\|Child aborted\).*/\1/p' |
        paste -sd, -
    return 0
}

for m in "${MUTANTS[@]}"; do
    IFS='|' read -r name file text repl tests <<<"$m"
    # The ctest regex may itself hold '|': everything after the 4th field.
    tests=${m#"$name|$file|$text|$repl|"}
    selected "$name" || continue
    cp "$copy/$file" "$work/orig"
    if ! python3 - "$copy/$file" "$text" "$repl" <<'PY'; then
import sys
path, old, new = sys.argv[1], sys.argv[2].replace("\\n", "\n"), sys.argv[3].replace("\\n", "\n").replace("\\&", "&")
s = open(path).read()
n = s.count(old)
if n != 1:
    sys.exit("pattern found %d times in %s" % (n, path))
open(path, "w").write(s.replace(old, new))
PY
        report+=("MISSED  $name: the mutant no longer applies to $file (update tests/selfcheck.sh)")
        missed=$((missed + 1))
        continue
    fi
    if ! cmake --build "$build" -j"$(nproc)" >"$work/build.log" 2>&1; then
        report+=("MISSED  $name: the mutant does not build (see $work/build.log)")
        missed=$((missed + 1))
    elif who=$(ctest_first_failure "$tests"); then
        report+=("caught  $name by ${who:-a failing test}")
        caught=$((caught + 1))
    else
        report+=("MISSED  $name: every test of /$tests/ passed")
        missed=$((missed + 1))
    fi
    cp "$work/orig" "$copy/$file"
    touch "$copy/$file"
done

# exit-3 mutants: all integration scripts, each with `exit 3` at its end;
# every one that is not skipped (exit 77) must fail. Through ctest, as the
# suite runs them (the same -j, serial tests alone, resource locks held):
# only a pass is a miss, and load cannot turn a failure into a pass.
if selected exit3; then
    for s in "$copy"/tests/integration/test_*.sh; do printf '\nexit 3\n' >>"$s"; done
    # The build must be the unmutated tree again (the last source mutant was
    # undone in the copy only); the scripts changed, so cmake runs again.
    cmake --build "$build" -j"$(nproc)" >"$work/build.log" 2>&1
    (cd "$build" && ctest --no-tests=error --timeout 600 -j "$jobs" -R '^integration\.' \
        >"$work/exit3.log" 2>&1) || true
    # One line per test: " 5/84 Test  #5: integration.test_x ....***Failed  3.1 sec".
    sed -n 's/^.*Test *#[0-9]*: integration\.\([^ ]*\) \.* *\**\(.*[^ ]\)  *[0-9.]* sec$/\1 \2/p' \
        "$work/exit3.log" >"$work/exit3.status"
    for s in "$copy"/tests/integration/test_*.sh; do
        t=$(basename "$s" .sh)
        st=$(awk -v t="$t" '$1 == t { $1 = ""; sub(/^ /, ""); print; exit }' "$work/exit3.status")
        case $st in
        Passed)
            report+=("MISSED  exit3 $t: passed with exit 3 at its end")
            missed=$((missed + 1)) ;;
        Skipped)
            report+=("skipped exit3 $t: skipped before its end (CLAB_SLOW unset)") ;;
        "" | "Not Run"*)
            report+=("MISSED  exit3 $t: did not run (see $work/exit3.log)")
            missed=$((missed + 1)) ;;
        *)
            report+=("caught  exit3 $t ($st)")
            caught=$((caught + 1)) ;;
        esac
    done
fi

printf '%s\n' "${report[@]}"
[ -n "${CLAB_SELFCHECK_DIR:-}" ] || rm -rf "$work"
echo "selfcheck: $caught passed, $missed failed"
[ "$missed" -eq 0 ]
