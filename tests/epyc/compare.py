#!/usr/bin/python3
"""Parity with epyc, measured: runs every kind of tests/epyc/kinds.py
through epyc's own Lab (epyc 1.7.2 from EPYC_SRC, unchanged) and through
clabfs on a mount: clab-python one-shot, clab-python as a framed worker,
and clabfs.ClusterLab. Each road's records are read back the way an epyc
user reads them, through epyc.JSONLabNotebook (epyc's own notebook file;
clabfs's results/TAG/notebook.json; ClusterLab's notebook file), and
diffed field for field against epyc's: parameters and results by value,
metadata by value except the times (by name and type) and clabfs's own
clab.* names (clabfs adds them; epyc has none). Records pair up by their
parameters and repetition, as the roads finish points in different
orders. Prints a table, kind by road: same or different, and exits 1 on
any difference.

usage: compare.py MOUNT CLAB_PYTHON [--work DIR] [--only SUBSTRING]"""
import argparse
import collections
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EPYC_SRC = os.environ.get("EPYC_SRC") or os.path.join(HERE, "..", "..", "..", "shared",
                                                      "epyc-1.7.2")
EPYC_SRC = os.path.abspath(EPYC_SRC)
os.environ["EPYC_SRC"] = EPYC_SRC
sys.path[:0] = [EPYC_SRC, HERE, os.path.join(HERE, "..", "..", "scripts")]

import epyc  # noqa: E402
from epyc import Experiment, JSONLabNotebook, Lab  # noqa: E402

import clabfs  # noqa: E402
import kinds  # noqa: E402

ROADS = ["one-shot", "framed", "ClusterLab"]
TIMES = {Experiment.START_TIME, Experiment.END_TIME, Experiment.SETUP_TIME,
         Experiment.EXPERIMENT_TIME, Experiment.TEARDOWN_TIME, Experiment.ELAPSED_TIME}
REP = epyc.RepeatedExperiment.I


def plain(v):
    """A value as plain Python (numpy's scalars and arrays as Python's)."""
    if hasattr(v, "item") and type(v).__module__ == "numpy":
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def shape(v):
    """What "counts" compares of a value: its type, not the value."""
    return type(plain(v)).__name__


def normal(rc, exact):
    """A record as compared: clab.* names dropped, times by type."""
    md = {}
    for k, v in rc[Experiment.METADATA].items():
        if k.startswith("clab."):
            continue
        md[k] = shape(v) if (k in TIMES or not exact) else plain(v)
    res = rc[Experiment.RESULTS]
    res = {k: (plain(v) if exact else shape(v)) for k, v in res.items()}
    return {"parameters": plain(rc[Experiment.PARAMETERS]), "metadata": md, "results": res}


def keyed(records, exact):
    """Records by (parameters, repetition): lists, for points that repeat."""
    out = collections.defaultdict(list)
    for rc in records:
        n = normal(rc, exact)
        key = json.dumps([n["parameters"], n["metadata"].get(REP)], sort_keys=True,
                         default=str)
        out[key].append(n)
    for v in out.values():
        v.sort(key=lambda n: json.dumps(n, sort_keys=True, default=str))
    return out


def text(v):
    """A value as compared: its JSON text, so that NaN equals NaN."""
    return json.dumps(v, sort_keys=True, default=str)


def diff(want, got, exact):
    """The differences between two roads' records, as lines (none: same)."""
    a, b = keyed(want, exact), keyed(got, exact)
    lines = []
    for key in sorted(set(a) | set(b)):
        ra, rb = a.get(key, []), b.get(key, [])
        if len(ra) != len(rb):
            lines.append("%s: %d record(s) in epyc, %d here" % (key, len(ra), len(rb)))
            continue
        for x, y in zip(ra, rb):
            for part in ("parameters", "metadata", "results"):
                for name in sorted(set(x[part]) | set(y[part])):
                    if text(x[part].get(name, "<absent>")) != \
                            text(y[part].get(name, "<absent>")):
                        lines.append("%s %s[%s]: epyc %r, here %r" % (
                            key, part, name, x[part].get(name, "<absent>"),
                            y[part].get(name, "<absent>")))
    return lines


def set_parameters(lab, params):
    lab.deleteAllParameters()
    for k, v in params.items():
        lab[k] = v


def run_epyc(path, todo):
    """epyc's own Lab: one result set per kind, in a JSON notebook."""
    lab = Lab(notebook=JSONLabNotebook(path, create=True))
    for tag, (_, attr, params, _) in todo:
        lab.notebook().addResultSet(tag)
        set_parameters(lab, params)
        lab.runExperiment(getattr(kinds, attr))
    lab.notebook().commit()


def submit_roads(mount, clab_python, todo):
    """One-shot and framed clab-python jobs, one set per kind and road."""
    lines = []
    for tag, (_, attr, params, _) in todo:
        for road, worker in (("one-shot", None), ("framed", "framed")):
            job = {"experiment": clab_python,
                   "arguments": ["kinds:" + attr, "--path", HERE, "--path", EPYC_SRC,
                                 "--python", sys.executable],
                   "parameters": params, "tag": "%s-%s" % (tag, road.replace("-", ""))}
            if worker:
                job["worker"] = worker
            lines.append(json.dumps(job))
    with open(os.path.join(mount, "submit"), "w") as f:
        f.write("\n".join(lines) + "\n")


def run_clusterlab(mount, path, todo):
    """clabfs.ClusterLab, all kinds started before waiting for any."""
    lab = clabfs.ClusterLab(mount=mount, notebook=JSONLabNotebook(path, create=True))
    lab.WaitingTime = 1
    for tag, (_, attr, params, _) in todo:
        lab.notebook().addResultSet(tag)
        set_parameters(lab, params)
        lab.runExperiment(getattr(kinds, attr))
    return lab


def records(path, tag):
    nb = JSONLabNotebook(path)
    return nb.resultSet(tag).results()


def table(rows):
    """The comparison table: kind by road."""
    width = max(len(r[0]) for r in rows + [("kind",)])
    out = ["%-*s  %s" % (width, "kind", "  ".join("%-10s" % r for r in ROADS))]
    out.append("-" * len(out[0]))
    for kind, cells in rows:
        out.append("%-*s  %s" % (width, kind, "  ".join("%-10s" % c for c in cells)))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mount")
    ap.add_argument("clab_python")
    ap.add_argument("--work")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    args.clab_python = os.path.abspath(args.clab_python)
    work = args.work or tempfile.mkdtemp(prefix="clab-compare-")
    todo = [("k%02d" % i, k) for i, k in enumerate(kinds.KINDS) if args.only in k[0]]

    t0 = time.monotonic()
    submit_roads(args.mount, args.clab_python, todo)
    lab = run_clusterlab(args.mount, os.path.join(work, "clusterlab.json"), todo)
    run_epyc(os.path.join(work, "epyc.json"), todo)
    t1 = time.monotonic()
    if not lab.wait(timeout=300):
        sys.exit("compare.py: ClusterLab still waits after 300 s")
    lab.notebook().commit()
    t2 = time.monotonic()
    with open(os.path.join(args.mount, "wait")) as f:
        f.read()
    print("compare.py: submitted and ran epyc in %.1f s, ClusterLab done %.1f s later,"
          " the mount %.1f s after that" % (t1 - t0, t2 - t1, time.monotonic() - t2),
          file=sys.stderr)

    rows, bad = [], 0
    for tag, (kind, _, _, mode) in todo:
        want = records(os.path.join(work, "epyc.json"), tag)
        cells = []
        for road in ROADS:
            if road == "ClusterLab":
                got = records(os.path.join(work, "clusterlab.json"), tag)
            else:
                rtag = "%s-%s" % (tag, road.replace("-", ""))
                got = records(os.path.join(args.mount, "results", rtag, "notebook.json"),
                              rtag)
            lines = diff(want, got, mode == "exact")
            if lines:
                bad += 1
                print("== %s, %s:" % (kind, road), *lines[:8], sep="\n  ")
            same = "same" if mode == "exact" else "same*"
            cells.append(same if not lines else "DIFFERENT")
        rows.append((kind, cells))
    print(table(rows))
    print("(same*: unseeded random classes of epyc's suite, compared by records,"
          " names and types)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
