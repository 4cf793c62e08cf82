/* Starting and stopping the embedded cluster's processes. */
#include "cluster.h"
#include "conninfo.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ARGS 16

/* One process of the cluster, with what it takes to start it again. */
typedef struct {
    pid_t pid; /* 0 when not running */
    char *argv[MAX_ARGS];
    char log[4096];
    double restart_at; /* back-off after a crash */
    int restarts;
} child_t;

struct clab_cluster {
    child_t *children; /* [0] is the controller */
    int n;
    /* The supervisor thread, woken early only to stop. */
    pthread_t supervisor;
    int supervising;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
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

/* Spawns argv with stdout and stderr appended to log, stdin from /dev/null,
 * and extra_fd (if >= 0) kept open. */
static int spawn(char *const argv[], const char *log, int extra_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log,
                                     O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (extra_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, extra_fd, 3);
    /* The children must not inherit FUSE's blocked signals or ignored SIGPIPE. */
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    int rc = -posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

static int add_child(clab_cluster_t *c, char *const argv[], const char *log, int extra_fd)
{
    child_t *p = realloc(c->children, (size_t)(c->n + 1) * sizeof *p);
    if (!p)
        return -ENOMEM;
    c->children = p;
    child_t *ch = &c->children[c->n];
    memset(ch, 0, sizeof *ch);
    for (int i = 0; argv[i] && i < MAX_ARGS - 1; i++)
        if (!(ch->argv[i] = strdup(argv[i])))
            goto nomem;
    snprintf(ch->log, sizeof ch->log, "%s", log);
    c->n++;
    int rc = spawn(ch->argv, ch->log, extra_fd, &ch->pid);
    if (rc < 0)
        ch->pid = 0;
    return rc;
nomem:
    for (int i = 0; i < MAX_ARGS; i++)
        free(ch->argv[i]);
    return -ENOMEM;
}

static void free_child(child_t *ch)
{
    for (int i = 0; i < MAX_ARGS; i++)
        free(ch->argv[i]);
}

void clab_cluster_supervise(clab_cluster_t *c)
{
    double now = clab_mono();
    for (int i = 0; c && i < c->n; i++) {
        child_t *ch = &c->children[i];
        int status;
        if (ch->pid > 0 && waitpid(ch->pid, &status, WNOHANG) == ch->pid) {
            clab_warn("%s (pid %d) %s %d; restarting it (see %s)", ch->argv[0], ch->pid,
                      WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
                      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                      ch->log);
            ch->pid = 0;
            /* Quick at first, then no more than once every 10 s. */
            ch->restart_at = now + (ch->restarts < 3 ? 0.5 : 10.0);
            ch->restarts++;
        }
        if (ch->pid == 0 && now >= ch->restart_at) {
            int rc = spawn(ch->argv, ch->log, -1, &ch->pid);
            if (rc < 0) {
                clab_err("cannot restart %s: %s", ch->argv[0], strerror(-rc));
                ch->pid = 0;
                ch->restart_at = now + 10.0;
            }
        }
    }
}

static void *supervisor(void *ud)
{
    clab_cluster_t *c = ud;
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        at.tv_sec += 1;
        if (pthread_cond_timedwait(&c->cond, &c->lock, &at) == 0 || c->stopping)
            continue;
        pthread_mutex_unlock(&c->lock);
        clab_cluster_supervise(c);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int start_supervisor(clab_cluster_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&c->lock, NULL);
    int rc = -pthread_create(&c->supervisor, NULL, supervisor, c);
    if (rc < 0) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        return rc;
    }
    c->supervising = 1;
    return 0;
}

/* Before the children are stopped, so that none is started again. */
static void stop_supervisor(clab_cluster_t *c)
{
    if (!c->supervising)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->supervisor, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    c->supervising = 0;
}

/* The engines, on the engines' connection file. */
static int start_engines(clab_cluster_t *c, const clab_cluster_opts_t *o, char *engine)
{
    char engine_file[4096], log[4096];
    snprintf(engine_file, sizeof engine_file, "%s/" CLAB_CONN_ENGINE_FILE, o->state_dir);
    for (int i = 0; i < o->engines; i++) {
        snprintf(log, sizeof log, "%s/engine-%d.log", o->state_dir, i + 1);
        char *eargv[] = {engine, "--cluster", engine_file, "--exit-with-parent", NULL};
        int rc = add_child(c, eargv, log, -1);
        if (rc < 0) {
            clab_err("cannot start engine %d: %s", i + 1, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

int clab_cluster_start(const clab_cluster_opts_t *o, clab_cluster_t **out,
                       char *conn_file, size_t conn_size)
{
    char controller[4096], engine[4096], log[4096], retries[16], prefetch[16],
        ready_arg[16];
    int pipefd[2] = {-1, -1}, rc;
    clab_cluster_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if ((rc = clab_find_program("clab-controller", controller, sizeof controller)) < 0 ||
        (rc = clab_find_program("clab-engine", engine, sizeof engine)) < 0) {
        clab_err("cannot find clab-controller and clab-engine (set CLAB_BINDIR)");
        goto fail;
    }
    if ((rc = clab_mkdir_p(o->state_dir, 0700)) < 0)
        goto fail;
    /* clabfs is the client; its engines get the engines' file. */
    snprintf(conn_file, conn_size, "%s/" CLAB_CONN_CLIENT_FILE, o->state_dir);
    snprintf(log, sizeof log, "%s/controller.log", o->state_dir);
    snprintf(retries, sizeof retries, "%d", o->retries);
    snprintf(prefetch, sizeof prefetch, "%d", o->prefetch);
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        rc = -errno;
        goto fail;
    }
    snprintf(ready_arg, sizeof ready_arg, "3");
    /* --ready-fd goes last so that a restart can drop it: nobody waits
     * on a restarted controller. Without --prefetch the controller keeps
     * its own default. */
    char *cargv[MAX_ARGS] = {controller, "--state",   (char *)o->state_dir,
                             "--ipc",    "--retries", retries};
    int n = 6;
    if (o->prefetch > 0) {
        cargv[n++] = "--prefetch";
        cargv[n++] = prefetch;
    }
    cargv[n++] = "--exit-with-parent";
    int ready_at = n;
    cargv[n++] = "--ready-fd";
    cargv[n++] = ready_arg;
    cargv[n] = NULL;
    if ((rc = add_child(c, cargv, log, pipefd[1])) < 0)
        goto fail;
    close(pipefd[1]);
    pipefd[1] = -1;
    /* The controller writes one line when it listens, or exits. */
    struct pollfd pfd = {pipefd[0], POLLIN, 0};
    char buf[16];
    if (poll(&pfd, 1, 15000) <= 0 || read(pipefd[0], buf, sizeof buf) <= 0) {
        clab_err("the controller did not start; see %s", log);
        rc = -EIO;
        goto fail;
    }
    if ((rc = start_engines(c, o, engine)) < 0)
        goto fail;
    free(c->children[0].argv[ready_at]);
    free(c->children[0].argv[ready_at + 1]);
    c->children[0].argv[ready_at] = c->children[0].argv[ready_at + 1] = NULL;
    clab_info("embedded cluster: controller pid %d, %d engine(s), state in %s",
              c->children[0].pid, o->engines, o->state_dir);
    close(pipefd[0]);
    pipefd[0] = -1;
    if ((rc = start_supervisor(c)) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    clab_cluster_stop(&c);
    return rc;
}

void clab_cluster_stop(clab_cluster_t **pc)
{
    clab_cluster_t *c = *pc;
    if (!c)
        return;
    stop_supervisor(c);
    /* Engines first, so they can say goodbye to the controller. */
    for (int i = c->n - 1; i >= 0; i--)
        if (c->children[i].pid > 0)
            kill(c->children[i].pid, SIGTERM);
    int left = 0;
    for (int i = 0; i < c->n; i++)
        left += c->children[i].pid > 0;
    for (int tick = 0; tick < 100 && left > 0; tick++) {
        for (int i = 0; i < c->n; i++) {
            child_t *ch = &c->children[i];
            if (ch->pid > 0 && waitpid(ch->pid, NULL, WNOHANG) != 0) {
                ch->pid = 0;
                left--;
            }
        }
        if (left)
            usleep(50 * 1000);
    }
    for (int i = 0; i < c->n; i++) {
        child_t *ch = &c->children[i];
        if (ch->pid > 0) {
            clab_warn("pid %d ignored SIGTERM; killing it", ch->pid);
            kill(ch->pid, SIGKILL);
            waitpid(ch->pid, NULL, 0);
        }
        free_child(ch);
    }
    free(c->children);
    free(c);
    *pc = NULL;
}
