# Experiments for clab-python's tests that need no epyc: plain callables,
# and classes written to epyc's documented Experiment interface (set(params)
# returns the experiment; run() calls setUp, do and tearDown and returns a
# results dict {"parameters", "metadata", "results"} with epyc's metadata
# names, recording an exception raised on the way instead of raising it).
# The base class here is our own small rendering of that interface, so that
# clab-python's duck typing is tested where epyc cannot be imported.
import datetime
import os
import sys
import traceback

# ---------- plain callables ----------


def square(p):
    return {"y": p["x"] * p["x"]}


def pair(p):
    return [{"k": 0, "y": p["x"]}, {"k": 1, "y": -p["x"]}]


def boom(p):
    if p["x"] == 2:
        raise ValueError("x is 2\nand that is bad")
    return {"y": p["x"] * p["x"]}


def returns_none(p):
    return None


def returns_empty(p):
    return []


def unserialisable(p):
    return {"o": object()}


def values(p):
    return {"when": datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
            "day": datetime.date(2024, 1, 2), "tags": {"b", "a"}, "t": (1, 2),
            "nan": float("nan"), "inf": float("inf"), "nested": {"l": [1, {"m": None}]},
            "text": "é\n\"q\""}


def exits(p):
    sys.exit(3)


def where(p):
    return {"exe": sys.executable, "path": sys.path[:4], "cwd_listed": "." in sys.path}


def scaled(p, scale=1):
    return {"y": p["x"] * scale}


def numpy_values(p):
    import numpy

    return {"i": numpy.int64(3), "f32": numpy.float32(0.5), "f64": numpy.float64(1.25),
            "b": numpy.bool_(True), "a": numpy.arange(3), "m": numpy.array([[1.5, 2.0]]),
            "nan": numpy.float64("nan"), "inf": numpy.float32("inf"), "u8": numpy.uint8(255)}


def noisy(p):
    """Writes to stdout every way a Python experiment can, and reads stdin."""
    print("print to sys.stdout")
    sys.__stdout__.write("write to sys.__stdout__\n")
    sys.__stdout__.flush()
    os.write(1, b"write to fd 1\n")
    os.system("echo a child process on its stdout")
    got = sys.stdin.read()
    return {"stdin": got, "x": p["x"]}


class Scaled:
    """A class whose instances are the callables, built with --kwargs."""

    def __init__(self, scale=1):
        self.scale = scale

    def __call__(self, p):
        return {"y": p["x"] * self.scale}


# ---------- epyc's interface, without epyc ----------


class Experiment:
    """Our own rendering of epyc's documented Experiment interface."""

    PARAMETERS, METADATA, RESULTS = "parameters", "metadata", "results"

    def __init__(self):
        self._parameters = {}

    def set(self, params):
        self._parameters = params
        return self

    def setUp(self, params):
        pass

    def do(self, params):
        return {}

    def tearDown(self):
        pass

    def run(self):
        now = datetime.datetime.now
        p = self._parameters
        meta = {"epyc.experiment.classname": "%s.%s" % (type(self).__module__, type(self).__name__)}
        start = now()
        meta["epyc.experiment.start_time"] = start
        res = {}
        try:
            self.setUp(p)
            t1 = now()
            meta["epyc.experiment.setup_time"] = (t1 - start).total_seconds()
            res = self.do(p)
            t2 = now()
            meta["epyc.experiment.experiment_time"] = (t2 - t1).total_seconds()
            self.tearDown()
            t3 = now()
            meta["epyc.experiment.teardown_time"] = (t3 - t2).total_seconds()
            meta["epyc.experiment.end_time"] = t3
            meta["epyc.experiment.elapsed_time"] = (t3 - start).total_seconds()
            meta["epyc.experiment.status"] = True
        except Exception as e:
            meta["epyc.experiment.end_time"] = now()
            meta["epyc.experiment.status"] = False
            meta["epyc.experiment.exception"] = e
            meta["epyc.experiment.traceback"] = traceback.format_exc()
        return {"parameters": dict(p), "metadata": meta, "results": res}


class Square(Experiment):
    def setUp(self, p):
        self.k = p.get("k", 1)

    def do(self, p):
        return {"y": p["x"] * p["x"] * self.k}

    def tearDown(self):
        del self.k


class RaisesInDo(Experiment):
    def do(self, p):
        raise ArithmeticError("cannot do x=%s" % p["x"])


class RaisesInSetUp(Experiment):
    def setUp(self, p):
        raise OSError("no network")


class Cached(Experiment):
    """State built once in __init__ and reused by every point of a worker;
    setUp runs at every point, as epyc runs it."""

    inits = 0

    def __init__(self):
        super().__init__()
        Cached.inits += 1
        self.cache = {}
        self.setups = 0

    def setUp(self, p):
        self.setups += 1

    def do(self, p):
        hit = p["x"] in self.cache
        self.cache[p["x"]] = p["x"] * 10
        return {"inits": Cached.inits, "setups": self.setups, "hit": hit,
                "cached": len(self.cache), "pid": os.getpid()}


class Repeat(Experiment):
    """RepeatedExperiment's shape: results are a list of results dicts, each
    with its own metadata, tagged with the repetition."""

    def __init__(self, ex, n):
        super().__init__()
        self.ex, self.n = ex, n

    def set(self, params):
        self.ex.set(params)
        return super().set(params)

    def do(self, p):
        out = []
        for i in range(self.n):
            rc = self.ex.run()
            rc["metadata"]["epyc.experiment.rep"] = i
            rc["metadata"]["epyc.experiment.repetitions"] = self.n
            out.append(rc)
        return out


class FailsSecondTime(Experiment):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def do(self, p):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("second run fails")
        return {"calls": self.calls}


repeated = Repeat(Square(), 3)
partly_failing = Repeat(FailsSecondTime(), 3)


class Garbled(Experiment):
    """run() returning what no epyc experiment returns."""

    def run(self):
        return {"parameters": {}, "metadata": "not a dict", "results": 42}
