/* Submissions: what a write to /submit becomes in the notebook, in one
 * transaction: the set (created, or extended when the tag exists), one
 * pending job per point and repetition in a random order, the set's first
 * columns and the byte counts of its pending points; the set becomes
 * current. The link takes the pending jobs from here as tasks
 * (notebook_ingest.c). */
#include "notebook_i.h"
#include "json.h"
#include "log.h"
#include "random.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fresh_tag(char *out)
{
    char when[32], hex[9];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
    clab_random_hex(hex, 2);
    snprintf(out, CLAB_TAG_MAX + 1, "set-%s-%s", when, hex);
}

/* The statements of one submission, and the byte counts of its pending
 * points so far. */
typedef struct {
    sqlite3_stmt *set, *job, *sizes;
    int64_t pend_bytes, pend_jobs;
    char *arguments;     /* the job's arguments as JSON text; NULL when none */
    int64_t bundle;      /* the submit's files (bundles.id); 0 when none */
    json_t *jobs;        /* "answer": "jobs": the job ids by point; NULL otherwise */
    char identity[65];   /* the experiment's (notebook_reuse.c); "" none */
    sqlite3_stmt *probe; /* "reuse": the lookup; NULL otherwise */
    double now;
    int64_t reused; /* points filled by reuse */
} submit_t;

static int submit_prepare(sqlite3 *db, submit_t *s)
{
    int rc;
    if ((rc = clab_nbp_prepare(
             db,
             "INSERT INTO sets(tag, experiment, description, created, modified, "
             "n_pending)"
             " VALUES(?1, ?2, ?3, ?4, ?4, ?5) ON CONFLICT(tag) DO UPDATE SET "
             "experiment = ?2, description = coalesce(nullif(?3, ''), description), "
             "n_pending = n_pending + ?5, modified = ?4",
             &s->set)) < 0 ||
        (rc = clab_nbp_prepare(db,
                               "INSERT INTO jobs(job, tag, experiment, params, timeout,"
                               " arguments, worker, rep, reps, bundle, sha256, rkey)"
                               " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, :bundle,"
                               " nullif(:sha256, ''), nullif(:rkey, ''))",
                               &s->job)) < 0 ||
        (rc = clab_nbp_prepare(db,
                               "UPDATE sets SET pending_bytes = pending_bytes + ?1,"
                               " pending_jobs = pending_jobs + ?2 WHERE tag = ?3",
                               &s->sizes)) < 0)
        return rc;
    return 0;
}

/* Creates the set, or extends it when the tag exists. */
static int submit_set(clab_notebook_t *nb, submit_t *s, const clab_submission_t *sub,
                      const char *tag, double now)
{
    sqlite3_bind_text(s->set, 1, tag, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->set, 2, sub->experiment, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->set, 3, sub->description ? sub->description : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_double(s->set, 4, now);
    sqlite3_bind_int64(s->set, 5, (sqlite3_int64)sub->points);
    if (sqlite3_step(s->set) != SQLITE_DONE)
        return clab_nbp_sql_errno(nb->db, "set");
    return 0;
}

/* The pending job prefix-serial for point i of the space, repetition rep
 * of sub->repetitions; its id goes to jobs[rep * points + i] when asked. */
static int submit_job(clab_notebook_t *nb, submit_t *s, const clab_submission_t *sub,
                      const char *tag, const char *prefix, long serial, size_t i,
                      long rep)
{
    char jobid[64], rkey[65];
    json_t *point = clab_space_point(sub->space, i);
    char *params = point ? clab_json_dumps(point) : NULL;
    json_decref(point);
    if (!params)
        return -ENOMEM;
    /* Every job has its key, reuse or not: its results are then found by
     * the submits with "reuse" that come later. */
    clab_nb_reuse_key(s->identity, s->arguments, params, rep, sub->repetitions, rkey);
    int len = snprintf(jobid, sizeof jobid, "%s-%ld", prefix, serial);
    s->pend_bytes += (int64_t)strlen(params) + 1;
    s->pend_jobs += clab_nbp_json_literal_len(jobid, (size_t)len);
    sqlite3_bind_text(s->job, 1, jobid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->job, 2, tag, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->job, 3, sub->experiment, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->job, 4, params, -1, free);
    sqlite3_bind_double(s->job, 5, sub->timeout);
    if (s->arguments)
        sqlite3_bind_text(s->job, 6, s->arguments, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s->job, 6);
    sqlite3_bind_int(s->job, 7, (int)sub->worker);
    sqlite3_bind_int64(s->job, 8, rep);
    sqlite3_bind_int64(s->job, 9, sub->repetitions);
    if (s->bundle)
        sqlite3_bind_int64(s->job, clab_nbp_at(s->job, ":bundle"), s->bundle);
    else
        sqlite3_bind_null(s->job, clab_nbp_at(s->job, ":bundle"));
    sqlite3_bind_text(s->job, clab_nbp_at(s->job, ":sha256"), sub->sha256, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(s->job, clab_nbp_at(s->job, ":rkey"), rkey, -1, SQLITE_STATIC);
    if (sqlite3_step(s->job) != SQLITE_DONE)
        return clab_nbp_sql_errno(nb->db, "job");
    sqlite3_reset(s->job);
    /* Inserted pending first, then stored as done in the same transaction:
     * the link never sees it pending, so it is never sent. */
    int rc =
        s->probe && rkey[0] ? clab_nbp_reuse_fill(nb, s->probe, rkey, jobid, s->now) : 0;
    if (rc < 0)
        return rc;
    s->reused += rc;
    if (s->jobs &&
        json_array_set_new(s->jobs, (size_t)rep * clab_space_size(sub->space) + i,
                           json_string(jobid)))
        return -ENOMEM;
    return 0;
}

/* One pending job per point and repetition, each repetition in an order
 * of its own, so that the first results of a set sample the whole space. */
static int submit_jobs(clab_notebook_t *nb, submit_t *s, const clab_submission_t *sub,
                       const char *tag, const char *prefix)
{
    size_t npoints = clab_space_size(sub->space);
    size_t *order = malloc((npoints ? npoints : 1) * sizeof *order);
    char hex[17];
    long serial = 0;
    int rc = 0;
    if (!order)
        return -ENOMEM;
    for (long rep = 0; rep < sub->repetitions && rc == 0; rep++) {
        for (size_t i = 0; i < npoints; i++)
            order[i] = i;
        uint64_t seed;
        clab_random_hex(hex, 8);
        seed = strtoull(hex, NULL, 16);
        clab_shuffle(order, npoints, seed);
        for (size_t i = 0; i < npoints && rc == 0; i++)
            rc = submit_job(nb, s, sub, tag, prefix, ++serial, order[i], rep);
    }
    free(order);
    return rc;
}

static int submit_sizes(clab_notebook_t *nb, submit_t *s, const char *tag)
{
    sqlite3_bind_int64(s->sizes, 1, s->pend_bytes);
    sqlite3_bind_int64(s->sizes, 2, s->pend_jobs);
    sqlite3_bind_text(s->sizes, 3, tag, -1, SQLITE_STATIC);
    if (sqlite3_step(s->sizes) != SQLITE_DONE)
        return clab_nbp_sql_errno(nb->db, "set sizes");
    return 0;
}

/* The set's parameter names (every name a point of the space has) become
 * its first columns at once, so that results.csv and results.tsv have
 * their header before the first row, as epyc's notebooks know a set's
 * parameters before its results. */
static int submit_columns(clab_notebook_t *nb, const clab_submission_t *sub,
                          const char *tag)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(
        nb->db,
        "INSERT OR IGNORE INTO columns(tag, kind, name) VALUES(:tag, :kind, :name)", &st);
    if (rc)
        return rc;
    for (size_t i = 0; i < clab_space_axes(sub->space); i++) {
        sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, clab_nbp_at(st, ":kind"), CLAB_COL_PARAM);
        sqlite3_bind_text(st, clab_nbp_at(st, ":name"),
                          clab_space_axis_name(sub->space, i), -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, "column");
        sqlite3_reset(st);
        if (rc)
            break;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The submit's files: each content once in files (by its sha256), its
 * names in a bundle of its own, which every job of it names. */
static int submit_files(clab_notebook_t *nb, const clab_submission_t *sub, submit_t *s)
{
    sqlite3_stmt *file = NULL, *bundle = NULL;
    json_t *names = json_object();
    char *text = NULL;
    int rc = names ? 0 : -ENOMEM;
    rc = rc ? rc
            : clab_nbp_prepare(
                  nb->db, "INSERT OR IGNORE INTO files(hash, data) VALUES(:hash, :data)",
                  &file);
    rc = rc ? rc
            : clab_nbp_prepare(nb->db, "INSERT INTO bundles(files) VALUES(:files)",
                               &bundle);
    for (size_t i = 0; i < sub->nfiles && !rc; i++) {
        const clab_submit_file_t *f = &sub->files[i];
        sqlite3_bind_text(file, clab_nbp_at(file, ":hash"), f->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_blob(file, clab_nbp_at(file, ":data"), f->data ? f->data : "",
                          (int)f->len, SQLITE_STATIC);
        rc = sqlite3_step(file) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, "file");
        sqlite3_reset(file);
        if (!rc && json_object_set_new(names, f->name, json_string(f->sha256)))
            rc = -ENOMEM;
    }
    if (!rc && !(text = clab_json_dumps(names)))
        rc = -ENOMEM;
    if (!rc) {
        sqlite3_bind_text(bundle, clab_nbp_at(bundle, ":files"), text, -1, SQLITE_STATIC);
        rc = sqlite3_step(bundle) == SQLITE_DONE ? 0
                                                 : clab_nbp_sql_errno(nb->db, "bundle");
        s->bundle = sqlite3_last_insert_rowid(nb->db);
    }
    free(text);
    json_decref(names);
    sqlite3_finalize(file);
    sqlite3_finalize(bundle);
    return rc;
}

/* The submit's provenance, unless the set's last one says the same: a
 * set extended from the same files lists it once, one extended after the
 * experiment (or its commit) changed lists both, oldest first. */
static int submit_provenance(clab_notebook_t *nb, const clab_submission_t *sub,
                             const char *tag)
{
    sqlite3_stmt *st;
    /* Keys in their order, which is the file's (clab_json_dumps sorts). */
    char *doc = sub->provenance ? json_dumps(sub->provenance, JSON_COMPACT) : NULL;
    if (!sub->provenance)
        return 0;
    int rc =
        doc ? clab_nbp_prepare(
                  nb->db,
                  "INSERT INTO provenance(tag, doc) SELECT :tag, :doc WHERE :doc IS NOT"
                  " (SELECT doc FROM provenance WHERE tag = :tag ORDER BY id DESC"
                  " LIMIT 1)",
                  &st)
            : -ENOMEM;
    if (rc) {
        free(doc);
        return rc;
    }
    sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, clab_nbp_at(st, ":doc"), doc, -1, free);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, "provenance");
    sqlite3_finalize(st);
    return rc;
}

/* 1 when the set exists, 2 when it is locked too, 0 when not, or -errno. */
static int set_exists(sqlite3 *db, const char *tag)
{
    int rc = clab_nbp_set_locked(db, tag);
    return rc == -ENOENT ? 0 : rc < 0 ? rc : 1 + rc;
}

/* An array of n nulls, filled in by submit_job. */
static json_t *null_array(size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_null())) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* One job of a submission, inside its transaction. */
static int submit_one(clab_notebook_t *nb, const clab_submission_t *sub,
                      clab_nb_added_t *added, double now)
{
    submit_t s = {.now = now};
    char prefix[40], hex[17];
    int rc = 0;
    if (sub->tag)
        snprintf(added->tag, sizeof added->tag, "%s", sub->tag);
    else
        fresh_tag(added->tag);
    added->points = sub->points;
    if ((rc = set_exists(nb->db, added->tag)) > 0 &&
        sub->if_exists != CLAB_IF_EXISTS_ADD) {
        added->points = 0;
        rc = sub->if_exists == CLAB_IF_EXISTS_ERROR ? -EEXIST : 0;
        goto current;
    }
    /* A finished set takes nothing more (skip above still answers 0). */
    if (rc == 2) {
        rc = -EACCES;
        goto out;
    }
    clab_random_hex(hex, 8);
    snprintf(prefix, sizeof prefix, "j%s", hex);
    if (rc < 0 || (sub->arguments && !(s.arguments = clab_json_dumps(sub->arguments)))) {
        rc = rc < 0 ? rc : -ENOMEM;
        goto out;
    }
    if (sub->answer_jobs && !(s.jobs = null_array(sub->points))) {
        rc = -ENOMEM;
        goto out;
    }
    clab_nb_reuse_identity(sub, s.identity);
    if ((sub->nfiles && (rc = submit_files(nb, sub, &s)) < 0) ||
        (rc = submit_prepare(nb->db, &s)) < 0 ||
        (sub->reuse && (rc = clab_nbp_reuse_prepare(nb->db, &s.probe)) < 0) ||
        (rc = submit_set(nb, &s, sub, added->tag, now)) < 0 ||
        (rc = submit_provenance(nb, sub, added->tag)) < 0 ||
        (rc = submit_jobs(nb, &s, sub, added->tag, prefix)) < 0 ||
        (rc = submit_sizes(nb, &s, added->tag)) < 0 ||
        (rc = submit_columns(nb, sub, added->tag)) < 0)
        goto out;
current:
    rc = rc < 0 ? rc : clab_nbp_meta_set(nb->db, "current", added->tag);
out:
    sqlite3_finalize(s.set);
    sqlite3_finalize(s.job);
    sqlite3_finalize(s.sizes);
    sqlite3_finalize(s.probe);
    free(s.arguments);
    if (rc >= 0 && s.jobs)
        added->jobs = s.jobs;
    else
        json_decref(s.jobs);
    return rc;
}

int clab_notebook_submit_all(clab_notebook_t *nb, clab_submission_t *const *subs,
                             size_t n, clab_nb_added_t *added, size_t *failed)
{
    double now = clab_now();
    int rc = 0;
    pthread_mutex_lock(&nb->ctl_lock);
    /* A tag deleted a moment ago may still have rows being freed: they go
     * first, in batches, so that the new set starts empty. */
    for (size_t i = 0; i < n && rc >= 0; i++)
        if (subs[i]->tag && (rc = clab_nbp_free_tag(nb, subs[i]->tag)) < 0 && failed)
            *failed = i;
    if (rc < 0 || (rc = clab_nbp_write_begin(nb)) != 0)
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = submit_one(nb, subs[i], &added[i], now)) < 0 && failed)
            *failed = i;
    rc = clab_nbp_write_end(nb, rc);
out:
    pthread_mutex_unlock(&nb->ctl_lock);
    return rc;
}

int clab_notebook_submit(clab_notebook_t *nb, const clab_submission_t *sub,
                         char tag_out[CLAB_TAG_MAX + 1])
{
    clab_nb_added_t added = {0};
    clab_submission_t *one = (clab_submission_t *)sub;
    int rc = clab_notebook_submit_all(nb, &one, 1, &added, NULL);
    if (rc >= 0)
        snprintf(tag_out, CLAB_TAG_MAX + 1, "%s", added.tag);
    json_decref(added.jobs);
    return rc;
}
