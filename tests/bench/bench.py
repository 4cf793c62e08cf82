#!/usr/bin/python3
"""Helpers of tests/bench/run.sh that want finer clocks or libraries than
bash has: timed writes to /submit and /ctl, the one-point latency loop,
the ipyparallel baselines, the SQL that reproduces results.csv from the
notebook, a directory of N empty files, many blocked readers of wait, and
the final table.

Every subcommand prints plain `key value` lines (or the table) on stdout
and reports a failure as `error TEXT` with exit status 1, so that run.sh
can turn it into an n/a row instead of stopping.
"""
import csv
import json
import os
import sqlite3
import statistics
import sys
import time


def fail(text):
    print("error %s" % " ".join(str(text).split()))
    sys.exit(1)


def timed_write(path, text):
    """Seconds that open+write+close of TEXT on PATH took (errno -> fail)."""
    data = text.encode()
    t0 = time.perf_counter()
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            n = os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    if n != len(data):
        fail("%s: short write %d of %d" % (path, n, len(data)))
    return time.perf_counter() - t0


def cmd_write(path, text):
    print("seconds %.6f" % timed_write(path, text))


def wait_file(path, deadline):
    """Polls PATH (through FUSE: no inotify) until it exists."""
    while not os.path.exists(path):
        if time.perf_counter() > deadline:
            return False
        time.sleep(0.0002)
    return True


def cmd_latency(mnt, noop, count, prefix):
    """Median of COUNT one-point jobs: from write(2) on /submit returning
    to results/TAG/1.json existing."""
    samples = []
    for i in range(int(count)):
        tag = "%s%d" % (prefix, i)
        job = json.dumps({"experiment": noop, "tag": tag, "parameters": {"i": i}})
        fd = os.open(os.path.join(mnt, "submit"), os.O_WRONLY)
        try:
            os.write(fd, (job + "\n").encode())
            t0 = time.perf_counter()
        except OSError as e:
            fail("submit: %s" % e.strerror)
        finally:
            os.close(fd)
        if not wait_file(os.path.join(mnt, "results", tag, "1.json"), t0 + 30):
            fail("no result for %s after 30 s" % tag)
        samples.append(time.perf_counter() - t0)
    print("median %.6f" % statistics.median(samples))
    print("min %.6f" % min(samples))
    print("max %.6f" % max(samples))


def run_noop(noop, i):
    """What each ipyparallel task does: the same program, point on stdin."""
    import subprocess

    subprocess.run([noop], input=('{"i": %d}\n' % i).encode(),
                   stdout=subprocess.DEVNULL, check=True)
    return i


def inproc_noop(p):
    """ipyparallel's in-process function: what a warm Python engine does
    at best per point."""
    return {"ok": 1, "i": p}


def cmd_ipp(profile, noop, points, lat_count, engines):
    """Throughput (load-balanced map of POINTS tasks running NOOP, then an
    in-process function) and the median of
    LAT_COUNT apply_sync round trips, on a running ipcontroller."""
    try:
        import ipyparallel as ipp
    except ImportError as e:
        fail("ipyparallel: %s" % e)
    try:
        c = ipp.Client(profile_dir=profile, timeout=30)
        c.wait_for_engines(int(engines), timeout=90)
        lview = c.load_balanced_view()
        lview.apply_sync(run_noop, noop, 0)  # warm: imports on the engines
        n = int(points)
        t0 = time.perf_counter()
        lview.map_sync(run_noop, [noop] * n, range(n))
        print("throughput %.3f" % (n / (time.perf_counter() - t0)))
        lview.map_sync(inproc_noop, range(10))  # warm
        t0 = time.perf_counter()
        lview.map_sync(inproc_noop, range(n))
        print("inproc %.3f" % (n / (time.perf_counter() - t0)))
        samples = []
        for i in range(int(lat_count)):
            t0 = time.perf_counter()
            lview.apply_sync(run_noop, noop, i)
            samples.append(time.perf_counter() - t0)
        print("latency %.6f" % statistics.median(samples))
        c.close()
    except Exception as e:  # any ipyparallel failure is an n/a row
        fail("ipyparallel: %s: %s" % (type(e).__name__, e))


def cmd_sql(db, tag, kind):
    """The SELECT that gives results.csv's rows (KIND csv) or
    results.jsonl's documents (KIND jsonl) from the notebook, columns in
    the order views.c writes them: parameters, results, metadata, each
    sorted by name (the notebook's `columns` table)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    q = lambda s: "'" + s.replace("'", "''") + "'"
    if kind == "jsonl":
        print("SELECT doc FROM results WHERE tag = %s ORDER BY n;" % q(tag))
        return
    cols = []
    for k, section in ((0, "parameters"), (1, "results"), (2, "metadata")):
        for (name,) in con.execute(
                "SELECT name FROM columns WHERE tag = ? AND kind = ? ORDER BY name",
                (tag, k)):
            path = '$.%s."%s"' % (section, name.replace('"', '\\"'))
            cols.append("json_extract(doc, %s) AS %s" % (q(path), '"%s"' % name.replace('"', '""')))
    if not cols:
        fail("no columns for %s in %s" % (tag, db))
    print("SELECT %s FROM results WHERE tag = %s AND ok = 1 ORDER BY n;"
          % (", ".join(cols), q(tag)))


def cmd_mkfiles(directory, listing):
    """One empty file in DIRECTORY per name in LISTING (ls -f output)."""
    n = 0
    with open(listing) as f:
        for name in f:
            name = name.rstrip("\n")
            if name in (".", "..", ""):
                continue
            path = os.path.join(directory, name)
            if name == "failed":
                os.makedirs(path, exist_ok=True)
            else:
                open(path, "w").close()
            n += 1
    print("files %d" % n)


def blocked_threads():
    """This process's threads asleep in a FUSE request (root can read the
    kernel stacks); None when the stacks cannot be read."""
    n = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/stack" % tid) as f:
                n += "request_wait_answer" in f.read()
        except OSError:
            return None
    return n


def proc_value(pid, key):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def cmd_waiters(mnt, tag, count, lab_pid, gate):
    """COUNT threads each read results/TAG/wait (the set runs until GATE
    exists). Once they block (or stop ending), measures clabfs (LAB_PID):
    its threads, its RSS, the time of a read of /status (median of 5);
    then opens the gate and counts the reads that returned the status."""
    import threading
    n = int(count)
    path = os.path.join(mnt, "results", tag, "wait")
    threading.stack_size(64 * 1024)
    got, lock = [], threading.Lock()

    def one():
        try:
            with open(path, "rb") as f:
                r = len(f.read())
        except OSError as e:
            r = "err " + (os.strerror(e.errno) if e.errno else str(e))
        with lock:
            got.append(r)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    # Blocked: all of them asleep in the kernel, or (no stacks to read, or
    # some refused) the count of those still waiting steady for 3 s.
    end, last, since = time.time() + 300, -1, time.time()
    while time.time() < end:
        b = blocked_threads()
        with lock:
            waiting = n - len(got)
        if b is not None and b >= n:
            break
        if waiting != last:
            last, since = waiting, time.time()
        elif time.time() - since > 3 and (b is None or b >= waiting):
            break
        time.sleep(0.2)
    with lock:
        waiting = n - len(got)
    print("blocked %d" % waiting)
    print("threads %d" % len(os.listdir("/proc/%s/task" % lab_pid)))
    print("rss_mib %.1f" % (proc_value(lab_pid, "VmRSS") / 1024))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        with open(os.path.join(mnt, "status"), "rb") as f:
            f.read()
        times.append((time.perf_counter() - t0) * 1000)
    print("status_ms %.2f" % statistics.median(times))
    open(gate, "w").close()
    for t in threads:
        t.join(600)
    with open(os.path.join(mnt, "results", tag, "status"), "rb") as f:
        size = len(f.read())
    print("returned %d" % sum(1 for r in got if r == size))
    other = {}
    for r in got:
        if r != size:
            other[str(r)] = other.get(str(r), 0) + 1
    print("other %s" % ("; ".join("%d %s" % (n, r) for r, n in sorted(other.items()))
                        or "-"))


def number(v):
    try:
        return float(v)
    except ValueError:
        return None


def ratio(b, c):
    b, c = number(b), number(c)
    if b is None or c is None or not b:
        return ""
    return "%.3g" % (c / b)


def shown(v):
    """A value as the printed table shows it (the CSV keeps it whole)."""
    x = number(v)
    if x is None:
        return v
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    if abs(x) >= 1:
        return "%.2f" % x
    return "%.3g" % x


def cmd_table(rows_tsv, out_csv, info_tsv):
    """Prints the table and writes it as CSV: machine lines first (as rows
    with no baseline), then one row per figure."""
    info = [l.rstrip("\n").split("\t", 1) for l in open(info_tsv) if "\t" in l]
    rows = []
    for line in open(rows_tsv):
        f = line.rstrip("\n").split("\t")
        f += [""] * (5 - len(f))
        fig, base, bval, cval, unit = f[:5]
        rows.append([fig, base, bval, cval, ratio(bval, cval), unit])
    head = ["figure", "baseline", "baseline value", "clabfs value", "ratio", "unit"]
    os.makedirs(os.path.dirname(os.path.abspath(out_csv)), exist_ok=True)
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        for k, v in info:
            w.writerow(["machine: " + k, "", "", v, "", ""])
        w.writerows(rows)
    for k, v in info:
        print("%-22s %s" % (k, v))
    print()
    rows = [[r[0], r[1], shown(r[2]), shown(r[3]), r[4], r[5]] for r in rows]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(6)]
    widths = [min(w, 60) for w in widths]
    fmt = lambda r: "  ".join(
        (r[i].rjust(widths[i]) if i in (2, 3, 4) else r[i].ljust(widths[i]))
        for i in range(6)).rstrip()
    print(fmt(head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))


COMMANDS = {
    "write": (cmd_write, 2),
    "latency": (cmd_latency, 4),
    "ipp": (cmd_ipp, 5),
    "sql": (cmd_sql, 3),
    "mkfiles": (cmd_mkfiles, 2),
    "waiters": (cmd_waiters, 5),
    "table": (cmd_table, 3),
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        fail("usage: bench.py %s ARGS" % "|".join(COMMANDS))
    fn, nargs = COMMANDS[sys.argv[1]]
    if len(sys.argv) != 2 + nargs:
        fail("%s takes %d arguments" % (sys.argv[1], nargs))
    fn(*sys.argv[2:])
