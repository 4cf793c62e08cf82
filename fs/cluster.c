/* Starting and stopping the embedded cluster's processes: the controller
 * first (clabfs waits until it listens), then the engines, all kept up by
 * one supervisor (child.c). */
#include "cluster.h"
#include "child.h"
#include "conninfo.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 16

/* A child that dies is started again, quickly at first, then no more than
 * once every 10 s. */
#define RESTART_FIRST 0.5
#define RESTART_MAX 10.0

struct clab_cluster {
    clab_children_t *children;
};

/* The engines, on the engines' connection file. */
static int start_engines(clab_cluster_t *c, const clab_cluster_opts_t *o, char *engine)
{
    char engine_file[4096], log[4096], name[32];
    snprintf(engine_file, sizeof engine_file, "%s/" CLAB_CONN_ENGINE_FILE, o->state_dir);
    for (int i = 0; i < o->engines; i++) {
        snprintf(log, sizeof log, "%s/engine-%d.log", o->state_dir, i + 1);
        snprintf(name, sizeof name, "clab-engine %d", i + 1);
        char *eargv[] = {engine, "--cluster", engine_file, "--exit-with-parent", NULL};
        pid_t pid = clab_children_add(c->children,
                                      &(clab_child_opts_t){.name = name,
                                                           .argv = eargv,
                                                           .pass_fd = -1,
                                                           .log = log,
                                                           .backoff = RESTART_FIRST,
                                                           .max_backoff = RESTART_MAX});
        if (pid < 0) {
            clab_err("cannot start engine %d: %s", i + 1, strerror(-pid));
            return pid;
        }
    }
    return 0;
}

/* The controller, listening once it has written a line on the pipe it is
 * given as descriptor 3 (--ready-fd, for its first start only: nobody
 * waits on a restarted controller). Without --prefetch it keeps its own
 * default. */
static int start_controller(clab_cluster_t *c, const clab_cluster_opts_t *o,
                            char *controller)
{
    char log[4096], retries[16], prefetch[16], ready_arg[] = "3";
    int pipefd[2], rc = 0;
    snprintf(log, sizeof log, "%s/controller.log", o->state_dir);
    snprintf(retries, sizeof retries, "%d", o->retries);
    snprintf(prefetch, sizeof prefetch, "%d", o->prefetch);
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
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
    pid_t pid =
        clab_children_add(c->children, &(clab_child_opts_t){.name = "clab-controller",
                                                            .argv = cargv,
                                                            .first_only = ready_at,
                                                            .pass_fd = pipefd[1],
                                                            .log = log,
                                                            .backoff = RESTART_FIRST,
                                                            .max_backoff = RESTART_MAX});
    close(pipefd[1]);
    /* The controller writes one line when it listens, or exits. */
    struct pollfd pfd = {pipefd[0], POLLIN, 0};
    char buf[16];
    if (pid < 0) {
        rc = pid;
    } else if (poll(&pfd, 1, 15000) <= 0 || read(pipefd[0], buf, sizeof buf) <= 0) {
        clab_err("the controller did not start; see %s", log);
        rc = -EIO;
    } else {
        clab_info("embedded cluster: controller pid %d, %d engine(s), state in %s",
                  (int)pid, o->engines, o->state_dir);
    }
    close(pipefd[0]);
    return rc;
}

int clab_cluster_start(const clab_cluster_opts_t *o, clab_cluster_t **out,
                       char *conn_file, size_t conn_size)
{
    char controller[4096], engine[4096];
    int rc;
    clab_cluster_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    if ((rc = clab_find_program("clab-controller", controller, sizeof controller)) < 0 ||
        (rc = clab_find_program("clab-engine", engine, sizeof engine)) < 0) {
        clab_err("cannot find clab-controller and clab-engine (set CLAB_BINDIR)");
        goto fail;
    }
    if ((rc = clab_mkdir_p(o->state_dir, 0700)) < 0 ||
        (rc = clab_children_start(&c->children)) < 0)
        goto fail;
    /* clabfs is the client; its engines get the engines' file. */
    snprintf(conn_file, conn_size, "%s/" CLAB_CONN_CLIENT_FILE, o->state_dir);
    if ((rc = start_controller(c, o, controller)) < 0 ||
        (rc = start_engines(c, o, engine)) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    clab_cluster_stop(&c);
    return rc;
}

void clab_cluster_stop(clab_cluster_t **pc)
{
    clab_cluster_t *c = *pc;
    if (!c)
        return;
    /* Engines first (the last started), so they can say goodbye to the
     * controller. */
    clab_children_stop(&c->children);
    free(c);
    *pc = NULL;
}
