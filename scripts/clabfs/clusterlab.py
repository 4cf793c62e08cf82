"""ClusterLab: epyc's ClusterLab (the seed's constructor and methods) over
a clabfs mount. What epyc already does (parameters, designs, notebooks,
dataframes) is epyc's own: this class is an epyc.Lab and adds the cluster.

runExperiment ships the experiment object itself with cloudpickle as the
job's file experiment.pkl and runs it at every point of the lab's design
through clab-python framed workers, in the notebook's current result set;
each point is the notebook's pending result under its job id. updateResults
reads what arrived in results.jsonl since it last looked, for the job ids
this notebook holds pending, and resolves them with the records clab-python
stored: what epyc's own Lab would store for the point."""
import base64
import builtins
import datetime
import hashlib
import io
import json
import logging
import os
import re
import sys
import time
import weakref

from . import mount as mnt

try:
    import epyc
    from epyc import Lab as _Base
    from epyc.resultset import CancelledException
    _EPYC = True
except ImportError:  # a standalone lab, with the same names
    from ._standalone import Lab as _Base, CancelledException
    _EPYC = False

logger = logging.getLogger("clabfs")

MAX_PICKLE = 1024 * 1024  # clabfs's limit on a job's files
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
START, END = "epyc.experiment.start_time", "epyc.experiment.end_time"
EXCEPTION = "epyc.experiment.exception"


def clab_tag(tag):
    """The clabfs tag of an epyc result set: its own when clabfs takes it,
    else its letters and a digest of it (set-like-this-1a2b3c4d5e6f)."""
    if TAG.match(tag):
        return tag
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", tag).strip("-._")[:100] or "set"
    return "%s-%s" % (safe, hashlib.sha1(tag.encode()).hexdigest()[:12])


def jsonable(v):
    """A parameter value as JSON: numpy values as Python's."""
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    if hasattr(v, "tolist") and type(v).__module__.split(".")[0] == "numpy":
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    raise TypeError("parameter value %r (%s) has no JSON form" % (v, type(v).__name__))


def as_datetime(text):
    """clabfs's ISO 8601 UTC time as the naive local datetime epyc's own
    run() records (datetime.now())."""
    try:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return text
    return t.astimezone().replace(tzinfo=None) if t.tzinfo else t


def results_dict(doc):
    """A stored record (N.json) as epyc's results dict."""
    md = dict(doc.get("metadata", {}))
    for k in (START, END):
        if isinstance(md.get(k), str):
            md[k] = as_datetime(md[k])
    return {"parameters": doc.get("parameters", {}), "metadata": md,
            "results": doc.get("results", {})}


def _installed(module):
    """Whether module comes with Python or an installed package (and so is
    on the engines too), rather than being the user's."""
    name = getattr(module, "__name__", "") or ""
    top = name.split(".")[0]
    if top in ("epyc", "clabfs", "__main__") or top in sys.builtin_module_names:
        return True
    path = getattr(module, "__file__", None)
    if not path:
        return True
    path = os.path.realpath(path)
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return ("site-packages" in path or "dist-packages" in path
            or any(path.startswith(os.path.join(p, "lib")) for p in prefixes))


def _pickler(cloudpickle):
    """cloudpickle's pickler, keeping the module of every class it
    pickles by value: cloudpickle drops a class's __module__ when it is
    the same string as its base class's (a class of __main__ subclassing
    another of __main__), and the class comes back as types.NAME, which
    epyc records as the experiment's classname (cloudpipe/cloudpickle
    issue 468)."""

    class Pickler(cloudpickle.CloudPickler):
        def reducer_override(self, obj):
            rv = super().reducer_override(obj)
            if isinstance(obj, type) and isinstance(rv, tuple) and len(rv) > 2 \
                    and isinstance(rv[2], tuple) and rv[2] and isinstance(rv[2][0], dict):
                rv[2][0].setdefault("__module__", obj.__module__)
            return rv

    return Pickler


def pickle_experiment(e):
    """The experiment object pickled with cloudpickle: classes of __main__
    (a script, a notebook cell) and of the user's own modules by value, so
    that engines without the user's files run it; epyc and installed
    packages by reference."""
    import cloudpickle

    mine = [m for m in list(sys.modules.values())
            if m is not None and not _installed(m)]
    done = []
    try:
        for m in mine:
            try:
                cloudpickle.register_pickle_by_value(m)
                done.append(m)
            except (ValueError, AttributeError):
                pass
        with io.BytesIO() as f:
            _pickler(cloudpickle)(f, protocol=cloudpickle.DEFAULT_PROTOCOL).dump(e)
            data = f.getvalue()
    finally:
        for m in done:
            cloudpickle.unregister_pickle_by_value(m)
    if len(data) > MAX_PICKLE:
        raise ValueError("the pickled experiment is %d bytes, over clabfs's %d"
                         % (len(data), MAX_PICKLE))
    return data


class _SyncImports:
    """ClusterLab.sync_imports(): the imports made in the with block (in
    its own frame) are made here, and by every worker of the experiments
    run afterwards before its first point."""

    def __init__(self, lab, quiet):
        self.lab, self.quiet, self.names = lab, quiet, []

    def __enter__(self):
        frame_globals = sys._getframe(1).f_globals
        real = self.real = builtins.__import__

        def hook(name, globals=None, locals=None, fromlist=(), level=0):
            module = real(name, globals, locals, fromlist, level)
            if level == 0 and globals is frame_globals:
                froms = [f for f in fromlist or () if f != "*"]
                self.names.append(name + (":" + ",".join(froms) if froms else ""))
            return module

        builtins.__import__ = hook
        return self

    def __exit__(self, *exc):
        builtins.__import__ = self.real
        for spec in self.names:
            if spec not in self.lab._imports:
                self.lab._imports.append(spec)
            if not self.quiet:
                print("importing %s on engine(s)" % spec.replace(":", " (") +
                      (")" if ":" in spec else ""))
        return False


class ClusterLab(_Base):
    """A lab whose experiments run on a clabfs cluster.

    ClusterLab(notebook=None, url_file=None, profile=None, profile_dir=None,
               ipython_dir=None, context=None, debug=False, sshserver=None,
               sshkey=None, password=None, paramiko=None, timeout=10,
               cluster_id=None, mount=None, **extra_args)

    notebook: any epyc LabNotebook (default: an in-memory one).
    mount: the directory of a clabfs mount to use. Without it the lab
      starts a clabfs of its own on a private mount point: an embedded
      cluster, or the cluster of url_file (clabfs --cluster url_file),
      through ssh to sshserver with sshkey when sshserver is given; its
      notebook and state live in ~/.local/state/clabfs/PROFILE (profile,
      default "clusterlab"; profile_dir names a state directory instead);
      close() unmounts it. Labs of one process with one profile share it.
    timeout: seconds open() waits for the mount to be connected.
    debug: logs what the lab does (the "clabfs" logger) at debug level.
    cluster_id: ignored beside profile (epyc names ipyparallel's runtime
      files with it; clabfs has one per state directory).
    ipython_dir, context, password, paramiko: mean nothing here (no
      IPython, no ZeroMQ context of ours, ssh never asks for a password);
      accepted and ignored.
    extra_args: design (an epyc Design for the lab), engines (the number
      of engines of a lab's own embedded cluster), python (the interpreter
      clab-python runs experiments with on the engines: default this one,
      sys.executable, which has cloudpickle; None: clab-python's own);
      anything else is ignored.

    WaitingTime (seconds), Reconnections and Retries are epyc's: the
    longest wait() sleeps between updates while nothing changes (it wakes
    at once when the mount says a point finished), the connection
    attempts open() makes, and how often a point whose engine was lost
    is run again (clabfs --retries, for a lab's own clabfs).
    """

    WaitingTime = 30
    Reconnections = 5
    Retries = 3

    def __init__(self, notebook=None, url_file=None, profile=None, profile_dir=None,
                 ipython_dir=None, context=None, debug=False, sshserver=None,
                 sshkey=None, password=None, paramiko=None, timeout=10,
                 cluster_id=None, mount=None, **extra_args):
        design = extra_args.pop("design", None)
        super().__init__(notebook, design)
        self._arguments = dict(url_file=url_file, profile=profile, profile_dir=profile_dir,
                               ipython_dir=ipython_dir, context=context, debug=debug,
                               sshserver=sshserver, sshkey=sshkey, password=password,
                               paramiko=paramiko, timeout=timeout, cluster_id=cluster_id,
                               mount=mount, **extra_args)
        if debug:
            logger.setLevel(logging.DEBUG)
        self._python = extra_args.get("python", sys.executable or None)
        self._mount = None  # the Mount while open
        self._own = None  # an OwnMount of ours, while open
        self._offsets = {}  # clabfs tag -> bytes of results.jsonl read
        self._imports = []  # sync_imports: what workers import first
        self.open()
        self._watch(self.notebook())

    # ---------- Protocol ----------

    def connect(self):
        """One attempt to reach the mount: the one given, or a clabfs of
        the lab's own (started if need be)."""
        if self._mount is not None:
            return
        args = self._arguments
        if args["mount"]:
            m = mnt.Mount(os.path.abspath(args["mount"]))
            m.check()
            self._mount = m
        else:
            self._own = mnt.OwnMount.start(self._state_dir(), self._options(), args["timeout"])
            self._mount = self._own
        self.activate()

    def activate(self):
        """Makes this the active lab (epyc: for ipyparallel's magics; here
        it only records it, as clabfs.ClusterLab.active)."""
        if self._mount is None:
            raise Exception("No open connection to activate")
        ClusterLab.active = self

    def open(self):
        """Connects, trying Reconnections more times when the first
        attempt fails."""
        try:
            self.connect()
        except Exception as exc:
            last = exc
            for i in range(self.Reconnections):
                logger.warning("Connection to cluster failed, reconnecting (%d/%d)",
                               i + 1, self.Reconnections)
                time.sleep(min(0.1 * 2 ** i, 2))
                try:
                    self.connect()
                    return
                except Exception as e:
                    last = e
            logger.error("Too many connection failures (%d)", self.Reconnections)
            raise last

    def close(self):
        """Lets go of the mount; a clabfs of the lab's own is unmounted
        (its cluster stops with it; the notebook and queue stay in its
        state directory for the next open)."""
        if self._own is not None:
            self._own.release()
        self._own = self._mount = None

    def _state_dir(self):
        args = self._arguments
        if args["profile_dir"]:
            return os.path.abspath(os.path.expanduser(args["profile_dir"]))
        return os.path.join(mnt.state_home(), args["profile"] or "clusterlab")

    def _options(self):
        args, opts = self._arguments, []
        if args["url_file"]:
            opts += ["--cluster", os.path.abspath(os.path.expanduser(args["url_file"]))]
            if args["sshserver"]:
                opts += ["--ssh", args["sshserver"]]
            if args["sshkey"]:
                opts += ["--ssh-key", os.path.expanduser(args["sshkey"])]
        elif args.get("engines"):
            opts += ["--engines", str(int(args["engines"]))]
        return opts + ["--retries", str(self.Retries),
                       "--reconnections", str(self.Reconnections)]

    def recreate(self):
        """(classname, arguments) that make this lab again."""
        name = "%s.%s" % (type(self).__module__, type(self).__name__)
        return name, dict(self._arguments)

    # ---------- The engines ----------

    def numberOfEngines(self):
        self.open()
        return int(self._mount.status().get("engines", "0").split()[0] or 0)

    def engines(self):
        """The ids of the engines the cluster has now."""
        self.open()
        return self._mount.engines()

    def sync_imports(self, quiet=False):
        """A context manager: the imports made inside it are made here and
        by every worker of the experiments run afterwards before its first
        point (clab-python --import)."""
        self.open()
        return _SyncImports(self, quiet)

    # ---------- Running experiments ----------

    def _job(self, ep, points, tag, description):
        data = pickle_experiment(ep)
        args = ["--pickle", "experiment.pkl"]
        for spec in self._imports:
            args += ["--import", spec]
        if self._python:
            args += ["--python", self._python]
        job = {"experiment": mnt.find_program("clab-python", "CLAB_PYTHON"),
               "arguments": args, "worker": "framed", "tag": tag, "answer": "jobs",
               "points": points,
               "files": {"experiment.pkl": base64.b64encode(data).decode()}}
        if description:
            job["description"] = description
        return job

    def runExperiment(self, e):
        """Runs e at every point of the lab's design on the cluster and
        returns at once: each point becomes a pending result of the
        notebook's current result set, under its job id."""
        eps = self.experiments(e)
        if len(eps) == 0:
            return
        nb = self.notebook()
        nb.current().assertUnlocked()
        self.open()
        tag = clab_tag(nb.currentTag())
        groups = []  # (experiment, [points]) in the design's order
        for ep, p in eps:
            if not groups or groups[-1][0] is not ep:
                groups.append((ep, []))
            groups[-1][1].append(p)
        try:
            description = nb.current().description()
        except Exception:
            description = None
        lines = [json.dumps(self._job(ep, [{str(k): jsonable(v) for k, v in p.items()}
                                           for p in ps], tag, description))
                 for ep, ps in groups]
        answer = self._mount.submit(("\n".join(lines) + "\n").encode())
        jobs = [l[4:] for l in answer.splitlines() if l.startswith("job ")]
        points = [p for _, ps in groups for p in ps]
        if len(jobs) != len(points):
            raise RuntimeError("clabfs answered %d job ids for %d points: %r"
                               % (len(jobs), len(points), answer))
        for p, job in zip(points, jobs):
            nb.addPendingResult(p, job)
        logger.info("started %d point(s) in %s", len(jobs), tag)
        nb.commit()

    # ---------- Results ----------

    def _pending_by_tag(self):
        """The job ids this notebook holds pending, by clabfs tag."""
        nb, out = self.notebook(), {}
        for rstag in nb.resultSets():
            jobs = nb.pendingResults(rstag)
            if jobs:
                out.setdefault(clab_tag(rstag), set()).update(jobs)
        return out

    def _arrived(self, tag, wanted):
        """The records that arrived in tag since the last look, for the
        jobs wanted: job -> [documents]."""
        lines, self._offsets[tag] = self._mount.read_from(tag, "results.jsonl",
                                                          self._offsets.get(tag, 0))
        got = {}
        for line in lines:
            doc = json.loads(line)
            job = doc.get("metadata", {}).get("clab.job")
            if job in wanted:
                got.setdefault(job, []).append(doc)
        return got

    def updateResults(self, purge=False):
        """Resolves the pending results whose records arrived since the
        last call; with purge, points that failed because their engine was
        lost are cancelled instead. Returns how many were resolved."""
        nb = self.notebook()
        pending = self._pending_by_tag()
        if not pending:
            return 0
        self.open()
        n = 0
        for tag, wanted in pending.items():
            for job, docs in self._arrived(tag, wanted).items():
                # clabfs's own record of a point that did not run (no
                # exit status of an experiment's) says why.
                meta = docs[0].get("metadata", {})
                own = len(docs) == 1 and meta.get("clab.exit_status") == -1
                why = meta.get(EXCEPTION) if own else None
                if why == "Cancelled" or (purge and why == "engine lost"):
                    self._cancel_here(nb, job)
                else:
                    rcs = [results_dict(d) for d in docs]
                    nb.resolvePendingResult(rcs if len(rcs) > 1 else rcs[0], job)
                n += 1
        nb.commit()
        return n

    def _progress(self, tags):
        """What the mount says of the sets: changes when a point finishes."""
        out = []
        for tag in tags:
            try:
                with open(self._mount.file("results", tag, "status")) as f:
                    s = mnt.flat_keyed(f.read())
                out.append((s.get("results"), s.get("failed"), s.get("pending")))
            except OSError:
                out.append(None)
        return out

    def wait(self, timeout=-1):
        """Waits until this notebook has no pending result (True), or
        timeout seconds (then whether it has none). Between updates it
        sleeps at most WaitingTime, waking at once when a set it waits on
        changes."""
        nb = self.notebook()
        start = time.monotonic()
        while True:
            # What the sets said before the update: a point finishing
            # after it changes that, and wakes the sleep below.
            tags = list(self._pending_by_tag())
            seen = self._progress(tags)
            self.updateResults()
            if nb.numberOfAllPendingResults() == 0:
                return True
            left = None if timeout < 0 else timeout - (time.monotonic() - start)
            if left is not None and left <= 0:
                return nb.numberOfAllPendingResults() == 0
            dt = self.WaitingTime if left is None else min(self.WaitingTime, left)
            until = time.monotonic() + dt
            while time.monotonic() < until and self._progress(tags) == seen:
                time.sleep(min(0.2, max(0.0, until - time.monotonic())))

    # ---------- Cancelling ----------

    def _cancel_here(self, nb, job):
        """Cancels job in the notebook only (epyc's own record)."""
        original = getattr(nb, "_clabfs_cancel", None) or nb.cancelPendingResult
        original(job)

    def _cancel_on_cluster(self, tag, job):
        try:
            self.open()
            self._mount.ctl("cancel %s %s" % (tag, job))
        except OSError as e:
            # Finished meanwhile, or gone: the notebook's cancel stands.
            logger.info("cancel of %s in %s at the cluster: %s", job, tag, e.strerror)

    def _watch(self, nb):
        """Makes the notebook's cancelPendingResult(jobid) cancel the point
        on the cluster too."""
        if getattr(nb, "_clabfs_cancel", None) is not None:
            return
        lab = weakref.ref(self)
        original = nb.cancelPendingResult

        def cancelPendingResult(jobid):
            tag = None
            for rstag in nb.resultSets():
                if jobid in nb.pendingResults(rstag):
                    tag = clab_tag(rstag)
                    break
            original(jobid)
            if tag is not None and lab() is not None:
                lab()._cancel_on_cluster(tag, jobid)

        nb._clabfs_cancel = original
        nb.cancelPendingResult = cancelPendingResult


ClusterLab.active = None
