/* The state one mounted lab shares between the FUSE threads and the
 * thread that talks to the cluster. */
#ifndef CLAB_LAB_H
#define CLAB_LAB_H

#include "errors.h"
#include "notebook.h"
#include "submit.h"

#include <pthread.h>
#include <stdatomic.h>

struct clab_view;

typedef struct clab_lab {
    clab_notebook_t *nb;
    clab_submit_limits_t limits;
    clab_errors_t errors;
    /* What the cluster link last learnt; written by the sync thread. */
    pthread_mutex_t lock;
    int engines;
    int connected;
    json_t *engine_list; /* [{id, host, pid, state, tasks}] */
    /* Tags cancelled with /ctl that the link must still tell the controller
     * about (a JSON array, or NULL), under lock. */
    json_t *cancel_tags;
    /* Called after a submission so the link sends it at once. */
    void (*wake)(void *ud);
    void *wake_ud;

    /* Set by the FUSE glue (fuse_ops.c); NULL in unit tests. Non-zero when
     * the request this thread serves was interrupted (Ctrl-C, timeout). */
    int (*interrupted)(void);
    /* A read of /results/TAG/wait holds a FUSE thread while it blocks; at
     * most max_waiters do at once (0: no limit), so that the others are
     * left for everyone else. */
    int max_waiters;
    atomic_int waiters;
    /* The views open now, by process (views.c): a stat from a process that
     * has the file open answers for the snapshot that process reads. */
    pthread_mutex_t views_lock;
    struct clab_view *views;
} clab_lab_t;

/* A consistent copy of the cluster state for a view. */
void clab_lab_cluster(clab_lab_t *lab, int *engines, int *connected);

#endif
