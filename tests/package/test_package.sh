#!/usr/bin/env bash
# The Debian package from clone to purge, with the installed programs only:
#   1. scripts/package.sh builds build/packages/clabfs_VERSION_ARCH.deb;
#   2. apt-get installs it; the programs on a PATH without the build tree
#      are the ones in /usr/bin, and each answers --version and --help;
#   3. the main job: a lab mounted with --engines 2 runs a 12-point sweep
#      of an executable experiment; results.csv has exactly 12 rows, each
#      right; unmounting stops the embedded cluster;
#   4. every man page renders without a warning and has the sections
#      every page must have;
#   5. systemd-analyze verify passes on each unit (an instance of each);
#   6. the user unit mounts and unmounts a lab under a real systemd user
#      session when there is one (otherwise: SKIP, not a pass);
#   7. apt-get purge leaves nothing of the package in /usr or /etc.
# Needs root (apt-get, dpkg). Unmounts, stops what it started and purges
# the package on every exit path. Ends with "N passed, N failed".
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0 skip=0
tmp=$(mktemp -d /tmp/clabfs-pkgtest.XXXXXX)
mnt=$tmp/lab
state=$tmp/state
unit= uconf=
installed_by_us=0
t0=$(date +%s)

ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

# Processes started by this test: their command line names its directory.
our_pids() {
    local p
    for p in /proc/[0-9]*; do
        tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$tmp" && echo "${p#/proc/}"
    done
    return 0
}

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    if [ -n "$unit" ]; then
        systemctl --user stop "$unit" >/dev/null 2>&1
        rm -f "$uconf"
    fi
    for m in "$mnt" "$tmp/ulab"; do
        mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
    done
    for p in $(our_pids); do [ "$p" != $$ ] && kill -TERM "$p" 2>/dev/null; done
    sleep 0.5
    for p in $(our_pids); do [ "$p" != $$ ] && kill -KILL "$p" 2>/dev/null; done
    if [ "$installed_by_us" = 1 ] && dpkg-query -W clabfs >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq clabfs >/dev/null 2>&1 ||
            echo "cleanup: apt-get purge clabfs failed" >&2
    fi
    rm -rf "$tmp"
    [ "$rc" = 0 ] || [ "$fail" -gt 0 ] || bad "stopped early (exit status $rc)"
    echo "package test took $(($(date +%s) - t0)) s; $skip skipped"
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ] && [ "$rc" = 0 ] && exit 0
    exit 1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
    bad "needs root (apt-get install, dpkg)"
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# --- 1. build -------------------------------------------------------------
version=$(sed -nE 's/^project\(clabfs VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
deb=$src/build/packages/clabfs_${version}_${arch}.deb
# Built from a copy of the clone in a directory only root can enter (a
# mktemp -d is 0700, as root's home is), run from there: nothing of the
# build, lintian included, may need others to read it.
clone=$tmp/clone
mkdir "$clone"
git -C "$src" ls-files -z --cached --others --exclude-standard |
    (cd "$src" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    tar -C "$src" --null -T - -cf - | tar -C "$clone" -xf -
check "the clone's copy is in a directory only its owner can enter" \
    test "$(stat -c %a "$tmp")" = 700
if ! check "scripts/package.sh builds the package from there" \
    env CLAB_PACKAGE_DIR="$src/build/packages" bash -c "cd '$clone' && scripts/package.sh"; then
    exit 1
fi
check "build/packages holds clabfs_${version}_${arch}.deb" test -f "$deb"
[ -f "$deb" ] || exit 1

# --- 2. install -----------------------------------------------------------
# A clabfs left installed by an earlier run would hide a broken install.
dpkg-query -W clabfs >/dev/null 2>&1 && apt-get purge -y -qq clabfs >/dev/null
installed_by_us=1
(cd "$src" && apt-get install -y -qq "./build/packages/clabfs_${version}_${arch}.deb") \
    >"$tmp/apt.log" 2>&1 || cat "$tmp/apt.log"
check "apt-get install ./build/packages/clabfs_*.deb" \
    test "$(dpkg-query -W -f='${Status} ${Version}' clabfs 2>/dev/null)" = "install ok installed $version"
dpkg -L clabfs | sort >"$tmp/files"

# From here on only the installed programs: no build tree on PATH, no
# CLAB_BINDIR, and a working directory outside the source tree.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset CLAB_BINDIR CLABFS_STATE CLAB_CLUSTER_STATE
cd "$tmp"
for prog in clabfs clab-controller clab-engine clab-cluster clab-python clab-wait; do
    check "command -v $prog is /usr/bin/$prog" test "$(command -v $prog)" = "/usr/bin/$prog"
done
for prog in clabfs clab-controller clab-engine clab-cluster clab-python clab-wait; do
    check "$prog --help exits 0" eval "$prog --help >/dev/null"
done
for prog in clabfs clab-controller clab-engine clab-cluster clab-python clab-wait; do
    check "$prog --version says $prog $version" \
        eval "$prog --version | grep -q '^$prog $version\\b'"
done

check "clab-python runs under Debian's python3" \
    test "$(head -n 1 /usr/bin/clab-python)" = "#!/usr/bin/python3"
check "clab-wait runs under Debian's python3" \
    test "$(head -n 1 /usr/bin/clab-wait)" = "#!/usr/bin/python3"
mkdir -p "$tmp/py"
printf 'def sq(p):\n    return {"y": p["x"] ** 2}\n' >"$tmp/py/sqmod.py"
check "the installed clab-python runs a callable one-shot" \
    eval "echo '{\"x\": 3}' | clab-python sqmod:sq --path '$tmp/py' | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"clab.results\"] == {\"y\": 9}'"

# The Python module: the system python3 imports it from the package, and
# a ClusterLab of its own (a private clabfs, an embedded cluster) runs a
# class defined in a script's __main__ (epyc or not: Debian has no epyc,
# so the duck-typed interface, set(params).run()).
check "python3 imports clabfs from /usr/lib/python3/dist-packages" \
    eval "cd / && python3 -c 'import clabfs; assert clabfs.__file__ == \"/usr/lib/python3/dist-packages/clabfs/__init__.py\", clabfs.__file__'"
cat >"$tmp/py/main_lab.py" <<'EOF'
import sys
from clabfs import ClusterLab

class Square:
    """An experiment written to epyc's interface, without epyc."""
    def set(self, params):
        self.p = params
        return self
    def do(self, params):
        return {"y": params["x"] ** 2}
    def run(self):
        return {"parameters": dict(self.p), "results": self.do(self.p),
                "metadata": {"epyc.experiment.status": True}}

lab = ClusterLab(profile_dir=sys.argv[1], engines=2, timeout=60)
lab["x"] = range(6)
lab.runExperiment(Square())
assert lab.wait(timeout=120), "not done"
got = sorted((r["parameters"]["x"], r["results"]["y"]) for r in lab.results())
assert got == [(x, x * x) for x in range(6)], got
lab.close()
print("ClusterLab ran", len(got), "points")
EOF
check "a ClusterLab of its own runs a class of __main__ with the installed programs" \
    eval "cd '$tmp' && timeout 300 python3 '$tmp/py/main_lab.py' '$tmp/labstate'"

# --- 3. the main job with the installed binaries --------------------------
mkdir -p "$mnt" "$tmp/exp"
exp=$tmp/exp/product.sh
cat >"$exp" <<'EOF'
#!/bin/sh
# z = x * y, from the parameters on stdin.
read -r p
x=$(echo "$p" | sed -E 's/.*"x": *([0-9-]+).*/\1/')
y=$(echo "$p" | sed -E 's/.*"y": *([0-9-]+).*/\1/')
echo "{\"z\": $((x * y))}"
EOF
chmod 755 "$exp"
check "clabfs --engines 2 --state STATE MNT mounts" clabfs --engines 2 --state "$state" "$mnt"
check "MNT is a fuse.clabfs mount" \
    test "$(findmnt -rn -o FSTYPE -M "$mnt" 2>/dev/null)" = fuse.clabfs
# The embedded cluster is made of the installed programs.
want="/usr/bin/clab-controllerx1 /usr/bin/clab-enginex2 /usr/bin/clabfsx1 "
for _ in $(seq 50); do
    exes=$(for p in $(our_pids); do readlink "/proc/$p/exe"; done | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
    [ "$exes" = "$want" ] && break
    sleep 0.1
done
check "clabfs, its controller and 2 engines run from /usr/bin ($exes)" test "$exes" = "$want"

answer=$(
    exec 3<>"$mnt/submit" || exit 1
    printf '{"experiment": "%s", "tag": "pkg", "parameters": {"x": {"range": [0, 6]}, "y": [1, 2]}}\n' "$exp" >&3 || exit 1
    cat <&3
)
check "submit answers tag pkg, points 12" test "$answer" = "$(printf 'tag pkg\npoints 12')"
timeout 120 cat "$mnt/results/pkg/wait" >"$tmp/wait.out"
check "results/pkg/wait returns" test $? = 0
check "results/pkg/wait: 12 done, 12 results, none failed or pending" \
    eval "grep -qx 'results 12' $tmp/wait.out && grep -qx 'failed 0' $tmp/wait.out && grep -qx 'pending 0' $tmp/wait.out"
check "the installed clab-wait says pkg is done with no failure (exit 0)" \
    eval "clab-wait --timeout 60 --mount '$mnt' pkg | tail -n 1 | grep -q '^pkg: 12/12 done, 0 failed, '"
cp "$mnt/results/pkg/results.csv" "$tmp/results.csv"
check "results.csv has a header and exactly 12 rows" test "$(wc -l <"$tmp/results.csv")" = 13
check "every row has z = x * y, and all 12 points are there" eval "awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) col[\$i] = i; next }
    \$col[\"z\"] != \$col[\"x\"] * \$col[\"y\"] { bad = 1 }
    { seen[\$col[\"x\"] \",\" \$col[\"y\"]] = 1 }
    END { exit bad || length(seen) != 12 }' $tmp/results.csv"
check "fusermount3 -u unmounts" fusermount3 -u "$mnt"
for _ in $(seq 100); do [ -z "$(our_pids)" ] && break; sleep 0.1; done
check "clabfs and its cluster stopped at unmount" test -z "$(our_pids)"

# --- 4. man pages ---------------------------------------------------------
pages=$(grep -E '^/usr/share/man/man[0-9]/' "$tmp/files" | grep -E '\.gz$')
check "the package installs 8 man pages" test "$(echo "$pages" | wc -l)" = 8
for page in $pages "$src"/packaging/man/*.[1-9]; do
    name=$(basename "$page" .gz)
    [[ $page == /usr/* ]] || name=packaging/man/$name
    warn=$(man --warnings -l "$page" 2>&1 >/dev/null)
    check "man --warnings -l $name renders without a warning" test -z "$warn"
    [ -z "$warn" ] || echo "$warn" | head -n 5
    text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
    missing=
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS FILES ENVIRONMENT "EXIT STATUS" EXAMPLES "SEE ALSO"; do
        grep -qx "$s" <<<"$text" || missing="$missing $s"
    done
    check "$name has every section${missing:+ (missing:$missing)}" test -z "$missing"
done
for name in clabfs clab-controller clab-engine clab-cluster clab-python clab-wait; do
    check "man -w $name finds the installed page" \
        eval "man -w $name | grep -q '^/usr/share/man/man1/$name.1.gz$'"
done
check "man -w 7 clabfs-experiment finds the installed page" \
    eval "man -w 7 clabfs-experiment | grep -q '^/usr/share/man/man7/clabfs-experiment.7.gz$'"
check "man -w 3 clabfs.ClusterLab finds the installed page" \
    eval "man -w 3 clabfs.ClusterLab | grep -q '^/usr/share/man/man3/clabfs.ClusterLab.3.gz$'"

# --- 5. units -------------------------------------------------------------
inst=$(systemd-escape --path "$mnt")
mkdir -p -m 700 "$tmp/xdg"
check "systemd-analyze verify clab-controller@lab.service" \
    systemd-analyze verify clab-controller@lab.service
check "systemd-analyze verify clab-engine@lab.service" \
    systemd-analyze verify clab-engine@lab.service
# A NAME:K instance: FILE:NAME is how systemd-analyze takes a name with ':'.
check "systemd-analyze verify clab-engine@lab:2.service" \
    systemd-analyze verify /lib/systemd/system/clab-engine@.service:clab-engine@lab:2.service
check "systemd-analyze --user verify clabfs@$inst.service" \
    env XDG_RUNTIME_DIR="$tmp/xdg" systemd-analyze --user verify "clabfs@$inst.service"

# --- 6. the user unit under a real systemd --------------------------------
sdstate=$(systemctl --user is-system-running 2>/dev/null)
if [ -d /run/systemd/system ] && [[ $sdstate == running || $sdstate == degraded ]]; then
    ulab=$tmp/ulab
    mkdir -p "$ulab"
    unit=clabfs@$(systemd-escape --path "$ulab").service
    # %E/clabfs/%i.conf: the unit's EnvironmentFile.
    uconf=${XDG_CONFIG_HOME:-$HOME/.config}/clabfs/$(systemd-escape --path "$ulab").conf
    mkdir -p "$(dirname "$uconf")"
    echo "CLABFS_OPTIONS=\"--engines 1 --state $tmp/ustate\"" >"$uconf"
    systemctl --user daemon-reload
    check "systemctl --user start $unit" systemctl --user start "$unit"
    check "$unit is active and the lab is mounted" \
        eval "systemctl --user is-active -q '$unit' && test \"\$(findmnt -rn -o FSTYPE -M '$ulab')\" = fuse.clabfs"
    check "the lab of the user unit answers" grep -qx 'pending 0' "$ulab/status"
    check "systemctl --user stop $unit" systemctl --user stop "$unit"
    check "stopped: inactive, unmounted" \
        eval "! systemctl --user is-failed -q '$unit' && ! mountpoint -q '$ulab'"
    rm -f "$uconf"
    unit=
else
    echo "SKIP: no systemd user session"
    skip=$((skip + 1))
fi

# --- 7. purge -------------------------------------------------------------
check "apt-get purge -y clabfs" eval "apt-get purge -y -qq clabfs >/dev/null"
installed_by_us=0
check "dpkg no longer knows clabfs" eval "! dpkg-query -W -f='\${Status}' clabfs 2>/dev/null | grep -q installed"
left=
while read -r f; do
    case $f in /usr/* | /etc/* | /lib/*) ;; *) continue ;; esac
    [ -e "$f" ] || [ -L "$f" ] || continue
    # A directory may stay if it is another package's or holds others'
    # files (/usr/bin, /lib/systemd/system, the /lib of a merged /usr).
    if [ -d "$f" ] && { dpkg -S "$f" >/dev/null 2>&1 || [ -n "$(ls -A "$f")" ]; }; then
        continue
    fi
    left="$left $f"
done <"$tmp/files"
check "nothing of dpkg -L clabfs is left in /usr, /lib or /etc${left:+ (left:$left)}" test -z "$left"
stray=$(find /usr /etc -path /usr/local -prune -o \( -name '*clabfs*' -o -name 'clab-*' \) -print 2>/dev/null)
check "no file named clabfs or clab-* in /usr or /etc${stray:+ ($stray)}" test -z "$stray"
