#!/usr/bin/env bash
# The main job, end to end on the embedded local cluster: install what is
# missing, build, mount a lab in a temporary directory, submit the example
# SIR sweep, wait for it, print its results.csv, unmount.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/scripts/deps.sh"
clab_install_deps
build=${CLAB_BUILD:-$src/build}
clab_build "$src" "$build" RelWithDebInfo

work=$(mktemp -d /tmp/clabfs-demo.XXXXXX)
mnt=$work/lab
mkdir -p "$mnt"
cleanup() {
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

echo "== clabfs --state $work/state $mnt"
"$build/fs/clabfs" --state "$work/state" "$mnt"
echo "== submitting a 3 x 2 x 3 sweep of scripts/examples/sir.py"
exec 3<>"$mnt/submit"
printf '%s\n' "{\"experiment\": \"$src/scripts/examples/sir.py\",
  \"parameters\": {\"beta\": [0.2, 0.3, 0.5], \"N\": [500, 2000], \"seed\": {\"range\": [1, 4]}},
  \"tag\": \"sir-demo\", \"description\": \"SIR final size over beta and N\"}" >&3
cat <&3
exec 3>&-
echo "== cat $mnt/status"
cat "$mnt/status"
for _ in $(seq 600); do
    grep -q '^done 1$' "$mnt/results/sir-demo/status" && break
    sleep 0.1
done
echo "== cat $mnt/results/sir-demo/status"
cat "$mnt/results/sir-demo/status"
echo "== cat $mnt/results/sir-demo/results.csv (parameter and result columns)"
cut -d, -f1-6 "$mnt/results/sir-demo/results.csv"
