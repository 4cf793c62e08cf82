#!/usr/bin/env python3
"""Loads a notebook.json by the rules of epyc's JSONLabNotebook, version 2
(epyc/jsonlabnotebook.py `_newload`, epyc/resultset.py `inferDtype`,
`inferPendingResultDtype`, `addSingleResult`, `addSinglePendingResult`),
without numpy or pandas, so that a test can tell whether epyc would load a
file and what it would hold. Written from reading epyc; no code of it.

The rules that matter for what clabfs writes:
- the file is one JSON document (Python's json: NaN and Infinity allowed)
  with "version": "2", "description", "current", "locked" and
  "resultsets" {tag: {"results": [...], "pending-results": {job: params},
  "description", "locked", other keys are attributes}};
- every result document has "metadata" with "epyc.experiment.status" and a
  "results" key; a document whose "results" is a list is a list of result
  documents (epyc unpacks it);
- a set's parameter, result and metadata names only grow. When a document
  brings a name the set has not seen, epyc gives that column a numpy type
  from the document's value: bool, int, float, str, or a list (typed by its
  first element, recursively; an empty list counts as ints; numpy takes at
  most 32 dimensions). null, an object, or a list starting with one has no
  type and the load fails. Values of columns already typed are not checked;
- a result without a known name gets that column's zero;
- a pending point must carry every parameter name the set knows so far (from
  its results and the pending points before it): a missing one fails the
  load, and so does a job id seen twice in the set;
- "current" must name a set.

Usage: epyc_reader.py FILE prints {tag: {"results": N, "pending": M,
"parameters": [...], "results_names": [...]}} and exits 0, or prints the
reason epyc would fail with and exits 1. As a module: load(path).
"""
import json
import sys

STATUS = "epyc.experiment.status"
STANDARD_METADATA = {
    "epyc.experiment.classname", "epyc.experiment.start_time",
    "epyc.experiment.end_time", "epyc.experiment.elapsed_time",
    "epyc.experiment.experiment_time", "epyc.experiment.setup_time",
    "epyc.experiment.teardown_time", STATUS, "epyc.experiment.exception",
    "epyc.experiment.traceback",
}
MAX_DIMS = 32


class LoadError(Exception):
    pass


def value_type(v, what, dims=0):
    """epyc's valueToDtype: the column type a value gives, or LoadError."""
    if isinstance(v, list):
        if dims + 1 > MAX_DIMS:
            raise LoadError("No type mapping for %s: over %d dimensions" % (what, MAX_DIMS))
        inner = value_type(v[0], what, dims + 1) if v else "int"
        return "list[%d] of %s" % (len(v), inner)
    for t in (bool, int, float, str):
        if type(v) is t:
            return t.__name__
    raise LoadError("No type mapping for %s=%r" % (what, v))


class ResultSet:
    def __init__(self, tag):
        self.tag = tag
        self.names = {"metadata": None, "parameters": None, "results": None}
        self.types = {}          # results columns typed so far
        self.pending_types = {}  # pending columns typed so far
        self.results = []
        self.pending = {}
        self.attributes = {}

    def _grow(self, kind, keys, extra=()):
        known = self.names[kind]
        if known is None:
            self.names[kind] = sorted(set(keys) | set(extra))
            return True
        if set(keys) - set(known):
            self.names[kind] = sorted(set(keys) | set(known))
            return True
        return False

    def add_result(self, rc):
        try:
            md, params = rc["metadata"], rc["parameters"]
            status = md[STATUS]
            res = rc["results"]
        except (KeyError, TypeError) as e:
            raise LoadError("%s: result without %s" % (self.tag, e))
        rebuild = self._grow("parameters", params.keys())
        if status:
            if not isinstance(res, dict):
                raise LoadError("%s: results of a success are not a dict" % self.tag)
            rebuild |= self._grow("results", res.keys())
        rebuild |= self._grow("metadata", md.keys(), STANDARD_METADATA)
        if rebuild:
            for k in self.names["metadata"]:
                if k not in self.types:
                    self.types[k] = "standard" if k in STANDARD_METADATA else \
                        value_type(md[k], "metadata %s" % k)
            for kind, d in (("parameters", params), ("results", res)):
                for k in self.names[kind] or []:
                    if k not in self.types and k in d:
                        self.types[k] = value_type(d[k], "%s.%s" % (self.tag, k))
        row = {}
        for kind, d in (("metadata", md), ("parameters", params)):
            for k in self.names[kind]:
                row[k] = d.get(k, 0)
        for k in self.names["results"] or []:
            row[k] = res[k] if status and k in res else 0
        self.results.append(row)

    def add_pending(self, params, job):
        if not isinstance(params, dict):
            params = dict(params)
        rebuild = self._grow("parameters", params.keys())
        if rebuild or not self.pending_types:
            for k in self.names["parameters"]:
                if k not in self.pending_types:
                    if k not in params:
                        raise LoadError("%s: pending %s: KeyError %r" % (self.tag, job, k))
                    self.pending_types[k] = value_type(params[k], "pending %s=%r" % (k, params[k]))
        missing = set(self.names["parameters"]) - set(params)
        if missing:
            raise LoadError("%s: Missing experimental parameters: %s" % (self.tag, missing))
        if job in self.pending:
            raise LoadError("%s: Duplicate pending result %s" % (self.tag, job))
        self.pending[job] = dict(params)


def add_result(rs, rc):
    """LabNotebook.addResult: a list of documents, or nested ones."""
    if isinstance(rc, list):
        for r in rc:
            add_result(rs, r)
    elif isinstance(rc, dict):
        if isinstance(rc.get("results"), list):
            for r in rc["results"]:
                rs.add_result(r)
        else:
            rs.add_result(rc)
    else:
        raise LoadError("ResultsStructureException: %r" % (rc,))


def load(path):
    with open(path) as f:
        j = json.loads(f.read())
    if j.get("version") != "2":
        raise LoadError("Unhandled JSON file format %r" % j.get("version"))
    j["description"]
    current = j["current"]
    sets = {"epyc.resultset.default": ResultSet("epyc.resultset.default")}
    for tag, res in j["resultsets"].items():
        rs = sets[tag] = ResultSet(tag)
        for k, v in res.items():
            if k not in ("results", "description", "locked"):
                rs.attributes[k] = v
        for rc in res["results"]:
            add_result(rs, rc)
        for job in res["pending-results"]:
            rs.add_pending(res["pending-results"][job], job)
    if current not in sets:
        raise LoadError("current set %r does not exist" % current)
    j["locked"]
    return sets


def main():
    try:
        sets = load(sys.argv[1])
    except (LoadError, KeyError, TypeError, ValueError) as e:
        print("epyc would fail: %s: %s" % (type(e).__name__, e))
        return 1
    print(json.dumps({t: {"results": len(s.results), "pending": len(s.pending),
                          "parameters": s.names["parameters"] or [],
                          "results_names": s.names["results"] or []}
                      for t, s in sets.items()}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
