/* The child processes clabfs keeps running, the embedded cluster's
 * controller and engines (cluster.c) and the ssh tunnel (tunnel.c), under
 * one supervisor: a thread of its own forks each child with
 * PR_SET_PDEATHSIG (which follows the thread that forked it, so every
 * child dies with clabfs, even with kill -9), sends its output to a log
 * file or its stderr to clabfs's log a line at a time, restarts it with a
 * back-off when it dies, and at stop ends every child: SIGTERM, then
 * SIGKILL to those still there after a grace period. Also where clabfs
 * finds the programs it runs. */
#ifndef CLAB_CHILD_H
#define CLAB_CHILD_H

#include <stddef.h>
#include <sys/types.h>

typedef struct clab_children clab_children_t;

/* How to run one child. */
typedef struct {
    const char *name;  /* in the log: "clab-engine 2", "ssh tunnel to HOST" */
    char *const *argv; /* argv[0] is the program's path; copied */
    /* argv[first_only] and after are for the first start only (0: none):
     * options that make no sense again, like a descriptor to report on. */
    int first_only;
    int pass_fd; /* the first start gets it as descriptor 3; -1: none */
    /* Where its stdout and stderr go, appended (0600, never through a
     * link); NULL: stdout to /dev/null, stderr to clabfs's log. */
    const char *log;
    int own_group; /* a process group of its own: a terminal's ^C is clabfs's */
    /* The wait before the first restart, doubled at each death up to
     * max_backoff; back to backoff once a child ran CLAB_CHILD_STEADY s. */
    double backoff, max_backoff;
    /* What an exit status of 255 means, for the log (ssh's failures). */
    const char *status_255;
} clab_child_opts_t;

#define CLAB_CHILD_STEADY 10.0
/* Seconds between SIGTERM and SIGKILL at stop. */
#define CLAB_CHILD_GRACE 5.0

/* Starts the supervisor thread, with no child yet. */
int clab_children_start(clab_children_t **out);
/* Starts a child now (forked by the supervisor): its pid, or -errno. */
pid_t clab_children_add(clab_children_t *c, const clab_child_opts_t *o);
/* SIGTERM to every child, the last added first; SIGKILL to those still
 * there after CLAB_CHILD_GRACE; all reaped, and the thread gone. */
void clab_children_stop(clab_children_t **c);

/* Finds a program of ours: $CLAB_BINDIR, next to this executable, the
 * build tree's backend/ beside it, then $PATH. */
int clab_find_program(const char *name, char *out, size_t size);
/* The first executable name in $PATH's directories (unset or empty PATH:
 * /usr/local/bin:/usr/bin:/bin), written to out. 0, -ENOENT or -ENOMEM. */
int clab_find_on_path(const char *name, char *out, size_t size);

#endif
