/* Worker mode (worker.h): the engine's set of long-lived experiment
 * processes, one per (experiment, arguments, protocol): started at the
 * first point that needs one, checked before each point, retired when out
 * of step, stopped when idle or to make room. A point's own exchange is in
 * worker_point.c. A plain worker's answer is simply its next line, so
 * anything that leaves it out of step with its points (a timeout, a
 * death, a bad or over-long line, more than one line for a point, a line
 * with no point outstanding, a cancel) costs that worker its life: the
 * next point starts a fresh one, so one bad point never poisons the next.
 * A framed worker's answer carries its point's clab.seq (worker_frame.c),
 * so its other lines are only stray output, kept for the traceback. */
#include "worker.h"
#include "worker_i.h"

#include "buf.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "scratch.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOTS_MAX 64
/* Seconds a worker gets to exit once its stdin is closed: an idle or
 * least-recently-used stop (the engine waits), and the engine's own stop. */
#define STOP_GRACE 0.5
#define DESTROY_GRACE 1.0

struct clab_workers {
    struct worker *w[SLOTS_MAX];
    size_t n;
    unsigned max;
    double idle;
};

int clab_workers_new(unsigned max, double idle, clab_workers_t **out)
{
    clab_workers_t *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->max = max == 0 ? CLAB_WORKERS_MAX : max > SLOTS_MAX ? SLOTS_MAX : max;
    w->idle = idle > 0 ? idle : CLAB_WORKERS_IDLE;
    *out = w;
    return 0;
}

/* Reaps (the group killed first) and frees a worker already asked to go. */
static void worker_free(struct worker *wk)
{
    if (wk->c.pid > 0) {
        int status;
        clab_child_reap(&wk->c, &status);
    }
    clab_child_close(&wk->c);
    if (wk->scratch[0])
        clab_scratch_remove(wk->scratch);
    clab_buf_free(&wk->out);
    free(wk->key);
    free(wk);
}

static void forget(clab_workers_t *w, size_t i)
{
    memmove(&w->w[i], &w->w[i + 1], (w->n - i - 1) * sizeof *w->w);
    w->n--;
}

/* Closes the stdin of each of list[0..n), waits up to grace seconds for
 * them to exit, then kills what is left; frees them all. */
static void stop_gently(struct worker **list, size_t n, double grace)
{
    double until = clab_mono() + grace;
    for (size_t i = 0; i < n; i++) {
        if (list[i]->c.in_fd >= 0)
            close(list[i]->c.in_fd);
        list[i]->c.in_fd = -1;
    }
    for (size_t left = n; left > 0 && clab_mono() < until;) {
        left = 0;
        for (size_t i = 0; i < n; i++) {
            worker_drain_stderr(list[i]);
            left += list[i]->c.pid > 0 && clab_child_exited(&list[i]->c) == 0;
        }
        if (left)
            usleep(10 * 1000);
    }
    for (size_t i = 0; i < n; i++)
        worker_free(list[i]);
}

/* What makes a worker: its experiment, arguments, protocol and files. */
static char *make_key(const clab_run_spec_t *spec)
{
    char *args = spec->arguments ? clab_json_dumps(spec->arguments) : strdup("[]");
    char *files = spec->files ? clab_json_dumps(spec->files) : strdup("{}");
    char *key = NULL;
    if (args && files &&
        asprintf(&key, "%s\n%s%s\n%s", spec->experiment, args,
                 spec->framed ? "\nframed" : "", files) < 0)
        key = NULL;
    free(args);
    free(files);
    return key;
}

/* Makes room for one more worker: the least recently used goes. */
static void make_room(clab_workers_t *w)
{
    if (w->n < w->max)
        return;
    size_t lru = 0;
    for (size_t i = 1; i < w->n; i++)
        if (w->w[i]->last_used < w->w[lru]->last_used)
            lru = i;
    struct worker *wk = w->w[lru];
    forget(w, lru);
    clab_debug("worker %d stopped to make room", (int)wk->c.pid);
    stop_gently(&wk, 1, STOP_GRACE);
}

/* Starts the worker for spec under key (taken over): 0 with *out, 1 when
 * it cannot be executed (why says so), -errno. */
static int start(clab_workers_t *w, const clab_run_spec_t *spec, char *key,
                 struct worker **out, char *why, size_t size)
{
    struct worker *wk = NULL;
    char *tag = NULL;
    int rc = 1;

    if (clab_child_check(spec->experiment, spec->arguments, why, size) < 0)
        goto fail;
    make_room(w);
    rc = -ENOMEM;
    wk = calloc(1, sizeof *wk);
    if (!wk || asprintf(&tag, "CLAB_TAG=%s", spec->tag ? spec->tag : "") < 0)
        goto fail;
    wk->c = (clab_child_t)CLAB_CHILD_INIT;
    if ((rc = clab_scratch_make(spec->scratch_root, wk->scratch, sizeof wk->scratch)))
        goto fail;
    if (spec->files &&
        clab_files_install(spec->files_cache, spec->files, wk->scratch, why, size) < 0) {
        rc = 1;
        goto fail;
    }
    char *env[] = {spec->framed ? "CLAB_WORKER=framed" : "CLAB_WORKER=1", tag, NULL};
    clab_child_how_t how = {.path = spec->experiment,
                            .arguments = spec->arguments,
                            .dir = wk->scratch,
                            .env = env};
    if ((rc = clab_child_spawn(&how, &wk->c, why, size)))
        goto fail;
    free(tag);
    wk->key = key;
    wk->framed = spec->framed != 0;
    w->w[w->n++] = wk;
    *out = wk;
    clab_debug("worker %d started for %s", (int)wk->c.pid, spec->experiment);
    return 0;
fail:
    if (wk)
        worker_free(wk);
    free(tag);
    free(key);
    return rc;
}

/* Whether a plain worker printed what no point asked for: a line after
 * its answer, or the end of its stdout. */
static int unasked(const struct worker *wk)
{
    struct pollfd p = {wk->c.out_fd, POLLIN, 0};
    return wk->out.len > 0 || poll(&p, 1, 0) != 0;
}

#define UNASKED "printed output with no point outstanding"

/* Why a worker cannot take another point, or NULL when it can: it died,
 * closed a pipe, or is out of step (a plain one printed something no
 * point asked for; a framed one's output is stray output, set aside for
 * its next point, unless there is too much of it). */
static const char *unfit(struct worker *wk)
{
    worker_drain_stderr(wk);
    if (clab_child_exited(&wk->c) != 0)
        return "exited between points";
    if (wk->c.in_fd < 0 || wk->c.out_fd < 0)
        return "closed its stdin or stdout";
    if (!wk->framed)
        return unasked(wk) ? UNASKED : NULL;
    if (worker_read_out(wk, CLAB_MAX_OUTPUT) < 0 || worker_set_aside(wk, 0))
        return "printed too much stray output between points";
    return NULL;
}

static void retire(clab_workers_t *w, size_t i, const char *why)
{
    struct worker *wk = w->w[i];
    clab_info("worker %d for %.*s %s; retired%s", (int)wk->c.pid,
              (int)strcspn(wk->key, "\n"), wk->key, why,
              strcmp(why, UNASKED) ? ""
                                   : " (a plain worker's late line cannot be told from "
                                     "the next point's answer; a framed one's can)");
    forget(w, i);
    worker_free(wk);
}

/* The worker for spec, alive and in step, started if need be: 0 with
 * *out, 1 when it cannot be executed (why), -errno. */
static int find(clab_workers_t *w, const clab_run_spec_t *spec, struct worker **out,
                char *why, size_t size)
{
    char *key = make_key(spec);
    if (!key)
        return -ENOMEM;
    for (size_t i = 0; i < w->n; i++) {
        struct worker *wk = w->w[i];
        if (strcmp(wk->key, key) != 0)
            continue;
        const char *unfit_why = unfit(wk);
        if (!unfit_why) {
            wk->tail.len = 0; /* the point's traceback starts here */
            free(key);
            *out = wk;
            return 0;
        }
        retire(w, i, unfit_why);
        break;
    }
    return start(w, spec, key, out, why, size);
}

/* A point that never reached a worker (it cannot be executed). */
static int exec_failure(const clab_run_spec_t *spec, const char *why, double w0,
                        double m0, json_t **out)
{
    clab_record_info_t in = {.experiment = spec->experiment,
                             .job = spec->job,
                             .engine_id = spec->engine_id,
                             .host = spec->host,
                             .start = w0,
                             .end = clab_now(),
                             .elapsed = clab_mono() - m0,
                             .exit_status = -1,
                             .exception = why};
    return clab_record_new(&in, NULL, out);
}

static void drop(clab_workers_t *w, struct worker *wk)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->w[i] == wk) {
            forget(w, i);
            worker_free(wk);
            return;
        }
    }
}

/* The line for the point: the parameters (text, len bytes) as they are
 * for a plain worker, framed with the worker's next seq for a framed one.
 * 0 or -ENOMEM. */
static int point_line(struct worker_point *p, const char *text, size_t len)
{
    if (p->wk->framed)
        return worker_frame_point(&p->line, ++p->wk->seq, text, len);
    return clab_buf_add(&p->line, text, len) || clab_buf_puts(&p->line, "\n") ? -ENOMEM
                                                                              : 0;
}

int clab_workers_run(clab_workers_t *w, const clab_run_spec_t *spec, json_t **out)
{
    double m0 = clab_mono(), w0 = clab_now();
    struct worker_point p = {.spec = spec};
    clab_buf_t text = {0};
    int rc, keep = 0;

    if (!w || !spec || !out || !spec->experiment || !json_is_object(spec->params))
        return -EINVAL;
    *out = NULL;
    p.max_output = spec->max_output ? spec->max_output : CLAB_MAX_OUTPUT;
    if (clab_json_dump_buf(&text, spec->params))
        return -ENOMEM;
    /* Found (a plain worker checked to have printed nothing unasked) right
     * before its line is written. */
    rc = find(w, spec, &p.wk, p.exception, sizeof p.exception);
    if (rc) {
        rc = rc == 1 ? exec_failure(spec, p.exception, w0, m0, out) : rc;
        goto out;
    }
    if ((rc = point_line(&p, text.data, text.len)) == 0) {
        p.wk->last_used = p.t_sent = clab_mono();
        rc = worker_exchange(&p);
    }
    if (rc >= 0)
        rc = worker_record(&p, (enum worker_answer)rc, w0, m0, &keep, out);
    if (rc == 0 && p.wk->stray.lines > 0)
        clab_debug("task %s: worker %d printed %zu stray line(s)", spec->job,
                   (int)p.wk->c.pid, p.wk->stray.lines);
    p.wk->stray = (worker_stray_t){0};
    if (!keep || rc < 0)
        drop(w, p.wk); /* killed with its group, if still alive */
    else
        p.wk->last_used = clab_mono();
out:
    clab_output_clear(&p.output);
    clab_buf_free(&text);
    clab_buf_free(&p.line);
    return rc;
}

void clab_workers_idle(clab_workers_t *w)
{
    struct worker *idle[SLOTS_MAX];
    size_t n = 0;
    double now = clab_mono();

    for (size_t i = 0; w && i < w->n;) {
        struct worker *wk = w->w[i];
        const char *why = unfit(wk);
        if (why) {
            retire(w, i, why);
        } else if (now - wk->last_used >= w->idle) {
            forget(w, i);
            idle[n++] = wk;
        } else {
            i++;
        }
    }
    if (n)
        stop_gently(idle, n, STOP_GRACE);
}

size_t clab_workers_pids(const clab_workers_t *w, int *pids, size_t n)
{
    for (size_t i = 0; w && i < w->n && i < n; i++)
        pids[i] = (int)w->w[i]->c.pid;
    return w ? w->n : 0;
}

void clab_workers_destroy(clab_workers_t **pw)
{
    clab_workers_t *w = pw ? *pw : NULL;
    if (!w)
        return;
    stop_gently(w->w, w->n, DESTROY_GRACE);
    free(w);
    *pw = NULL;
}
