"""What clabfs.ClusterLab needs of epyc when epyc does not import: a lab
with epyc's names (parameters, designs, an in-memory notebook of result
sets with pending results, results and dataframes through pandas when it
imports), so that code written for epyc's ClusterLab runs with experiments
written to epyc's interface (set(params).run()) or plain callables. With
epyc installed, epyc's own classes are used instead."""
import datetime
import itertools
import traceback

DEFAULT_RESULTSET = "epyc.resultset.default"


class CancelledException(Exception):
    """What a cancelled pending result records, as epyc's does."""

    def __init__(self):
        super().__init__("Cancelled")


class FactorialDesign:
    """Every combination of the parameters' values."""

    def experiments(self, e, ps):
        names = list(ps)
        return [(e, dict(zip(names, vs))) for vs in itertools.product(*(ps[k] for k in names))]


class PointwiseDesign:
    """The values taken in step; one-value parameters extended."""

    def experiments(self, e, ps):
        lengths = {len(v) for v in ps.values() if len(v) != 1}
        if len(lengths) > 1:
            raise ValueError("Parameter range lengths don't match")
        n = lengths.pop() if lengths else (1 if ps else 0)
        return [(e, {k: v[0] if len(v) == 1 else v[i] for k, v in ps.items()})
                for i in range(n)]


class ResultSet:
    def __init__(self, description=None):
        self._description = description or "Results collected on %s" % datetime.datetime.now()
        self._results, self._pending, self._locked = [], {}, False

    def description(self):
        return self._description

    def assertUnlocked(self):
        if self._locked:
            raise Exception("Result set locked")

    def finish(self):
        for j in list(self._pending):
            self.cancelSinglePendingResult(j)
        self._locked = True

    def isLocked(self):
        return self._locked

    def pendingResults(self):
        return list(self._pending)

    def numberOfPendingResults(self):
        return len(self._pending)

    def numberOfResults(self):
        return len(self._results)

    def ready(self):
        return not self._pending

    def cancelSinglePendingResult(self, jobid):
        try:
            raise CancelledException()
        except CancelledException as ex:
            rc = {"parameters": dict(self._pending.pop(jobid)), "results": {},
                  "metadata": {"epyc.experiment.status": False,
                               "epyc.experiment.end_time": datetime.datetime.now(),
                               "epyc.experiment.exception": ex,
                               "epyc.experiment.traceback": traceback.format_exc()}}
        self._results.append(rc)

    def results(self):
        return list(self._results)

    def dataframe(self, only_successful=False):
        import pandas

        rows = []
        for rc in self._results:
            ok = rc["metadata"].get("epyc.experiment.status")
            if only_successful and not ok:
                continue
            row = dict(rc["metadata"])
            row.update(rc["parameters"])
            row.update(rc["results"] if ok else {})
            rows.append(row)
        return pandas.DataFrame(rows)


class LabNotebook:
    DEFAULT_RESULTSET = DEFAULT_RESULTSET

    def __init__(self, name="", description=None):
        self._sets, self._pending = {}, {}
        self._current = self.addResultSet(DEFAULT_RESULTSET)

    def addResultSet(self, tag, description=None):
        rs = self._sets[tag] = ResultSet(description)
        self._current = rs
        return rs

    def resultSets(self):
        return list(self._sets)

    def resultSet(self, tag):
        return self._sets[tag]

    def select(self, tag):
        self._current = self._sets[tag]
        return self._current

    def current(self):
        return self._current

    def currentTag(self):
        return next(t for t, rs in self._sets.items() if rs is self._current)

    def already(self, tag, description=None):
        if tag in self._sets:
            self.select(tag)
            return True
        self.addResultSet(tag, description)
        return False

    def _set(self, tag):
        return self._current if tag is None else self._sets[tag]

    def addPendingResult(self, params, jobid, tag=None):
        rs = self._set(tag)
        rs.assertUnlocked()
        rs._pending[jobid] = dict(params)
        self._pending[jobid] = rs

    def resolvePendingResult(self, rc, jobid):
        rs = self._pending.pop(jobid)
        for r in rc if isinstance(rc, list) else [rc]:
            rs._results.append(r)
        del rs._pending[jobid]

    def cancelPendingResult(self, jobid):
        self._pending.pop(jobid).cancelSinglePendingResult(jobid)

    def pendingResults(self, tag=None):
        return self._set(tag).pendingResults()

    def numberOfPendingResults(self, tag=None):
        return self._set(tag).numberOfPendingResults()

    def allPendingResults(self):
        return set(self._pending)

    def numberOfAllPendingResults(self):
        return len(self._pending)

    def ready(self, tag=None):
        return self._set(tag).ready()

    def readyFraction(self, tag=None):
        rs = self._set(tag)
        total = rs.numberOfResults() + rs.numberOfPendingResults()
        return rs.numberOfResults() / total if total else 1.0

    def numberOfResults(self, tag=None):
        return self._set(tag).numberOfResults()

    def results(self, tag=None):
        return self._set(tag).results()

    def dataframe(self, tag=None, only_successful=True):
        return self._set(tag).dataframe(only_successful)

    def commit(self):
        pass


class Lab:
    """epyc's Lab, as far as ClusterLab uses it."""

    def __init__(self, notebook=None, design=None):
        self._notebook = notebook if notebook is not None else LabNotebook()
        self._design = design if design is not None else FactorialDesign()
        self._parameters = {}

    def notebook(self):
        return self._notebook

    def design(self):
        return self._design

    def addParameter(self, k, r):
        if isinstance(r, str):
            self._parameters[k] = [r]
        else:
            try:
                self._parameters[k] = list(r)
            except TypeError:
                self._parameters[k] = [r]

    def deleteParameter(self, k):
        self._parameters.pop(k, None)

    def deleteAllParameters(self):
        self._parameters.clear()

    def parameters(self):
        return list(self._parameters)

    def __len__(self):
        return len(self.experiments(None))

    def __getitem__(self, k):
        return self._parameters[k]

    def __setitem__(self, k, r):
        self.addParameter(k, r)

    def __delitem__(self, k):
        self.deleteParameter(k)

    def __contains__(self, k):
        return k in self._parameters

    def experiments(self, e):
        return self._design.experiments(e, self._parameters)

    def updateResults(self):
        pass

    def createWith(self, tag, f, description=None, propagate=True, delete=True,
                   finish=False, deleteAllParameters=True):
        """epyc's createWith: selects the set tag if it exists, else makes
        it and calls f(lab) to fill it; on an exception the set is deleted
        (delete) and the one current before selected again, and the
        exception raised (propagate) or False returned."""
        nb = self.notebook()
        before = nb.currentTag()
        if nb.already(tag, description):
            return True
        try:
            if deleteAllParameters:
                self.deleteAllParameters()
            f(self)
            if finish:
                nb.current().finish()
            return True
        except Exception:
            if delete:
                nb.select(before if before in nb.resultSets() else DEFAULT_RESULTSET)
                nb._sets.pop(tag, None)
            if propagate:
                raise
            return False

    def dataframe(self, only_successful=True):
        self.updateResults()
        return self._notebook.dataframe(only_successful=only_successful)

    def results(self):
        self.updateResults()
        return self._notebook.results()

    def ready(self, tag=None):
        self.updateResults()
        return self._notebook.ready(tag)

    def readyFraction(self, tag=None):
        self.updateResults()
        return self._notebook.readyFraction(tag)
