#!/usr/bin/python3
"""clabfs.ClusterLab on real mounts, for tests/integration/test_clusterlab.sh:
each subcommand checks one part of the SPEC's "Python: clabfs.ClusterLab"
and exits non-zero (an assertion's traceback) when it does not hold. Its
experiments are classes of __main__ (this script), as in a notebook cell:
they reach the engines only through the pickle the lab ships.

  slow MOUNT NOTEBOOK        starts one 60 s point, recorded pending in a
                             JSON notebook file, and exits
  purge MOUNT NOTEBOOK       (after its engine was killed) resolves it as
                             cancelled with updateResults(purge=True)
  labs MOUNT STATE           __main__ subclasses, two labs on one mount,
                             cancels both ways, sync_imports, tags, limits
  standalone MOUNT           the lab without epyc
  private CLUSTER_JSON HOME  labs with clabfs mounts of their own"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
if len(sys.argv) > 1 and sys.argv[1] == "standalone":
    sys.modules["epyc"] = None  # import epyc fails: the lab stands alone
else:
    sys.path.insert(0, os.environ["EPYC_SRC"])
    import epyc
    from epyc.resultset import CancelledException

import clabfs  # noqa: E402

EXCEPTION = "epyc.experiment.exception"
SLOW = "slow"


if "epyc" in sys.modules and sys.modules["epyc"] is not None:
    class Base(epyc.Experiment):
        """A base class of __main__ (a subclass of it must come back with
        __main__ as its module: cloudpickle alone would say types)."""

        def do(self, params):
            time.sleep(params.get("sleep", 0))
            return {"y": params["x"] * 2, "pid": os.getpid()}

    class Child(Base):
        def do(self, params):
            rc = super().do(params)
            rc["z"] = OFFSET + params["x"]
            return rc

    class Imports(epyc.Experiment):
        """What the worker imported before its first point."""

        def do(self, params):
            main = sys.modules["__main__"]
            return {"wave": "wave" in sys.modules, "dedent": hasattr(main, "dedent")}

    class Heavy(epyc.Experiment):
        def __init__(self, n):
            super().__init__()
            self.blob = os.urandom(n)

        def do(self, params):
            return {"n": len(self.blob)}

OFFSET = 1000  # a global of __main__, read by Child on the engines
_last = [time.monotonic()]


def say(what):
    """One check passed, and how long it took (what CI pays for it)."""
    now = time.monotonic()
    print("%s (%.1f s)" % (what, now - _last[0]), flush=True)
    _last[0] = now


def lab_on(mount, notebook=None):
    lab = clabfs.ClusterLab(mount=mount, notebook=notebook)
    lab.WaitingTime = 1
    return lab


def slow(mount, path):
    lab = lab_on(mount, epyc.JSONLabNotebook(path, create=True))
    lab.notebook().addResultSet(SLOW)
    lab["x"] = [1]
    lab["sleep"] = [60]
    t = time.monotonic()
    lab.runExperiment(Base())
    assert time.monotonic() - t < 10, "runExperiment did not return at once"
    assert lab.notebook().numberOfPendingResults() == 1
    lab.notebook().commit()
    say("slow: one point pending, runExperiment returned in %.1f s" % (time.monotonic() - t))


def purge(mount, path):
    nb = epyc.JSONLabNotebook(path)
    lab = lab_on(mount, nb)
    assert nb.numberOfPendingResults(SLOW) == 1
    assert lab.updateResults(purge=True) == 1
    rc, = nb.resultSet(SLOW).results()
    assert isinstance(rc["metadata"][EXCEPTION], CancelledException), rc
    assert lab.updateResults() == 0 and nb.numberOfAllPendingResults() == 0
    say("purge: the point whose engine was lost is cancelled")


def two_labs(mount):
    """Two labs, one result set name, one mount: each sees its own."""
    a, b = lab_on(mount), lab_on(mount)
    e = Child()
    a["x"] = range(4)
    b["x"] = range(10, 13)
    a.runExperiment(e)
    b.runExperiment(e)
    assert a.wait(timeout=120) and b.wait(timeout=120)
    for lab, xs in ((a, range(4)), (b, range(10, 13))):
        rcs = lab.results()
        assert sorted(r["parameters"]["x"] for r in rcs) == list(xs), rcs
        for r in rcs:
            md = r["metadata"]
            assert md["epyc.experiment.classname"] == "__main__.Child", md
            assert r["results"]["y"] == 2 * r["parameters"]["x"]
            assert r["results"]["z"] == OFFSET + r["parameters"]["x"]
        assert lab.ready() and lab.readyFraction() == 1.0 and lab.updateResults() == 0
    df = a.dataframe()
    assert sorted(df["x"]) == list(range(4)), df
    say("two labs: each has its own points, classname __main__.Child")
    return a


def cancels(mount, state):
    """The notebook's cancelPendingResult cancels at the cluster; a cancel
    made at the mount comes back as epyc's CancelledException."""
    lab = lab_on(mount)
    nb = lab.notebook()
    nb.addResultSet("to cancel")
    tag = clabfs.clusterlab.clab_tag("to cancel")
    assert tag != "to cancel" and tag.startswith("to-cancel-"), tag
    lab["x"] = [1, 2, 3]
    lab["sleep"] = [60]
    lab.runExperiment(Base())
    jobs = sorted(nb.pendingResults())
    assert len(jobs) == 3
    nb.cancelPendingResult(jobs[0])
    with open(os.path.join(mount, "ctl"), "w") as f:
        f.write("cancel %s %s\n" % (tag, jobs[1]))
    assert lab.updateResults() == 1
    assert nb.pendingResults() == [jobs[2]]
    nb.cancelPendingResult(jobs[2])
    assert lab.wait(timeout=5)
    for rc in nb.results():
        assert isinstance(rc["metadata"][EXCEPTION], CancelledException), rc
    with open(os.path.join(mount, "results", tag, "status")) as f:
        status = dict(line.split(" ", 1) for line in f.read().splitlines())
    assert (status["pending"], status["failed"], status["results"]) == ("0", "3", "0"), status
    say("cancels: at the cluster from the notebook, and from the mount")


def imports(mount):
    lab = lab_on(mount)
    with lab.sync_imports(quiet=True):
        import wave  # noqa: F401
        from textwrap import dedent  # noqa: F401
    lab["x"] = [1, 2]
    lab.runExperiment(Imports())
    assert lab.wait(timeout=120)
    for rc in lab.results():
        assert rc["results"] == {"wave": True, "dedent": True}, rc
    say("sync_imports: every worker imported wave and textwrap.dedent")


def limits(mount):
    """A pickle over 1 MiB is refused before anything is submitted; one
    just under it runs."""
    lab = lab_on(mount)
    lab["x"] = [1]
    try:
        lab.runExperiment(Heavy(1100 * 1024))
        raise AssertionError("a 1.1 MiB pickle was accepted")
    except ValueError as e:
        assert "over clabfs's 1048576" in str(e), e
    assert lab.notebook().numberOfAllPendingResults() == 0
    lab.runExperiment(Heavy(1000 * 1024))
    assert lab.wait(timeout=120)
    assert lab.results()[0]["results"]["n"] == 1000 * 1024
    say("limits: 1.1 MiB refused, 1000 KiB ran")


def labs(mount, state):
    lab = two_labs(mount)
    with open(os.path.join(mount, "status")) as f:
        engines = int(f.read().split("engines ", 1)[1].split()[0])
    assert lab.numberOfEngines() == engines == len(lab.engines()), lab.engines()
    assert lab.engines() == sorted(os.listdir(os.path.join(mount, "engines")))
    lab.activate()
    assert clabfs.ClusterLab.active is lab
    lab.close()
    lab.open()
    cancels(mount, state)
    imports(mount)
    limits(mount)


def standalone(mount):
    lab = lab_on(mount)
    assert type(lab).__mro__[1].__module__ == "clabfs._standalone", type(lab).__mro__

    class Twice:
        def __call__(self, params):
            return {"y": params["x"] * 2}

    lab["x"] = range(3)
    assert len(lab) == 3 and lab.parameters() == ["x"]
    lab.runExperiment(Twice())
    assert lab.wait(timeout=120)
    assert sorted(r["results"]["y"] for r in lab.results()) == [0, 2, 4]
    assert len(lab.dataframe()) == 3
    say("standalone: no epyc, same names, results and a dataframe")


def own_mount(lab):
    path = lab._mount.path
    assert subprocess.run(["mountpoint", "-q", path]).returncode == 0
    return path


def private(cluster_json, home):
    ignored = dict(ipython_dir="/nonexistent", context=object(), password="x",
                   paramiko=True, cluster_id="c1", debug=True)
    lab = clabfs.ClusterLab(url_file=cluster_json, profile="p", **ignored)
    path, proc = own_mount(lab), lab._own.proc
    state = os.path.join(home, ".local", "state", "clabfs", "p")
    assert os.path.isfile(os.path.join(state, "notebook.db")), os.listdir(state)
    lab["x"] = [5, 6]
    lab.runExperiment(Child())
    assert lab.wait(timeout=120)
    assert sorted(r["results"]["z"] for r in lab.results()) == [1005, 1006]
    lab.close()
    assert proc.poll() is not None and not os.path.exists(path), "still mounted"

    lab = clabfs.ClusterLab(profile_dir=os.path.join(home, "own"), engines=1)
    path = own_mount(lab)
    assert lab.numberOfEngines() == 1
    lab["x"] = [7]
    lab.runExperiment(Child())
    assert lab.wait(timeout=120)
    assert lab.results()[0]["results"]["y"] == 14
    lab.close()
    assert not os.path.exists(path), "still mounted"

    opts = clabfs.ClusterLab._options(type("L", (), {
        "_arguments": dict(url_file="/c.json", sshserver="me@gw", sshkey="/k",
                           engines=None), "Retries": 3, "Reconnections": 5})())
    assert opts[:6] == ["--cluster", "/c.json", "--ssh", "me@gw", "--ssh-key", "/k"], opts
    say("private: --cluster and embedded mounts of its own, unmounted by close()")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"slow": slow, "purge": purge, "labs": labs, "standalone": standalone,
     "private": private}[cmd](*args)
