"""A clabfs mount as ClusterLab uses it: one given (mount=DIR), or one of
the lab's own (a clabfs started on a private mount point), and the files
that the lab reads and writes there. Standard library only."""
import atexit
import errno
import os
import shutil
import subprocess
import tempfile
import time


class MountError(Exception):
    """The mount is not there, or not a clabfs, or would not come up."""


def find_program(name, env):
    """The path of one of clabfs's programs: $ENV, the program beside this
    package in a clone (scripts/NAME, or build/fs/NAME for clabfs), or
    NAME on $PATH."""
    if os.environ.get(env):
        return os.environ[env]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for cand in (os.path.join(here, name),
                 os.path.join(os.path.dirname(here), "build", "fs", name)):
        if os.access(cand, os.X_OK) and os.path.isfile(cand):
            return cand
    found = shutil.which(name)
    if not found:
        raise MountError("cannot find %s (on $PATH, or $%s)" % (name, env))
    return found


def state_home():
    """Where profiles live: $XDG_STATE_HOME/clabfs, else
    ~/.local/state/clabfs."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "clabfs")


def flat_keyed(text):
    """A flat-keyed file (status) as a dict of strings."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        out[key] = value
    return out


class Mount:
    """A clabfs mount point, and what ClusterLab does there."""

    def __init__(self, path):
        self.path = path

    def file(self, *parts):
        return os.path.join(self.path, *parts)

    def check(self):
        """Raises MountError unless path is a clabfs mount."""
        try:
            with open(self.file("status")) as f:
                status = flat_keyed(f.read())
        except OSError as e:
            raise MountError("%s is not a clabfs mount: %s" % (self.path, e.strerror))
        if "engines" not in status or "connected" not in status:
            raise MountError("%s is not a clabfs mount (its status says %r)"
                             % (self.path, status))
        return status

    def status(self):
        return self.check()

    def engines(self):
        try:
            return sorted(os.listdir(self.file("engines")))
        except OSError:
            return []

    def submit(self, data):
        """Writes data (bytes: jobs as JSON lines) in one open, as a
        program does, and returns the answer (text)."""
        fd = os.open(self.file("submit"), os.O_RDWR)
        try:
            off = 0
            while off < len(data):
                off += os.write(fd, data[off:])
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks).decode()

    def ctl(self, line):
        """One /ctl command; OSError when refused (errors says why)."""
        fd = os.open(self.file("ctl"), os.O_WRONLY)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def read_from(self, tag, name, offset):
        """The complete lines of results/TAG/NAME after offset, and the
        offset after them (0 again when the file is shorter than offset:
        the set was deleted and made anew). [] when there is no such
        set."""
        try:
            with open(self.file("results", tag, name), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < offset:
                    offset = 0
                f.seek(offset)
                data = f.read()
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR):
                return [], offset
            raise
        end = data.rfind(b"\n") + 1
        return data[:end].splitlines(), offset + end


class OwnMount(Mount):
    """A clabfs of the lab's own: started on a private mount point, with
    its state in a profile's directory, stopped (unmounted) when the last
    lab using it closes. Labs of one process share one per state
    directory, as clabfs allows one per state directory."""

    _running = {}  # state directory -> OwnMount

    @classmethod
    def start(cls, state, options, timeout):
        own = cls._running.get(state)
        if own is None or own.proc.poll() is not None:
            own = cls(state, options)
            own._launch(timeout)
            cls._running[state] = own
        own.users += 1
        return own

    def __init__(self, state, options):
        super().__init__(tempfile.mkdtemp(prefix="clabfs-lab-"))
        self.state, self.options, self.users, self.proc = state, options, 0, None

    def _launch(self, timeout):
        os.makedirs(self.state, mode=0o700, exist_ok=True)
        argv = [find_program("clabfs", "CLABFS"), "-f", "--state", self.state]
        argv += self.options + [self.path]
        log = open(os.path.join(self.state, "clusterlab.log"), "ab")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log)
        finally:
            log.close()
        until = time.monotonic() + timeout
        while True:
            try:
                if self.check().get("connected") == "1":
                    return
            except MountError:
                pass
            if self.proc.poll() is not None or time.monotonic() > until:
                self.stop()
                raise MountError("clabfs did not come up on %s within %g s (see %s)"
                                 % (self.path, timeout,
                                    os.path.join(self.state, "clusterlab.log")))
            time.sleep(0.05)

    def release(self):
        self.users -= 1
        if self.users <= 0:
            self.stop()

    def stop(self):
        """Unmounts (the embedded cluster stops with it) and removes the
        mount point."""
        if self.proc is not None and self.proc.poll() is None:
            subprocess.run(["fusermount3", "-u", self.path], stderr=subprocess.DEVNULL)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait()
        if OwnMount._running.get(self.state) is self:
            del OwnMount._running[self.state]
        try:
            os.rmdir(self.path)
        except OSError:
            pass


@atexit.register
def _stop_all():
    for own in list(OwnMount._running.values()):
        own.stop()
