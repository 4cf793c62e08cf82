#!/usr/bin/env python3
# Points per second of clab-python on a trivial callable (experiments:square),
# the engine's way: worker mode, one process, one point written and its
# answer read before the next (N points); and one-shot, one process per
# point (M points), and bare interpreter starts for scale. By hand, to compare with ipyparallel:
#   /usr/bin/python3 tests/python/throughput.py [N] [M]
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "clab-python")
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
ARGV = [PY, SCRIPT, "experiments:square", "--path", HERE]


def worker(n):
    env = dict(os.environ, CLAB_WORKER="1")
    p = subprocess.Popen(ARGV, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    t0 = time.monotonic()
    for x in range(n):
        p.stdin.write(b'{"x": %d}\n' % x)
        p.stdin.flush()
        assert json.loads(p.stdout.readline())["clab.results"] == {"y": x * x}
    p.stdin.close()
    assert p.wait() == 0
    p.stdout.close()
    return n / (time.monotonic() - t0)


def one_shot(m):
    env = dict(os.environ)
    env.pop("CLAB_WORKER", None)
    t0 = time.monotonic()
    for x in range(m):
        out = subprocess.run(ARGV, env=env, input=b'{"x": %d}\n' % x, stdout=subprocess.PIPE,
                             check=True).stdout
        assert json.loads(out)["clab.results"] == {"y": x * x}
    return m / (time.monotonic() - t0)


def bare_python(m):
    """The floor under one-shot: starting the interpreter and nothing else."""
    t0 = time.monotonic()
    for _ in range(m):
        subprocess.run([PY, "-c", "pass"], check=True)
    return m / (time.monotonic() - t0)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    w, o, b = worker(n), one_shot(m), bare_python(m)
    print("clab-python worker   %6d points  %9.1f points/s" % (n, w))
    print("clab-python one-shot %6d points  %9.1f points/s" % (m, o))
    print("python3 -c pass      %6d runs    %9.1f runs/s" % (m, b))
    print("worker / one-shot    %.1fx" % (w / o))


if __name__ == "__main__":
    main()
