/* The controller's persistent queue (SQLite, WAL): every task a client
 * submitted, its state, and its result until the client has confirmed it.
 * The controller batches many calls into one transaction per loop turn, so
 * a result costs no fsync of its own. */
#ifndef CLAB_STORE_H
#define CLAB_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A task's state, as the tasks table stores it. Macros rather than an
 * enum so that the SQL text can name them: CLAB_STRINGIFY(CLAB_TASK_DONE)
 * is "2". */
#define CLAB_TASK_QUEUED 0
#define CLAB_TASK_RUNNING 1
#define CLAB_TASK_DONE 2      /* result waiting for its client */
#define CLAB_TASK_DELIVERED 3 /* tombstone: delivered or cancelled */

#define CLAB_STRINGIFY(x) CLAB_STRINGIFY_(x)
#define CLAB_STRINGIFY_(x) #x

typedef struct clab_store clab_store_t;

int clab_store_open(const char *path, clab_store_t **out);
void clab_store_destroy(clab_store_t **store);
int clab_store_begin(clab_store_t *s);
int clab_store_commit(clab_store_t *s);

/* Puts every running task back in the queue (after a controller restart,
 * nothing is running). Returns how many, or -errno. */
int clab_store_recover(clab_store_t *s);
/* A task as a client submitted it. */
typedef struct {
    const char *client, *job, *tag;
    const char *body; /* the task's JSON text, as engines get it */
    /* The client's sequence number for the job (the notebook's id: it
     * only grows), or 0 when the client gave none: a cancel names the
     * newest one it covers. */
    int64_t cseq;
} clab_store_task_t;

/* Adds a task unless its job id is known: 1 added, 0 known, -errno. A
 * known one that is a tombstone of the same client (delivered or
 * cancelled) goes back in the queue (1): that client lost it. */
int clab_store_add(clab_store_t *s, const clab_store_task_t *task);
/* Takes the oldest queued task for engine: 1 with *job and *body malloc'd,
 * 0 when the queue is empty. skip: NULL, or the text of a JSON array of
 * sets whose tasks this engine must not get (each set named by its client,
 * a newline and its tag, as clab_store_finish's *set): then 0 may also
 * mean that only tasks of those sets are queued. */
int clab_store_take(clab_store_t *s, const char *engine, const char *skip, char **job,
                    char **body);
/* An engine says it holds job (after a controller restart): queued (or
 * already running on that engine) -> running there. 1 when it may keep it. */
int clab_store_claim(clab_store_t *s, const char *job, const char *engine);
/* A finished task's result as the controller keeps it for its client. */
typedef struct {
    const char *job;
    const char *record; /* the record's JSON text, as the engine sent it */
    /* JSON text: what the controller vouches for about who ran it (SPEC
     * "Trust every result"), delivered beside the record; NULL: nothing. */
    const char *stamp;
    double now; /* clab_now(): when it was (last) sent to the client */
} clab_store_result_t;

/* Records the result of job unless it is already done: 1 recorded (with the
 * owning client in *client and, when set is not NULL, its set in *set,
 * "CLIENT\nTAG", both malloc'd), 0 already done or unknown.
 * *prev_state is the task's state before (-1 when unknown). */
int clab_store_finish(clab_store_t *s, const clab_store_result_t *r, char **client,
                      char **set, int *prev_state);
/* Cancels a client's unfinished tasks of one tag whose cseq is at most
 * upto (upto < 0, or a task without a cseq: regardless): they are
 * forgotten (the client records them as cancelled itself). Running ones
 * are appended to running as {job, engine} so their engines can be told
 * to stop. */
int clab_store_cancel(clab_store_t *s, const char *client, const char *tag, int64_t upto,
                      json_t *running, long *queued, long *nrunning);
/* The same for the jobs listed (an array of job ids) only: those of the
 * client's tag, unfinished, within upto. */
int clab_store_cancel_jobs(clab_store_t *s, const char *client, const char *tag,
                           int64_t upto, const json_t *jobs, json_t *running,
                           long *queued, long *nrunning);
/* How many times an engine running job was lost (the tries counted by
 * clab_store_requeue), or -errno: the point's dispatch that answers is
 * this plus one (clab.attempt). */
int clab_store_tries(clab_store_t *s, const char *job);
/* Puts a running task back in the queue and counts a try; returns the tries
 * so far or -ENOENT. *body gets the task (malloc'd) when body is not NULL. */
int clab_store_requeue(clab_store_t *s, const char *job, int count_try, char **body);
/* The client has stored the result: the task is deleted (a client that
 * submits the job again gets it run again, see clab_store_add). */
int clab_store_delivered(clab_store_t *s, const char *client, const char *job);
/* Appends up to max undelivered results of client with seq > *after that
 * were last sent before `sent_before` to out as {"job","record"} objects
 * (with "stamp" when the result has one) and
 * marks them sent at `now`; *after advances. Returns how many. */
int clab_store_undelivered(clab_store_t *s, const char *client, int64_t *after,
                           double sent_before, double now, size_t max, json_t *out);
/* A job's file (a task's "files": {"NAME": "SHA256"}), by the hex sha256
 * of its content: put it once (1 added, 0 known), whether it is there
 * (1, 0), its content (0 with *data malloc'd, -ENOENT), and the files no
 * unfinished task names any more forgotten (how many). */
int clab_store_file_put(clab_store_t *s, const char *hash, const void *data, size_t len);
int clab_store_file_has(clab_store_t *s, const char *hash);
int clab_store_file_get(clab_store_t *s, const char *hash, char **data, size_t *len);
int clab_store_files_gc(clab_store_t *s);
/* Gives up to pages free pages back to the file system (incremental
 * vacuum), in the caller's transaction: how many, or -errno. */
int clab_store_vacuum(clab_store_t *s, int pages);
/* Tasks by state. */
int clab_store_counts(clab_store_t *s, long *queued, long *running, long *done);

#endif
