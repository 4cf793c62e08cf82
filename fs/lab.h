/* The state one mounted lab shares between the FUSE threads and the
 * thread that talks to the cluster, and its owner (lab.c): set-up and
 * tear-down, the cluster state the link publishes, the engines' interned
 * indexes, the hand-off of cancelled sets from /ctl to the link, the sets
 * whose cached files the link must have the kernel forget, and the count
 * of FUSE requests answered. */
#ifndef CLAB_LAB_H
#define CLAB_LAB_H

#include "errors.h"
#include "notebook.h"
#include "submit.h"

#include <pthread.h>
#include <stdatomic.h>

struct clab_view;

/* The FUSE requests the mount answers, by operation: counted by the FUSE
 * glue, shown in /status.json and logged at unmount. */
typedef enum {
    CLAB_REQ_LOOKUP,
    CLAB_REQ_FORGET,
    CLAB_REQ_GETATTR,
    CLAB_REQ_SETATTR,
    CLAB_REQ_OPEN,
    CLAB_REQ_READ,
    CLAB_REQ_WRITE,
    CLAB_REQ_FLUSH,
    CLAB_REQ_RELEASE,
    CLAB_REQ_OPENDIR,
    CLAB_REQ_READDIR,
    CLAB_REQ_READDIRPLUS,
    CLAB_REQ_RELEASEDIR,
    CLAB_REQ_KINDS
} clab_req_t;

/* A set whose files the kernel may have cached changed: its id (0: look it
 * up by tag when sending) and tag; removed when it was deleted, so that
 * its entry in /results goes too. */
typedef struct {
    int64_t id;
    char tag[CLAB_TAG_MAX + 1];
    int removed;
} clab_set_change_t;

/* An interned engine id (clab_lab_engine_index). */
typedef struct {
    uint64_t index;
    char *id;
} clab_engine_name_t;

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

    /* The views open now, by process (views.c): a stat from a process that
     * has the file open answers for the snapshot that process reads. */
    pthread_mutex_t views_lock;
    struct clab_view *views;

    /* Engine ids and their indexes (the payload of /engines/ID's inode
     * number), in index order; next is the next index. Under lock. */
    clab_engine_name_t *engine_names;
    size_t nengine_names, engine_names_cap;
    uint64_t next_engine_index;
    /* Sets changed since the link last sent the kernel's invalidations,
     * under lock, and who sends them (the FUSE glue; NULL: nobody, and
     * they are dropped). Called by the link thread, never in a request. */
    clab_set_change_t *changes;
    size_t nchanges, changes_cap;
    void (*send_changes)(void *ud, const clab_set_change_t *changes, size_t n);
    void *send_ud;

    atomic_ullong requests[CLAB_REQ_KINDS];
    atomic_llong requested_us; /* when the last was answered (clab_now() µs) */
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

/* The index of engine id (from 1): the same while the mount lives, and
 * never one an id had before; 0 without memory. Ids no longer reported are
 * forgotten once many have come and gone. */
uint64_t clab_lab_engine_index(clab_lab_t *lab, const char *id);
/* The id interned as index: 0, or -ENOENT when none (or forgotten). */
int clab_lab_engine_name(clab_lab_t *lab, uint64_t index, char *out, size_t size);

/* /submit, /ctl and the notebook's ingest: the kernel must forget what it
 * cached of set tag (id 0: found by tag when sent; removed: deleted).
 * Queued and the link woken; sent by clab_lab_send_changes. */
void clab_lab_set_changed(clab_lab_t *lab, const char *tag, int64_t id, int removed);
/* The set's id now, or 0 when there is no such set (a reader's query). */
int64_t clab_lab_set_id(clab_lab_t *lab, const char *tag);
/* The link thread, each turn: hands the queued changes to send_changes. */
void clab_lab_send_changes(clab_lab_t *lab);

/* One more request answered, of kind op. */
void clab_lab_count(clab_lab_t *lab, clab_req_t op);
/* {"total": N, "lookup": n, ...}: the requests answered so far; *when
 * (if not NULL) gets the time the last one was. */
json_t *clab_lab_requests(clab_lab_t *lab, double *when);

#endif
