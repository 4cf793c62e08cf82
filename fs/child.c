/* The supervisor of clabfs's children (child.h). One thread forks them,
 * reaps them, restarts them and reads their stderr; clab_children_add
 * hands it a child to start and waits for the fork. Children are forked
 * rather than spawned: only a forked child can ask for PR_SET_PDEATHSIG
 * before exec, and the signal follows the death of the forking thread,
 * which is why that thread forks every child and outlives them all. */
#include "child.h"
#include "conninfo.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 40
#define TICK_MS 200

typedef struct {
    char name[128];
    char *argv[MAX_ARGS]; /* copies, NULL-terminated */
    int first_only;
    char log[4096]; /* "" when stderr goes to clabfs's log */
    int own_group;
    double first_backoff, backoff, max_backoff, started, restart_at;
    char status_255[96];
    pid_t pid;  /* 0 while not running */
    int err_fd; /* the read end of its stderr, -1 when none */
    char line[1024];
    size_t line_len;
} child_t;

struct clab_children {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int wake[2]; /* a pipe: a byte wakes the thread */
    atomic_int stopping;
    child_t *children; /* the thread's alone once started */
    int n;
    /* The child clab_children_add hands over, and the fork's outcome. */
    const clab_child_opts_t *add;
    int pass_fd;
    pid_t added;
    int add_done;
};

static int executable(const char *path)
{
    return access(path, X_OK) == 0;
}

int clab_find_program(const char *name, char *out, size_t size)
{
    const char *env = getenv("CLAB_BINDIR");
    if (env && snprintf(out, size, "%s/%s", env, name) < (int)size && executable(out))
        return 0;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *dir = dirname(self);
        if (snprintf(out, size, "%s/%s", dir, name) < (int)size && executable(out))
            return 0;
        if (snprintf(out, size, "%s/../backend/%s", dir, name) < (int)size &&
            executable(out))
            return 0;
    }
    return clab_find_on_path(name, out, size);
}

int clab_find_on_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    int rc = -ENOENT;
    if (!copy)
        return -ENOMEM;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (snprintf(out, size, "%s/%s", d, name) < (int)size && executable(out)) {
            rc = 0;
            break;
        }
    }
    free(copy);
    return rc;
}

/* The descriptors a child starts with. */
typedef struct {
    int in, out, err, pass;
} stdio_t;

/* In the child, between fork and exec: async-signal-safe calls only. */
static void exec_child(const child_t *ch, char *const argv[], pid_t parent, stdio_t io)
{
    sigset_t none;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) /* clabfs died before the prctl */
        _exit(127);
    /* Not FUSE's blocked signals nor its ignored SIGPIPE. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    /* Out of the way of 0 to 3 first, in case it is one of them. */
    int pass = io.pass >= 0 ? fcntl(io.pass, F_DUPFD_CLOEXEC, 10) : -1;
    if (dup2(io.in, 0) < 0 || dup2(io.out, 1) < 0 || dup2(io.err, 2) < 0 ||
        (pass >= 0 && dup2(pass, 3) < 0))
        _exit(127);
    if (ch->own_group)
        setpgid(0, 0);
    execv(argv[0], argv);
    _exit(127);
}

/* Forks ch (first: its first start, with all its arguments and the
 * descriptor to pass). */
static int spawn(child_t *ch, int first, int pass_fd)
{
    char *argv[MAX_ARGS];
    int errp[2] = {-1, -1}, rc = 0;
    stdio_t io = {.in = open("/dev/null", O_RDWR | O_CLOEXEC),
                  .pass = first ? pass_fd : -1};
    memcpy(argv, ch->argv, sizeof argv);
    if (!first && ch->first_only > 0)
        argv[ch->first_only] = NULL;
    if (ch->log[0])
        io.out = io.err = clab_open_private(ch->log, O_WRONLY | O_CREAT | O_APPEND);
    else if (pipe2(errp, O_CLOEXEC) == 0)
        io.out = io.in, io.err = errp[1];
    else
        io.out = -errno;
    if (io.in < 0 || io.out < 0) {
        rc = io.in < 0 ? -errno : io.out;
        goto out;
    }
    pid_t parent = getpid(), pid = fork();
    if (pid == 0)
        exec_child(ch, argv, parent, io);
    if (pid < 0) {
        rc = -errno;
        goto out;
    }
    ch->pid = pid;
    ch->started = clab_mono();
    ch->line_len = 0;
    if (errp[0] >= 0) {
        fcntl(errp[0], F_SETFL, O_NONBLOCK);
        ch->err_fd = errp[0];
        errp[0] = -1;
    }
out:
    if (errp[0] >= 0)
        close(errp[0]);
    if (errp[1] >= 0)
        close(errp[1]);
    if (ch->log[0] && io.out >= 0)
        close(io.out);
    if (io.in >= 0)
        close(io.in);
    return rc;
}

/* Logs the line of the child's stderr gathered so far, if any. */
static void flush_line(child_t *ch)
{
    if (!ch->line_len)
        return;
    ch->line[ch->line_len] = '\0';
    clab_warn("%s: %s", ch->name, ch->line);
    ch->line_len = 0;
}

/* Logs what the child wrote on stderr, a line at a time; at EOF, or when
 * final (it has exited: a descendant may still hold the pipe), closes it. */
static void read_stderr(child_t *ch, int final)
{
    char buf[512];
    ssize_t n;
    while (ch->err_fd >= 0 && (n = read(ch->err_fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && !final)
                return;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            int end = buf[i] == '\n' || ch->line_len + 1 >= sizeof ch->line;
            if (buf[i] != '\n' && buf[i] != '\r')
                ch->line[ch->line_len++] = buf[i];
            if (end)
                flush_line(ch);
        }
    }
    flush_line(ch);
    if (ch->err_fd >= 0)
        close(ch->err_fd);
    ch->err_fd = -1;
}

/* The child died: say how, and when it starts again. */
static void on_death(child_t *ch, int status)
{
    double now = clab_mono(), up = now - ch->started;
    read_stderr(ch, 1); /* its last words */
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
    if (up >= CLAB_CHILD_STEADY)
        ch->backoff = ch->first_backoff;
    ch->restart_at = now + ch->backoff;
    clab_warn("%s (pid %d) %s %d%s%s%s after %.0f s; restarting it in %.1f s%s%s%s",
              ch->name, (int)ch->pid,
              WIFEXITED(status) ? "exited with status" : "was killed by signal", code,
              WIFEXITED(status) && code == 255 && ch->status_255[0] ? " (" : "",
              WIFEXITED(status) && code == 255 ? ch->status_255 : "",
              WIFEXITED(status) && code == 255 && ch->status_255[0] ? ")" : "", up,
              ch->backoff, ch->log[0] ? " (see " : "", ch->log, ch->log[0] ? ")" : "");
    ch->pid = 0;
    if ((ch->backoff *= 2) > ch->max_backoff) /* for the next death */
        ch->backoff = ch->max_backoff;
}

/* Reaps the children that died and starts again those whose time came. */
static void supervise_once(clab_children_t *c)
{
    for (int i = 0; i < c->n; i++) {
        child_t *ch = &c->children[i];
        int status;
        if (ch->pid > 0 && waitpid(ch->pid, &status, WNOHANG) == ch->pid)
            on_death(ch, status);
        if (ch->pid == 0 && clab_mono() >= ch->restart_at) {
            int rc = spawn(ch, 0, -1);
            if (rc < 0) {
                clab_err("cannot start %s again: %s", ch->name, strerror(-rc));
                ch->restart_at = clab_mono() + ch->max_backoff;
            }
        }
    }
}

static void free_child(child_t *ch)
{
    for (int i = 0; i < MAX_ARGS; i++)
        free(ch->argv[i]);
    if (ch->err_fd >= 0)
        close(ch->err_fd);
}

/* The supervisor's own: a child as clab_children_add described it. */
static pid_t add_child(clab_children_t *c, const clab_child_opts_t *o, int pass_fd)
{
    child_t *p = realloc(c->children, (size_t)(c->n + 1) * sizeof *p);
    if (!p)
        return -ENOMEM;
    c->children = p;
    child_t *ch = &p[c->n];
    *ch = (child_t){.first_only = o->first_only,
                    .own_group = o->own_group,
                    .first_backoff = o->backoff,
                    .backoff = o->backoff,
                    .max_backoff =
                        o->max_backoff > o->backoff ? o->max_backoff : o->backoff,
                    .err_fd = -1};
    snprintf(ch->name, sizeof ch->name, "%s", o->name);
    snprintf(ch->log, sizeof ch->log, "%s", o->log ? o->log : "");
    snprintf(ch->status_255, sizeof ch->status_255, "%s",
             o->status_255 ? o->status_255 : "");
    for (int i = 0; o->argv[i] && i < MAX_ARGS - 1; i++)
        if (!(ch->argv[i] = strdup(o->argv[i]))) {
            free_child(ch);
            return -ENOMEM;
        }
    int rc = spawn(ch, 1, pass_fd);
    if (rc < 0) {
        free_child(ch);
        return rc;
    }
    c->n++;
    return ch->pid;
}

/* At stop: SIGTERM to each, the last added first, SIGKILL to those still
 * there after the grace period; each reaped. */
static void end_all(clab_children_t *c)
{
    int left = 0;
    for (int i = c->n - 1; i >= 0; i--)
        if (c->children[i].pid > 0 && kill(c->children[i].pid, SIGTERM) == 0)
            left++;
    double until = clab_mono() + CLAB_CHILD_GRACE;
    while (left > 0 && clab_mono() < until) {
        usleep(50 * 1000);
        for (int i = 0; i < c->n; i++) {
            child_t *ch = &c->children[i];
            if (ch->pid > 0 && waitpid(ch->pid, NULL, WNOHANG) != 0) {
                ch->pid = 0;
                left--;
            }
        }
    }
    for (int i = 0; i < c->n; i++) {
        child_t *ch = &c->children[i];
        if (ch->pid > 0) {
            clab_warn("%s (pid %d) ignored SIGTERM; killing it", ch->name, (int)ch->pid);
            kill(ch->pid, SIGKILL);
            waitpid(ch->pid, NULL, 0);
        }
        read_stderr(ch, 1);
        free_child(ch);
    }
    free(c->children);
    c->children = NULL;
    c->n = 0;
}

/* Hands the fork clab_children_add waits for, if any. */
static void serve_add(clab_children_t *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->add && !c->add_done) {
        c->added = add_child(c, c->add, c->pass_fd);
        c->add_done = 1;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
}

/* Waits for a tick, the wake pipe or a child's stderr, and reads them. */
static void wait_tick(clab_children_t *c)
{
    struct pollfd p[64];
    int n = 0;
    p[n++] = (struct pollfd){.fd = c->wake[0], .events = POLLIN};
    for (int i = 0; i < c->n && n < 64; i++)
        if (c->children[i].err_fd >= 0)
            p[n++] = (struct pollfd){.fd = c->children[i].err_fd, .events = POLLIN};
    if (poll(p, (nfds_t)n, TICK_MS) <= 0)
        return;
    char drain[64];
    if (p[0].revents && read(c->wake[0], drain, sizeof drain) < 0 && errno != EAGAIN)
        clab_debug("children: wake: %s", strerror(errno));
    for (int i = 0; i < c->n; i++)
        if (c->children[i].err_fd >= 0)
            read_stderr(&c->children[i], 0);
}

static void *supervisor(void *ud)
{
    clab_children_t *c = ud;
    while (!atomic_load(&c->stopping)) {
        serve_add(c);
        supervise_once(c);
        wait_tick(c);
    }
    end_all(c);
    return NULL;
}

static void wake(clab_children_t *c)
{
    if (write(c->wake[1], "w", 1) < 0 && errno != EAGAIN)
        clab_debug("children: wake: %s", strerror(errno));
}

int clab_children_start(clab_children_t **out)
{
    clab_children_t *c = calloc(1, sizeof *c);
    int rc;
    if (!c)
        return -ENOMEM;
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        rc = -errno;
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if ((rc = -pthread_create(&c->thread, NULL, supervisor, c)) < 0) {
        close(c->wake[0]);
        close(c->wake[1]);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

pid_t clab_children_add(clab_children_t *c, const clab_child_opts_t *o)
{
    pthread_mutex_lock(&c->lock);
    while (c->add) /* one at a time */
        pthread_cond_wait(&c->cond, &c->lock);
    c->add = o;
    c->pass_fd = o->pass_fd;
    c->add_done = 0;
    wake(c);
    while (!c->add_done)
        pthread_cond_wait(&c->cond, &c->lock);
    pid_t pid = c->added;
    c->add = NULL;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return pid;
}

void clab_children_stop(clab_children_t **pc)
{
    clab_children_t *c = *pc;
    if (!c)
        return;
    atomic_store(&c->stopping, 1);
    wake(c);
    pthread_join(c->thread, NULL);
    close(c->wake[0]);
    close(c->wake[1]);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
    *pc = NULL;
}
