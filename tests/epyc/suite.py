#!/usr/bin/python3
"""epyc's own tests, run from EPYC_SRC (never copied) against
clabfs.ClusterLab on a mount: test_clusterlabs.py as written, and the
tests of test_labs.py, test_repeatedexperiments.py and
test_summaryexperiments.py, which run through a lab.

What the adapter changes, and nothing else (the README lists it too):
- test_clusterlabs: ClusterLab is clabfs's, on the mount given (its
  profile, 'epyctest', names an ipyparallel cluster: ignored); the class's
  skip (no ipyparallel profile running) is lifted; its module's time is
  one whose sleep() lasts SCALE of what it asks, so SampleExperiment2's
  2 s (on the engines: the object travels with its module's globals) and
  the test's own sleeps shrink alike, and the lab's wait(timeout) is
  scaled by SCALE too, keeping the tests' timing relations.
- the others: Lab is a ClusterLab on the mount whose runExperiment waits
  for its points (epyc's Lab runs them before returning); assertions on
  the local experiment object after a run are dropped (LOCAL_LINES), as
  the object runs on the engines and the local one never runs (epyc's own
  ClusterLab is no different); tests that compare results with values
  only the local object would hold are skipped (SKIPS).
Each line dropped is replaced by `pass`, so that line numbers and
tracebacks still match the files in EPYC_SRC.

usage: suite.py MOUNT [unittest names...]"""
import importlib.util
import os
import sys
import tempfile
import time as _time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EPYC_SRC = os.path.abspath(os.environ.get("EPYC_SRC") or
                           os.path.join(HERE, "..", "..", "..", "shared", "epyc-1.7.2"))
os.environ["EPYC_SRC"] = EPYC_SRC
sys.path[:0] = [EPYC_SRC, os.path.join(HERE, "..", "..", "scripts")]

import epyc  # noqa: E402

import clabfs  # noqa: E402

SCALE = 0.1
MOUNT = None  # set by main()

# (module, line as written) -> why the adapter drops it
LOCAL_LINES = {
    ("test_repeatedexperiments", "self.assertTrue(er.success())"):
        "er ran on the engines; the local object never runs",
    ("test_summaryexperiments", "self.assertTrue(es.success())"):
        "es ran on the engines; the local object never runs",
    ("test_summaryexperiments", "self.assertTrue(re.success())"):
        "re ran on the engines; the local object never runs",
}
# (module, class, test) -> why it cannot run as written
SKIPS = {
    ("test_summaryexperiments", "SummaryExperimentTests", "testSummary"):
        "compares the summary with e.values(), which only the engines' copy holds",
    ("test_summaryexperiments", "SummaryExperimentTests", "testIgnoring"):
        "compares the summary with e.ran() and e.values(), which only the engines' copy holds",
    ("test_summaryexperiments", "SummaryExperimentTests", "testExtrema"):
        "compares the summary with e._values, which only the engines' copy holds",
}


class ScaledTime:
    """The time module, but sleep() lasts SCALE of what it asks. It travels
    by value with the experiments whose module uses it."""

    def __init__(self, scale):
        self.scale = scale

    def sleep(self, seconds):
        _time.sleep(seconds * self.scale)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_time, name)


class AdapterClusterLab(clabfs.ClusterLab):
    """clabfs's ClusterLab on the test mount, whatever profile is asked
    for; wait(timeout) scaled as the sleeps are."""

    def __init__(self, notebook=None, profile=None, **kwargs):
        kwargs.pop("mount", None)
        super().__init__(notebook=notebook, mount=MOUNT, **kwargs)

    def wait(self, timeout=-1):
        return super().wait(timeout if timeout < 0 else timeout * SCALE)


class SyncClusterLab(AdapterClusterLab):
    """A ClusterLab standing in for epyc's Lab, whose runExperiment has
    run every point when it returns."""

    def __init__(self, notebook=None, design=None):
        super().__init__(notebook=notebook, design=design)

    def runExperiment(self, e):
        super().runExperiment(e)
        if not self.wait(timeout=300):
            raise AssertionError("points still pending after 300 s")


def load(name, patch=True):
    """EPYC_SRC/test/NAME.py as the module test.NAME, the lines of
    LOCAL_LINES replaced by `pass` (same indentation, same line numbers)."""
    path = os.path.join(EPYC_SRC, "test", name + ".py")
    importlib.import_module("test")  # EPYC_SRC's, first on sys.path
    with open(path) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        if patch and (name, line.strip()) in LOCAL_LINES:
            lines[i] = line[:len(line) - len(line.lstrip())] + "pass"
    spec = importlib.util.spec_from_file_location("test." + name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    exec(compile("\n".join(lines), path, "exec"), module.__dict__)
    return module


def adapt_clusterlabs():
    m = load("test_clusterlabs", patch=False)
    AdapterClusterLab.WaitingTime = epyc.ClusterLab.WaitingTime  # the test set it
    m.ClusterLab = AdapterClusterLab
    m.time = ScaledTime(SCALE)
    m.ClusterLabTests.__unittest_skip__ = False
    return m


def adapt_lab_tests(name):
    m = load(name)
    m.Lab = SyncClusterLab
    for (mod, cls, test), why in SKIPS.items():
        if mod == name:
            case = getattr(m, cls)
            setattr(case, test, unittest.skip("clabfs: " + why)(getattr(case, test)))
    return m


class TimedResult(unittest.TextTestResult):
    """Says how long each test took (what the suite costs CI)."""

    def startTest(self, test):
        self._started = _time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.stream.writeln("    (%.1f s)" % (_time.monotonic() - self._started))


def main(argv):
    global MOUNT
    if len(argv) < 2:
        sys.exit(__doc__.split("\n\n")[-1])
    MOUNT = os.path.abspath(argv[1])
    os.environ.setdefault("IPYTHONDIR", tempfile.mkdtemp(prefix="clab-ipython-"))
    modules = [adapt_clusterlabs()] + [adapt_lab_tests(n) for n in (
        "test_labs", "test_repeatedexperiments", "test_summaryexperiments")]
    loader = unittest.TestLoader()
    if len(argv) > 2:
        suite = loader.loadTestsFromNames(argv[2:])
    else:
        suite = unittest.TestSuite(loader.loadTestsFromModule(m) for m in modules)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout,
                                     resultclass=TimedResult).run(suite)
    return 0 if result.wasSuccessful() and not result.unexpectedSuccesses else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
