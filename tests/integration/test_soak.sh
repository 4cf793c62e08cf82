#!/usr/bin/env bash
# The property-style soak of issue 9 (tests/soak/soak.py): random
# interleavings of submit, cancel, retry, delete, select and kills and
# restarts of engines, the controller and clabfs, on a real detached
# cluster, then the invariant (every point of every live set done exactly
# once or failed with a reason, nothing pending, every wait returns).
# Slow: skipped unless CLAB_SLOW=1. CLAB_SOAK_MINUTES (default 2),
# CLAB_SOAK_SEED (default random; printed first as `soak seed N`),
# CLAB_SOAK_STEPS (replay exactly that many steps of the seed),
# CLAB_SOAK_KEEP=1 (keep the work directory). The soak makes, mounts,
# unmounts and cleans up its own work directory, as lib.sh does.
set -euo pipefail
[ "${CLAB_SLOW:-0}" = 1 ] || { echo "skipped: set CLAB_SLOW=1 for the soak"; exit 77; }
: "${CLAB_BUILD:?run through ctest, or set CLAB_BUILD to the build directory}"
args=(--build "$CLAB_BUILD" --minutes "${CLAB_SOAK_MINUTES:-2}")
[ -z "${CLAB_SOAK_SEED:-}" ] || args+=(--seed "$CLAB_SOAK_SEED")
[ -z "${CLAB_SOAK_STEPS:-}" ] || args+=(--steps "$CLAB_SOAK_STEPS")
[ "${CLAB_SOAK_KEEP:-0}" != 1 ] || args+=(--keep)
exec python3 "$(dirname "$0")/../soak/soak.py" "${args[@]}"
