#!/usr/bin/env bash
# Builds the Debian package clabfs_VERSION_ARCH.deb into build/packages/:
#   1. installs what the build needs when it is missing (dpkg-dev,
#      debhelper, lintian, and the Build-Depends of packaging/debian/control);
#   2. copies the work tree (tracked and untracked files, not the ignored
#      ones: no build directories) to a scratch directory with
#      packaging/debian as its debian/, so that the tree stays clean;
#   3. runs dpkg-buildpackage -us -uc -b there (unit tests included, unless
#      DEB_BUILD_OPTIONS has nocheck);
#   4. runs lintian on the .deb (as nobody when run as root, from / on a
#      copy in /tmp, so that a clone in a directory only root can enter
#      builds too): an error fails the script, warnings are printed
#      (packaging/debian/clabfs.lintian-overrides says why the ones that
#      stay are there).
# Usage: scripts/package.sh   (as root, or a user with sudo for apt-get)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${CLAB_PACKAGE_DIR:-$src/build/packages}

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
apt_install() {
    echo "package.sh: installing $*" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "$@" >/dev/null
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in build-essential dpkg-dev debhelper fakeroot lintian; do
    installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
# The Build-Depends are read from the control file, so that they are
# named in one place; apt-get build-dep resolves them from the directory
# that holds debian/control.
if ! (cd "$src/packaging" && dpkg-checkbuilddeps >/dev/null 2>&1); then
    echo "package.sh: installing the Build-Depends of packaging/debian/control" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq \
        --no-install-recommends "$src/packaging" >/dev/null
fi

# The package's version is the project's: a changelog that says otherwise
# would ship a .deb whose name lies about what is in it.
version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
project=$(sed -nE 's/^project\(clabfs VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
if [ "$version" != "$project" ]; then
    echo "package.sh: packaging/debian/changelog says $version, CMakeLists.txt $project:" \
        "add a changelog entry (dch -v $project)" >&2
    exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/clabfs-package.XXXXXX")
trap '[ "${CLAB_PACKAGE_KEEP:-0}" = 1 ] || rm -rf "$scratch"' EXIT
tree=$scratch/clabfs-$version
mkdir "$tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked and untracked files that exist (not deleted ones, not ignored).
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        (cd "$src" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$src" --null -T - -cf - | tar -C "$tree" -xf -
else
    tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$tree" -xf -
fi
rm -rf "$tree/debian"
cp -a "$src/packaging/debian" "$tree/debian"

echo "package.sh: building clabfs $version in $tree" >&2
(cd "$tree" &&
    DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
        dpkg-buildpackage -us -uc -b) >"$scratch/build.log" 2>&1 || {
    tail -n 60 "$scratch/build.log" >&2
    echo "package.sh: dpkg-buildpackage failed (the end of its log is above)" >&2
    exit 1
}

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=clabfs_${version}_${arch}.deb
mkdir -p "$out"
rm -f "$out"/clabfs_*.deb
cp "$scratch/$deb" "$out/"
echo "package.sh: $out/$deb" >&2

# lintian as root warns that it should not run as root; run it as nobody
# when we can, on a copy nobody can read, from a directory nobody can
# enter: the clone's directory or $TMPDIR may be root's alone (a 0700 home,
# a mktemp -d), and lintian, which starts where it is started, then stops
# with "Can't cd to ...: Permission denied".
lint=(lintian --fail-on error --display-info)
lintdir=$scratch
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
    lintdir=$(mktemp -d /tmp/clabfs-lint.XXXXXX)
    trap '[ "${CLAB_PACKAGE_KEEP:-0}" = 1 ] || rm -rf "$scratch" "$lintdir"' EXIT
    cp "$scratch/$deb" "$lintdir/"
    chmod 755 "$lintdir" && chmod 644 "$lintdir/$deb"
    lint=(runuser -u nobody -- env HOME=/tmp "${lint[@]}")
fi
if ! (cd / && "${lint[@]}" "$lintdir/$deb"); then
    echo "package.sh: lintian found errors in $deb" >&2
    exit 1
fi
echo "package.sh: lintian: no errors" >&2
