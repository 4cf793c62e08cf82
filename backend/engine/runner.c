/* Runs one point of an experiment (SPEC "The experiment contract"): spawns
 * the executable in a fresh scratch directory and its own process group,
 * feeds it its parameters, watches it with a single poll loop, and says
 * what it did (exit status, output, stderr's tail) to record.c, which
 * writes the result record. */
#include "runner.h"

#include "json.h"
#include "log.h"
#include "record.h"
#include "scratch.h"
#include "utf8.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_CHUNK 65536
/* A cancel is noticed at the engine's next tick: this is how late it can
 * be. */
#define TICK_PERIOD 0.1
/* Without a tick the loop still wakes this often to check the clock. */
#define IDLE_WAKE 1.0
/* How long to wait for EOF once the experiment is dead and its group
 * killed: only a grandchild that left the group can hold the pipes. */
#define DRAIN_TIME 1.0
/* Without a pidfd, exits are noticed by polling waitid this often. */
#define EXIT_POLL 0.05
#define MIB (1024u * 1024u)

enum cause { CAUSE_NONE, CAUSE_EXEC, CAUSE_OUTPUT, CAUSE_TIMEOUT };

struct run {
    const clab_run_spec_t *spec;
    size_t max_output;
    char scratch[PATH_MAX];
    int have_scratch;

    char *params;
    size_t params_len;
    size_t in_off;

    clab_child_t c;
    int reaped, killed, status;
    double t_reap;

    clab_buf_t out;
    clab_tail_t tail;

    enum cause cause;
    char exception[PATH_MAX + 128];
    clab_output_t output; /* stdout read as results or an envelope */
};

static int make_scratch(struct run *r)
{
    int rc = clab_scratch_make(r->spec->scratch_root, r->scratch, sizeof r->scratch);
    r->have_scratch = rc == 0;
    return rc;
}

static void remove_scratch(struct run *r)
{
    if (!r->have_scratch)
        return;
    r->have_scratch = 0;
    clab_scratch_remove(r->scratch);
}

static char *env_entry(const char *name, const char *value)
{
    char *s;
    if (asprintf(&s, "%s=%s", name, value ? value : "") < 0)
        return NULL;
    return s;
}

/* CLAB_TAG, CLAB_JOB and CLAB_PARAMS; CLAB_PARAMS is left out when execve
 * would refuse it (CLAB_ENV_MAX): the point is on stdin whatever its size.
 * Returns 0, 1 (exec failure, in r->exception) or -errno. */
static int spawn(struct run *r)
{
    char *env[4] = {NULL, NULL, NULL, NULL};
    int with_params = sizeof "CLAB_PARAMS=" + r->params_len <= CLAB_ENV_MAX;
    int rc = -ENOMEM;

    env[0] = env_entry("CLAB_TAG", r->spec->tag);
    env[1] = env_entry("CLAB_JOB", r->spec->job);
    if (with_params)
        env[2] = env_entry("CLAB_PARAMS", r->params);
    if (env[0] && env[1] && (!with_params || env[2])) {
        clab_child_how_t how = {.path = r->spec->experiment,
                                .arguments = r->spec->arguments,
                                .dir = r->scratch,
                                .env = env};
        rc = clab_child_spawn(&how, &r->c, r->exception, sizeof r->exception);
        if (rc == 1)
            r->cause = CAUSE_EXEC;
    }
    for (int i = 0; i < 3; i++)
        free(env[i]);
    return rc;
}

static void reap(struct run *r)
{
    clab_child_reap(&r->c, &r->status);
    r->reaped = 1;
    r->t_reap = clab_mono();
}

/* The group is killed while the leader is still an unreaped zombie: its
 * pid, and so the group id, cannot have been reused yet. */
static int check_exit(struct run *r)
{
    int rc = clab_child_exited(&r->c);
    if (rc > 0)
        reap(r);
    return rc < 0 ? rc : 0;
}

/* Kills and reaps an experiment we give up on (tick, internal error). */
static void abandon(struct run *r)
{
    if (r->c.pid <= 0 || r->reaped)
        return;
    reap(r);
}

static void stop(struct run *r, enum cause cause)
{
    if (r->killed)
        return;
    r->killed = 1;
    r->cause = cause;
    clab_child_kill(&r->c);
}

/* The experiment need not read its parameters (EPIPE): stdin is closed
 * once written or refused. */
static void feed_stdin(struct run *r)
{
    if (clab_child_write(r->c.in_fd, r->params, r->params_len, &r->in_off)) {
        close(r->c.in_fd);
        r->c.in_fd = -1;
    }
}

static int read_stdout(struct run *r)
{
    if (clab_buf_reserve(&r->out, READ_CHUNK))
        return -ENOMEM;
    ssize_t n = read(r->c.out_fd, r->out.data + r->out.len, READ_CHUNK);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    if (n == 0) {
        close(r->c.out_fd);
        r->c.out_fd = -1;
        return 0;
    }
    r->out.len += (size_t)n;
    r->out.data[r->out.len] = '\0';
    if (r->out.len > r->max_output) {
        stop(r, CAUSE_OUTPUT);
        close(r->c.out_fd);
        r->c.out_fd = -1;
    }
    return 0;
}

static int read_stderr(struct run *r)
{
    int rc = clab_tail_read(&r->tail, &r->c.err_fd);
    return rc < 0 && rc != -EAGAIN ? rc : 0;
}

static double earlier(double a, double b)
{
    return a < b ? a : b;
}

/* The one loop that feeds stdin, collects stdout and stderr's tail, notices
 * the exit, and enforces the timeout, the output limit and the tick.
 * Returns 0 once the experiment is reaped and its pipes drained, -EINTR
 * when tick said stop, or -errno. */
static int supervise(struct run *r)
{
    const clab_run_spec_t *s = r->spec;
    double next_tick = r->c.t_spawn + TICK_PERIOD;
    double drain_until = 0;
    int exit_seen = r->c.pidfd < 0;

    for (;;) {
        int rc;
        if (!r->reaped && exit_seen) {
            if ((rc = check_exit(r)))
                return rc;
            if (r->reaped)
                drain_until = r->t_reap + DRAIN_TIME;
        }
        if (r->reaped && r->c.out_fd < 0 && r->c.err_fd < 0)
            return 0;

        double now = clab_mono();
        if (r->reaped && now >= drain_until)
            return 0;
        if (!r->reaped && s->timeout > 0 && now - r->c.t_spawn >= s->timeout)
            stop(r, CAUSE_TIMEOUT);
        if (s->tick && now >= next_tick) {
            if (s->tick(s->tick_ud))
                return -EINTR;
            next_tick += TICK_PERIOD;
            if (next_tick <= now)
                next_tick = now + TICK_PERIOD;
        }

        double wake = s->tick ? next_tick : now + IDLE_WAKE;
        if (!r->reaped && !r->killed && s->timeout > 0)
            wake = earlier(wake, r->c.t_spawn + s->timeout);
        if (r->reaped)
            wake = earlier(wake, drain_until);
        if (!r->reaped && r->c.pidfd < 0)
            wake = earlier(wake, now + EXIT_POLL);
        double ms = ceil((wake - now) * 1000);
        int timeout_ms = ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;

        struct pollfd pfd[4];
        int n = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
        if (r->c.in_fd >= 0)
            i_in = n, pfd[n++] = (struct pollfd){r->c.in_fd, POLLOUT, 0};
        if (r->c.out_fd >= 0)
            i_out = n, pfd[n++] = (struct pollfd){r->c.out_fd, POLLIN, 0};
        if (r->c.err_fd >= 0)
            i_err = n, pfd[n++] = (struct pollfd){r->c.err_fd, POLLIN, 0};
        if (r->c.pidfd >= 0)
            i_pid = n, pfd[n++] = (struct pollfd){r->c.pidfd, POLLIN, 0};

        if (poll(pfd, (nfds_t)n, timeout_ms) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (i_in >= 0 && pfd[i_in].revents)
            feed_stdin(r);
        if (i_out >= 0 && pfd[i_out].revents && (rc = read_stdout(r)))
            return rc;
        if (i_err >= 0 && pfd[i_err].revents && (rc = read_stderr(r)))
            return rc;
        if (i_pid >= 0 && pfd[i_pid].revents)
            exit_seen = 1;
    }
}

/* Settles the outcome: sets r->exception on failure, returns the results
 * on success, and the clab.exit_status in *exit_status. */
static json_t *outcome(struct run *r, json_int_t *exit_status)
{
    int st = r->status;

    *exit_status = -1;
    if (r->cause == CAUSE_EXEC)
        return NULL;
    if (WIFEXITED(st))
        *exit_status = WEXITSTATUS(st);
    else if (WIFSIGNALED(st) && r->cause == CAUSE_NONE)
        *exit_status = 128 + WTERMSIG(st);

    if (r->cause == CAUSE_OUTPUT) {
        if (r->max_output % MIB == 0)
            snprintf(r->exception, sizeof r->exception, "output over %zu MiB",
                     r->max_output / MIB);
        else
            snprintf(r->exception, sizeof r->exception, "output over %zu bytes",
                     r->max_output);
        return NULL;
    }
    if (r->cause == CAUSE_TIMEOUT) {
        snprintf(r->exception, sizeof r->exception, "timeout after %g s",
                 r->spec->timeout);
        return NULL;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        clab_child_reason(st, r->exception, sizeof r->exception);
        return NULL;
    }
    clab_record_read_output(r->out.data, r->out.len, CLAB_MAX_RESULTS, &r->output,
                            r->exception, sizeof r->exception);
    json_t *results = r->output.results;
    r->output.results = NULL;
    return results;
}

static int build_record(struct run *r, double w0, double m0, json_t **out)
{
    clab_record_info_t in = {
        .experiment = r->spec->experiment,
        .job = r->spec->job,
        .engine_id = r->spec->engine_id,
        .host = r->spec->host,
        .start = w0,
        .exception = r->exception,
        .traceback = r->tail.data,
        .traceback_len = r->tail.len,
    };
    json_t *results = outcome(r, &in.exit_status);
    double m1 = clab_mono();
    in.extra_metadata = r->output.metadata;
    in.records = r->output.records;
    in.output_head = r->output.head;
    in.output_head_len = r->output.head_len;
    if (r->output.traceback) {
        /* The envelope's own traceback says more than stderr's tail. */
        in.traceback = r->output.traceback;
        in.traceback_len = strlen(r->output.traceback);
    }

    in.end = clab_now();
    in.elapsed = m1 - m0;
    in.experiment_time = r->c.pid > 0 ? r->t_reap - r->c.t_spawn : 0.0;
    return clab_record_new(&in, results, out);
}

int clab_run_experiment(const clab_run_spec_t *spec, json_t **out)
{
    double m0 = clab_mono(), w0 = clab_now();
    struct run *r;
    int rc;

    if (!spec || !out || !spec->experiment || !json_is_object(spec->params))
        return -EINVAL;
    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->spec = spec;
    r->max_output = spec->max_output ? spec->max_output : CLAB_MAX_OUTPUT;
    r->c = (clab_child_t)CLAB_CHILD_INIT;

    r->params = clab_json_dumps(spec->params);
    if (!r->params) {
        rc = -ENOMEM;
        goto clean;
    }
    r->params_len = strlen(r->params);

    if (clab_child_check(spec->experiment, spec->arguments, r->exception,
                         sizeof r->exception) < 0) {
        r->cause = CAUSE_EXEC;
    } else {
        /* CLAB_PARAMS holds the text without the newline stdin gets. */
        char *text = realloc(r->params, r->params_len + 2);
        if (!text) {
            rc = -ENOMEM;
            goto clean;
        }
        r->params = text;
        if ((rc = make_scratch(r)))
            goto clean;
        if (spec->files && clab_files_install(spec->files_cache, spec->files, r->scratch,
                                              r->exception, sizeof r->exception) < 0)
            r->cause = CAUSE_EXEC;
        rc = r->cause == CAUSE_EXEC ? 1 : spawn(r);
        text[r->params_len++] = '\n';
        text[r->params_len] = '\0';
        if (rc < 0)
            goto clean;
        if (rc == 0 && (rc = supervise(r)))
            goto clean;
    }
    remove_scratch(r);
    rc = build_record(r, w0, m0, out);
clean:
    abandon(r);
    clab_child_close(&r->c);
    remove_scratch(r);
    clab_buf_free(&r->out);
    free(r->params);
    clab_output_clear(&r->output);
    free(r);
    return rc;
}
