# Experiments for clab-python's tests written with real epyc (importable
# through EPYC_SRC=DIR, a source tree): an Experiment subclass with
# setUp/do/tearDown, one that raises in do, one that keeps state across the
# points of a worker, and the combinators RepeatedExperiment and
# SummaryExperiment.
import os

import epyc


class Square(epyc.Experiment):
    def setUp(self, params):
        super().setUp(params)
        self.k = params.get("k", 1)

    def do(self, params):
        return {"y": params["x"] * params["x"] * self.k}

    def tearDown(self):
        del self.k
        super().tearDown()


class RaisesInDo(epyc.Experiment):
    def do(self, params):
        raise ArithmeticError("cannot do x=%s" % params["x"])


class AddsVariance(epyc.Experiment):
    """A parameter added in setUp (an epyc cookbook pattern) is part of the
    record's parameters."""

    def setUp(self, params):
        super().setUp(params)
        params["variance"] = 0.5

    def do(self, params):
        return {"y": params["x"] + params["variance"]}


class Cached(epyc.Experiment):
    inits = 0

    def __init__(self):
        super().__init__()
        Cached.inits += 1
        self.cache = {}
        self.setups = 0

    def setUp(self, params):
        super().setUp(params)
        self.setups += 1

    def do(self, params):
        hit = params["x"] in self.cache
        self.cache[params["x"]] = True
        return {"inits": Cached.inits, "setups": self.setups, "hit": hit,
                "pid": os.getpid()}


class Counter(epyc.Experiment):
    """Returns 1, 2, 3, … on successive runs: something to summarise."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def do(self, params):
        self.n += 1
        return {"n": self.n}


class FailsSecondTime(epyc.Experiment):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def do(self, params):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("second run fails")
        return {"calls": self.calls}


repeated = epyc.RepeatedExperiment(Square(), 3)
summary = epyc.SummaryExperiment(epyc.RepeatedExperiment(Counter(), 4))
partly_failing = epyc.RepeatedExperiment(FailsSecondTime(), 3)
