/* Private to the notebook's files (notebook.c: open, schema and the
 * writer; notebook_ingest.c: submissions, results and byte counts;
 * notebook_read.c: the reader pool and cursors; notebook_ctl.c: /ctl
 * commands on a set). Nothing outside fs/notebook/ includes it:
 * notebook.h is the contract. */
#ifndef CLAB_NOTEBOOK_I_H
#define CLAB_NOTEBOOK_I_H

#include "notebook.h"
#include "buf.h"
#include "rate.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CLAB_NB_POOL_MAX 16

/* jobs.state. A job is pending until its result is stored (done); retry
 * marks a failed job retried so that it is re-queued once. The _SQL forms
 * are the same numbers as SQL literals, for statement texts. */
#define CLAB_NB_JOB_PENDING 0
#define CLAB_NB_JOB_DONE 1
#define CLAB_NB_JOB_RETRIED 2
#define CLAB_NB_STR_(x) #x
#define CLAB_NB_STR(x) CLAB_NB_STR_(x)
#define CLAB_NB_JOB_PENDING_SQL CLAB_NB_STR(CLAB_NB_JOB_PENDING)
#define CLAB_NB_JOB_DONE_SQL CLAB_NB_STR(CLAB_NB_JOB_DONE)
#define CLAB_NB_JOB_RETRIED_SQL CLAB_NB_STR(CLAB_NB_JOB_RETRIED)

/* The metadata names of a job's repetition, as epyc's RepeatedExperiment
 * names them (repeatedexperiment.py): how many, and which one from 0.
 * Notebooks of schema version 5 and older said epyc.repeated.repetitions
 * and epyc.repeated.i (migrate_v6 in notebook.c renames them). */
#define CLAB_NB_REPETITIONS "epyc.experiment.repetitions"
/* The experiment file's sha256 as the mount hashed it at submit. */
#define CLAB_NB_EXPERIMENT_SHA256 "clab.experiment_sha256"
#define CLAB_NB_REP "epyc.experiment.rep"

/* A successful result's row of results.csv and .tsv (clab_table_cells)
 * and its column count, as stored with it. */
typedef struct {
    clab_buf_t csv, tsv;
    int ncols;
} clab_nbp_cells_t;

/* The writer's statements for storing results, prepared once, and the
 * buffers it renders cells into, kept between results. */
typedef struct {
    sqlite3_stmt *job, *next_n, *insert, *column, *done, *counts;
    clab_nbp_cells_t cells;
    int64_t set_id; /* the set of the point stored last, for the rate */
    /* Set by clab_nbp_reuse_fill around its ingest: the records are the
     * notebook's own, and their clab.reused_from is its word. From the
     * link, a record's clab.reused_from is a claim, and is dropped. */
    int reuse_fill;
    /* The sets of the points clab_notebook_add_results stored, one per
     * point, and when: counted in the rate by clab_nbp_write_end once
     * committed (a rolled-back batch finished nothing) and before the
     * waiters wake (a wait answered at the commit says what status says
     * after it). */
    const int64_t *rate_sets;
    size_t rate_n;
    double rate_now;
} ingest_t;

/* Point queries every reader makes, prepared once per connection: stat and
 * lookup run them for every file of a listing. */
enum { Q_CURRENT, Q_SET_INFO, Q_SET_BY_ID, Q_RESULT, Q_RESULT_STAT, Q_COLUMNS, Q_COUNT };

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
} conn_t;

/* When the writer's commits reach the disk (see clab_nbp_write_begin_durable).
 * CLAB_NOTEBOOK_SYNC=normal|full in clabfs's environment picks the others,
 * to measure what the default costs; nothing else should. */
typedef enum {
    CLAB_NB_SYNC_NORMAL,  /* no commit is synced: a crash may take the last ones */
    CLAB_NB_SYNC_RESULTS, /* the default: commits of results before their ack */
    CLAB_NB_SYNC_FULL,    /* every commit */
} clab_nb_sync_t;

struct clab_notebook {
    char *path;
    clab_nb_sync_t sync;
    int durable; /* the open transaction is durable: synchronous back to NORMAL */
    ingest_t in;
    sqlite3 *db;          /* the writer */
    pthread_mutex_t lock; /* taken with clab_nbp_lock, which counts the waiters */
    atomic_int lock_waiters;
    /* Held by a submit and by each /ctl command for all its transactions:
     * a cancel commits page by page (so that results keep being stored),
     * and no point may be added to its set until it is done. Taken before
     * lock, never after. */
    pthread_mutex_t ctl_lock;
    char client_id[64];
    pthread_mutex_t pool_lock;
    conn_t *pool[CLAB_NB_POOL_MAX];
    int npool;
    /* clab_notebook_on_new_column's, called by the writer. */
    void (*on_column)(void *ud, const char *tag);
    void *on_column_ud;
    /* Bumped after every commit; waiters sleep on changed. */
    pthread_mutex_t gen_lock;
    pthread_cond_t changed;
    uint64_t gen;
    /* The sets' recent pace, from the results stored since the open. */
    clab_rate_t *rate;
    double opened;
    /* The freeing thread (notebook_free.c): woken by a delete (kick) and
     * told to end (stop) under free_lock. */
    pthread_t freer;
    int freer_started, free_kick, free_stop;
    pthread_mutex_t free_lock;
    pthread_cond_t free_cond;
};

struct clab_nb_reader {
    clab_notebook_t *nb;
    conn_t *c;
    sqlite3 *db;
};

struct clab_nb_cursor {
    sqlite3_stmt *st;
    int pending;
    int table; /* clab_nb_table_rows: columns 3 and 4 are ncols and cells */
    int sizes; /* clab_nb_sizes: column 1 is the length, no text */
};

/* notebook.c */
int clab_nbp_sql_errno(sqlite3 *db, const char *what);
int clab_nbp_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);
/* The index of st's named parameter name (":tag"), for sqlite3_bind_*:
 * statements name what they bind, so that a bind reads as what it sets. */
int clab_nbp_at(sqlite3_stmt *st, const char *name);
int clab_nbp_open_db(const char *path, int flags, sqlite3 **out);
int clab_nbp_meta_get(sqlite3 *db, const char *key, char *out, size_t size);
int clab_nbp_meta_set(sqlite3 *db, const char *key, const char *value);
/* 1 when tag is locked (ctl finish), 0 when not, -ENOENT when there is no
 * such set, or -errno. */
int clab_nbp_set_locked(sqlite3 *db, const char *tag);
/* notebook_writer.c. The writer: one transaction at a time. write_end
 * commits when rc >= 0 (else rolls back), wakes the waiters and returns rc
 * or the commit's error. */
int clab_nbp_write_begin(clab_notebook_t *nb);
int clab_nbp_write_end(clab_notebook_t *nb, int rc);
/* The same, for a transaction whose commit must survive an OS crash or a
 * power loss once write_end returns (synchronous = FULL: the WAL is synced
 * at the commit, and with it every commit before). */
int clab_nbp_write_begin_durable(clab_notebook_t *nb);
/* nb->lock, counting those that wait for it. */
void clab_nbp_lock(clab_notebook_t *nb);
/* Between two transactions of a long job, without the lock: returns once
 * every thread that waited for it has had it (at most 200 ms). */
void clab_nbp_make_way(clab_notebook_t *nb);
/* notebook_free.c: incremental vacuum for a notebook made before it (at
 * open, after the schema); the freeing thread's start, wake-up and end;
 * the synchronous freeing of a deleted set that had tag, before the tag is
 * submitted again. */
int clab_nbp_free_setup(clab_notebook_t *nb);
int clab_nbp_free_start(clab_notebook_t *nb);
void clab_nbp_free_kick(clab_notebook_t *nb);
void clab_nbp_free_stop(clab_notebook_t *nb);
int clab_nbp_free_tag(clab_notebook_t *nb, const char *tag);

/* notebook_ingest.c */
int clab_nbp_ingest_prepare(clab_notebook_t *nb);
void clab_nbp_ingest_finalize(ingest_t *in);
/* Stores one delivered result ({job, record}); 1 stored, 0 skipped. */
int clab_nbp_ingest_one(clab_notebook_t *nb, ingest_t *in, const json_t *item,
                        double now);
/* The length of s as a JSON string literal, quotes included. */
int64_t clab_nbp_json_literal_len(const char *s, size_t len);
/* Recomputes the byte counts of one set from its rows. Inside a write
 * transaction. Whatever removes rows or pending points (rather than
 * appending them) must call it, or keep the counts itself. */
int clab_nbp_recount(clab_notebook_t *nb, const char *tag);
/* Stores the cells of every successful result that has none (notebooks
 * older than schema version 5). Inside a write transaction. */
int clab_nbp_fill_cells(clab_notebook_t *nb);

/* Counts the keys of a stored document's parts (doc: metadata,
 * parameters, results) as names of its set (columns.docs, and ok_docs for
 * a success) through up, a statement of CLAB_NBP_COUNT_NAME_SQL: what
 * notebook.json renames and sizes by, and what the tables head. */
#define CLAB_NBP_COUNT_NAME_SQL                                                          \
    "INSERT INTO columns(tag, kind, name, docs, ok_docs)"                                \
    " VALUES(:tag, :kind, :name, 1, :ok) ON CONFLICT(tag, kind, name)"                   \
    " DO UPDATE SET docs = docs + 1, ok_docs = ok_docs + :ok RETURNING docs"
int clab_nbp_count_names(sqlite3 *db, sqlite3_stmt *up, const char *tag, int ok,
                         const json_t *doc);

/* notebook_reuse.c: the probe of one submit's lookups, and the fill of
 * job (pending, inside the submit's transaction) from the results of the
 * first job holding rkey. 1 filled (the job is done), 0 no match. */
int clab_nbp_reuse_prepare(sqlite3 *db, sqlite3_stmt **probe);
int clab_nbp_reuse_fill(clab_notebook_t *nb, sqlite3_stmt *probe, const char *rkey,
                        const char *job, double now);

/* notebook_read.c */
void clab_nbp_conn_close(conn_t *c);

#endif
