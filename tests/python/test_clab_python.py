# clab-python driven through real pipes, one-shot and as a worker: the
# exact envelope lines it writes, its exit status, and what it keeps off
# stdout. Real epyc's cases run when `import epyc` works with EPYC_SRC on
# the path, and are skipped otherwise. Run with
#   /usr/bin/python3 -m unittest discover -s tests/python -v
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "clab-python")
# python3 on PATH may be a pyenv shim without numpy: Debian's, when there.
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def run(target, lines=(), worker=False, args=(), env=None, python=PY, raw=None):
    """Runs clab-python on the given point lines: (status, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("CLAB_WORKER", None)
    e.pop("CLAB_PARAMS", None)
    if worker:
        e["CLAB_WORKER"] = "1"
    e.update(env or {})
    data = raw if raw is not None else "".join(json.dumps(p) + "\n" for p in lines).encode()
    argv = [python, SCRIPT] + ([target] if target else []) + ["--path", HERE] + list(args)
    p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=e, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def envelopes(out):
    assert out.endswith("\n"), repr(out)
    return [json.loads(l) for l in out.splitlines()]


def mask_times(d):
    """Checks epyc's times (ISO 8601 UTC for start/end, seconds otherwise)
    and replaces them, so that the rest can be compared exactly."""
    for k in list(d):
        if k in ("epyc.experiment.start_time", "epyc.experiment.end_time"):
            assert ISO.match(d[k]), (k, d[k])
            d[k] = "T"
        elif k.startswith("epyc.experiment.") and k.endswith("_time"):
            assert isinstance(d[k], (int, float)) and d[k] >= 0, (k, d[k])
            d[k] = 0
    return d


def records(out):
    """The one envelope of out, which must hold clab.records: the records,
    their times checked and masked."""
    [env] = envelopes(out)
    assert list(env) == ["clab.records"], env
    for r in env["clab.records"]:
        assert sorted(r) == ["metadata", "parameters", "results"], r
        mask_times(r["metadata"])
    return env["clab.records"]


def masked(env):
    mask_times(env.get("clab.metadata", {}))
    res = env.get("clab.results")
    for r in res if isinstance(res, list) else [res] if res else []:
        mask_times(r)
    return env


TIMES = {"epyc.experiment.start_time": "T", "epyc.experiment.setup_time": 0,
         "epyc.experiment.experiment_time": 0, "epyc.experiment.teardown_time": 0,
         "epyc.experiment.end_time": "T", "epyc.experiment.elapsed_time": 0}


def has_numpy():
    return subprocess.run([PY, "-c", "import numpy"], stderr=subprocess.DEVNULL).returncode == 0


def has_epyc():
    env = dict(os.environ)
    if env.get("EPYC_SRC"):
        env["PYTHONPATH"] = env["EPYC_SRC"]
    return subprocess.run([PY, "-c", "import epyc"], env=env,
                          stderr=subprocess.DEVNULL).returncode == 0


class Callables(unittest.TestCase):
    def test_dict_one_shot(self):
        rc, out, err = run("experiments:square", [{"x": 3}])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, '{"clab.results": {"y": 9}, "clab.metadata": '
                              '{"epyc.experiment.classname": "experiments.square"}}\n')

    def test_list_of_dicts(self):
        rc, out, _ = run("experiments:pair", [{"x": 4}])
        self.assertEqual(out, '{"clab.results": [{"k": 0, "y": 4}, {"k": 1, "y": -4}], '
                              '"clab.metadata": {"epyc.experiment.classname": "experiments.pair"}}\n')

    def test_raises(self):
        rc, out, err = run("experiments:boom", [{"x": 2}])
        self.assertEqual(rc, 0, err)
        [env] = envelopes(out)
        tb = env.pop("clab.traceback")
        self.assertEqual(env, {"clab.metadata": {"epyc.experiment.classname": "experiments.boom"},
                               "clab.exception": "ValueError: x is 2 and that is bad"})
        self.assertTrue(tb.startswith("Traceback (most recent call last):\n"), tb)
        self.assertIn('experiments.py", line', tb)
        self.assertNotIn("clab-python", tb)  # the user's frames only
        self.assertTrue(tb.endswith("ValueError: x is 2\nand that is bad\n"), tb)

    def test_bad_return_values(self):
        for target, what in (("returns_none", "NoneType"), ("returns_empty", "an empty list")):
            rc, out, _ = run("experiments:" + target, [{"x": 1}])
            self.assertEqual(rc, 0)
            self.assertEqual(envelopes(out), [{
                "clab.metadata": {"epyc.experiment.classname": "experiments." + target},
                "clab.exception": "TypeError: experiments.%s returned %s, not a dict or a list of dicts"
                                  % (target, what),
                "clab.traceback": ""}])

    def test_unserialisable_result_fails_the_point(self):
        rc, out, _ = run("experiments:unserialisable", [{"x": 1}])
        self.assertEqual(rc, 0)
        [env] = envelopes(out)
        self.assertEqual(env["clab.exception"], "TypeError: Object of type object is not JSON serializable")
        self.assertEqual(env["clab.metadata"], {"epyc.experiment.classname": "experiments.unserialisable"})
        self.assertNotIn("clab.results", env)

    def test_values(self):
        rc, out, _ = run("experiments:values", [{"x": 1}])
        self.assertEqual(out, '{"clab.results": {"when": "2024-01-02T03:04:05.000006Z", '
                              '"day": "2024-01-02", "tags": ["a", "b"], "t": [1, 2], "nan": NaN, '
                              '"inf": Infinity, "nested": {"l": [1, {"m": null}]}, '
                              '"text": "\\u00e9\\n\\"q\\""}, '
                              '"clab.metadata": {"epyc.experiment.classname": "experiments.values"}}\n')

    def test_sys_exit_is_a_failed_point(self):
        rc, out, _ = run("experiments:exits", [{"x": 1}])
        self.assertEqual(rc, 0)
        self.assertEqual(envelopes(out)[0]["clab.exception"], "SystemExit: 3")

    @unittest.skipUnless(has_numpy(), "numpy is not importable by " + PY)
    def test_numpy(self):
        rc, out, err = run("experiments:numpy_values", [{"x": 1}])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, '{"clab.results": {"i": 3, "f32": 0.5, "f64": 1.25, "b": true, '
                              '"a": [0, 1, 2], "m": [[1.5, 2.0]], "nan": NaN, "inf": Infinity, '
                              '"u8": 255}, "clab.metadata": {"epyc.experiment.classname": '
                              '"experiments.numpy_values"}}\n')

    def test_kwargs(self):
        _, out, _ = run("experiments:scaled", [{"x": 2}], args=["--kwargs", '{"scale": 5}'])
        self.assertEqual(envelopes(out)[0]["clab.results"], {"y": 10})
        _, out, _ = run("experiments:Scaled", [{"x": 2}], args=["--kwargs={\"scale\": 7}"])
        self.assertEqual(envelopes(out), [{"clab.results": {"y": 14}, "clab.metadata":
                                           {"epyc.experiment.classname": "experiments.Scaled"}}])

    def test_module_by_file_path(self):
        rc, out, err = run(os.path.join(HERE, "experiments.py") + ":square", [{"x": 5}])
        self.assertEqual(rc, 0, err)
        self.assertEqual(envelopes(out)[0]["clab.results"], {"y": 25})

    def test_params_from_environment_when_stdin_is_empty(self):
        rc, out, _ = run("experiments:square", raw=b"", env={"CLAB_PARAMS": '{"x": 6}'})
        self.assertEqual(envelopes(out)[0]["clab.results"], {"y": 36})

    def test_bad_point_lines(self):
        rc, out, _ = run("experiments:square", raw=b"[1, 2]\n")
        self.assertEqual(rc, 0)
        self.assertEqual(out, '{"clab.metadata": {}, "clab.exception": '
                              '"ValueError: the point is not a JSON object", "clab.traceback": ""}\n')
        rc, out, _ = run("experiments:square", raw=b"")
        self.assertEqual(envelopes(out)[0]["clab.exception"],
                         "JSONDecodeError: Expecting value: line 1 column 1 (char 0)")


class Stdio(unittest.TestCase):
    def test_prints_go_to_stderr_and_stdin_is_not_the_protocol(self):
        for worker in (False, True):
            pts = [{"x": 1}, {"x": 2}] if worker else [{"x": 1}]
            rc, out, err = run("experiments:noisy", pts, worker=worker)
            self.assertEqual(rc, 0, err)
            self.assertEqual(envelopes(out), [
                {"clab.results": {"stdin": "", "x": p["x"]},
                 "clab.metadata": {"epyc.experiment.classname": "experiments.noisy"}} for p in pts])
            for text in ("print to sys.stdout", "write to sys.__stdout__", "write to fd 1",
                         "a child process on its stdout"):
                self.assertEqual(err.count(text), len(pts), (text, err))


class Worker(unittest.TestCase):
    def test_one_line_per_point_and_exit_at_eof(self):
        pts = [{"x": i} for i in range(5)]
        rc, out, err = run("experiments:boom", pts, worker=True)
        self.assertEqual(rc, 0, err)
        envs = envelopes(out)
        self.assertEqual(len(envs), 5)
        self.assertEqual([e.get("clab.results") for e in envs],
                         [{"y": 0}, {"y": 1}, None, {"y": 9}, {"y": 16}])
        self.assertEqual(envs[2]["clab.exception"], "ValueError: x is 2 and that is bad")

    def test_bad_lines_get_one_answer_each(self):
        rc, out, _ = run("experiments:square", worker=True, raw=b'{"x": 1}\n\nnope\n3\n{"x": 2}\n')
        envs = envelopes(out)
        self.assertEqual(len(envs), 5)
        self.assertEqual([e.get("clab.results") for e in envs], [{"y": 1}, None, None, None, {"y": 4}])

    def test_no_points(self):
        self.assertEqual(run("experiments:square", worker=True, raw=b""), (0, "", ""))

    def test_state_cached_across_points(self):
        pts = [{"x": 1}, {"x": 2}, {"x": 1}]
        rc, out, err = run("experiments:Cached", pts, worker=True)
        self.assertEqual(rc, 0, err)
        recs = [records(line + "\n")[0] for line in out.splitlines()]
        pid = recs[0]["results"]["pid"]
        self.assertEqual(recs, [{
            "parameters": pts[i],
            "results": {"inits": 1, "setups": i + 1, "hit": i == 2, "cached": [1, 2, 2][i], "pid": pid},
            "metadata": dict({"epyc.experiment.classname": "experiments.Cached",
                              "epyc.experiment.status": True}, **TIMES)}
            for i in range(3)])

    def test_worker_answers_before_the_next_point_is_written(self):
        e = dict(os.environ, CLAB_WORKER="1")
        p = subprocess.Popen([PY, SCRIPT, "experiments:square", "--path", HERE], env=e,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            for x in range(3):
                p.stdin.write(b'{"x": %d}\n' % x)
                p.stdin.flush()
                self.assertEqual(json.loads(p.stdout.readline())["clab.results"], {"y": x * x})
            p.stdin.close()
            self.assertEqual(p.stdout.read(), b"")
            self.assertEqual(p.wait(timeout=60), 0)
        finally:
            p.kill()
            p.wait()
            p.stdout.close()


def framed_lines(points, first=1):
    """Points as a framed worker reads them, numbered from first."""
    return "".join(json.dumps({"clab.seq": first + i, "clab.parameters": p}) + "\n"
                   for i, p in enumerate(points)).encode()


class Framed(unittest.TestCase):
    """CLAB_WORKER=framed: each answer carries its point's clab.seq, at the
    top level beside the envelope's keys, whatever the point did."""

    def run_framed(self, target, raw):
        rc, out, err = run(target, raw=raw, env={"CLAB_WORKER": "framed"})
        self.assertEqual(rc, 0, err)
        return envelopes(out), err

    def test_seq_echoed_and_parameters_read(self):
        envs, _ = self.run_framed("experiments:boom", framed_lines(
            [{"x": i} for i in range(4)], first=7))
        self.assertEqual([e["clab.seq"] for e in envs], [7, 8, 9, 10])
        self.assertEqual([e.get("clab.results") for e in envs], [{"y": 0}, {"y": 1}, None, {"y": 9}])
        self.assertEqual(envs[2]["clab.exception"], "ValueError: x is 2 and that is bad")

    def test_prints_never_reach_the_answers(self):
        envs, err = self.run_framed("experiments:noisy", framed_lines([{"x": 1}, {"x": 2}]))
        self.assertEqual(envs, [{"clab.seq": i + 1, "clab.results": {"stdin": "", "x": i + 1},
                                 "clab.metadata": {"epyc.experiment.classname": "experiments.noisy"}}
                                for i in range(2)])
        self.assertEqual(err.count("write to fd 1"), 2, err)

    def test_failures_carry_the_seq(self):
        raw = (framed_lines([{"x": 1}]) + b'{"clab.seq": 2}\n' + b'{"clab.seq": 3, "clab.parameters": [1]}\n'
               + b'{"clab.seq": 4, "clab.parameters": nope}\n' + b'{"clab.parameters": {"x": 1}}\n'
               + b'{"clab.seq": 18446744073709551615, "clab.parameters": {"x": 2}}\n')
        envs, _ = self.run_framed("experiments:square", raw)
        self.assertEqual([e.get("clab.seq") for e in envs], [1, 2, 3, 4, None, 2**64 - 1])
        self.assertEqual([e.get("clab.results") for e in envs], [{"y": 1}, None, None, None, None, {"y": 4}])
        self.assertEqual(envs[1]["clab.exception"], "ValueError: the point is not a JSON object")
        self.assertEqual(envs[4]["clab.exception"], "ValueError: the line has no clab.seq")

    def test_unserialisable_result_keeps_the_seq(self):
        envs, _ = self.run_framed("experiments:unserialisable", framed_lines([{"x": 1}], first=5))
        self.assertEqual(envs[0]["clab.seq"], 5)
        self.assertIn("clab.exception", envs[0])


class EpycInterface(unittest.TestCase):
    """Classes written to epyc's interface without epyc: duck typing. What
    run() returns becomes clab.records, the results dicts epyc's Lab would
    store, each as run() made it."""

    def test_experiment(self):
        rc, out, err = run("experiments:Square", [{"x": 3, "k": 2}])
        self.assertEqual(rc, 0, err)
        self.assertEqual(records(out), [{
            "parameters": {"x": 3, "k": 2}, "results": {"y": 18},
            "metadata": dict({"epyc.experiment.classname": "experiments.Square",
                              "epyc.experiment.status": True}, **TIMES)}])

    def test_raises_in_do(self):
        rc, out, err = run("experiments:RaisesInDo", [{"x": 3}])
        self.assertEqual(rc, 0, err)
        [r] = records(out)
        meta = r["metadata"]
        tb = meta.pop("epyc.experiment.traceback")
        self.assertIn("in do", tb)
        self.assertTrue(tb.endswith("ArithmeticError: cannot do x=3\n"), tb)
        # str(exception), as epyc stores it: no class name
        self.assertEqual(meta, {"epyc.experiment.classname": "experiments.RaisesInDo",
                                "epyc.experiment.start_time": "T", "epyc.experiment.setup_time": 0,
                                "epyc.experiment.end_time": "T", "epyc.experiment.status": False,
                                "epyc.experiment.exception": "cannot do x=3"})
        self.assertEqual((r["parameters"], r["results"]), ({"x": 3}, {}))

    def test_raises_in_setup(self):
        _, out, _ = run("experiments:RaisesInSetUp", [{"x": 3}])
        self.assertEqual(records(out)[0]["metadata"]["epyc.experiment.exception"], "no network")

    def test_repeated(self):
        rc, out, err = run("experiments:repeated", [{"x": 2}])
        self.assertEqual(rc, 0, err)
        self.assertEqual(records(out), [{
            "parameters": {"x": 2}, "results": {"y": 4},
            "metadata": dict({"epyc.experiment.classname": "experiments.Square",
                              "epyc.experiment.status": True, "epyc.experiment.rep": i,
                              "epyc.experiment.repetitions": 3}, **TIMES)} for i in range(3)])

    def test_a_failed_repetition_is_a_record_beside_its_siblings(self):
        _, out, _ = run("experiments:partly_failing", [{"x": 2}])
        recs = records(out)
        self.assertEqual([r["metadata"]["epyc.experiment.status"] for r in recs], [True, False, True])
        self.assertEqual([r["results"] for r in recs], [{"calls": 1}, {}, {"calls": 3}])
        self.assertEqual(recs[1]["metadata"]["epyc.experiment.exception"], "second run fails")
        self.assertTrue(recs[1]["metadata"]["epyc.experiment.traceback"].endswith(
            "RuntimeError: second run fails\n"))
        self.assertEqual([r["metadata"]["epyc.experiment.rep"] for r in recs], [0, 1, 2])

    def test_garbled_run_fails_the_point_not_the_worker(self):
        rc, out, _ = run("experiments:Garbled", [{"x": 1}, {"x": 2}], worker=True)
        self.assertEqual(rc, 0)
        self.assertEqual(envelopes(out), [{"clab.metadata": {}, "clab.traceback": "",
                                           "clab.exception": "TypeError: the experiment gave dict, "
                                           "not an epyc results dict with dict parameters, "
                                           "metadata and results"}] * 2)


@unittest.skipUnless(has_epyc(), "epyc is not importable (set EPYC_SRC to an epyc source tree)")
class RealEpyc(unittest.TestCase):
    env = {"EPYC_SRC": os.environ.get("EPYC_SRC", "")}

    def test_experiment_one_shot(self):
        rc, out, err = run("epyc_experiments:Square", [{"x": 3, "k": 2}], env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(records(out), [{
            "parameters": {"x": 3, "k": 2}, "results": {"y": 18},
            "metadata": dict({"epyc.experiment.classname": "epyc_experiments.Square",
                              "epyc.experiment.status": True}, **TIMES)}])

    def test_raises_in_do(self):
        rc, out, err = run("epyc_experiments:RaisesInDo", [{"x": 3}], env=self.env)
        self.assertEqual(rc, 0, err)
        [r] = records(out)
        meta = r["metadata"]
        self.assertEqual(meta["epyc.experiment.exception"], "cannot do x=3")
        self.assertIn("epyc/experiment.py", meta["epyc.experiment.traceback"])
        self.assertTrue(meta["epyc.experiment.traceback"].endswith("ArithmeticError: cannot do x=3\n"))
        # epyc's own keys: a failure in do has no experiment or teardown time
        self.assertEqual(sorted(meta), ["epyc.experiment.classname", "epyc.experiment.elapsed_time",
                                        "epyc.experiment.end_time", "epyc.experiment.exception",
                                        "epyc.experiment.setup_time", "epyc.experiment.start_time",
                                        "epyc.experiment.status", "epyc.experiment.traceback"])

    def test_set_up_adds_a_parameter(self):
        rc, out, err = run("epyc_experiments:AddsVariance", [{"x": 1}], env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(records(out)[0]["parameters"], {"x": 1, "variance": 0.5})

    def test_worker_imports_once_and_keeps_state(self):
        pts = [{"x": 1}, {"x": 2}, {"x": 1}, {"x": 5}]
        rc, out, err = run("epyc_experiments:Cached", pts, worker=True, env=self.env)
        self.assertEqual(rc, 0, err)
        recs = [records(line + "\n")[0] for line in out.splitlines()]
        pid = recs[0]["results"]["pid"]
        self.assertEqual([r["results"] for r in recs],
                         [{"inits": 1, "setups": i + 1, "hit": i == 2, "pid": pid} for i in range(4)])

    def test_repeated_experiment(self):
        rc, out, err = run("epyc_experiments:repeated", [{"x": 2}], env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(records(out), [{
            "parameters": {"x": 2}, "results": {"y": 4},
            "metadata": dict({"epyc.experiment.classname": "epyc_experiments.Square",
                              "epyc.experiment.status": True, "epyc.experiment.rep": i,
                              "epyc.experiment.repetitions": 3}, **TIMES)} for i in range(3)])

    def test_summary_experiment(self):
        rc, out, err = run("epyc_experiments:summary", [{"x": 2}], env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(records(out), [{
            "parameters": {"x": 2},
            "results": {"n_mean": 2.5, "n_median": 2.5, "n_variance": 1.25, "n_min": 1, "n_max": 4},
            "metadata": dict({"epyc.experiment.classname": "epyc.summaryexperiment.SummaryExperiment",
                              "epyc.experiment.status": True,
                              "epyc.summaryexperiment.repetitions": 4,
                              "epyc.summaryexperiment.successful_repetitions": 4}, **TIMES)}])

    def test_a_failed_repetition_is_a_record_beside_its_siblings(self):
        _, out, _ = run("epyc_experiments:partly_failing", [{"x": 2}], env=self.env)
        recs = records(out)
        self.assertEqual([r["metadata"]["epyc.experiment.status"] for r in recs], [True, False, True])
        self.assertEqual(recs[1]["metadata"]["epyc.experiment.exception"], "second run fails")
        self.assertEqual([r["metadata"]["epyc.experiment.rep"] for r in recs], [0, 1, 2])

    def test_pickled_experiment_of_main(self):
        """--pickle: an experiment pickled with cloudpickle from a script's
        __main__ runs where the script's file is not (only the pickle and
        epyc are there), after the --import imports."""
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "make.py")
            with open(script, "w") as f:
                f.write("import sys, cloudpickle, epyc\n"
                        "class Cube(epyc.Experiment):\n"
                        "    def do(self, p):\n"
                        "        return {'y': p['x'] ** 3, 'pi': round(math.pi, 2)}\n"
                        "with open(sys.argv[1], 'wb') as f:\n"
                        "    cloudpickle.dump(epyc.RepeatedExperiment(Cube(), 2), f)\n")
            pkl = os.path.join(d, "experiment.pkl")
            e = dict(os.environ, PYTHONPATH=self.env["EPYC_SRC"])
            subprocess.run([PY, script, pkl], env=e, check=True)
            os.unlink(script)
            for worker in (False, True):
                p = subprocess.run([PY, SCRIPT, "--pickle", "experiment.pkl", "--import", "math"],
                                   input=b'{"x": 2}\n', stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, cwd=d,
                                   env=dict(e, **({"CLAB_WORKER": "1"} if worker else {})))
                self.assertEqual(p.returncode, 0, p.stderr)
                recs = records(p.stdout.decode())
                self.assertEqual([r["results"] for r in recs], [{"y": 8, "pi": 3.14}] * 2)
                self.assertEqual(recs[0]["metadata"]["epyc.experiment.classname"], "__main__.Cube")


class Loading(unittest.TestCase):
    def check_refused(self, target, args=(), message=""):
        for worker in (False, True):
            rc, out, err = run(target, [{"x": 1}], worker=worker, args=args)
            self.assertEqual((rc, out), (2, ""), err)
            self.assertIn(message, err)

    def test_refusals(self):
        self.check_refused("nomodule_here:f", message="cannot import module nomodule_here: "
                                                      "ModuleNotFoundError: No module named 'nomodule_here'")
        self.check_refused("experiments:nothing", message="experiments has no attribute nothing")
        self.check_refused("experiments", message="expected MODULE:NAME, got 'experiments'")
        self.check_refused("experiments:square", args=["--kwargs", "[1]"],
                           message="--kwargs must be a JSON object")
        self.check_refused("experiments:repeated", args=["--kwargs", '{"a": 1}'],
                           message="an instance already")
        self.check_refused("experiments:Scaled", args=["--kwargs", '{"bad": 1}'],
                           message="cannot instantiate experiments:Scaled")
        self.check_refused("experiments:square", args=["--frobnicate"], message="unknown option --frobnicate")
        self.check_refused(None, message="MODULE:NAME is missing")
        self.check_refused(None, args=["--pickle", "/nonexistent.pkl"],
                           message="cannot read --pickle /nonexistent.pkl: No such file or directory")
        self.check_refused("experiments:square", args=["--pickle", "x.pkl"],
                           message="give MODULE:NAME or --pickle FILE, not both")
        self.check_refused("experiments:square", args=["--import", "nomodule_here"],
                           message="--import nomodule_here: ModuleNotFoundError: No module named "
                                   "'nomodule_here'")
        self.check_refused("experiments:square", args=["--import", "os:nothing_called_this"],
                           message="--import os:nothing_called_this: AttributeError")
        self.check_refused("experiments:square", args=["--python", "/nonexistent/python"],
                           message="cannot run --python /nonexistent/python")

    def test_import_error_inside_the_module(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "broken.py"), "w") as f:
                f.write("import nothing_called_this\n")
            rc, out, err = run("broken:f", [{"x": 1}], args=["--path", d])
            self.assertEqual((rc, out), (2, ""))
            self.assertIn("cannot import module broken:\nTraceback", err)
            self.assertIn("No module named 'nothing_called_this'", err)

    def test_help_and_version(self):
        p = subprocess.run([PY, SCRIPT, "--version"], stdout=subprocess.PIPE)
        self.assertEqual((p.returncode, p.stdout), (0, b"clab-python 0.1.0\n"))
        p = subprocess.run([PY, SCRIPT, "--help"], stdout=subprocess.PIPE)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith(b"usage: clab-python MODULE:NAME"))

    def test_paths(self):
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a"), os.path.join(d, "b")
            _, out, _ = run("experiments:where", [{}], args=["--path", a, "--path=" + b],
                            env={"EPYC_SRC": d})
            res = envelopes(out)[0]["clab.results"]
            self.assertEqual(res["path"], [HERE, a, b, d])
            self.assertFalse(res["cwd_listed"])

    def test_python_reexecs(self):
        # A symlink to the same interpreter by another path stands for a
        # virtualenv's python: sys.executable shows which one ran.
        with tempfile.TemporaryDirectory() as d:
            venv_py = os.path.join(d, "python3")
            os.symlink(os.path.realpath(PY), venv_py)
            rc, out, err = run("experiments:where", [{}], args=["--python", venv_py])
            self.assertEqual(rc, 0, err)
            self.assertEqual(envelopes(out)[0]["clab.results"]["exe"], venv_py)
            rc, out, err = run("experiments:where", [{}], worker=True, args=["--python", venv_py])
            self.assertEqual(envelopes(out)[0]["clab.results"]["exe"], venv_py)


if __name__ == "__main__":
    unittest.main()
