#!/usr/bin/env bash
# Installs the Debian packages clabfs needs to build, run and test, when
# they are missing. Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail

# The python3-* ones after util-linux: what epyc 1.7.2 imports (the
# reference that the parity tests run, EPYC_SRC) and cloudpickle, with
# which clabfs.ClusterLab ships experiments.
CLAB_PACKAGES=(build-essential cmake pkg-config libfuse3-dev fuse3 libzmq3-dev
               libjansson-dev libsqlite3-dev libcmocka-dev python3 procps psmisc
               r-base-core gnuplot-nox jq rsync zip python3-pandas
               clang libclang-rt-14-dev valgrind util-linux
               python3-numpy python3-h5py python3-ipyparallel python3-joblib
               python3-requests python3-cloudpickle)

clab_install_deps() {
    local missing=() p
    for p in "${CLAB_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "clabfs: installing ${missing[*]}" >&2
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

clab_build() {
    local src=$1 build=$2 type=${3:-RelWithDebInfo}
    shift 3 || true
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
    cmake --build "$build" -j"$(nproc)" >/dev/null
}
