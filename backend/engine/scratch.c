/* Where and how an experiment runs, for one-shot runs and workers alike.
 *
 * Scratch directories: each experiment runs in a fresh one, removed after
 * it whatever the experiment did to it (read-only or unreadable
 * subdirectories included). Removal must not stall the engine: one that
 * takes longer than SYNC_BUDGET goes on in a background thread, under a
 * name moved aside, while the engine heartbeats and reports the result
 * (a silent engine is counted lost).
 *
 * The child process: posix_spawn with no shell, in its own process group
 * (the whole group is killed), with none of the engine's descriptors,
 * signal mask or ignored signals. */
#include "scratch.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Seconds of removal in the caller's thread before the rest is handed to
 * the background: well under a heartbeat interval. */
#define SYNC_BUDGET 0.2
/* nftw callbacks' "stop the walk" (any non-zero value). */
#define STOPPED 1

int clab_scratch_make(const char *root, char *out, size_t size)
{
    return clab_scratch_make_as(root, "clab", out, size);
}

int clab_scratch_make_as(const char *root, const char *prefix, char *out, size_t size)
{
    if (!root || !*root)
        root = getenv("TMPDIR");
    if (!root || !*root)
        root = "/tmp";
    int n = snprintf(out, size, "%s/%s-XXXXXX", root, prefix);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    if (!mkdtemp(out))
        return -errno;
    return 0;
}

static _Thread_local int unreadable_seen;
/* clab_mono() past which this thread's walks stop (STOPPED). */
static _Thread_local double deadline = INFINITY;

static int unlink_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    if (clab_mono() > deadline)
        return STOPPED;
    if (flag == FTW_DP || flag == FTW_DNR)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* A directory the experiment made read-only (or unreadable) keeps its
 * entries; nftw only reports an unreadable one without entering it, hence
 * one pass per level of such directories. */
static int open_up_entry(const char *path, const struct stat *st, int flag,
                         struct FTW *ftw)
{
    if (clab_mono() > deadline)
        return STOPPED;
    if (flag != FTW_D && flag != FTW_DNR)
        return 0;
    if ((st->st_mode & S_IRWXU) != S_IRWXU)
        chmod(path, (st->st_mode & 07777) | S_IRWXU);
    if (flag == FTW_DNR)
        unreadable_seen = 1;
    return 0;
}

/* Removes dir and all in it: 1 done (or logged as impossible), 0 when the
 * thread's deadline stopped it first. */
static int remove_tree(const char *dir)
{
    struct stat st;
    if (nftw(dir, unlink_entry, 16, FTW_DEPTH | FTW_PHYS) == STOPPED)
        return 0;
    if (lstat(dir, &st) < 0 && errno == ENOENT)
        return 1;
    for (int pass = 0; pass < 64; pass++) {
        unreadable_seen = 0;
        if (nftw(dir, open_up_entry, 16, FTW_PHYS) == STOPPED)
            return 0;
        if (!unreadable_seen)
            break;
    }
    if (nftw(dir, unlink_entry, 16, FTW_DEPTH | FTW_PHYS) == STOPPED)
        return 0;
    if (lstat(dir, &st) == 0)
        clab_warn("cannot remove scratch directory %s", dir);
    return 1;
}

/* The background removals: a list of paths and one thread working it
 * off, started at the first. Process exit waits for the list to empty,
 * so that a stopping engine leaves nothing behind. */
struct doomed {
    struct doomed *next;
    char path[];
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct doomed *doomed_head;
static int remover_busy, remover_started;

static void *remover(void *arg)
{
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!doomed_head)
            pthread_cond_wait(&changed, &lock);
        struct doomed *d = doomed_head;
        doomed_head = d->next;
        remover_busy = 1;
        pthread_mutex_unlock(&lock);
        remove_tree(d->path);
        free(d);
        pthread_mutex_lock(&lock);
        remover_busy = 0;
        pthread_cond_broadcast(&changed);
    }
    return arg;
}

static void wait_removals(void)
{
    pthread_mutex_lock(&lock);
    while (doomed_head || remover_busy)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

/* The remover runs with every signal blocked: they are the engine's. */
static int start_remover(void)
{
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&t, NULL, remover, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return -rc;
    pthread_detach(t);
    atexit(wait_removals);
    remover_started = 1;
    return 0;
}

/* Moves dir aside (a name clab_scratch_make never gives) and queues it for the
 * remover; without a thread, removes it here after all. */
static void hand_off(const char *dir)
{
    size_t len = strlen(dir) + sizeof ".gone";
    struct doomed *d = malloc(sizeof *d + len);
    int rc = d ? 0 : -ENOMEM;
    if (d) {
        snprintf(d->path, len, "%s.gone", dir);
        if (rename(dir, d->path) < 0)
            snprintf(d->path, len, "%s", dir);
    }
    pthread_mutex_lock(&lock);
    if (!rc && !remover_started)
        rc = start_remover();
    if (!rc) {
        d->next = doomed_head;
        doomed_head = d;
        pthread_cond_broadcast(&changed);
    }
    pthread_mutex_unlock(&lock);
    if (rc) {
        clab_warn("scratch directory %s removed in the foreground: %s", dir,
                  strerror(-rc));
        deadline = INFINITY;
        remove_tree(d ? d->path : dir);
        free(d);
    }
}

void clab_scratch_remove(const char *dir)
{
    /* Most experiments leave nothing behind: one rmdir is all it takes. */
    if (rmdir(dir) == 0 || errno == ENOENT)
        return;
    deadline = clab_mono() + SYNC_BUDGET;
    int done = remove_tree(dir);
    deadline = INFINITY;
    if (!done)
        hand_off(dir);
}

extern char **environ;

/* Set once pidfd_open turns out to be missing (kernels before 5.3,
 * valgrind): exits are then found by polling waitid. */
static atomic_int no_pidfd;

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

int clab_child_check(const char *path, const json_t *arguments, char *why, size_t size)
{
    struct stat st;
    const char *e = NULL;
    size_t i;
    json_t *a;

    int missing = 0;
    if (path[0] != '/') {
        e = "not an absolute path";
    } else if (stat(path, &st) < 0) {
        missing = errno == ENOENT || errno == ENOTDIR;
        e = strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
        e = strerror(EACCES);
    } else if (access(path, X_OK) < 0) {
        e = strerror(errno);
    }
    json_array_foreach(arguments, i, a)
    {
        if (!e && !json_is_string(a))
            e = "arguments must be strings";
    }
    if (!e)
        return 0;
    if (missing) {
        /* Experiments are found by path on the engine's host (a shared
         * file system is the model): say which host lacks it, in SPEC's
         * words; the path is in the record's metadata. */
        char host[256] = "?";
        gethostname(host, sizeof host - 1);
        snprintf(why, size, "experiment not found on %s", host);
        return -1;
    }
    snprintf(why, size, "cannot execute %s: %s", path, e);
    return -1;
}

static int contract_name(const char *entry)
{
    static const char *const names[] = {"CLAB_TAG", "CLAB_JOB", "CLAB_PARAMS",
                                        "CLAB_WORKER"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(entry, names[i], n) == 0 && entry[n] == '=')
            return 1;
    }
    return 0;
}

/* environ less the contract's names, plus how->env; only the array is
 * ours to free. */
static char **build_env(const clab_child_how_t *how)
{
    size_t n = 0, own = 0, k = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    while (how->env && how->env[own])
        own++;
    char **env = calloc(n + own + 1, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < own; i++)
        env[k++] = how->env[i];
    for (char **e = environ; e && *e; e++)
        if (!contract_name(*e))
            env[k++] = *e;
    env[k] = NULL;
    return env;
}

/* The path, then the arguments (checked to be strings already). */
static char **build_argv(const clab_child_how_t *how)
{
    size_t n = json_array_size(how->arguments);
    char **argv = calloc(n + 2, sizeof *argv);
    if (!argv)
        return NULL;
    argv[0] = (char *)how->path;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)json_string_value(json_array_get(how->arguments, i));
    return argv;
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

/* Exits are noticed through a pidfd where there is one (c->pidfd stays -1
 * otherwise, and the caller polls clab_child_exited). */
static void open_pidfd(clab_child_t *c)
{
    if (atomic_load(&no_pidfd))
        return;
    c->pidfd = pidfd_open(c->pid, 0);
    if (c->pidfd < 0 && errno == ENOSYS)
        atomic_store(&no_pidfd, 1);
}

/* posix_spawn's half of clab_child_spawn: 0, 1 (exec failure) or -errno. */
static int spawn_with(const clab_child_how_t *how, clab_child_t *c, const int in[2],
                      const int out[2], const int err[2], char *why, size_t size)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char **env = build_env(how), **argv = build_argv(how);
    int rc = env && argv ? 0 : -ENOMEM, fa_ok = 0, attr_ok = 0;

    if (rc || (rc = -posix_spawn_file_actions_init(&fa)))
        goto out;
    fa_ok = 1;
    if ((rc = -posix_spawnattr_init(&attr)))
        goto out;
    attr_ok = 1;
    if ((rc = -child_actions(&fa, &attr, in, out, err, how->dir)))
        goto out;
    c->t_spawn = clab_mono();
    rc = posix_spawn(&c->pid, how->path, &fa, &attr, argv, env);
    if (rc) {
        snprintf(why, size, "cannot execute %s: %s", how->path, strerror(rc));
        c->pid = 0;
        rc = 1;
        goto out;
    }
    /* Also set by the child itself; doing it here too means the group
     * exists whatever the order, so kill(-pid) can never miss. */
    setpgid(c->pid, c->pid);
    open_pidfd(c);
out:
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    free(env);
    free(argv);
    return rc;
}

int clab_child_spawn(const clab_child_how_t *how, clab_child_t *c, char *why, size_t size)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int rc;

    *c = (clab_child_t)CLAB_CHILD_INIT;
    if ((rc = make_pipe(in)) || (rc = make_pipe(out)) || (rc = make_pipe(err)))
        goto out;
    if ((rc = spawn_with(how, c, in, out, err, why, size)))
        goto out;
    c->in_fd = in[1], in[1] = -1;
    c->out_fd = out[0], out[0] = -1;
    c->err_fd = err[0], err[0] = -1;
    if ((rc = set_nonblock(c->in_fd)) || (rc = set_nonblock(c->out_fd)) ||
        (rc = set_nonblock(c->err_fd)))
        goto out;
out:
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&err[i]);
    }
    return rc;
}

void clab_child_kill(const clab_child_t *c)
{
    if (c->pid > 0 && kill(-c->pid, SIGKILL) < 0 && errno != ESRCH)
        clab_warn("kill(-%d): %s", (int)c->pid, strerror(errno));
}

int clab_child_exited(const clab_child_t *c)
{
    siginfo_t si;

    for (;;) {
        si.si_pid = 0;
        if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
            return si.si_pid != 0;
        if (errno != EINTR)
            return -errno;
    }
}

void clab_child_reap(clab_child_t *c, int *status)
{
    clab_child_kill(c);
    while (waitpid(c->pid, status, 0) < 0 && errno == EINTR)
        ;
    close_fd(&c->pidfd);
    close_fd(&c->in_fd);
}

void clab_child_close(clab_child_t *c)
{
    close_fd(&c->pidfd);
    close_fd(&c->in_fd);
    close_fd(&c->out_fd);
    close_fd(&c->err_fd);
}

/* A write to a pipe whose reader has gone raises SIGPIPE, which would kill
 * the engine unless it ignores it; blocking it for this thread only and
 * consuming the one we caused leaves the process's dispositions alone. */
int clab_child_write(int fd, const char *p, size_t len, size_t *off)
{
    sigset_t pipe_set, old, pending;
    int rc = 0;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    while (*off < len) {
        ssize_t n = write(fd, p + *off, len - *off);
        if (n > 0)
            *off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && errno == EAGAIN)
            break;
        else {
            rc = n < 0 ? -errno : -EPIPE;
            break;
        }
    }
    if (rc == -EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc ? rc : *off == len;
}

void clab_child_reason(int status, char *why, size_t size)
{
    if (WIFSIGNALED(status)) {
        const char *name = strsignal(WTERMSIG(status));
        snprintf(why, size, "killed by signal %d (%s)", WTERMSIG(status),
                 name ? name : "unknown");
    } else {
        snprintf(why, size, "exit status %d", WEXITSTATUS(status));
    }
}

void clab_tail_add(clab_tail_t *t, const char *p, size_t n)
{
    if (n >= CLAB_TAIL_SIZE) {
        memcpy(t->data, p + n - CLAB_TAIL_SIZE, CLAB_TAIL_SIZE);
        t->len = CLAB_TAIL_SIZE;
        return;
    }
    if (t->len + n > CLAB_TAIL_SIZE) {
        size_t keep = CLAB_TAIL_SIZE - n;
        memmove(t->data, t->data + t->len - keep, keep);
        t->len = keep;
    }
    memcpy(t->data + t->len, p, n);
    t->len += n;
}

int clab_tail_read(clab_tail_t *t, int *fd)
{
    char buf[16384];
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0)
        return errno == EINTR ? -EAGAIN : -errno;
    if (n == 0) {
        close_fd(fd);
        return 0;
    }
    clab_tail_add(t, buf, (size_t)n);
    return (int)n;
}
