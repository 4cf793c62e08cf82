/* Worker mode (worker.h): the engine's long-lived experiment processes.
 * One point at a time goes through a worker: its parameters as a line on
 * stdin, one line back on stdout, read with the one-shot output reader
 * (record.c) so plain output and the result envelope mean the same in
 * both modes. Anything that leaves a worker out of step with its points
 * (a timeout, a death, a bad or over-long line, stray output between
 * points, a cancel) costs that worker its life: the next point starts a
 * fresh one, so one bad point never poisons the next. */
#include "worker.h"

#include "buf.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "scratch.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS_MAX 64
#define READ_CHUNK 65536
/* A cancel is noticed at the engine's next tick: this is how late. */
#define TICK_PERIOD 0.1
/* Without a pidfd, exits are noticed by polling waitid this often. */
#define EXIT_POLL 0.05
/* Seconds a worker gets to exit once its stdin is closed: an idle or
 * least-recently-used stop (the engine waits), and the engine's own stop. */
#define STOP_GRACE 0.5
#define DESTROY_GRACE 1.0
/* Seconds a worker that closed stdout (or stdin) gets to exit by itself
 * before it is killed: its exit status is then the point's reason. */
#define DRAIN_TIME 1.0
/* stderr reads between points, at most (16 KiB each). */
#define IDLE_READS 64
#define MIB (1024u * 1024u)

struct worker {
    char *key; /* experiment, a newline, the arguments as JSON */
    clab_child_t c;
    char scratch[PATH_MAX];
    clab_buf_t out;   /* stdout not yet taken as an answer */
    clab_tail_t tail; /* stderr: since the current point began */
    double last_used; /* clab_mono() */
};

struct clab_workers {
    struct worker *w[SLOTS_MAX];
    size_t n;
    unsigned max;
    double idle;
};

/* How a point's exchange ended. */
enum answer { ANS_LINE, ANS_DIED, ANS_TIMEOUT, ANS_OUTPUT };

struct point {
    const clab_run_spec_t *spec;
    struct worker *wk;
    size_t max_output;
    char *line; /* the parameters and a newline */
    size_t len, off;
    double t_sent, t_done;
    double eof_at;     /* clab_mono() when stdout or stdin closed; 0 */
    size_t answer_len; /* the answer line's length, newline excluded */
    int status;        /* wait status, ANS_DIED */
    char exception[PATH_MAX + 128];
    clab_output_t output;
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

static void drain_stderr(struct worker *wk)
{
    for (int i = 0; i < IDLE_READS && wk->c.err_fd >= 0; i++)
        if (clab_tail_read(&wk->tail, &wk->c.err_fd) <= 0)
            break;
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
            drain_stderr(list[i]);
            left += list[i]->c.pid > 0 && clab_child_exited(&list[i]->c) == 0;
        }
        if (left)
            usleep(10 * 1000);
    }
    for (size_t i = 0; i < n; i++)
        worker_free(list[i]);
}

static char *make_key(const clab_run_spec_t *spec)
{
    char *args = spec->arguments ? clab_json_dumps(spec->arguments) : strdup("[]");
    char *key = NULL;
    if (args && asprintf(&key, "%s\n%s", spec->experiment, args) < 0)
        key = NULL;
    free(args);
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
    char *env[] = {"CLAB_WORKER=1", tag, NULL};
    clab_child_how_t how = {.path = spec->experiment,
                            .arguments = spec->arguments,
                            .dir = wk->scratch,
                            .env = env};
    if ((rc = clab_child_spawn(&how, &wk->c, why, size)))
        goto fail;
    free(tag);
    wk->key = key;
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

/* Whether a worker can take a point: alive, in step (nothing on stdout
 * that no point asked for), stdin open. Its stderr so far is read and
 * forgotten: the next point's traceback starts here. */
static int fit(struct worker *wk)
{
    drain_stderr(wk);
    wk->tail.len = 0;
    if (wk->out.len > 0 || wk->c.in_fd < 0 || wk->c.out_fd < 0)
        return 0;
    struct pollfd p = {wk->c.out_fd, POLLIN, 0};
    if (poll(&p, 1, 0) != 0)
        return 0;
    return clab_child_exited(&wk->c) == 0;
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
        if (fit(wk)) {
            free(key);
            *out = wk;
            return 0;
        }
        clab_info("worker %d for %s is out of step or gone; starting another",
                  (int)wk->c.pid, spec->experiment);
        forget(w, i);
        worker_free(wk);
        break;
    }
    return start(w, spec, key, out, why, size);
}

/* Reads what stdout holds: 0, or -errno. EOF closes it. */
static int read_stdout(struct point *p)
{
    struct worker *wk = p->wk;
    for (;;) {
        if (clab_buf_reserve(&wk->out, READ_CHUNK))
            return -ENOMEM;
        ssize_t n = read(wk->c.out_fd, wk->out.data + wk->out.len, READ_CHUNK);
        if (n < 0)
            return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0) {
            close(wk->c.out_fd);
            wk->c.out_fd = -1;
            if (p->eof_at == 0)
                p->eof_at = clab_mono();
            return 0;
        }
        wk->out.len += (size_t)n;
        wk->out.data[wk->out.len] = '\0';
        if ((size_t)n < READ_CHUNK || wk->out.len > p->max_output)
            return 0;
    }
}

static void feed(struct point *p)
{
    int rc = clab_child_write(p->wk->c.in_fd, p->line, p->len, &p->off);
    if (rc < 0) {
        /* The worker stopped reading: it is leaving, or will never answer. */
        p->off = p->len;
        if (p->eof_at == 0)
            p->eof_at = clab_mono();
    }
}

/* Ends the exchange with the worker dead and reaped. */
static int died(struct point *p, enum answer a)
{
    clab_child_reap(&p->wk->c, &p->status);
    p->wk->c.pid = 0; /* reaped: its id may be anyone's now */
    p->t_done = clab_mono();
    drain_stderr(p->wk);
    return a;
}

/* The answer line, if stdout has one; 1 when found. */
static int have_line(struct point *p)
{
    clab_buf_t *o = &p->wk->out;
    char *nl = o->len ? memchr(o->data, '\n', o->len) : NULL;
    if (!nl)
        return 0;
    p->answer_len = (size_t)(nl - o->data);
    p->t_done = clab_mono();
    return 1;
}

/* What to wait for, and how long: the poll set in pfd, its size returned. */
static int poll_set(struct point *p, struct pollfd pfd[4], double wake, int *ms)
{
    const clab_child_t *c = &p->wk->c;
    double now = clab_mono();
    int n = 0;
    if (c->pidfd < 0)
        wake = fmin(wake, now + EXIT_POLL);
    double t = ceil((wake - now) * 1000);
    *ms = t < 0 ? 0 : t > 1000 ? 1000 : (int)t;
    if (c->in_fd >= 0 && p->off < p->len)
        pfd[n++] = (struct pollfd){c->in_fd, POLLOUT, 0};
    if (c->out_fd >= 0)
        pfd[n++] = (struct pollfd){c->out_fd, POLLIN, 0};
    if (c->err_fd >= 0)
        pfd[n++] = (struct pollfd){c->err_fd, POLLIN, 0};
    if (c->pidfd >= 0)
        pfd[n++] = (struct pollfd){c->pidfd, POLLIN, 0};
    return n;
}

/* Sends the point and waits for its answer: an enum answer, -EINTR when
 * the tick said stop, -errno. */
static int exchange(struct point *p)
{
    const clab_run_spec_t *s = p->spec;
    struct worker *wk = p->wk;
    double next_tick = p->t_sent + TICK_PERIOD;

    feed(p);
    for (;;) {
        int rc;
        if (have_line(p))
            return ANS_LINE;
        if (wk->out.len > p->max_output) {
            clab_child_kill(&wk->c);
            return died(p, ANS_OUTPUT);
        }
        int gone = clab_child_exited(&wk->c);
        if (gone < 0)
            return gone;
        if (gone > 0) {
            if (wk->c.out_fd >= 0 && (rc = read_stdout(p)))
                return rc;
            return have_line(p) ? ANS_LINE : died(p, ANS_DIED);
        }
        if (p->eof_at > 0 && clab_mono() - p->eof_at >= DRAIN_TIME)
            return died(p, ANS_DIED); /* by our group kill */
        double now = clab_mono(), wake = next_tick;
        if (s->timeout > 0 && now - p->t_sent >= s->timeout)
            return died(p, ANS_TIMEOUT);
        if (s->tick && now >= next_tick) {
            if (s->tick(s->tick_ud))
                return -EINTR;
            next_tick = fmax(next_tick + TICK_PERIOD, now);
        }
        if (s->timeout > 0)
            wake = fmin(wake, p->t_sent + s->timeout);
        if (p->eof_at > 0)
            wake = fmin(wake, p->eof_at + DRAIN_TIME);
        struct pollfd pfd[4];
        int ms, n = poll_set(p, pfd, wake, &ms);
        if (poll(pfd, (nfds_t)n, ms) < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            if (pfd[i].fd == wk->c.in_fd)
                feed(p);
            else if (pfd[i].fd == wk->c.out_fd && (rc = read_stdout(p)))
                return rc;
            else if (pfd[i].fd == wk->c.err_fd)
                drain_stderr(wk);
        }
    }
}

/* The exception for an exchange that did not end with a line, and the
 * clab.exit_status (-1 when we killed it, 128 + N for a signal of its own,
 * as for one-shot runs). */
static void failure(struct point *p, enum answer a, json_int_t *exit_status)
{
    *exit_status = -1;
    if (a == ANS_TIMEOUT) {
        snprintf(p->exception, sizeof p->exception, "timeout after %g s",
                 p->spec->timeout);
    } else if (a == ANS_OUTPUT) {
        if (p->max_output % MIB == 0)
            snprintf(p->exception, sizeof p->exception, "output over %zu MiB",
                     p->max_output / MIB);
        else
            snprintf(p->exception, sizeof p->exception, "output over %zu bytes",
                     p->max_output);
    } else {
        int st = p->status;
        *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        clab_child_reason(st, p->exception, sizeof p->exception);
    }
}

/* Whether a line that failed to read as results is nonetheless an answer
 * the worker meant: an envelope with clab.exception keeps it in step. */
static int meant_failure(const char *text, size_t len)
{
    json_t *v = json_loadb(text, len, 0, NULL);
    int meant = json_is_object(v) && json_is_string(json_object_get(v, "clab.exception"));
    json_decref(v);
    return meant;
}

/* Reads the answer line as one-shot output is read: the results, or NULL
 * with p->exception set; *keep says whether the worker stays in step. */
static json_t *read_answer(struct point *p, int *keep)
{
    clab_buf_t *o = &p->wk->out;
    size_t n = p->answer_len;
    json_t *results = NULL;

    *keep = 0;
    if (n > p->max_output) {
        json_int_t ignored;
        failure(p, ANS_OUTPUT, &ignored);
    } else {
        o->data[n] = '\0'; /* the newline: the reader wants a C string */
        int rc = clab_record_read_output(o->data, n, CLAB_MAX_RESULTS, &p->output,
                                         p->exception, sizeof p->exception);
        results = p->output.results;
        p->output.results = NULL;
        *keep = rc == 0 || meant_failure(o->data, n);
    }
    memmove(o->data, o->data + n + 1, o->len - n - 1);
    o->len -= n + 1;
    o->data[o->len] = '\0';
    return results;
}

static int build_record(struct point *p, enum answer a, double w0, double m0, int *keep,
                        json_t **out)
{
    clab_record_info_t in = {
        .experiment = p->spec->experiment,
        .job = p->spec->job,
        .engine_id = p->spec->engine_id,
        .host = p->spec->host,
        .start = w0,
        .exception = p->exception,
        .traceback = p->wk->tail.data,
        .traceback_len = p->wk->tail.len,
        .experiment_time = p->t_done - p->t_sent,
    };
    json_t *results = NULL;
    *keep = 0;
    if (a == ANS_LINE)
        results = read_answer(p, keep);
    else
        failure(p, a, &in.exit_status);
    in.extra_metadata = p->output.metadata;
    in.output_head = p->output.head;
    in.output_head_len = p->output.head_len;
    if (p->output.traceback) {
        in.traceback = p->output.traceback;
        in.traceback_len = strlen(p->output.traceback);
    }
    in.end = clab_now();
    in.elapsed = clab_mono() - m0;
    return clab_record_new(&in, results, out);
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

int clab_workers_run(clab_workers_t *w, const clab_run_spec_t *spec, json_t **out)
{
    double m0 = clab_mono(), w0 = clab_now();
    struct point p = {.spec = spec};
    int rc, keep = 0;

    if (!w || !spec || !out || !spec->experiment || !json_is_object(spec->params))
        return -EINVAL;
    *out = NULL;
    p.max_output = spec->max_output ? spec->max_output : CLAB_MAX_OUTPUT;
    rc = find(w, spec, &p.wk, p.exception, sizeof p.exception);
    if (rc == 1)
        return exec_failure(spec, p.exception, w0, m0, out);
    if (rc < 0)
        return rc;
    char *text = clab_json_dumps(spec->params);
    if (!text || asprintf(&p.line, "%s\n", text) < 0) {
        p.line = NULL;
        rc = -ENOMEM;
        goto out;
    }
    p.len = strlen(p.line);
    p.wk->last_used = p.t_sent = clab_mono();
    rc = exchange(&p);
    if (rc >= 0)
        rc = build_record(&p, (enum answer)rc, w0, m0, &keep, out);
out:
    if (!keep || rc < 0)
        drop(w, p.wk); /* killed with its group, if still alive */
    else
        p.wk->last_used = clab_mono();
    clab_output_clear(&p.output);
    free(text);
    free(p.line);
    return rc;
}

void clab_workers_idle(clab_workers_t *w)
{
    struct worker *idle[SLOTS_MAX];
    size_t n = 0;
    double now = clab_mono();

    for (size_t i = 0; w && i < w->n;) {
        struct worker *wk = w->w[i];
        drain_stderr(wk);
        if (clab_child_exited(&wk->c) != 0) {
            clab_info("worker %d for %s exited between points", (int)wk->c.pid, wk->key);
            forget(w, i);
            worker_free(wk);
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
