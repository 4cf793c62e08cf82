/* Runs one point of an experiment (SPEC "The experiment contract"): spawns
 * the executable in a fresh scratch directory and its own process group,
 * feeds it its parameters, watches it with a single poll loop, and says
 * what it did (exit status, output, stderr's tail) to record.c, which
 * writes the result record. */
#include "runner.h"

#include "json.h"
#include "log.h"
#include "record.h"
#include "runner_i.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAIL_SIZE 4096
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

extern char **environ;

/* Set once pidfd_open turns out to be missing (kernels before 5.3,
 * valgrind): exits are then found by polling waitid. */
static atomic_int no_pidfd;

enum cause { CAUSE_NONE, CAUSE_EXEC, CAUSE_OUTPUT, CAUSE_TIMEOUT };

struct run {
    const clab_run_spec_t *spec;
    size_t max_output;
    char scratch[PATH_MAX];
    int have_scratch;

    char *params;
    size_t params_len;
    size_t in_off;

    pid_t pid;
    int pidfd;
    int in_fd, out_fd, err_fd;
    int reaped, killed, status;
    double t_spawn, t_reap;

    clab_buf_t out;
    char tail[TAIL_SIZE];
    size_t tail_len;

    enum cause cause;
    char exception[PATH_MAX + 128];
    clab_output_t output; /* stdout read as results or an envelope */
};

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* The child's 0, 1 and 2 are dup2'd from these; should the engine run with
 * a standard descriptor closed, a pipe end landing on 0-2 would be clobbered
 * by an earlier dup2, so every end is moved to 3 or above. */
static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    for (int i = 0; i < 2; i++) {
        if (p[i] >= 3)
            continue;
        int fd = fcntl(p[i], F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            int e = errno;
            close(p[0]);
            close(p[1]);
            p[0] = p[1] = -1;
            return -e;
        }
        close(p[i]);
        p[i] = fd;
    }
    return 0;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static void set_exec_failure(struct run *r, const char *why)
{
    r->cause = CAUSE_EXEC;
    snprintf(r->exception, sizeof r->exception, "cannot execute %s: %s",
             r->spec->experiment, why);
}

/* Checked before spawning because posix_spawn cannot report exec errors
 * everywhere (valgrind, for one, turns its vfork into a fork). */
static int check_executable(struct run *r)
{
    const char *path = r->spec->experiment;
    struct stat st;

    if (path[0] != '/') {
        set_exec_failure(r, "not an absolute path");
        return -1;
    }
    if (stat(path, &st) < 0) {
        set_exec_failure(r, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        set_exec_failure(r, strerror(EACCES));
        return -1;
    }
    if (access(path, X_OK) < 0) {
        set_exec_failure(r, strerror(errno));
        return -1;
    }
    return 0;
}

static int make_scratch(struct run *r)
{
    int rc = scratch_make(r->spec->scratch_root, r->scratch, sizeof r->scratch);
    r->have_scratch = rc == 0;
    return rc;
}

static void remove_scratch(struct run *r)
{
    if (!r->have_scratch)
        return;
    r->have_scratch = 0;
    scratch_remove(r->scratch);
}

static int has_name(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static char *env_entry(const char *name, const char *value)
{
    char *s;
    if (asprintf(&s, "%s=%s", name, value ? value : "") < 0)
        return NULL;
    return s;
}

/* Our own strings come first in env, and only they are freed. */
static void free_env(char **env, size_t own)
{
    if (!env)
        return;
    for (size_t i = 0; i < own; i++)
        free(env[i]);
    free(env);
}

/* environ with CLAB_TAG, CLAB_JOB and CLAB_PARAMS replaced. CLAB_PARAMS is
 * left out when execve would refuse it (CLAB_ENV_MAX): the point is on
 * stdin whatever its size. *own gets how many strings are ours. */
static char **build_env(const struct run *r, size_t *own)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **env = calloc(n + 4, sizeof *env);
    if (!env)
        return NULL;
    *own = sizeof "CLAB_PARAMS=" + r->params_len > CLAB_ENV_MAX ? 2 : 3;
    env[0] = env_entry("CLAB_TAG", r->spec->tag);
    env[1] = env_entry("CLAB_JOB", r->spec->job);
    if (*own == 3)
        env[2] = env_entry("CLAB_PARAMS", r->params);
    if (!env[0] || !env[1] || (*own == 3 && !env[2])) {
        free_env(env, *own);
        return NULL;
    }
    size_t k = *own;
    for (char **e = environ; e && *e; e++) {
        if (has_name(*e, "CLAB_TAG") || has_name(*e, "CLAB_JOB") ||
            has_name(*e, "CLAB_PARAMS"))
            continue;
        env[k++] = *e;
    }
    env[k] = NULL;
    return env;
}

/* The experiment must not inherit the engine's descriptors (sockets, the
 * notebook) or its signal mask and ignored signals; it runs in dir, in a
 * process group of its own. Returns 0 or a positive errno, as posix_spawn
 * does. */
static int child_actions(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr,
                         const int in[2], const int out[2], const int err[2],
                         const char *dir)
{
    sigset_t none, all;
    int rc;

    sigemptyset(&none);
    sigfillset(&all);
    if ((rc = posix_spawn_file_actions_adddup2(fa, in[0], 0)) ||
        (rc = posix_spawn_file_actions_adddup2(fa, out[1], 1)) ||
        (rc = posix_spawn_file_actions_adddup2(fa, err[1], 2)) ||
        (rc = posix_spawn_file_actions_addclosefrom_np(fa, 3)) ||
        (rc = posix_spawn_file_actions_addchdir_np(fa, dir)) ||
        (rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP |
                                                 POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF)) ||
        (rc = posix_spawnattr_setpgroup(attr, 0)) ||
        (rc = posix_spawnattr_setsigmask(attr, &none)) ||
        (rc = posix_spawnattr_setsigdefault(attr, &all)))
        return rc;
    return 0;
}

/* Exits are noticed through a pidfd where there is one (r->pidfd stays -1
 * otherwise, and supervise polls waitid). */
static void open_pidfd(struct run *r)
{
    if (atomic_load(&no_pidfd))
        return;
    r->pidfd = pidfd_open(r->pid, 0);
    if (r->pidfd < 0 && errno == ENOSYS)
        atomic_store(&no_pidfd, 1);
}

/* Returns 0 with the child running, 1 when it could not be started (an
 * exec failure, recorded), or -errno. */
static int spawn(struct run *r)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char **env = NULL;
    size_t own = 0;
    int rc, fa_ok = 0, attr_ok = 0;

    if ((rc = make_pipe(in)) || (rc = make_pipe(out)) || (rc = make_pipe(err)))
        goto out;
    env = build_env(r, &own);
    if (!env) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = posix_spawn_file_actions_init(&fa))) {
        rc = -rc;
        goto out;
    }
    fa_ok = 1;
    if ((rc = posix_spawnattr_init(&attr))) {
        rc = -rc;
        goto out;
    }
    attr_ok = 1;
    if ((rc = child_actions(&fa, &attr, in, out, err, r->scratch))) {
        rc = -rc;
        goto out;
    }

    char *argv[] = {(char *)r->spec->experiment, NULL};
    r->t_spawn = clab_mono();
    rc = posix_spawn(&r->pid, r->spec->experiment, &fa, &attr, argv, env);
    if (rc) {
        set_exec_failure(r, strerror(rc));
        r->pid = 0;
        rc = 1;
        goto out;
    }
    /* Also set by the child itself; doing it here too means the group
     * exists whatever the order, so kill(-pid) can never miss. */
    setpgid(r->pid, r->pid);
    open_pidfd(r);

    r->in_fd = in[1], in[1] = -1;
    r->out_fd = out[0], out[0] = -1;
    r->err_fd = err[0], err[0] = -1;
    if ((rc = set_nonblock(r->in_fd)) || (rc = set_nonblock(r->out_fd)) ||
        (rc = set_nonblock(r->err_fd)))
        goto out;
    rc = 0;
out:
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    free_env(env, own);
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&err[i]);
    }
    return rc;
}

static void kill_group(struct run *r)
{
    if (kill(-r->pid, SIGKILL) < 0 && errno != ESRCH)
        clab_warn("kill(-%d): %s", (int)r->pid, strerror(errno));
}

static void reap(struct run *r)
{
    while (waitpid(r->pid, &r->status, 0) < 0 && errno == EINTR)
        ;
    r->reaped = 1;
    r->t_reap = clab_mono();
    close_fd(&r->pidfd);
    close_fd(&r->in_fd);
}

/* The group is killed while the leader is still an unreaped zombie: its
 * pid, and so the group id, cannot have been reused yet. */
static int check_exit(struct run *r)
{
    siginfo_t si;

    for (;;) {
        si.si_pid = 0;
        if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
            break;
        if (errno != EINTR)
            return -errno;
    }
    if (si.si_pid == 0)
        return 0;
    kill_group(r);
    reap(r);
    return 0;
}

/* Kills and reaps an experiment we give up on (tick, internal error). */
static void abandon(struct run *r)
{
    if (r->pid <= 0 || r->reaped)
        return;
    kill_group(r);
    reap(r);
}

static void stop(struct run *r, enum cause cause)
{
    if (r->killed)
        return;
    r->killed = 1;
    r->cause = cause;
    kill_group(r);
}

/* A write to a pipe whose reader has gone raises SIGPIPE, which would kill
 * the engine unless it ignores it; blocking it for this thread only and
 * consuming the one we caused leaves the process's dispositions alone. */
static void feed_stdin(struct run *r)
{
    sigset_t pipe_set, old, pending;
    int was_pending, broken = 0;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    while (r->in_off < r->params_len) {
        ssize_t n = write(r->in_fd, r->params + r->in_off, r->params_len - r->in_off);
        if (n > 0) {
            r->in_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            break;
        } else {
            /* EPIPE: the experiment need not read its parameters. */
            broken = 1;
            break;
        }
    }
    if (broken && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (broken || r->in_off == r->params_len)
        close_fd(&r->in_fd);
}

static int read_stdout(struct run *r)
{
    if (clab_buf_reserve(&r->out, READ_CHUNK))
        return -ENOMEM;
    ssize_t n = read(r->out_fd, r->out.data + r->out.len, READ_CHUNK);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    if (n == 0) {
        close_fd(&r->out_fd);
        return 0;
    }
    r->out.len += (size_t)n;
    r->out.data[r->out.len] = '\0';
    if (r->out.len > r->max_output) {
        stop(r, CAUSE_OUTPUT);
        close_fd(&r->out_fd);
    }
    return 0;
}

static void add_tail(struct run *r, const char *p, size_t n)
{
    if (n >= TAIL_SIZE) {
        memcpy(r->tail, p + n - TAIL_SIZE, TAIL_SIZE);
        r->tail_len = TAIL_SIZE;
        return;
    }
    if (r->tail_len + n > TAIL_SIZE) {
        size_t keep = TAIL_SIZE - n;
        memmove(r->tail, r->tail + r->tail_len - keep, keep);
        r->tail_len = keep;
    }
    memcpy(r->tail + r->tail_len, p, n);
    r->tail_len += n;
}

static int read_stderr(struct run *r)
{
    char buf[16384];
    ssize_t n = read(r->err_fd, buf, sizeof buf);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    if (n == 0)
        close_fd(&r->err_fd);
    else
        add_tail(r, buf, (size_t)n);
    return 0;
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
    double next_tick = r->t_spawn + TICK_PERIOD;
    double drain_until = 0;
    int exit_seen = r->pidfd < 0;

    for (;;) {
        int rc;
        if (!r->reaped && exit_seen) {
            if ((rc = check_exit(r)))
                return rc;
            if (r->reaped)
                drain_until = r->t_reap + DRAIN_TIME;
        }
        if (r->reaped && r->out_fd < 0 && r->err_fd < 0)
            return 0;

        double now = clab_mono();
        if (r->reaped && now >= drain_until)
            return 0;
        if (!r->reaped && s->timeout > 0 && now - r->t_spawn >= s->timeout)
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
            wake = earlier(wake, r->t_spawn + s->timeout);
        if (r->reaped)
            wake = earlier(wake, drain_until);
        if (!r->reaped && r->pidfd < 0)
            wake = earlier(wake, now + EXIT_POLL);
        double ms = ceil((wake - now) * 1000);
        int timeout_ms = ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;

        struct pollfd pfd[4];
        int n = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
        if (r->in_fd >= 0)
            i_in = n, pfd[n++] = (struct pollfd){r->in_fd, POLLOUT, 0};
        if (r->out_fd >= 0)
            i_out = n, pfd[n++] = (struct pollfd){r->out_fd, POLLIN, 0};
        if (r->err_fd >= 0)
            i_err = n, pfd[n++] = (struct pollfd){r->err_fd, POLLIN, 0};
        if (r->pidfd >= 0)
            i_pid = n, pfd[n++] = (struct pollfd){r->pidfd, POLLIN, 0};

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
    if (WIFSIGNALED(st)) {
        const char *name = strsignal(WTERMSIG(st));
        snprintf(r->exception, sizeof r->exception, "killed by signal %d (%s)",
                 WTERMSIG(st), name ? name : "unknown");
        return NULL;
    }
    if (WEXITSTATUS(st) != 0) {
        snprintf(r->exception, sizeof r->exception, "exit status %d", WEXITSTATUS(st));
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
        .traceback = r->tail,
        .traceback_len = r->tail_len,
    };
    json_t *results = outcome(r, &in.exit_status);
    double m1 = clab_mono();
    in.extra_metadata = r->output.metadata;
    if (r->output.traceback) {
        /* The envelope's own traceback says more than stderr's tail. */
        in.traceback = r->output.traceback;
        in.traceback_len = strlen(r->output.traceback);
    }

    in.end = clab_now();
    in.elapsed = m1 - m0;
    in.experiment_time = r->pid > 0 ? r->t_reap - r->t_spawn : 0.0;
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
    r->pidfd = r->in_fd = r->out_fd = r->err_fd = -1;

    r->params = clab_json_dumps(spec->params);
    if (!r->params) {
        rc = -ENOMEM;
        goto clean;
    }
    r->params_len = strlen(r->params);

    if (check_executable(r) == 0) {
        /* CLAB_PARAMS holds the text without the newline stdin gets. */
        char *text = realloc(r->params, r->params_len + 2);
        if (!text) {
            rc = -ENOMEM;
            goto clean;
        }
        r->params = text;
        if ((rc = make_scratch(r)))
            goto clean;
        rc = spawn(r);
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
    close_fd(&r->pidfd);
    close_fd(&r->in_fd);
    close_fd(&r->out_fd);
    close_fd(&r->err_fd);
    remove_scratch(r);
    clab_buf_free(&r->out);
    free(r->params);
    clab_output_clear(&r->output);
    free(r);
    return rc;
}
