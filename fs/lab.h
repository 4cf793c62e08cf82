/* The state one mounted lab shares between the FUSE threads and the
 * thread that talks to the cluster, and its owner (lab.c): set-up and
 * tear-down, the cluster state the link publishes, and the hand-off of
 * cancelled sets from /ctl to the link. */
#ifndef CLAB_LAB_H
#define CLAB_LAB_H

#include "errors.h"
#include "notebook.h"
#include "submit.h"
#include "waiters.h"

#include <pthread.h>

struct clab_view;

typedef struct clab_lab {
    clab_notebook_t *nb; /* owned: closed by clab_lab_fini */
    clab_submit_limits_t limits;
    clab_errors_t errors;
    /* What the cluster link last learnt (clab_lab_publish), and the
     * cancels of /ctl that it must still tell the controller about (a JSON
     * array of {tag, upto}, or NULL); under lock. */
    pthread_mutex_t lock;
    int engines;
    int connected;
    json_t *engine_list; /* [{id, host, pid, state, tasks}] */
    json_t *cancel_tags;
    /* When what /status says besides a set's counts last changed: the
     * cluster (engines, connected) and which set is current. Its mtime is
     * the newest of these and the set's own, so that rsync -a and make see
     * a change exactly when there is one (clab_now() seconds). */
    double cluster_changed, current_changed;
    double mounted;         /* the mtime of the files written to (submit, ctl) */
    double engines_changed; /* when any engine's record last changed */
    /* Called after a submission so the link sends it at once. */
    void (*wake)(void *ud);
    void *wake_ud;

    /* Set by the FUSE glue (fuse_ops.c); NULL in unit tests. Non-zero when
     * the request this thread serves was interrupted (Ctrl-C, timeout). */
    int (*interrupted)(void);
    /* A read of /results/TAG/wait holds a FUSE thread while it blocks; how
     * many may, by uid (waiters.h; NULL: no limit), so that the others are
     * left for everyone else and no user takes another's. Set up by the
     * FUSE glue, which also says whose request this thread serves (NULL:
     * the mount owner's). */
    clab_waiters_t *waiters;
    unsigned (*caller_uid)(void);
    /* The views open now, by process (views.c): a stat from a process that
     * has the file open answers for the snapshot that process reads. */
    pthread_mutex_t views_lock;
    struct clab_view *views;
} clab_lab_t;

/* Locks, /errors and the default submission limits; no notebook yet
 * (open one into lab->nb). Before any other call. */
void clab_lab_init(clab_lab_t *lab);
/* Closes the notebook and frees the rest; after the last user is gone. */
void clab_lab_fini(clab_lab_t *lab);

/* A consistent copy of the cluster state for a view. */
void clab_lab_cluster(clab_lab_t *lab, int *engines, int *connected);
/* The link's news: connected or not, and the engines when it learnt them
 * (an array; NULL keeps the last list). */
void clab_lab_publish(clab_lab_t *lab, int connected, json_t *engines);
/* /ctl made another set current, or removed the current one. */
void clab_lab_current_changed(clab_lab_t *lab);
/* When any engine's record (/engines/ID) last changed. */
double clab_lab_engines_changed(clab_lab_t *lab);
/* The newest of cluster_changed and current_changed. */
double clab_lab_status_changed(clab_lab_t *lab);
/* A copy of the record of the engine id while connected, or NULL. */
json_t *clab_lab_engine(clab_lab_t *lab, const char *id);
/* A reference to the engine list while connected, or NULL. */
json_t *clab_lab_engines(clab_lab_t *lab);

/* /ctl: has the link tell the controller to drop the tag's tasks up to
 * the notebook's job id upto (clab_notebook_cancel's; < 0: all of them).
 * Does not wake the link: see clab_lab_wake. */
void clab_lab_cancel_push(clab_lab_t *lab, const char *tag, int64_t upto);
/* The link: every cancel pushed since the last take, as an array of the
 * cancel messages' bodies ({tag, upto}), or NULL. */
json_t *clab_lab_cancel_take(clab_lab_t *lab);
/* The link: puts back a cancel it could not send (body as taken). */
void clab_lab_cancel_keep(clab_lab_t *lab, json_t *body);
/* Has the link look at the notebook and the cancelled tags now. */
void clab_lab_wake(clab_lab_t *lab);

#endif
