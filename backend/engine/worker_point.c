/* One point on one worker (worker_i.h): its line written to the
 * worker's stdin, stdout read until the answer is there (for a plain
 * worker its first line, for a framed one the line that carries the
 * point's clab.seq, every other line set aside as stray output), stderr
 * read all along, and the result record built from what happened. The
 * waiting honours the point's timeout and the engine's tick (a cancel),
 * and tells a worker that died from one that closed its pipes. */
#include "worker_i.h"

#include "json.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_CHUNK 65536
/* A cancel is noticed at the engine's next tick: this is how late. */
#define TICK_PERIOD 0.1
/* Without a pidfd, exits are noticed by polling waitid this often. */
#define EXIT_POLL 0.05
/* Seconds a worker that closed stdout (or stdin) gets to exit by itself
 * before it is killed: its exit status is then the point's reason. */
#define DRAIN_TIME 1.0
/* stderr reads at a time, at most (16 KiB each). */
#define STDERR_READS 64
#define MIB (1024u * 1024u)
/* What a framed answer's clab.seq member adds to it, at most. */
#define SEQ_SLACK 64
/* Of the lines a plain worker printed for one point, this much goes
 * before the traceback. */
#define LINES_HEAD 1024

void worker_drain_stderr(struct worker *wk)
{
    for (int i = 0; i < STDERR_READS && wk->c.err_fd >= 0; i++)
        if (clab_tail_read(&wk->tail, &wk->c.err_fd) <= 0)
            break;
}

int worker_read_out(struct worker *wk, size_t limit)
{
    while (wk->c.out_fd >= 0) {
        if (clab_buf_reserve(&wk->out, READ_CHUNK))
            return -ENOMEM;
        ssize_t n = read(wk->c.out_fd, wk->out.data + wk->out.len, READ_CHUNK);
        if (n < 0)
            return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0) {
            close(wk->c.out_fd);
            wk->c.out_fd = -1;
            return 1;
        }
        wk->out.len += (size_t)n;
        wk->out.data[wk->out.len] = '\0';
        if ((size_t)n < READ_CHUNK || wk->out.len > limit)
            return 0;
    }
    return 0;
}

/* A worker that closed stdout or stdin: the drain time starts now. */
static void closed(struct worker_point *p, const char *what)
{
    if (p->eof_at == 0) {
        p->eof_at = clab_mono();
        p->closed = what;
    }
}

static int read_stdout(struct worker_point *p)
{
    int rc = worker_read_out(p->wk, p->max_output + SEQ_SLACK);
    if (rc == 1)
        closed(p, "stdout");
    return rc < 0 ? rc : 0;
}

static void feed(struct worker_point *p)
{
    int rc = clab_child_write(p->wk->c.in_fd, p->line.data, p->line.len, &p->off);
    if (rc < 0) {
        /* The worker stopped reading: it is leaving, or will never answer. */
        p->off = p->line.len;
        closed(p, "stdin");
    }
}

/* Ends the exchange with the worker dead and reaped. */
static int died(struct worker_point *p, enum worker_answer a)
{
    clab_child_reap(&p->wk->c, &p->status);
    p->wk->c.pid = 0; /* reaped: its id may be anyone's now */
    p->t_done = clab_mono();
    worker_drain_stderr(p->wk);
    return a;
}

/* Sets aside a framed worker's stdout as stray output: its complete lines,
 * and with all, what follows the last one too (output from before a point
 * was sent cannot be its answer). 1 once over the limits, else 0. */
int worker_set_aside(struct worker *wk, int all)
{
    clab_buf_t *o = &wk->out;
    size_t off = 0;
    int over = 0;
    while (off < o->len && !over) {
        char *nl = memchr(o->data + off, '\n', o->len - off);
        if (!nl && !all)
            break;
        size_t n = nl ? (size_t)(nl - o->data) - off : o->len - off;
        over = worker_stray_add(&wk->stray, o->data + off, n);
        off += n + (nl != NULL);
    }
    if (off > 0) {
        memmove(o->data, o->data + off, o->len - off);
        o->len -= off;
        o->data[o->len] = '\0';
    }
    return over;
}

/* A plain worker's answer is its first line; whatever else stdout holds
 * now (the pipe read once more) was printed for this point too, and is
 * counted: a partial line is a line. */
static void plain_answer(struct worker_point *p, size_t n)
{
    (void)read_stdout(p);
    const clab_buf_t *o = &p->wk->out;
    p->lines = 1;
    for (size_t i = n + 1; i < o->len; i++)
        p->lines += o->data[i] == '\n';
    p->lines += o->len > n + 1 && o->data[o->len - 1] != '\n';
    p->answer_len = n;
    p->consumed = n + 1;
}

/* A framed worker's line: the answer when it carries the point's seq
 * (then cut out of it, in place), else stray output. 1 for the answer, 0
 * for a stray line, -1 when the stray output goes over the limits. */
static int framed_line(struct worker_point *p, size_t off, size_t n)
{
    struct worker *wk = p->wk;
    clab_buf_t *o = &wk->out;
    unsigned long long seq;
    size_t cut, end;
    if (worker_frame_seq(o->data + off, n, &seq, &cut, &end) != 1 || seq != wk->seq)
        return worker_stray_add(&wk->stray, o->data + off, n) ? -1 : 0;
    memmove(o->data, o->data + off, o->len - off); /* the stray lines before it */
    o->len -= off;
    memmove(o->data + cut, o->data + end, n - end);
    p->answer_len = n - (end - cut);
    p->consumed = n + 1;
    return 1;
}

/* Looks through stdout's complete lines for the point's answer: 1 when
 * found (answer_len and consumed say where), 0 not yet, -1 when a framed
 * worker's stray output went over the limits. */
static int take_answer(struct worker_point *p)
{
    clab_buf_t *o = &p->wk->out;
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && off < o->len) {
        char *nl = memchr(o->data + off, '\n', o->len - off);
        if (!nl)
            break;
        size_t n = (size_t)(nl - o->data) - off;
        if (!p->wk->framed) {
            plain_answer(p, n);
            rc = 1;
        } else if ((rc = framed_line(p, off, n)) == 0) {
            off += n + 1;
        }
    }
    if (rc != 1 && off > 0) {
        memmove(o->data, o->data + off, o->len - off);
        o->len -= off;
        o->data[o->len] = '\0';
    }
    if (rc == 1) {
        /* stderr written before the answer is in the pipe by now. */
        worker_drain_stderr(p->wk);
        p->t_done = clab_mono();
    }
    return rc;
}

/* What to wait for, and how long: the poll set in pfd, its size returned. */
static int poll_set(struct worker_point *p, struct pollfd pfd[4], double wake, int *ms)
{
    const clab_child_t *c = &p->wk->c;
    double now = clab_mono();
    int n = 0;
    if (c->pidfd < 0)
        wake = fmin(wake, now + EXIT_POLL);
    double t = ceil((wake - now) * 1000);
    *ms = t < 0 ? 0 : t > 1000 ? 1000 : (int)t;
    if (c->in_fd >= 0 && p->off < p->line.len)
        pfd[n++] = (struct pollfd){c->in_fd, POLLOUT, 0};
    if (c->out_fd >= 0)
        pfd[n++] = (struct pollfd){c->out_fd, POLLIN, 0};
    if (c->err_fd >= 0)
        pfd[n++] = (struct pollfd){c->err_fd, POLLIN, 0};
    if (c->pidfd >= 0)
        pfd[n++] = (struct pollfd){c->pidfd, POLLIN, 0};
    return n;
}

/* Where an exchange stands once stdout has been looked at: an enum
 * worker_answer when it is over, -1 while it goes on. */
static int settle(struct worker_point *p)
{
    struct worker *wk = p->wk;
    int rc = take_answer(p);
    if (rc > 0)
        return p->lines > 1 ? ANS_LINES : ANS_LINE;
    if (rc < 0) {
        clab_child_kill(&wk->c);
        return died(p, ANS_STRAY);
    }
    if (wk->out.len > p->max_output + (wk->framed ? SEQ_SLACK : 0)) {
        clab_child_kill(&wk->c);
        return died(p, ANS_OUTPUT);
    }
    return -1;
}

/* Waits for what the worker does next and reads it: 0, or -errno. */
static int wait_io(struct worker_point *p, double wake)
{
    struct worker *wk = p->wk;
    struct pollfd pfd[4];
    int ms, n = poll_set(p, pfd, wake, &ms), rc;
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
            worker_drain_stderr(wk);
    }
    return 0;
}

/* Sends the point and waits for its answer: an enum worker_answer, -EINTR
 * when the tick said stop, -errno. A framed worker's output from before
 * the point is sent is stray output, whatever it holds. */
int worker_exchange(struct worker_point *p)
{
    const clab_run_spec_t *s = p->spec;
    struct worker *wk = p->wk;
    double next_tick = p->t_sent + TICK_PERIOD;
    int rc;

    if (wk->framed) {
        if ((rc = read_stdout(p)) < 0)
            return rc;
        if (worker_set_aside(wk, 1)) {
            clab_child_kill(&wk->c);
            return died(p, ANS_STRAY);
        }
    }
    feed(p);
    for (;;) {
        if ((rc = settle(p)) >= 0)
            return rc;
        int gone = clab_child_exited(&wk->c);
        if (gone < 0)
            return gone;
        if (gone > 0) {
            if ((rc = read_stdout(p)) || (rc = settle(p)) >= 0)
                return rc;
            return died(p, ANS_DIED);
        }
        if (p->eof_at > 0 && clab_mono() - p->eof_at >= DRAIN_TIME)
            return died(p, ANS_CLOSED); /* by our group kill */
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
        if ((rc = wait_io(p, wake)))
            return rc;
    }
}

/* The exception for an exchange that did not end with a line, and the
 * clab.exit_status (-1 when we killed it, 128 + N for a signal of its own,
 * as for one-shot runs). */
static void failure(struct worker_point *p, enum worker_answer a, json_int_t *exit_status)
{
    char *why = p->exception;
    size_t size = sizeof p->exception;
    *exit_status = -1;
    switch (a) {
    case ANS_TIMEOUT:
        snprintf(why, size, "timeout after %g s", p->spec->timeout);
        break;
    case ANS_OUTPUT:
        if (p->max_output % MIB == 0)
            snprintf(why, size, "output over %zu MiB", p->max_output / MIB);
        else
            snprintf(why, size, "output over %zu bytes", p->max_output);
        break;
    case ANS_CLOSED:
        snprintf(why, size, "worker closed its %s", p->closed);
        break;
    case ANS_LINES:
        snprintf(why, size, "worker printed %zu lines for one point", p->lines);
        break;
    case ANS_STRAY:
        worker_stray_reason(&p->wk->stray, why, size);
        break;
    default: {
        int st = p->status;
        *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        clab_child_reason(st, why, size);
    }
    }
}

/* Whether a line that failed to read as results is nonetheless an answer
 * the worker meant: an envelope with clab.exception keeps it in step (a
 * framed worker is in step whenever its answer carried the seq). */
static int meant_failure(const struct worker *wk, const char *text, size_t len)
{
    if (wk->framed)
        return 1;
    json_t *v = json_loadb(text, len, 0, NULL);
    int meant = json_is_object(v) && json_is_string(json_object_get(v, "clab.exception"));
    json_decref(v);
    return meant;
}

/* Reads the answer line as one-shot output is read: the results, or NULL
 * with p->exception set; *keep says whether the worker stays in step. */
static json_t *read_answer(struct worker_point *p, int *keep)
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
        *keep = rc == 0 || meant_failure(p->wk, o->data, n);
    }
    memmove(o->data, o->data + p->consumed, o->len - p->consumed);
    o->len -= p->consumed;
    o->data[o->len] = '\0';
    return results;
}

/* The traceback: stderr's tail or the envelope's, after a framed worker's
 * stray output; before it, a plain worker's lines when it printed several
 * (into head). 0 or -ENOMEM. */
static int traceback(struct worker_point *p, enum worker_answer a, clab_record_info_t *in,
                     clab_buf_t *tb, clab_buf_t *head)
{
    const clab_buf_t *o = &p->wk->out;
    const char *label = "stderr:\n";
    in->traceback = p->wk->tail.data;
    in->traceback_len = p->wk->tail.len;
    if (p->output.traceback) {
        in->traceback = p->output.traceback;
        in->traceback_len = strlen(p->output.traceback);
        label = "traceback:\n";
    }
    if (a == ANS_LINES) {
        if (clab_buf_puts(head, "stdout:\n") ||
            clab_buf_add(head, o->data, o->len < LINES_HEAD ? o->len : LINES_HEAD))
            return -ENOMEM;
        in->output_head = head->data;
        in->output_head_len = head->len;
    }
    if (p->wk->stray.lines == 0)
        return 0;
    if (worker_stray_traceback(tb, &p->wk->stray, label, in->traceback,
                               in->traceback_len))
        return -ENOMEM;
    in->traceback = tb->data;
    in->traceback_len = tb->len;
    return 0;
}

int worker_record(struct worker_point *p, enum worker_answer a, double w0, double m0,
                  int *keep, json_t **out)
{
    clab_record_info_t in = {
        .experiment = p->spec->experiment,
        .job = p->spec->job,
        .engine_id = p->spec->engine_id,
        .host = p->spec->host,
        .start = w0,
        .exception = p->exception,
        .experiment_time = p->t_done - p->t_sent,
    };
    clab_buf_t tb = {0}, head = {0};
    json_t *results = NULL;
    int rc;
    *keep = 0;
    if (a == ANS_LINE)
        results = read_answer(p, keep);
    else
        failure(p, a, &in.exit_status);
    in.extra_metadata = p->output.metadata;
    in.records = p->output.records;
    in.output_head = p->output.head;
    in.output_head_len = p->output.head_len;
    if ((rc = traceback(p, a, &in, &tb, &head)) == 0) {
        in.end = clab_now();
        in.elapsed = clab_mono() - m0;
        rc = clab_record_new(&in, results, out);
        results = NULL;
    }
    json_decref(results);
    clab_buf_free(&tb);
    clab_buf_free(&head);
    return rc;
}
