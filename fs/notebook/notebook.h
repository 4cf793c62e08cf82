/* The lab notebook: SQLite (WAL) in the state directory holding every
 * result set, every submitted point (pending until its result arrives,
 * under a job id made here) and every result. Writers share one
 * connection; readers get a connection of their own with a snapshot that
 * lasts as long as they hold it, so one open file sees one state.
 *
 * Results of a set are only ever appended: result N is numbered when it is
 * stored, numbers grow with every commit and are never reused, so the rows
 * with N <= K are the same in every later snapshot. The views rely on it
 * to serve the tables without holding a snapshot open.
 *
 * Each set also keeps the byte counts the views need to know their sizes
 * without rendering them (see clab_set_info_t); they are maintained in the
 * same transaction as the rows they count. */
#ifndef CLAB_NOTEBOOK_H
#define CLAB_NOTEBOOK_H

#include "submit.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CLAB_TAG_MAX 128

typedef struct clab_notebook clab_notebook_t;
typedef struct clab_nb_reader clab_nb_reader_t;
typedef struct clab_nb_cursor clab_nb_cursor_t;

enum { CLAB_COL_PARAM = 0, CLAB_COL_RESULT = 1, CLAB_COL_META = 2 };

typedef struct {
    char tag[CLAB_TAG_MAX + 1];
    char *experiment;  /* malloc'd */
    char *description; /* malloc'd */
    long results;      /* successful result files */
    long failed;       /* failed result files */
    long done;         /* points finished (a point may give several results) */
    long pending;      /* points not finished */
    int64_t id;        /* the set's id: never handed out again, grows with creation */
    long last_n;       /* the largest result number so far, 0 when none */
    double created;    /* CLOCK_REALTIME seconds: the first submit, kept by later ones */
    double modified;   /* last submission to the set or result stored in it */
    /* Byte counts for sizing the views without rendering them:
     * csv_cells/tsv_cells: the CSV/TSV text of every cell of every
     * successful result, without separators; jsonl_bytes: every result
     * document plus a newline; pending_bytes: every pending point's
     * parameters plus a newline; pending_jobs: the JSON string literals of
     * the pending points' job ids. */
    int64_t csv_cells, tsv_cells, jsonl_bytes, pending_bytes, pending_jobs;
} clab_set_info_t;

/* One row of a cursor; the texts are valid until the next call. */
typedef struct {
    long key;         /* result number N, or a pending point's notebook id */
    const char *text; /* the N.json text, or a pending point's parameters */
    size_t len;
    const char *job; /* pending points: the job id */
    size_t job_len;
    double stored; /* results: when the result was stored (0: unknown) */
    /* clab_nb_table_rows: the row's cells as stored at ingest
     * (clab_table_cells, no newline) and how many columns they are; ncols
     * is -1 when none are stored (rows of older notebooks, failures). */
    int ncols;
    const char *cells;
    size_t cells_len;
} clab_nb_row_t;

int clab_notebook_open(const char *path, clab_notebook_t **out);
void clab_notebook_destroy(clab_notebook_t **nb);
/* This notebook's stable client name for the controller. */
const char *clab_notebook_client_id(const clab_notebook_t *nb);

/* Records an accepted submission in one transaction: the set (created, or
 * extended when the tag exists), one pending job per point and repetition
 * in random order, and makes the set current. tag_out gets the tag. A tag
 * that exists with if_exists skip adds nothing; with error, -EEXIST; a
 * locked (finished) one, -EACCES. */
int clab_notebook_submit(clab_notebook_t *nb, const clab_submission_t *sub,
                         char tag_out[CLAB_TAG_MAX + 1]);
/* What one job of a write did: its set and the points it added. */
typedef struct {
    char tag[CLAB_TAG_MAX + 1];
    size_t points;
    /* With "answer": "jobs", the job ids of the points added, in their
     * order, repetitions one after another (a new reference for the
     * caller); NULL otherwise. */
    json_t *jobs;
} clab_nb_added_t;
/* The n jobs of one write, each as clab_notebook_submit does, in one
 * transaction: all of them or none. added[i] for job i; on -EEXIST (or any
 * failure) *failed, when not NULL, is the index of the job that failed. */
int clab_notebook_submit_all(clab_notebook_t *nb, clab_submission_t *const *subs,
                             size_t n, clab_nb_added_t *added, size_t *failed);
/* Appends to tasks up to max pending jobs with rowid > *after, as the
 * controller wants them ({job, tag, experiment, params, timeout}, plus
 * "arguments" when the job has any, "worker": true for a plain worker job
 * and "worker": "framed" for a framed one, "files": {"NAME": "SHA256"}
 * when it has files);
 * *after advances. Returns how many. */
int clab_notebook_pending_tasks(clab_notebook_t *nb, int64_t *after, size_t max,
                                json_t *tasks);
/* The content of the job file whose sha256 is hash (the tasks name their
 * files so: "files": {"NAME": "SHA256"}), for the link to send: 0 with
 * *data malloc'd, -ENOENT when no job has it. */
int clab_notebook_file(clab_notebook_t *nb, const char *hash, char **data, size_t *len);
/* Stores results from the controller, an array of {job, record}, in one
 * transaction. A job that is not pending (already stored, or unknown) is
 * skipped, so delivering twice stores once. Returns the number stored. */
int clab_notebook_add_results(clab_notebook_t *nb, const json_t *results);
/* Makes tag the current set: -ENOENT when there is no such set. */
int clab_notebook_select(clab_notebook_t *nb, const char *tag);
/* /ctl cancel: every pending point of tag becomes a failed result, the
 * record epyc's cancelPendingResult writes (clab_record_cancelled). Returns how many, or
 * -ENOENT for no such set. Commits a page of points at a time, results of other jobs
 * being stored in between; submits, retry and delete wait for the whole cancel. */
/* *upto (when not NULL) gets the notebook id of the newest job there was
 * when the cancel began: what the controller must cancel of the set, and
 * no job submitted after (a submit waits for the cancel, and ids only
 * grow), whatever order the cancel and that submit reach it in. */
int clab_notebook_cancel(clab_notebook_t *nb, const char *tag, int64_t *upto);
/* The most jobs one /ctl cancel may name. */
#define CLAB_NB_CANCEL_JOBS_MAX 512
/* /ctl cancel TAG JOB...: the named pending points of tag are cancelled as
 * clab_notebook_cancel cancels them (epyc's cancelPendingResult), in one
 * transaction; points named that finished already are left as they are.
 * Returns how many were cancelled and appends their job ids to cancelled;
 * -ENOENT when there is no such set (*bad SIZE_MAX) or jobs[*bad] is no
 * job of it (then nothing is cancelled); -E2BIG for more than
 * CLAB_NB_CANCEL_JOBS_MAX names. *upto as clab_notebook_cancel's. */
int clab_notebook_cancel_jobs(clab_notebook_t *nb, const char *tag,
                              const char *const *jobs, size_t n, int64_t *upto,
                              size_t *bad, json_t *cancelled);
/* /ctl retry: each failure of tag not retried yet gets a new pending job
 * with the same parameters and repetition (the failed file stays, as the
 * record of that attempt). Returns how many; -EACCES when tag is locked. */
int clab_notebook_retry(clab_notebook_t *nb, const char *tag);
/* /ctl recompute: each point of tag filled by reuse (clab.reused_from)
 * and not recomputed yet gets a new pending job with the same parameters
 * (the reused file stays). Returns how many; -EACCES when tag is locked. */
int clab_notebook_recompute(clab_notebook_t *nb, const char *tag);

/* Reuse (notebook_reuse.c). The experiment identity of sub into out (65
 * bytes): the sha256 of the experiment file, and with a module known to
 * its provenance (clab-python's module or pickle) or files shipped with
 * the job, one sha256 over the file's, the module's and the files' (names
 * and contents' sha256).
 * 1, or 0 and "" when it has none (unreadable file; clab-python whose
 * module was not found): such points match nothing. */
int clab_nb_reuse_identity(const clab_submission_t *sub, char out[65]);
/* A point's reuse key into out (65 bytes): one sha256 over the identity,
 * the arguments and the parameters as canonical JSON texts (keys sorted,
 * compact: clab_json_dumps; NULL arguments are "null"), and rep/reps when
 * reps > 1. 1, or 0 and "" without an identity. */
int clab_nb_reuse_key(const char *identity, const char *arguments, const char *params,
                      long rep, long reps, char out[65]);
/* /ctl describe: the set's description becomes text. -ENOENT for no such
 * set. */
int clab_notebook_describe(clab_notebook_t *nb, const char *tag, const char *text);
/* /ctl finish: locks the set (epyc's finish()) and cancels its pending
 * points as clab_notebook_cancel does (the lock commits with the first
 * page, and no submit runs before the last); a locked set
 * refuses submits and retry with -EACCES. Returns how many were
 * cancelled, or -ENOENT. Finishing a locked set again cancels nothing. */
int clab_notebook_finish(clab_notebook_t *nb, const char *tag, int64_t *upto);
/* In the reader's snapshot: 1 when tag is locked, 0 when not (or there is
 * no such set), or -errno. */
int clab_nb_set_locked(clab_nb_reader_t *r, const char *tag);
/* /ctl delete: the set and all it holds are gone; the newest remaining set
 * becomes current if it was. Cancel it at the controller, up to *upto
 * (as clab_notebook_cancel's). The set vanishes in one short transaction;
 * its rows are freed afterwards, a batch at a time, by the notebook's own
 * thread (clab_notebook_free_step), and its tag may be submitted again at
 * once. */
int clab_notebook_delete(clab_notebook_t *nb, const char *tag, int64_t *upto);
/* One step of the background freeing: a batch of a deleted set's rows, or
 * once none is left, a batch of free pages given back to the file system.
 * 1 when it did something (call again), 0 when there is nothing left to
 * free, or -errno. The notebook's thread calls it; tests call it to
 * finish the freeing themselves. */
int clab_notebook_free_step(clab_notebook_t *nb);

/* Called by the ingest, inside its transaction, when a result gives set
 * tag a column it had not (the header of its tables changes): fn must only
 * take note. NULL: nobody is told. */
void clab_notebook_on_new_column(clab_notebook_t *nb,
                                 void (*fn)(void *ud, const char *tag), void *ud);

/* Change notification: a counter bumped after every commit. Waits until
 * the counter differs from seen or timeout_ms pass, and returns it. */
uint64_t clab_notebook_generation(clab_notebook_t *nb);
uint64_t clab_notebook_wait_change(clab_notebook_t *nb, uint64_t seen, int timeout_ms);

/* Reading. A reader's snapshot is the one of its first query (its read
 * transaction starts there) and lasts until it is closed. */
int clab_nb_reader_open(clab_notebook_t *nb, clab_nb_reader_t **out);
void clab_nb_reader_close(clab_nb_reader_t **r);
/* The current set's tag: 0, or -ENOENT when nothing was submitted yet. */
int clab_nb_current(clab_nb_reader_t *r, char tag[CLAB_TAG_MAX + 1]);
int clab_nb_set_info(clab_nb_reader_t *r, const char *tag, clab_set_info_t *info);
/* Calls fn with each provenance document (JSON text) of tag's submits,
 * oldest first, until it returns non-zero (returned). 0 or -errno. */
int clab_nb_provenance(clab_nb_reader_t *r, const char *tag,
                       int (*fn)(void *ud, const char *doc, size_t len), void *ud);
/* The same for the set whose id is id (its tag in info->tag): -ENOENT when
 * there is none, as after the set was deleted, even if its tag was
 * submitted again since (ids are never reused). */
int clab_nb_set_by_id(clab_nb_reader_t *r, int64_t id, clab_set_info_t *info);
/* The set's points finished per second over the last minute, at now, from
 * the counts this mount stored (rate.h): no query. */
double clab_nb_rate(clab_nb_reader_t *r, const clab_set_info_t *info, double now);
void clab_set_info_clear(clab_set_info_t *info);
/* Calls fn for each set with an id > after, in id order; stops
 * early when fn returns non-zero and returns that. */
int clab_nb_sets(clab_nb_reader_t *r, int64_t after,
                 int (*fn)(void *ud, int64_t id, const char *tag), void *ud);
/* The N.json text of result n of tag (ok 1) or of failed/ (ok 0). */
int clab_nb_result(clab_nb_reader_t *r, const char *tag, long n, int ok, char **doc,
                   size_t *len);
/* The length of that text and when it was stored (0 when unknown); -ENOENT
 * when there is no such result. */
int clab_nb_result_stat(clab_nb_reader_t *r, const char *tag, long n, int ok, size_t *len,
                        double *stored);
/* Every name a part (kind) of the set's records has, or a pending point's
 * parameters: a new object, name -> [documents that have it, successful
 * ones among them] (0 and 0 for a name only pending points have). */
int clab_nb_names(clab_nb_reader_t *r, const char *tag, int kind, json_t **names);
/* The tables' column names of a kind, sorted, as a new JSON array of
 * strings: parameters of every record and pending point, results and
 * metadata of successful records. */
int clab_nb_columns(clab_nb_reader_t *r, const char *tag, int kind, json_t **names);
/* Results of tag with after < n <= upto (upto < 0: no bound) in completion
 * order: ok 1 successes, 0 failures, -1 all. */
int clab_nb_results(clab_nb_reader_t *r, const char *tag, int ok, long after, long upto,
                    clab_nb_cursor_t **out);
/* The results of tag (ok 1 or 0) with N > after, in order of N, without
 * their text: each row's len is its N.json's length (no newline), read
 * from the listing index alone. */
int clab_nb_sizes(clab_nb_reader_t *r, const char *tag, int ok, long after,
                  clab_nb_cursor_t **out);
/* The successful results of tag with after < N <= upto (upto < 0: all), in
 * order of N, with their stored cells for fmt (a clab_table_format_t). */
int clab_nb_table_rows(clab_nb_reader_t *r, const char *tag, int fmt, long after,
                       long upto, clab_nb_cursor_t **out);
/* Pending points of tag with a notebook id > after, in id order. */
int clab_nb_pending(clab_nb_reader_t *r, const char *tag, long after,
                    clab_nb_cursor_t **out);
/* 1 with the row, 0 at the end, -errno. */
int clab_nb_cursor_next(clab_nb_cursor_t *c, clab_nb_row_t *row);
void clab_nb_cursor_close(clab_nb_cursor_t **c);

#endif
