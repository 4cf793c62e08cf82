"""The experiments tests/epyc/compare.py runs through epyc's own Lab and
through clabfs, one module attribute per kind so that every road loads
the same object: clab-python as kinds:NAME (--path tests/epyc), epyc's Lab
and clabfs.ClusterLab as kinds.NAME.

Two families: experiments of every kind the issue names (plain; raising
in setUp, do or tearDown; a RepeatedExperiment whose repetitions fail
now and then; a SummaryExperiment over it; do returning results dicts;
setUp adding and changing parameters; seeded randomness), and the
experiment classes of epyc's own test suite, imported from EPYC_SRC's
test package (never copied), with the combinators its tests wrap them
in.

KINDS lists each kind: its name, the attribute, the lab's parameters,
and how records compare ("exact", or "counts" for the suite's unseeded
random classes: the same records, keys and types, values aside). Each
kind has one point but plain (two, so that records pair up by their
parameters): every point of the one-shot road and every job of the
others starts a Python that imports epyc (most of the harness's time),
and classes that keep state across runs agree only at one point, between
a fresh object (one-shot), a worker's and epyc's single object. Left
out: the suite's SampleExperiment1 and 8 of test_experiments (do returns
None, or results dicts without a status, which epyc's own Lab cannot
store: its tests run them without a lab), SampleExperiment2 and 4 (they
sleep, and time is compared by type anyway), and test_clusterlabs's
classes (the same as test_labs's; importing that module asks IPython for
a profile)."""
import os
import sys

import numpy
from epyc import Experiment, RepeatedExperiment, SummaryExperiment

_epyc_src = os.environ.get("EPYC_SRC")
if _epyc_src and _epyc_src not in sys.path:
    sys.path.insert(0, _epyc_src)

from test import test_experiments as tx  # noqa: E402  (EPYC_SRC/test)
from test import test_labs as tl  # noqa: E402
from test import test_repeatedexperiments as tr  # noqa: E402
from test import test_summaryexperiments as ts  # noqa: E402


class Plain(Experiment):
    """Results of several types from numpy and Python."""

    def do(self, params):
        x = params["x"]
        return {"y": float(numpy.sqrt(x)), "n": x * 2, "label": "x=%d" % x,
                "v": [x, x + 1], "half": x / 2}


class Values(Experiment):
    """Every kind of value epyc's JSON notebook stores (it refuses None,
    tuples, numpy's bools, float32s, arrays and complex numbers)."""

    def do(self, params):
        return {"nan": float("nan"), "inf": float("inf"), "ninf": -float("inf"),
                "big": 2 ** 70, "i64": numpy.int64(-7), "f64": numpy.float64(0.1),
                "ok": True, "text": "\u00e9\u2603 \"quoted\"\n", "floats": [0.5, 1.5],
                "ints": [1, 2, 3]}


class RaisesInSetUp(Experiment):
    def setUp(self, params):
        super().setUp(params)
        raise ValueError("no set-up for x=%s ('quoted')" % params["x"])

    def do(self, params):
        return {"y": 1}


class RaisesInDo(Experiment):
    def do(self, params):
        raise ZeroDivisionError("x=%s\nover two lines" % params["x"])


class RaisesInTearDown(Experiment):
    def do(self, params):
        return {"y": params["x"]}

    def tearDown(self):
        super().tearDown()
        raise RuntimeError("tear-down failed")


class FailsSometimes(Experiment):
    """Fails at some repetitions, the same ones on every road: the count
    starts again at each point (configure, which a RepeatedExperiment
    calls once per point)."""

    def configure(self, params):
        super().configure(params)
        self.rep = 0

    def do(self, params):
        i, self.rep = self.rep, self.rep + 1
        if (params["x"] + i) % 3 == 0:
            raise ArithmeticError("repetition %d of x=%d fails" % (i, params["x"]))
        return {"y": params["x"] * 10 + i}


class ManyResults(Experiment):
    """do returns results dicts of its own, one of them failed."""

    def do(self, params):
        out = []
        for k in range(3):
            rc = Experiment.resultsdict()
            rc[Experiment.PARAMETERS] = dict(params, k=k)
            rc[Experiment.RESULTS] = {"y": params["x"] + k}
            rc[Experiment.METADATA] = {Experiment.STATUS: k != 1}
            if k == 1:
                rc[Experiment.METADATA][Experiment.EXCEPTION] = "element %d failed" % k
            out.append(rc)
        return out


class SetsParameters(Experiment):
    """setUp adds a parameter and changes one: the record's parameters
    are what epyc records."""

    def setUp(self, params):
        super().setUp(params)
        params["variance"] = 0.5
        params["x"] = params["x"] + 100

    def do(self, params):
        return {"y": params["x"] + params["variance"]}


class Seeded(Experiment):
    """Random, seeded from the point."""

    def do(self, params):
        rng = numpy.random.default_rng(params["x"])
        return {"r": float(rng.random()), "k": int(rng.integers(0, 1000))}


plain = Plain()
values = Values()
raises_setup = RaisesInSetUp()
raises_do = RaisesInDo()
raises_teardown = RaisesInTearDown()
repeated = RepeatedExperiment(FailsSometimes(), 4)
summary = SummaryExperiment(RepeatedExperiment(FailsSometimes(), 4))
many = ManyResults()
sets_parameters = SetsParameters()
seeded = Seeded()

# epyc's test suite, as its tests use the classes.
tx0, tx3 = tx.SampleExperiment0(), tx.SampleExperiment3()
tx5, tx6, tx7 = tx.SampleExperiment5(), tx.SampleExperiment6(), tx.SampleExperiment7()
tx9 = tx.SampleExperiment9()
tl_sample, tl_null = tl.SampleExperiment(), tl.NullExperiment()
tr_repeated = RepeatedExperiment(tr.SampleExperiment1(), 10)
ts_summary = SummaryExperiment(RepeatedExperiment(ts.SampleExperiment1(), 10))
ts_select = SummaryExperiment(RepeatedExperiment(ts.SampleExperiment1(), 10),
                              summarised_results=["dummy"])
ts_single = SummaryExperiment(ts.SampleExperiment1())
ts_nested = SummaryExperiment(RepeatedExperiment(ts.SampleExperiment4(), 5),
                              summarised_results=["total", "nestedArray"])
ts_random = SummaryExperiment(RepeatedExperiment(ts.SampleExperiment2(), 10))
ts_ignoring = SummaryExperiment(RepeatedExperiment(ts.SampleExperiment3(), 10))
ts_extrema = SummaryExperiment(RepeatedExperiment(ts.SampleExperiment5(), 10))

ONE = {"x": [1]}  # FailsSometimes fails at repetition 2 of x=1
KINDS = [
    ("plain", "plain", {"x": [1, 4]}, "exact"),
    ("values of every JSON type", "values", ONE, "exact"),
    ("raise in setUp", "raises_setup", ONE, "exact"),
    ("raise in do", "raises_do", ONE, "exact"),
    ("raise in tearDown", "raises_teardown", ONE, "exact"),
    ("repeated, some failing", "repeated", ONE, "exact"),
    ("summary of repeated", "summary", ONE, "exact"),
    ("do returns results dicts", "many", ONE, "exact"),
    ("setUp sets parameters", "sets_parameters", ONE, "exact"),
    ("seeded random", "seeded", {"x": [3]}, "exact"),
    ("epyc test_experiments 0 (phases)", "tx0", ONE, "exact"),
    ("epyc test_experiments 3", "tx3", {"a": [1], "b": [10]}, "exact"),
    ("epyc test_experiments 5 (do)", "tx5", ONE, "exact"),
    ("epyc test_experiments 6 (setUp)", "tx6", ONE, "exact"),
    ("epyc test_experiments 7 (tearDown)", "tx7", ONE, "exact"),
    ("epyc test_experiments 9", "tx9", ONE, "exact"),
    ("epyc test_labs Sample", "tl_sample", {"a": [2], "b": [0]}, "exact"),
    ("epyc test_labs Null (string)", "tl_null", {"s": "A string"}, "exact"),
    ("epyc test_repeated", "tr_repeated", {"x": [5]}, "exact"),
    ("epyc test_summary", "ts_summary", {"x": [5]}, "exact"),
    ("epyc test_summary select", "ts_select", {"x": [5]}, "exact"),
    ("epyc test_summary single", "ts_single", {"x": [5]}, "exact"),
    ("epyc test_summary nested", "ts_nested", {"a": [1]}, "exact"),
    ("epyc test_summary 'hello'", "ts_summary", {"x": "hello"}, "exact"),
    ("epyc test_summary random", "ts_random", {"x": [5]}, "counts"),
    ("epyc test_summary ignoring", "ts_ignoring", {"x": [5]}, "counts"),
    ("epyc test_summary extrema", "ts_extrema", {"x": [5]}, "counts"),
]
