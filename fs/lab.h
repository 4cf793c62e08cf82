/* The state one mounted lab shares between the FUSE threads and the
 * thread that talks to the cluster. */
#ifndef CLAB_LAB_H
#define CLAB_LAB_H

#include "errors.h"
#include "notebook.h"
#include "submit.h"

#include <pthread.h>

typedef struct clab_lab {
    clab_notebook_t *nb;
    clab_submit_limits_t limits;
    clab_errors_t errors;
    /* What the cluster link last learnt; written by the sync thread. */
    pthread_mutex_t lock;
    int engines;
    int connected;
    json_t *engine_list; /* [{id, host, pid, state, tasks}] */
    /* Called after a submission so the link sends it at once. */
    void (*wake)(void *ud);
    void *wake_ud;
} clab_lab_t;

/* A consistent copy of the cluster state for a view. */
void clab_lab_cluster(clab_lab_t *lab, int *engines, int *connected);

#endif
