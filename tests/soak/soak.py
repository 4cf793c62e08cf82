#!/usr/bin/env python3
"""Property-style soak of clabfs on a real detached cluster (issue 9).

From one seed, a random interleaving of submit / cancel / retry / delete /
select on the mount, kill -9 and restart of engines (same id or a new one),
of the controller, and of clabfs (clean unmount or kill -9 + lazy unmount).
A model records what every live set must end with. At the end everything
is healed and the invariant is checked: every point of every live set done
exactly once or failed with an allowed reason, nothing pending, every
`wait` returns, deleted sets gone, every job id once, the controller's
queue drained, cancelled jobs no longer started on engines, and every
stored result the answer of its own point (a third of the submits run as
framed workers that print stray lines at random delays, and now and then a
rogue engine with engine.json claims pending points and forges results,
issue 21).

The seed fixes the sequence of steps and pauses (never the timing of the
processes): CLAB_SOAK_SEED=S CLAB_SOAK_STEPS=K replays the first K steps.

usage: soak.py --build DIR [--minutes M] [--seed S] [--steps K] [--keep]
Exit 0 clean, 1 on a violation (seed, step log and offenders printed).
"""
import argparse, json, os, random, shutil, signal, sqlite3, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soaklab import (Hang, Lab, flat, fs_read, fs_run, fs_write, iso, kill9,  # noqa: E402
                     status, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
EXP = os.path.join(HERE, "soak_exp.py")
ROGUE = os.path.join(HERE, "..", "integration", "rogue_engine.py")
CANCEL_GRACE = 5.0  # s after a cancel in which a start is still excused
ALLOWED_FAIL = ("Cancelled", "engine lost")
CANCEL_REASONS = ALLOWED_FAIL[:1]
CODA_STEPS = 15
STALL = 30  # s without any run or result before a wait counts as stuck
WAIT_CAP = 240  # s for all the waits of the check together


class Model:
    """What the soak did, and so what every live set must end with."""

    def __init__(self):
        self.sets = {}  # tag -> {"subs": [(s, n, t)], "cancels": [t]}
        self.deleted = set()  # tags deleted and not submitted to since
        self.deleted_jobs = {}  # job -> (time, step) of the delete
        self.cancel_log = []  # (tag, time, step) of every cancel
        self.disruptions = []  # times the controller or clabfs went down
        self.controller_starts = []  # times the controller was (re)started
        self.next_sub = 0
        self.next_tag = 0
        self.mounted = True
        self.controller = True
        self.engines = {}  # id -> up (bool); None keys are never stored
        self.next_engine = 3
        self.anon = 0  # engines started without --id, by serial


class Soak:
    def __init__(self, args, work):
        self.args = args
        self.rng = random.Random(args.seed)
        self.lab = Lab(args.build, work)
        self.m = Model()
        self.steps = []
        self.violations = []
        self.t0 = time.time()
        self.steplog = open(os.path.join(work, "steps.log"), "w")
        self.runs = os.path.join(work, "runs.log")
        self.phase_left, self.calm = 0, False
        self.main_steps = None

    def note(self, text):
        line = "%04d +%7.2fs %s" % (len(self.steps) + 1, time.time() - self.t0, text)
        self.steps.append(line)
        self.steplog.write(line + "\n")
        self.steplog.flush()

    def violate(self, what):
        self.violations.append(what)
        self.steplog.write("VIOLATION " + what + "\n")
        self.steplog.flush()

    def path(self, *p):
        return os.path.join(self.lab.mnt, *p)

    # -- the lab's processes ------------------------------------------------
    def engine_up(self, eid, anon=False):
        p = self.lab.start_engine(None if anon else eid)
        self.lab.engines[eid] = p
        self.m.engines[eid] = True

    def setup(self):
        self.lab.start_controller()
        self.engine_up("e1")
        self.engine_up("e2")
        self.lab.mount()
        self.wait_connected(30)

    def wait_connected(self, limit):
        def ok():
            rc, out, _ = fs_read(self.path("status"), 10)
            return rc == 0 and flat(out).get("connected") == "1"
        wait_until(limit, ok, "connected 1")

    # -- steps: each draws only from the rng and the model -------------------
    def live_tags(self):
        return sorted(self.m.sets)

    def choices(self):
        """The steps possible now, weighted. A restart of clabfs or of the
        controller resends and requeues everything, which hides the edges
        that leave a point pending: calm phases have neither."""
        m, c = self.m, []
        if self.phase_left <= 0:
            self.phase_left = self.rng.randint(10, 40)
            self.calm = self.rng.random() < 0.5
            self.note("phase: %s for %d steps" % ("calm" if self.calm else "stormy",
                                                  self.phase_left))
        self.phase_left -= 1
        storm = 0 if self.calm else 1
        up = [e for e, u in m.engines.items() if u]
        if m.mounted:
            c += [("submit", 10), ("select", 5), ("unmount", 3 * storm),
                  ("kill_clabfs", 3 * storm)]
            if m.sets:
                c += [("cancel", 7), ("retry", 7), ("delete", 5)]
        else:
            c += [("remount", 40)]
        if m.controller:
            c += [("kill_controller", 4 * storm)]
        else:
            c += [("restart_controller", 35)]
        if m.controller and m.sets:
            c += [("rogue", 2)]
        if up:
            c += [("kill_engine", 6)]
        if len(up) < 2:
            c += [("restart_engine", 30)]
        elif len(up) < 3:
            c += [("restart_engine", 2)]
        return c

    def pick(self):
        c = self.choices()
        x = self.rng.uniform(0, sum(w for _, w in c))
        for name, w in c:
            x -= w
            if x <= 0:
                return name
        return c[-1][0]

    def do_submit(self):
        m, r = self.m, self.rng
        u = r.random()
        if m.sets and u < 0.35:
            tag = r.choice(self.live_tags())
        elif m.deleted and u < 0.55:
            tag = r.choice(sorted(m.deleted))
        else:
            tag = "t%d" % m.next_tag
            m.next_tag += 1
        s, n = m.next_sub, int(r.triangular(3, 30, 3))
        m.next_sub += 1
        sleep = round(r.uniform(0, 0.3), 3)
        job = {"experiment": EXP, "tag": tag,
               "parameters": {"s": s, "i": {"range": [0, n]}, "sleep": sleep,
                              "log": self.runs}}
        framed = r.random() < 1 / 3
        if framed:  # a framed worker printing stray lines (issue 21)
            job["worker"] = "framed"
            job["parameters"]["strays"] = 3
        self.note("submit tag=%s s=%d points=%d sleep=%.3f%s" % (
            tag, s, n, sleep, " framed, stray lines" if framed else ""))
        rc, _, err = fs_write(self.path("submit"), json.dumps(job))
        if rc != 0:
            self.violate("step %d: submit refused: %s" % (len(self.steps), err.strip()))
            return
        m.deleted.discard(tag)
        m.sets.setdefault(tag, {"subs": [], "cancels": []})["subs"].append((s, n, time.time()))

    def ctl(self, verb, tag):
        rc, _, err = fs_write(self.path("ctl"), "%s %s" % (verb, tag))
        if rc != 0:
            self.violate("step %d: ctl %s %s failed: %s" % (len(self.steps), verb, tag,
                                                            err.strip()))
        return rc == 0

    def do_cancel(self):
        tag = self.rng.choice(self.live_tags())
        self.note("cancel %s" % tag)
        t = time.time()
        self.ctl("cancel", tag)
        self.m.sets[tag]["cancels"].append(t)
        self.m.cancel_log.append((tag, t, len(self.steps)))

    def do_retry(self):
        tag = self.rng.choice(self.live_tags())
        self.note("retry %s" % tag)
        self.ctl("retry", tag)

    def do_delete(self):
        tag = self.rng.choice(self.live_tags())
        self.note("delete %s" % tag)
        pending = self.pending_jobs(tag)
        t = time.time()
        if self.ctl("delete", tag):
            for j in pending:
                self.m.deleted_jobs[j] = (t, len(self.steps))
        del self.m.sets[tag]
        self.m.deleted.add(tag)

    def do_select(self):
        tag = self.rng.choice(self.live_tags()) if self.m.sets else "t-none"
        self.note("select %s" % tag)
        if tag not in self.m.sets:
            return
        if self.ctl("select", tag):
            rc, out, _ = fs_read(self.path("status"))
            if flat(out).get("current") != tag:
                self.violate("step %d: after select %s, /status says current %s"
                             % (len(self.steps), tag, flat(out).get("current")))

    def do_unmount(self):
        self.note("unmount (fusermount3 -u)")
        rc = self.lab.unmount()
        if rc != 0:
            self.violate("step %d: clabfs ended with %s at a clean unmount"
                         % (len(self.steps), status(rc)))
        self.m.mounted = False
        self.m.disruptions.append(time.time())

    def do_kill_clabfs(self):
        self.note("kill -9 clabfs, fusermount3 -uz")
        self.m.disruptions.append(time.time())
        self.lab.kill_clabfs()
        self.m.mounted = False

    def do_remount(self):
        self.note("remount")
        self.lab.mount()
        self.m.mounted = True

    def do_kill_controller(self):
        self.note("kill -9 controller")
        self.m.disruptions.append(time.time())
        self.lab.kill_controller()
        self.m.controller = False

    def do_restart_controller(self):
        self.note("restart controller (same state dir)")
        self.lab.start_controller()
        self.m.controller = True
        self.m.controller_starts.append(time.time())

    def do_kill_engine(self):
        eid = self.rng.choice(sorted(e for e, u in self.m.engines.items() if u))
        self.note("kill -9 engine %s" % eid)
        kill9(self.lab.engines.pop(eid))
        self.m.engines[eid] = False

    def do_restart_engine(self):
        m, r = self.m, self.rng
        down = sorted(e for e, u in m.engines.items() if not u and not e.startswith("anon"))
        u = r.random()
        if down and u < 0.5:
            eid, how = r.choice(down), "same id"
        elif u < 0.8:
            eid, how = "e%d" % m.next_engine, "new id"
            m.next_engine += 1
        else:
            m.anon += 1
            eid, how = "anon%d" % m.anon, "no --id (HOST-PID)"
        self.note("start engine %s (%s)" % (eid, how))
        self.engine_up(eid, anon=eid.startswith("anon"))

    def do_rogue(self):
        """A holder of engine.json tries to take the pending points of a set
        and forge their results (issue 21): as an engine of its own that
        claims them, or under the id of a live engine. None of its forgeries
        may be stored (check_set finds any result that is not its point's)."""
        m, r = self.m, self.rng
        tag = r.choice(self.live_tags())
        up = sorted(e for e, u in m.engines.items() if u and not e.startswith("anon"))
        reuse = bool(up) and r.random() < 0.5
        eid = r.choice(up) if reuse else "rogue%d" % len(self.steps)
        jobs = self.pending_jobs(tag)[:40]
        self.note("rogue engine %s %s, %d pending job(s) of %s" % (
            "reusing the id of" if reuse else "as", eid, len(jobs), tag))
        subprocess.run(["/usr/bin/python3", ROGUE, self.lab.engine_conf(), eid,
                        "reuse" if reuse else "claim"] + jobs,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def run_steps(self, limit=None, deadline=None):
        """Steps until limit steps are logged or the deadline passes."""
        while True:
            if limit is not None:
                if len(self.steps) >= limit:
                    break
            elif time.time() >= deadline:
                break
            name = self.pick()
            pause = self.rng.uniform(0, 1.2)
            try:
                getattr(self, "do_" + name)()
            except Hang as e:
                self.violate("step %d (%s): hang: %s" % (len(self.steps), name, e))
                return False
            except (TimeoutError, RuntimeError) as e:
                self.violate("step %d (%s): %s" % (len(self.steps), name, e))
                return False
            self.lab.reap()
            self.died()
            time.sleep(pause)
        return True

    def died(self):
        """Unexpected deaths, each a violation (an engine's only when a
        signal killed it). The model then counts the process as down, so
        that the next steps or the heal bring it back as after a kill."""
        dead = False
        for d in self.lab.deaths():
            what = "after step %d: %s" % (len(self.steps), d)
            dead = True
            if d.startswith("engine"):
                self.m.engines[d.split()[1]] = False
                if "signal" not in d:
                    self.steplog.write("note: %s\n" % what)
                    continue
            elif d.startswith("clabfs"):
                subprocess.run(["fusermount3", "-uz", self.lab.mnt], stderr=subprocess.DEVNULL)
                self.m.mounted = False
                self.m.disruptions.append(time.time())
            else:
                self.m.controller = False
                self.m.disruptions.append(time.time())
            self.violate(what)
        return dead

    def run(self):
        """The random steps, a heal, then a calm coda: a restart of clabfs
        or of the controller (as the heal may do) resends everything and
        would hide a point left pending; the coda has neither before the
        check."""
        a = self.args
        ok = self.run_steps(limit=a.steps, deadline=self.t0 + 60 * a.minutes)
        self.main_steps = len(self.steps)
        if not ok:
            return False
        self.heal()
        self.calm, self.phase_left = True, CODA_STEPS
        self.note("coda: calm for %d steps" % CODA_STEPS)
        return self.run_steps(limit=len(self.steps) + CODA_STEPS)

    # -- the end: heal, then check ------------------------------------------
    def heal(self):
        m = self.m
        self.note("heal: everything up")
        if not m.controller:
            self.lab.start_controller()
            m.controller = True
            m.controller_starts.append(time.time())
        up = [e for e, u in m.engines.items() if u]
        for eid in ("e1", "e2"):
            if len(up) >= 2:
                break
            if not m.engines.get(eid):
                self.engine_up(eid)
                up.append(eid)
        if not m.mounted:
            self.lab.mount()
            m.mounted = True
        self.wait_connected(60)

    def pending_jobs(self, tag):
        return [r[0] for r in self.nb_query(
            "SELECT job FROM jobs WHERE tag = ? AND state = 0", (tag,))]

    def nb_query(self, sql, args=()):
        return db_query(os.path.join(self.lab.state, "notebook.db"), sql, args)

    def check(self):
        for attempt in (1, 2):
            self.note("check")
            if self.check_waits():
                break
            self.heal()  # clabfs or the controller died under the waits
        else:
            return
        jobs = {}
        for tag in self.live_tags():
            self.check_set(tag, jobs)
        for tag in sorted(self.m.deleted):
            rc, _, _ = fs_run(["test", "-e", self.path("results", tag)])
            if rc == 0:
                self.violate("deleted set %s still in /results" % tag)
        self.check_controller()
        self.check_cancel_reached(jobs)

    def check_waits(self):
        """Every wait returns; False when a daemon died meanwhile."""
        stalled, stuck = False, []
        hard = time.time() + WAIT_CAP
        for tag in self.live_tags():
            r = self.wait_set(tag, hard, 5 if stalled else STALL)
            if self.died():
                return False
            if r is not None:
                stalled = True
                stuck.append(tag)
                if len(stuck) <= 5:
                    self.violate(r)
        if len(stuck) > 5:
            self.violate("%d more sets whose wait did not return: %s"
                         % (len(stuck) - 5, " ".join(stuck[5:])))
        return True

    def progress(self):
        """Anything moving: a run started or ended, or a result stored."""
        try:
            runs = os.path.getsize(self.runs)
        except OSError:
            runs = 0
        done = self.nb_query("SELECT count(*) FROM results")[0][0]
        return (runs, done)

    def wait_set(self, tag, hard, stall):
        """Reads /results/TAG/wait in a child: None once it returns, else
        what is stuck, when nothing moved for stall seconds (or at hard)."""
        p = subprocess.Popen(["cat", self.path("results", tag, "wait")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        last, since = self.progress(), time.time()
        started = since
        while p.poll() is None:
            time.sleep(0.5)
            now = self.progress()
            if now != last:
                last, since = now, time.time()
            # Past the cap a wait still gets a few seconds: a set that is
            # done answers at once.
            if time.time() - since > stall or (time.time() > hard and
                                               time.time() - started > 5):
                p.kill()
                p.wait()
                why = ("nothing moved for %ds" % stall if time.time() <= hard
                       else "still moving after the %ds cap" % WAIT_CAP)
                return "set %s: wait did not return (%s); %s" % (tag, why,
                                                                  self.stuck(tag))
        if p.returncode != 0:
            return "set %s: wait failed: %s" % (tag, p.stderr.read().decode().strip())
        return None

    def stuck(self, tag):
        """Where the pending jobs of tag are, in the controller's queue."""
        _, st, _ = fs_read(self.path("results", tag, "status"), 10)
        pend = self.pending_jobs(tag)
        where = {}
        names = {0: "queued", 1: "running on", 2: "done, undelivered", 3: "delivered"}
        for j in pend:
            rows = db_query(self.controller_db(), "SELECT state, engine FROM tasks"
                            " WHERE job = ?", (j,)) if self.controller_db() else []
            if not rows:
                k = "unknown to the controller"
            else:
                k = names.get(rows[0][0], rows[0][0])
                if rows[0][0] == 1:
                    k += " engine %s (%s)" % (rows[0][1], "up" if self.m.engines.get(
                        rows[0][1]) else "dead or unknown")
            where.setdefault(k, []).append(j)
        return "status: %s; %d pending jobs in the notebook: %s" % (
            " ".join(st.split()), len(pend), "; ".join(
                "%d %s (e.g. %s)" % (len(v), k, ", ".join(v[:3]))
                for k, v in sorted(where.items())))

    def controller_db(self):
        db = os.path.join(self.lab.cluster, "controller.db")
        return db if os.path.exists(db) else None

    def records(self, tag):
        """Every record of tag as (n, ok, doc), read through the mount."""
        recs = []
        for sub, ok in (("", True), ("failed", False)):
            d = self.path("results", tag, sub)
            rc, out, err = fs_run(["ls", d])
            if rc != 0:
                self.violate("set %s: ls %s: %s" % (tag, d, err.strip()))
                continue
            for name in out.split():
                if not (name.endswith(".json") and name[:-5].isdigit()):
                    continue
                rc, text, err = fs_read(os.path.join(d, name))
                try:
                    recs.append((int(name[:-5]), ok, json.loads(text)))
                except ValueError:
                    self.violate("set %s: %s/%s unreadable: %s" % (tag, sub, name, err))
        return recs

    def check_set(self, tag, jobs):
        st = self.m.sets[tag]
        rc, out, _ = fs_read(self.path("results", tag, "status"))
        kv = flat(out)
        if kv.get("pending") != "0" or kv.get("done") != "1":
            self.violate("set %s: status says pending %s done %s" % (
                tag, kv.get("pending"), kv.get("done")))
        subs = {s: (n, t) for s, n, t in st["subs"]}
        per_point = {}
        for n, ok, doc in self.records(tag):
            meta, par = doc.get("metadata", {}), doc.get("parameters", {})
            job = meta.get("clab.job")
            where = "%s/%s%d.json job %s" % (tag, "" if ok else "failed/", n, job)
            if job in jobs:
                self.violate("job id %s twice: %s and %s" % (job, jobs[job][0], where))
            jobs[job] = (where, ok, meta)
            key = (par.get("s"), par.get("i"))
            if key[0] not in subs or not (0 <= (key[1] if isinstance(key[1], int) else -1)
                                          < subs[key[0]][0]):
                self.violate("%s: point s=%s i=%s was never submitted to this set"
                             % (where, key[0], key[1]))
                continue
            per_point.setdefault(key, []).append((n, ok, job, meta))
            res = doc.get("results")
            for r in res if isinstance(res, list) else [res]:
                if ok and (not isinstance(r, dict) or (r.get("s"), r.get("i")) != key):
                    self.violate("%s: misfiled: parameters s=%s i=%s, results %s"
                                 % (where, key[0], key[1], json.dumps(r)[:200]))
            if not ok:
                exc = meta.get("epyc.experiment.exception")
                if exc not in ALLOWED_FAIL:
                    self.violate("%s failed with %r" % (where, exc))
                elif exc in CANCEL_REASONS and not any(
                        c > subs[key[0]][1] for c in st["cancels"]):
                    self.violate("%s cancelled, but no cancel of %s came after its"
                                 " submission" % (where, tag))
        state = dict(self.nb_query("SELECT job, state FROM jobs WHERE tag = ?", (tag,)))
        missing, wrong = [], []
        for s, (n_points, _) in sorted(subs.items()):
            for i in range(n_points):
                recs = per_point.get((s, i), [])
                final = [r for r in recs if state.get(r[2]) != 2]  # 2: retried
                oks = [r for r in recs if r[1]]
                if not recs:
                    missing.append("s=%d i=%d" % (s, i))
                elif len(final) != 1 or len(oks) > 1:
                    wrong.append("s=%d i=%d: %d records (%s), %d not retried, %d ok" % (
                        s, i, len(recs), ", ".join(
                            "N=%d %s %s" % (r[0], "ok" if r[1] else
                                            r[3].get("epyc.experiment.exception"), r[2])
                            for r in recs), len(final), len(oks)))
        if missing:
            self.violate("set %s: %d points with no record at all, e.g. %s"
                         % (tag, len(missing), ", ".join(missing[:5])))
        if wrong:
            self.violate("set %s: %d points not done exactly once: %s"
                         % (tag, len(wrong), "; ".join(wrong[:5])))
        left = self.nb_query("SELECT job FROM jobs WHERE tag = ? AND state = 0", (tag,))
        if left:
            self.violate("set %s: notebook still has %d pending jobs, e.g. %s"
                         % (tag, len(left), left[0][0]))

    def check_controller(self):
        """The controller's queue drains once every set is done: nothing
        queued, running or undelivered is left behind by cancel or delete."""
        db = self.controller_db()
        if db is None:
            self.violate("no controller database in %s" % self.lab.cluster)
            return
        sql = ("SELECT state, tag, job, engine FROM tasks WHERE state < 3 ORDER BY seq")
        try:
            wait_until(30, lambda: not db_query(db, sql), "the controller's queue to drain")
        except TimeoutError:
            rows = db_query(db, sql)
            names = {0: "queued", 1: "running", 2: "done, undelivered"}
            by = {}
            for state, tag, job, engine in rows:
                by.setdefault(names.get(state, state), []).append(
                    "%s(tag %r, engine %s)" % (job, tag, engine))
            self.violate("controller queue not drained 30s after every set was done: %s"
                         % "; ".join("%d %s, e.g. %s" % (len(v), k, ", ".join(v[:3]))
                                     for k, v in sorted(by.items())))

    def check_cancel_reached(self, jobs):
        """A job cancelled (or deleted) while the lab and controller were up
        must not be started on an engine after a grace period."""
        cancelled = dict(self.m.deleted_jobs)
        for j, (where, ok, meta) in jobs.items():
            if ok or meta.get("epyc.experiment.exception") not in CANCEL_REASONS:
                continue
            t = iso(meta["epyc.experiment.end_time"])
            tag = where.split("/")[0]
            steps = [c for c in self.m.cancel_log if c[0] == tag and c[1] <= t + 1]
            cancelled[j] = (t, steps[-1][2] if steps else 0)
        late = []
        try:
            lines = open(self.runs).read().splitlines()
        except OSError:
            lines = []
        for line in lines:
            f = line.split()
            if len(f) < 4 or f[0] != "start" or f[1] not in cancelled:
                continue
            (tc, step), ts = cancelled[f[1]], float(f[3])
            # A cancel made while the controller was down reaches it once
            # it is back: the grace runs from the first start after tc.
            if any(d <= tc for d in self.m.disruptions):
                last_down = max(d for d in self.m.disruptions if d <= tc)
                back = [t for t in self.m.controller_starts if t >= last_down]
                if back:
                    tc = max(tc, min(back))
            if ts <= tc + CANCEL_GRACE:
                continue
            if any(tc <= d <= tc + CANCEL_GRACE for d in self.m.disruptions):
                continue  # the cancel may have died with clabfs or the controller
            late.append("%s (tag %s) started %.1fs after the cancel/delete of step %d"
                        % (f[1], f[2], ts - tc, step))
        if late:
            self.violate("%d runs of cancelled or deleted jobs started on engines after"
                         " a %.0fs grace, e.g.: %s" % (len(late), CANCEL_GRACE,
                                                      "; ".join(late[:5])))

    def stats(self):
        try:
            lines = open(self.runs).read().splitlines()
        except OSError:
            lines = []
        ends = [l.split()[1] for l in lines if l.startswith("end ")]
        worker = sum(1 for j in ends if j.startswith("w-"))
        strays = sum(1 for l in lines if l.startswith("stray "))
        rogues = sum(1 for l in self.steps if " rogue engine " in l)
        return ("%d runs completed on engines, %d distinct jobs; %d runs on framed workers,"
                " %d stray lines printed by them; %d rogue engines" % (
                    len(ends), len(set(ends)), worker, strays, rogues))


def db_query(path, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--minutes", type=float, default=2)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--steps", type=int, help="run exactly this many steps (replay)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    print("soak seed %d" % args.seed, flush=True)
    work = tempfile.mkdtemp(prefix="clabsoak.")
    soak = Soak(args, work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    ok = False
    try:
        try:
            soak.setup()
            finished = soak.run()
            if finished or not any("hang" in v for v in soak.violations):
                soak.heal()
                soak.check()
        except (Hang, TimeoutError, RuntimeError) as e:
            soak.violate("harness: %s" % e)
        n = soak.main_steps if soak.main_steps is not None else len(soak.steps)
        print("soak: %d steps in %.0fs; %s" % (n, time.time() - soak.t0, soak.stats()))
        print("replay: CLAB_SOAK_SEED=%d CLAB_SOAK_STEPS=%d" % (args.seed, n))
        ok = not soak.violations
        if not ok:
            print("\nSOAK FAILED, seed %d\n---- steps" % args.seed)
            print("\n".join(soak.steps))
            print("---- violations (%d)" % len(soak.violations))
            for v in soak.violations:
                print("* " + v)
            cores = [n for n in os.listdir(work) if n.startswith("core")]
            if cores:
                print("---- core files in %s: %s" % (work, " ".join(cores)))
            for name in ("controller.log", "clabfs.log"):
                try:
                    tail = open(os.path.join(work, name), errors="replace").read()
                except OSError:
                    continue
                print("---- tail of %s\n%s" % (name, "\n".join(tail.splitlines()[-15:])))
        sys.stdout.flush()
    finally:
        soak.lab.cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work dir kept: %s" % work)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
