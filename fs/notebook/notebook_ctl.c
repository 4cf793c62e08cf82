/* /ctl commands on a whole set: select makes it current, cancel fails
 * its pending points, retry re-queues its failures, describe sets its
 * description, finish locks it (and cancels), delete removes it.
 * Each keeps the set's counts and byte counts right by going through
 * ingest or by counting what it adds. Each is one write transaction but
 * cancel (and finish), which commit a page of points at a time. */
#include "notebook_i.h"
#include "json.h"
#include "log.h"
#include "random.h"
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int clab_notebook_select(clab_notebook_t *nb, const char *tag)
{
    sqlite3_stmt *st = NULL;
    int rc = clab_nbp_write_begin(nb);
    if (rc)
        return rc;
    if ((rc = clab_nbp_prepare(nb->db, "SELECT 1 FROM sets WHERE tag = ?1", &st)) < 0)
        goto out;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_ROW ? clab_nbp_meta_set(nb->db, "current", tag)
                                        : -ENOENT;
out:
    sqlite3_finalize(st);
    return clab_nbp_write_end(nb, rc);
}

static int set_exists(clab_notebook_t *nb, const char *tag)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(nb->db, "SELECT 1 FROM sets WHERE tag = ?1", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW    ? 0
           : rc == SQLITE_DONE ? -ENOENT
                               : clab_nbp_sql_errno(nb->db, "set");
}

int clab_nb_set_locked(clab_nb_reader_t *r, const char *tag)
{
    int rc = clab_nbp_set_locked(r->db, tag);
    return rc == -ENOENT ? 0 : rc;
}

/* One statement on the set tag (?1), with text as ?2 and now as ?3; the
 * set must exist. */
static int set_update(clab_notebook_t *nb, const char *tag, const char *sql,
                      const char *text)
{
    sqlite3_stmt *st;
    int rc = set_exists(nb, tag);
    if (rc < 0 || (rc = clab_nbp_prepare(nb->db, sql, &st)) < 0)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, clab_now());
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, sql);
    sqlite3_finalize(st);
    return rc;
}

/* Pending jobs read per page: the writer holds a page's ids, never the
 * whole set's (10^6 points must not mean 10^6 records in memory). */
#define CANCEL_PAGE 512
_Static_assert(CLAB_NB_CANCEL_JOBS_MAX <= CANCEL_PAGE,
               "a cancel of named jobs is one page");

/* One page of a cancel: the ids and job ids of up to CANCEL_PAGE pending
 * jobs after *after. */
typedef struct {
    int64_t id[CANCEL_PAGE];
    char *job[CANCEL_PAGE];
    int n;
} cancel_page_t;

static void page_clear(cancel_page_t *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->job[i]);
    p->n = 0;
}

static int page_read(clab_notebook_t *nb, sqlite3_stmt *st, int64_t after,
                     cancel_page_t *p)
{
    int rc = SQLITE_DONE;
    sqlite3_bind_int64(st, 2, after);
    while (p->n < CANCEL_PAGE && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        p->id[p->n] = sqlite3_column_int64(st, 0);
        p->job[p->n] = strdup((const char *)sqlite3_column_text(st, 1));
        if (!p->job[p->n++]) {
            sqlite3_reset(st);
            return -ENOMEM;
        }
    }
    sqlite3_reset(st);
    return p->n == CANCEL_PAGE || rc == SQLITE_DONE
               ? p->n
               : clab_nbp_sql_errno(nb->db, "cancel");
}

/* Stores the page's failures through one record whose job changes from
 * point to point: every failure of a cancel has the same time. */
static int page_ingest(clab_notebook_t *nb, cancel_page_t *p, json_t *item, double now)
{
    json_t *md = json_object_get(json_object_get(item, "record"), "metadata");
    int rc = 0, n = 0;
    for (int i = 0; i < p->n && rc >= 0; i++) {
        if (json_object_set_new(item, "job", json_string(p->job[i])) ||
            json_object_set_new(md, "clab.job", json_string(p->job[i])))
            return -ENOMEM;
        if ((rc = clab_nbp_ingest_one(nb, &nb->in, item, now)) > 0)
            n += rc;
    }
    return rc < 0 ? rc : n;
}

/* The delivered item a cancel stores for each of its points: the record
 * epyc's cancelPendingResult writes, its traceback naming the command;
 * page_ingest sets its job. NULL when out of memory. */
static json_t *cancel_item(const char *command)
{
    clab_record_info_t who = {.job = ""};
    json_t *item = json_pack("{s:s, s:o*}", "job", "", "record",
                             clab_record_cancelled(&who, command));
    if (item && !json_object_get(item, "record")) {
        json_decref(item);
        item = NULL;
    }
    return item;
}

/* Records every pending job of tag as cancelled (the record epyc's
 * cancelPendingResult writes), through the same path as a delivered
 * failure, so that every count and size stays
 * right; a late result from an engine then finds the job done.
 * Each page is its own transaction: between two, results are stored and
 * the controller's link is served (one transaction over 10^6 points held
 * the writer for a minute, past the link's 5 s silence limit). The caller
 * holds ctl_lock, so no point joins the set meanwhile. A cancel cut short
 * (a crash, a full disk) leaves the rest pending; writing it again
 * cancels them. lock: finish's lock commits with the first page. */
static int cancel_pending(clab_notebook_t *nb, const char *tag, int lock)
{
    sqlite3_stmt *st = NULL;
    cancel_page_t *p = calloc(1, sizeof *p);
    json_t *item =
        cancel_item(lock ? "cancelled by /ctl finish" : "cancelled by /ctl cancel");
    int rc = -ENOMEM, n = 0, got = CANCEL_PAGE;
    int64_t after = 0;
    double now = clab_now();
    if (!p || !item)
        goto out;
    while (got == CANCEL_PAGE) {
        if ((rc = clab_nbp_write_begin(nb)) < 0)
            break;
        if (!st) {
            rc = lock ? set_update(
                            nb, tag,
                            "UPDATE sets SET locked = 1, modified = ?3 WHERE tag = ?1",
                            NULL)
                      : set_exists(nb, tag);
            if (rc >= 0 &&
                (rc = clab_nbp_prepare(
                     nb->db,
                     "SELECT id, job FROM jobs WHERE tag = ?1"
                     " AND state = " CLAB_NB_JOB_PENDING_SQL
                     " AND id > ?2 ORDER BY id LIMIT " CLAB_NB_STR(CANCEL_PAGE),
                     &st)) >= 0)
                sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
        }
        if (rc >= 0 && (rc = got = page_read(nb, st, after, p)) > 0) {
            after = p->id[p->n - 1];
            rc = page_ingest(nb, p, item, now);
        }
        page_clear(p);
        if ((rc = clab_nbp_write_end(nb, rc)) < 0)
            break;
        n += rc;
        clab_nbp_make_way(nb); /* the link's results, before the next page */
    }
out:
    sqlite3_finalize(st);
    free(p);
    json_decref(item);
    return rc < 0 ? rc : n;
}

/* The id of the newest job ever made (ids only grow: AUTOINCREMENT), or
 * -errno. Under ctl_lock, no job is being added meanwhile; the writer's
 * connection is the link's too, hence its lock. */
static int64_t newest_job(clab_notebook_t *nb)
{
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    clab_nbp_lock(nb);
    int rc = clab_nbp_prepare(nb->db,
                              "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'", &st);
    if (rc == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            id = sqlite3_column_int64(st, 0);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
                                                   : clab_nbp_sql_errno(nb->db, "jobs");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&nb->lock);
    return rc < 0 ? rc : id;
}

/* Under ctl_lock: the newest job id into *upto (when asked for), then the
 * command. */
static int with_upto(clab_notebook_t *nb, const char *tag, int64_t *upto, int lock,
                     int (*run)(clab_notebook_t *nb, const char *tag, int lock))
{
    pthread_mutex_lock(&nb->ctl_lock);
    int64_t newest = upto ? newest_job(nb) : 0;
    int rc = newest < 0 ? (int)newest : run(nb, tag, lock);
    if (upto)
        *upto = newest;
    pthread_mutex_unlock(&nb->ctl_lock);
    return rc;
}

int clab_notebook_cancel(clab_notebook_t *nb, const char *tag, int64_t *upto)
{
    return with_upto(nb, tag, upto, 0, cancel_pending);
}

/* The pending ones of the jobs listed (each a job of the set, or -ENOENT
 * with *bad its index) into p, each once; the caller's transaction. */
static int listed_pending(clab_notebook_t *nb, const char *tag, const char *const *jobs,
                          size_t n, cancel_page_t *p, size_t *bad)
{
    sqlite3_stmt *st = NULL;
    int rc = clab_nbp_prepare(
        nb->db, "SELECT id, state FROM jobs WHERE job = :job AND tag = :tag", &st);
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_text(st, clab_nbp_at(st, ":job"), jobs[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
        int step = sqlite3_step(st), seen = 0;
        if (step == SQLITE_ROW && sqlite3_column_int(st, 1) == CLAB_NB_JOB_PENDING) {
            for (int k = 0; k < p->n; k++)
                seen |= p->id[k] == sqlite3_column_int64(st, 0);
            if (!seen) {
                p->id[p->n] = sqlite3_column_int64(st, 0);
                rc = (p->job[p->n++] = strdup(jobs[i])) ? 0 : -ENOMEM;
            }
        } else if (step == SQLITE_DONE) {
            *bad = i;
            rc = -ENOENT;
        } else if (step != SQLITE_ROW) {
            rc = clab_nbp_sql_errno(nb->db, "cancel jobs");
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

/* One transaction: ctl_lock is held, and at most CANCEL_PAGE jobs are
 * named. */
static int cancel_listed(clab_notebook_t *nb, const char *tag, const char *const *jobs,
                         size_t n, size_t *bad, json_t *cancelled)
{
    cancel_page_t *p = calloc(1, sizeof *p);
    json_t *item = cancel_item("cancelled by /ctl cancel");
    int rc = n > CLAB_NB_CANCEL_JOBS_MAX ? -E2BIG : !p || !item ? -ENOMEM : 0;
    if (rc < 0 || (rc = clab_nbp_write_begin(nb)) < 0)
        goto out;
    if ((rc = set_exists(nb, tag)) == -ENOENT)
        *bad = SIZE_MAX;
    if (rc == 0)
        rc = listed_pending(nb, tag, jobs, n, p, bad);
    if (rc == 0)
        rc = page_ingest(nb, p, item, clab_now());
    for (int i = 0; rc >= 0 && i < p->n; i++)
        json_array_append_new(cancelled, json_string(p->job[i]));
    rc = clab_nbp_write_end(nb, rc);
out:
    if (p)
        page_clear(p);
    free(p);
    json_decref(item);
    return rc;
}

int clab_notebook_cancel_jobs(clab_notebook_t *nb, const char *tag,
                              const char *const *jobs, size_t n, int64_t *upto,
                              size_t *bad, json_t *cancelled)
{
    pthread_mutex_lock(&nb->ctl_lock);
    int64_t newest = upto ? newest_job(nb) : 0;
    int rc = newest < 0 ? (int)newest : cancel_listed(nb, tag, jobs, n, bad, cancelled);
    if (upto)
        *upto = newest;
    pthread_mutex_unlock(&nb->ctl_lock);
    return rc;
}

int clab_notebook_describe(clab_notebook_t *nb, const char *tag, const char *text)
{
    int rc = clab_nbp_write_begin(nb);
    if (rc)
        return rc;
    rc = set_update(
        nb, tag, "UPDATE sets SET description = ?2, modified = ?3 WHERE tag = ?1", text);
    return clab_nbp_write_end(nb, rc);
}

/* The lock commits with the first page of the cancel, and ctl_lock keeps
 * submits out until the last: no point slips in between. */
int clab_notebook_finish(clab_notebook_t *nb, const char *tag, int64_t *upto)
{
    return with_upto(nb, tag, upto, 1, cancel_pending);
}

/* The statements of one retry, and what it has added so far. */
typedef struct {
    const char *which; /* the SELECT of the results whose jobs run again */
    sqlite3_stmt *failed, *job, *old, *sizes;
    char hex[17];
    long serial;
    int64_t pend_bytes, pend_jobs;
} retry_t;

static int retry_prepare(sqlite3 *db, retry_t *t)
{
    int rc;
    if ((rc = clab_nbp_prepare(db, t->which, &t->failed)) < 0 ||
        (rc = clab_nbp_prepare(db,
                               "INSERT INTO jobs(job, tag, experiment, params, timeout,"
                               " arguments, worker, rep, reps, bundle, sha256)"
                               " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                               &t->job)) < 0 ||
        (rc = clab_nbp_prepare(
             db, "UPDATE jobs SET state = " CLAB_NB_JOB_RETRIED_SQL " WHERE job = ?1",
             &t->old)) < 0 ||
        (rc = clab_nbp_prepare(
             db,
             "UPDATE sets SET n_pending = n_pending + ?1,"
             " pending_bytes = pending_bytes + ?2,"
             " pending_jobs = pending_jobs + ?3, modified = ?4 WHERE tag = ?5",
             &t->sizes)) < 0)
        return rc;
    return 0;
}

/* A new pending job with the parameters of the failure t->failed is on,
 * whose own job becomes retried so that it is not re-queued again. */
static int retry_one(clab_notebook_t *nb, retry_t *t, const char *tag)
{
    char jobid[64];
    json_t *doc =
        clab_json_loads((const char *)sqlite3_column_text(t->failed, 1), 0, NULL);
    char *params = doc ? clab_json_dumps(json_object_get(doc, "parameters")) : NULL;
    json_decref(doc);
    if (!params)
        return -ENOMEM;
    int len = snprintf(jobid, sizeof jobid, "r%s-%ld", t->hex, ++t->serial);
    t->pend_bytes += (int64_t)strlen(params) + 1;
    t->pend_jobs += clab_nbp_json_literal_len(jobid, (size_t)len);
    sqlite3_bind_text(t->job, 1, jobid, -1, SQLITE_STATIC);
    sqlite3_bind_text(t->job, 2, tag, -1, SQLITE_STATIC);
    sqlite3_bind_value(t->job, 3, sqlite3_column_value(t->failed, 2));
    sqlite3_bind_text(t->job, 4, params, -1, free);
    sqlite3_bind_value(t->job, 5, sqlite3_column_value(t->failed, 3));
    sqlite3_bind_value(t->job, 6, sqlite3_column_value(t->failed, 4));
    sqlite3_bind_value(t->job, 7, sqlite3_column_value(t->failed, 5));
    sqlite3_bind_value(t->job, 8, sqlite3_column_value(t->failed, 6));
    sqlite3_bind_value(t->job, 9, sqlite3_column_value(t->failed, 7));
    sqlite3_bind_value(t->job, 10, sqlite3_column_value(t->failed, 8));
    /* The submit's identity: a retry is not hashed again (README). */
    sqlite3_bind_value(t->job, 11, sqlite3_column_value(t->failed, 9));
    /* No reuse key (rkey NULL): the file is not hashed again, and one
     * edited since the submit would have its results found under the old
     * identity. */
    sqlite3_bind_value(t->old, 1, sqlite3_column_value(t->failed, 0));
    if (sqlite3_step(t->job) != SQLITE_DONE || sqlite3_step(t->old) != SQLITE_DONE)
        return clab_nbp_sql_errno(nb->db, "retry");
    sqlite3_reset(t->job);
    sqlite3_reset(t->old);
    return 0;
}

/* Failures whose job is done and has not been retried yet. */
#define RETRY_SELECT(cond, group)                                                        \
    "SELECT r.job, r.doc, j.experiment, j.timeout, j.arguments, j.worker,"               \
    " j.rep, j.reps, j.bundle, j.sha256"                                                 \
    " FROM results r"                                                                    \
    " JOIN jobs j ON j.job = r.job"                                                      \
    " WHERE r.tag = ?1 AND " cond " AND j.state = " CLAB_NB_JOB_DONE_SQL group           \
    " ORDER BY min(r.n)"

static int retry_failed(clab_notebook_t *nb, const char *tag, const char *which)
{
    retry_t t = {.which = which};
    int rc = clab_nbp_write_begin(nb);
    if (rc)
        return rc;
    if ((rc = clab_nbp_set_locked(nb->db, tag)) != 0) {
        rc = rc > 0 ? -EACCES : rc;
        goto out;
    }
    clab_random_hex(t.hex, 8);
    if ((rc = retry_prepare(nb->db, &t)) < 0)
        goto out;
    sqlite3_bind_text(t.failed, 1, tag, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(t.failed)) == SQLITE_ROW)
        if ((rc = retry_one(nb, &t, tag)) < 0)
            goto out;
    if (rc != SQLITE_DONE) {
        rc = clab_nbp_sql_errno(nb->db, "retry");
        goto out;
    }
    sqlite3_bind_int64(t.sizes, 1, t.serial);
    sqlite3_bind_int64(t.sizes, 2, t.pend_bytes);
    sqlite3_bind_int64(t.sizes, 3, t.pend_jobs);
    sqlite3_bind_double(t.sizes, 4, clab_now());
    sqlite3_bind_text(t.sizes, 5, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(t.sizes) == SQLITE_DONE ? (int)t.serial
                                              : clab_nbp_sql_errno(nb->db, "retry");
out:
    sqlite3_finalize(t.failed);
    sqlite3_finalize(t.job);
    sqlite3_finalize(t.old);
    sqlite3_finalize(t.sizes);
    return clab_nbp_write_end(nb, rc);
}

/* The set vanishes at once: it moves into doomed, and its rows (results,
 * jobs, names, files) are freed afterwards by the notebook's thread
 * (notebook_free.c), so a delete of 10^6 points is one short transaction
 * and leaves no 10^6-row WAL behind. */
static int delete_set(clab_notebook_t *nb, const char *tag, int lock)
{
    (void)lock;
    static const char *const sql[] = {
        "INSERT INTO doomed(id, tag) SELECT id, tag FROM sets WHERE tag = ?1",
        "DELETE FROM provenance WHERE tag = ?1",
        "DELETE FROM sets WHERE tag = ?1",
        "DELETE FROM meta WHERE key = 'current' AND value = ?1",
    };
    int rc = clab_nbp_write_begin(nb);
    if (rc)
        return rc;
    if ((rc = set_exists(nb, tag)) < 0)
        goto out;
    for (size_t i = 0; i < sizeof sql / sizeof sql[0] && rc >= 0; i++) {
        sqlite3_stmt *st;
        if ((rc = clab_nbp_prepare(nb->db, sql[i], &st)) < 0)
            break;
        sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, "delete");
        sqlite3_finalize(st);
    }
    /* The newest remaining set becomes current, as if submitted last. */
    char current[CLAB_TAG_MAX + 1];
    if (rc >= 0 &&
        clab_nbp_meta_get(nb->db, "current", current, sizeof current) == -ENOENT)
        rc = sqlite3_exec(nb->db,
                          "INSERT INTO meta(key, value) SELECT 'current', tag FROM sets"
                          " ORDER BY modified DESC LIMIT 1",
                          NULL, NULL, NULL) == SQLITE_OK
                 ? 0
                 : clab_nbp_sql_errno(nb->db, "delete");
out:
    rc = clab_nbp_write_end(nb, rc);
    if (rc >= 0)
        clab_nbp_free_kick(nb);
    return rc;
}

/* Under ctl_lock: neither may run between two pages of a cancel. */
int clab_notebook_retry(clab_notebook_t *nb, const char *tag)
{
    /* One row per failure (tag and n name it). */
    static const char which[] = RETRY_SELECT("r.ok = 0", " GROUP BY r.n");
    pthread_mutex_lock(&nb->ctl_lock);
    int rc = retry_failed(nb, tag, which);
    pthread_mutex_unlock(&nb->ctl_lock);
    return rc;
}

/* A retry of the points filled by reuse: their jobs become retried (not
 * recomputed twice) and their files stay, as a retry's failures do. One
 * job per point, however many results it reused. */
int clab_notebook_recompute(clab_notebook_t *nb, const char *tag)
{
    static const char which[] = RETRY_SELECT(
        "r.ok = 1 AND json_extract(r.doc, '$.metadata.\"clab.reused_from\"') IS NOT NULL",
        " GROUP BY r.job");
    pthread_mutex_lock(&nb->ctl_lock);
    int rc = retry_failed(nb, tag, which);
    pthread_mutex_unlock(&nb->ctl_lock);
    return rc;
}

int clab_notebook_delete(clab_notebook_t *nb, const char *tag, int64_t *upto)
{
    return with_upto(nb, tag, upto, 0, delete_set);
}
