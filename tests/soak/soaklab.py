"""The soak's lab: its processes (a controller, engines and clabfs, each
the soak's child, all named by the work directory so that the clean-up
kills nothing else) and file-system access through children with a
timeout, so that a hung FUSE request is a finding, never a hung soak."""
import datetime, os, resource, signal, subprocess, time

HEARTBEAT_TIMEOUT = 4  # controller: an engine silent this long is lost


class Hang(Exception):
    """A file-system operation that did not return in time."""


class Lab:
    """The processes of one soak, all of them named by the work dir."""

    def __init__(self, build, work):
        self.build, self.work = build, work
        self.mnt = os.path.join(work, "mnt")
        self.state = os.path.join(work, "state")
        self.cluster = os.path.join(work, "cluster")
        self.scratch = os.path.join(work, "scratch")
        for d in (self.mnt, self.scratch):
            os.makedirs(d, exist_ok=True)
        self.controller = None
        self.clabfs = None
        self.engines = {}  # id -> Popen
        self.reaped = []

    # Connection files: clients use cluster.json; engines engine.json once
    # the controller writes one (the key split of issue 9), else cluster.json.
    def client_conf(self):
        return os.path.join(self.cluster, "cluster.json")

    def engine_conf(self):
        e = os.path.join(self.cluster, "engine.json")
        return e if os.path.exists(e) else self.client_conf()

    def log(self, name):
        return open(os.path.join(self.work, name + ".log"), "ab")

    def start_controller(self):
        self.controller = subprocess.Popen(
            [os.path.join(self.build, "backend/clab-controller"), "--state",
             self.cluster, "--heartbeat-timeout", str(HEARTBEAT_TIMEOUT)],
            stdout=self.log("controller"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=self.work, preexec_fn=allow_core)
        wait_until(15, lambda: os.path.getsize(self.client_conf()) > 0
                   if os.path.exists(self.client_conf()) else False,
                   "the connection file")

    def kill_controller(self):
        kill9(self.controller)
        self.reaped.append(self.controller)
        self.controller = None

    def start_engine(self, eid):
        """eid None: no --id, the engine names itself HOST-PID."""
        argv = [os.path.join(self.build, "backend/clab-engine"), "--cluster",
                self.engine_conf(), "--scratch", self.scratch]
        if eid is not None:
            argv += ["--id", eid]
        p = subprocess.Popen(argv, stdout=self.log("engine-%s" % (eid or "anon")),
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=self.work, preexec_fn=allow_core)
        return p

    def clabfs_pids(self):
        return [pid for pid, cmd in procs_naming(self.work) if "clabfs" in cmd[0]]

    def mount(self):
        """clabfs in the foreground (-f) as our child: its exit status and
        a crash's signal are then ours to see (and its core, in work)."""
        self.clabfs = subprocess.Popen(
            [os.path.join(self.build, "fs/clabfs"), "-f", "--state", self.state,
             "--cluster", self.client_conf(), "--waiting-time", "2", self.mnt],
            stdout=self.log("clabfs"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=self.work, preexec_fn=allow_core)
        wait_until(30, lambda: os.path.ismount(self.mnt) or self.clabfs.poll() is not None,
                   "the mount")
        if not os.path.ismount(self.mnt):
            raise RuntimeError("clabfs exited %s at mount" % self.clabfs.returncode)

    def unmount(self):
        """Clean unmount; a busy mount is retried, then lazily unmounted."""
        for _ in range(20):
            if subprocess.run(["fusermount3", "-u", self.mnt],
                              stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.25)
        else:
            subprocess.run(["fusermount3", "-uz", self.mnt], stderr=subprocess.DEVNULL)
        try:
            rc = self.clabfs.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise TimeoutError("clabfs did not exit within 30s of its unmount")
        self.clabfs = None
        return rc

    def kill_clabfs(self):
        kill9(self.clabfs)
        self.clabfs = None
        subprocess.run(["fusermount3", "-uz", self.mnt], stderr=subprocess.DEVNULL)
        wait_until(10, lambda: not in_mounts(self.mnt), "the lazy unmount")

    def deaths(self):
        """Our children that died on their own since the last look."""
        out = []
        if self.clabfs is not None and self.clabfs.poll() is not None:
            out.append("clabfs exited by itself: %s" % status(self.clabfs.returncode))
            self.reaped.append(self.clabfs)
            self.clabfs = None
        if self.controller is not None and self.controller.poll() is not None:
            out.append("controller exited by itself: %s" % status(self.controller.returncode))
            self.reaped.append(self.controller)
            self.controller = None
        for eid, p in list(self.engines.items()):
            if p.poll() is not None:
                out.append("engine %s exited by itself: %s" % (eid, status(p.returncode)))
                self.reaped.append(self.engines.pop(eid))
        return out

    def reap(self):
        for p in self.reaped:
            p.poll()
        self.reaped = [p for p in self.reaped if p.returncode is None]

    def cleanup(self):
        """Always unmount; kill only processes whose command line names work."""
        if in_mounts(self.mnt):  # a dead FUSE mount fails ismount's stat
            if subprocess.run(["fusermount3", "-u", self.mnt],
                              stderr=subprocess.DEVNULL).returncode != 0:
                subprocess.run(["fusermount3", "-uz", self.mnt], stderr=subprocess.DEVNULL)
        for pid, _ in procs_naming(self.work):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        end = time.time() + 10
        while procs_naming(self.work) and time.time() < end:
            time.sleep(0.1)
        for pid, _ in procs_naming(self.work):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for p in [self.controller, self.clabfs] + list(self.engines.values()) + self.reaped:
            if p is not None:
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass


def in_mounts(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def allow_core():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def status(rc):
    return "killed by signal %d (%s)" % (-rc, signal.Signals(-rc).name) if rc < 0 \
        else "exit status %d" % rc


def procs_naming(work):
    """(pid, argv) of every live process whose command line names work."""
    out = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if argv and any(work in a for a in argv):
            out.append((int(d), argv))
    return out


def kill9(p):
    if p is None:
        return
    try:
        p.send_signal(signal.SIGKILL)
    except OSError:
        pass
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def wait_until(limit, cond, what):
    end = time.time() + limit
    while True:
        try:
            if cond():
                return
        except OSError:
            pass
        if time.time() > end:
            raise TimeoutError("timed out after %ss waiting for %s" % (limit, what))
        time.sleep(0.1)


# File-system access always goes through a child with a timeout: a hung
# FUSE request must become a finding, never a hung soak.
def fs_run(argv, timeout=30, data=None):
    try:
        r = subprocess.run(argv, input=data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Hang("%s did not return within %ss" % (" ".join(argv), timeout))
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def fs_write(path, text, timeout=30):
    return fs_run(["sh", "-c", 'printf "%s\\n" "$1" > "$2"', "sh", text, path], timeout)


def fs_read(path, timeout=30):
    return fs_run(["cat", path], timeout)


def flat(text):
    kv = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            kv[parts[0]] = parts[1]
    return kv


def iso(t):
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
