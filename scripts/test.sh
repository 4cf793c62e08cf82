#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every unit and
# integration test with ctest (integration tests mount real file systems
# and start real controllers and engines). CLAB_SLOW=1 adds the slow cases.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/deps.sh"
clab_install_deps
build=${CLAB_BUILD:-$src/build}
clab_build "$src" "$build" RelWithDebInfo
cd "$build"
ctest --output-on-failure --timeout 900 "$@"
