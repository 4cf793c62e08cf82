/* Ingest: what comes into the notebook from the cluster. The controller
 * takes pending jobs (made by notebook_submit.c) as tasks and gives back
 * results, which are numbered, rendered once as N.json documents and
 * counted. The byte counts the views are sized by (see
 * clab_set_info_t) are kept here, in the same transaction as the rows. */
#include "notebook_i.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The failure of a point whose epyc records are not results dicts. */
#define MALFORMED_RECORDS "the record's epyc records are malformed"

/* The length of s as a JSON string literal, quotes included. */
int64_t clab_nbp_json_literal_len(const char *s, size_t len)
{
    clab_buf_t b = {0};
    int64_t n = clab_json_dump_string(&b, s, len) == 0 ? (int64_t)b.len : 0;
    clab_buf_free(&b);
    return n;
}

/* A successful result's row in both formats (clab_table_cells). */
static int render_cells(json_t *params, json_t *results, json_t *meta,
                        clab_nbp_cells_t *c)
{
    json_t *parts[3] = {params, results, meta};
    int nt = 0;
    c->csv.len = c->tsv.len = 0;
    int rc = clab_table_cells(&c->csv, parts, CLAB_TABLE_CSV, &c->ncols);
    return rc ? rc : clab_table_cells(&c->tsv, parts, CLAB_TABLE_TSV, &nt);
}

/* The cells of a stored successful result, from its N.json text. */
static int doc_cells(const char *text, size_t len, clab_nbp_cells_t *c)
{
    json_t *doc = clab_json_loadb(text, len, 0, NULL);
    int rc = doc ? render_cells(json_object_get(doc, "parameters"),
                                json_object_get(doc, "results"),
                                json_object_get(doc, "metadata"), c)
                 : -EIO;
    json_decref(doc);
    return rc;
}

/* What the cells add to the set's csv_cells and tsv_cells: their text
 * without the separators. */
static int64_t cells_bytes(const clab_buf_t *b, int ncols)
{
    return (int64_t)b->len - (ncols > 0 ? ncols - 1 : 0);
}

/* Binds the cells as :ncols, :csv and :tsv of st; tsv NULL when it is
 * the same text as csv (most rows: nothing to quote, nothing to blank). */
static void bind_cells(sqlite3_stmt *st, const clab_nbp_cells_t *c)
{
    sqlite3_bind_int(st, clab_nbp_at(st, ":ncols"), c->ncols);
    sqlite3_bind_text(st, clab_nbp_at(st, ":csv"), c->csv.data ? c->csv.data : "",
                      (int)c->csv.len, SQLITE_STATIC);
    if (c->tsv.len == c->csv.len &&
        (c->csv.len == 0 || memcmp(c->tsv.data, c->csv.data, c->csv.len) == 0))
        sqlite3_bind_null(st, clab_nbp_at(st, ":tsv"));
    else
        sqlite3_bind_text(st, clab_nbp_at(st, ":tsv"), c->tsv.data, (int)c->tsv.len,
                          SQLITE_STATIC);
}

int clab_nbp_fill_cells(clab_notebook_t *nb)
{
    sqlite3_stmt *st = NULL, *up = NULL;
    clab_nbp_cells_t c = {0};
    int rc = clab_nbp_prepare(nb->db,
                              "SELECT tag, n, doc FROM results"
                              " WHERE ok = 1 AND ncols IS NULL",
                              &st);
    rc = rc ? rc
            : clab_nbp_prepare(nb->db,
                               "UPDATE results SET ncols = :ncols, csv = :csv,"
                               " tsv = :tsv WHERE tag = :tag AND n = :n",
                               &up);
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = doc_cells((const char *)sqlite3_column_text(st, 2),
                            (size_t)sqlite3_column_bytes(st, 2), &c)) < 0)
            break;
        sqlite3_bind_value(up, clab_nbp_at(up, ":tag"), sqlite3_column_value(st, 0));
        sqlite3_bind_int64(up, clab_nbp_at(up, ":n"), sqlite3_column_int64(st, 1));
        bind_cells(up, &c);
        rc = sqlite3_step(up) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, "cells");
        sqlite3_reset(up);
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = clab_nbp_sql_errno(nb->db, "fill cells");
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    clab_buf_free(&c.csv);
    clab_buf_free(&c.tsv);
    return rc;
}

/* Recomputes the byte counts of one set from its rows. Inside a write
 * transaction. Whatever removes rows or pending points (rather than
 * appending them) must call it, or keep the counts itself. */
int clab_nbp_recount(clab_notebook_t *nb, const char *tag)
{
    sqlite3_stmt *st = NULL;
    int64_t csv = 0, tsv = 0, jsonl = 0, pend = 0, jobs = 0;
    clab_nbp_cells_t c = {0};
    int crc = 0,
        rc =
            clab_nbp_prepare(nb->db, "SELECT ok, doc FROM results WHERE tag = :tag", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        jsonl += (int64_t)len + 1;
        if (!sqlite3_column_int(st, 0))
            continue;
        if ((crc = doc_cells((const char *)sqlite3_column_text(st, 1), len, &c)) < 0)
            break;
        csv += cells_bytes(&c.csv, c.ncols);
        tsv += cells_bytes(&c.tsv, c.ncols);
    }
    sqlite3_finalize(st);
    clab_buf_free(&c.csv);
    clab_buf_free(&c.tsv);
    if (crc < 0)
        return crc;
    if (rc != SQLITE_DONE)
        return clab_nbp_sql_errno(nb->db, "recount results");
    if ((rc = clab_nbp_prepare(nb->db,
                               "SELECT job, params FROM jobs"
                               " WHERE tag = :tag AND state = " CLAB_NB_JOB_PENDING_SQL,
                               &st)) < 0)
        return rc;
    sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        jobs += clab_nbp_json_literal_len((const char *)sqlite3_column_text(st, 0),
                                          (size_t)sqlite3_column_bytes(st, 0));
        pend += sqlite3_column_bytes(st, 1) + 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return clab_nbp_sql_errno(nb->db, "recount jobs");
    if ((rc = clab_nbp_prepare(
             nb->db,
             "UPDATE sets SET csv_cells = :csv, tsv_cells = :tsv, jsonl_bytes = :jsonl,"
             " pending_bytes = :pending_bytes, pending_jobs = :pending_jobs"
             " WHERE tag = :tag",
             &st)) < 0)
        return rc;
    sqlite3_bind_int64(st, clab_nbp_at(st, ":csv"), csv);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":tsv"), tsv);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":jsonl"), jsonl);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":pending_bytes"), pend);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":pending_jobs"), jobs);
    sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, "recount");
    sqlite3_finalize(st);
    return rc;
}

/* The task of the row st is on: {job, tag, experiment, params, timeout},
 * plus arguments when there are any, worker only for a worker job (true,
 * or "framed"), so that a one-shot job's task is what it was before worker
 * mode, and files ({"NAME": "SHA256"}) for a job that has them. */
static json_t *task_of(sqlite3_stmt *st)
{
    json_t *params = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
    json_t *t = json_pack(
        "{s:s, s:s, s:s, s:o, s:f}", "job", sqlite3_column_text(st, 1), "tag",
        sqlite3_column_text(st, 2), "experiment", sqlite3_column_text(st, 3), "params",
        params ? params : json_object(), "timeout", sqlite3_column_double(st, 5));
    const char *args = (const char *)sqlite3_column_text(st, 6);
    json_t *a = args ? json_loads(args, 0, NULL) : NULL;
    if (t && json_array_size(a) > 0)
        json_object_set(t, "arguments", a);
    json_decref(a);
    int worker = sqlite3_column_int(st, 7);
    if (t && worker == CLAB_WORKER_FRAMED)
        json_object_set_new(t, "worker", json_string("framed"));
    else if (t && worker)
        json_object_set_new(t, "worker", json_true());
    const char *files = (const char *)sqlite3_column_text(st, 8);
    if (t && files)
        json_object_set_new(t, "files", json_loads(files, 0, NULL));
    return t;
}

int clab_notebook_pending_tasks(clab_notebook_t *nb, int64_t *after, size_t max,
                                json_t *tasks)
{
    clab_nb_reader_t *r;
    sqlite3_stmt *st = NULL;
    int rc = clab_nb_reader_open(nb, &r), n = 0;
    if (rc)
        return rc;
    if ((rc = clab_nbp_prepare(
             r->db,
             "SELECT j.id, j.job, j.tag, j.experiment, j.params, j.timeout, j.arguments,"
             " j.worker, b.files FROM jobs j LEFT JOIN bundles b ON b.id = j.bundle"
             " WHERE j.id > :after AND j.state = " CLAB_NB_JOB_PENDING_SQL
             " AND j.tag IN (SELECT tag FROM sets)" /* not a deleted set's */
             " ORDER BY j.id LIMIT :max",
             &st)) < 0)
        goto out;
    sqlite3_bind_int64(st, clab_nbp_at(st, ":after"), *after);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":max"), (sqlite3_int64)max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *after = sqlite3_column_int64(st, 0);
        json_t *t = task_of(st);
        /* The job's id orders it against cancels of its set (see
         * clab_notebook_cancel's upto). */
        if (t && json_object_set_new(t, "seq", json_integer(*after)) == 0)
            json_array_append_new(tasks, t);
        else
            json_decref(t);
        n++;
    }
    rc = rc == SQLITE_DONE ? n : clab_nbp_sql_errno(r->db, "pending tasks");
out:
    sqlite3_finalize(st);
    clab_nb_reader_close(&r);
    return rc;
}

/* Counts obj's keys as names of part kind of one more stored document (a
 * successful one when ok): a name's first document makes it a column. */
int clab_notebook_file(clab_notebook_t *nb, const char *hash, char **data, size_t *len)
{
    clab_nb_reader_t *r;
    sqlite3_stmt *st = NULL;
    int rc = clab_nb_reader_open(nb, &r);
    if (rc)
        return rc;
    if ((rc = clab_nbp_prepare(r->db, "SELECT data FROM files WHERE hash = :hash",
                               &st)) == 0) {
        sqlite3_bind_text(st, clab_nbp_at(st, ":hash"), hash, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *len = (size_t)sqlite3_column_bytes(st, 0);
            rc = (*data = malloc(*len + 1)) ? 0 : -ENOMEM;
            if (!rc && *len)
                memcpy(*data, sqlite3_column_blob(st, 0), *len);
        } else {
            rc = rc == SQLITE_DONE ? -ENOENT : clab_nbp_sql_errno(r->db, "file");
        }
    }
    sqlite3_finalize(st);
    clab_nb_reader_close(&r);
    return rc;
}

/* Counts obj's keys as names of the set: how many it names for the first
 * time, or -errno. */
static int add_columns(sqlite3 *db, sqlite3_stmt *up, const char *tag, int kind, int ok,
                       const json_t *obj)
{
    const char *key;
    json_t *v;
    int added = 0;
    json_object_foreach((json_t *)obj, key, v)
    {
        sqlite3_bind_text(up, clab_nbp_at(up, ":tag"), tag, -1, SQLITE_STATIC);
        sqlite3_bind_int(up, clab_nbp_at(up, ":kind"), kind);
        sqlite3_bind_text(up, clab_nbp_at(up, ":name"), key, -1, SQLITE_STATIC);
        sqlite3_bind_int(up, clab_nbp_at(up, ":ok"), ok);
        /* RETURNING docs: 1 is a name this set had not seen. */
        int rc = sqlite3_step(up);
        int first = rc == SQLITE_ROW && sqlite3_column_int64(up, 0) == 1;
        sqlite3_reset(up);
        if (rc != SQLITE_ROW)
            return clab_nbp_sql_errno(db, "column");
        added += first;
    }
    return added;
}

int clab_nbp_count_names(sqlite3 *db, sqlite3_stmt *up, const char *tag, int ok,
                         const json_t *doc)
{
    static const char *const part[3] = {"parameters", "results", "metadata"};
    int rc = 0;
    for (int k = 0; k < 3 && rc >= 0; k++)
        rc = add_columns(db, up, tag, k, ok, json_object_get(doc, part[k]));
    return rc < 0 ? rc : 0;
}

/* One point being stored: its job and set, the next result number, the
 * job's repetition, who ran it, and what it adds to its set's counts. */
typedef struct {
    const char *tag, *job;
    long n;
    json_int_t rep, reps;
    char sha256[65]; /* the experiment's, as hashed at submit; "" unknown */
    char rkey[65];   /* the job's reuse key; "" none (notebook_reuse.c) */
    const json_t *stamp;
    int reuse_fill; /* the notebook's own records (ingest_t.reuse_fill) */
    double now;
    long ok, failed;
    int64_t csv, tsv, jsonl;
} point_t;

/* Stores one result document numbered pt->n (then the next), and counts
 * its names (clab_nbp_columns_sql): the tables head parameters of every
 * record (epyc's dataframe has them all) and the results and metadata of
 * successes, which alone they list. */
static int insert_result(clab_notebook_t *nb, ingest_t *in, point_t *pt, int ok,
                         json_t *params, json_t *results, json_t *meta)
{
    json_t *doc = json_pack("{s:O, s:O, s:O}", "metadata", meta, "parameters", params,
                            "results", results);
    char *text = doc ? clab_json_dumps(doc) : NULL;
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    if (ok && render_cells(params, results, meta, &in->cells) < 0) {
        free(text);
        return -ENOMEM;
    }
    size_t len = strlen(text);
    pt->jsonl += (int64_t)len + 1;
    sqlite3_stmt *st = in->insert;
    sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), pt->tag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":n"), pt->n++);
    sqlite3_bind_int(st, clab_nbp_at(st, ":ok"), ok);
    sqlite3_bind_text(st, clab_nbp_at(st, ":job"), pt->job, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, clab_nbp_at(st, ":doc"), text, (int)len, free);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":len"), (sqlite3_int64)len);
    sqlite3_bind_double(st, clab_nbp_at(st, ":stored"), pt->now);
    if (ok) {
        pt->csv += cells_bytes(&in->cells.csv, in->cells.ncols);
        pt->tsv += cells_bytes(&in->cells.tsv, in->cells.ncols);
        bind_cells(st, &in->cells);
        /* Successes alone are found by reuse: a failure never matches. */
        if (pt->rkey[0])
            sqlite3_bind_text(st, clab_nbp_at(st, ":rkey"), pt->rkey, -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(in->insert);
    sqlite3_clear_bindings(in->insert);
    sqlite3_reset(in->insert);
    if (rc != SQLITE_DONE)
        return clab_nbp_sql_errno(nb->db, "result");
    pt->ok += ok;
    pt->failed += !ok;
    const json_t *parts[] = {
        [CLAB_COL_PARAM] = params, [CLAB_COL_RESULT] = results, [CLAB_COL_META] = meta};
    int added = 0;
    for (int k = 0; k < 3; k++) {
        if ((rc = add_columns(nb->db, in->column, pt->tag, k, ok, parts[k])) < 0)
            return rc;
        added += rc;
    }
    /* The mount drops what the kernel keeps of the set's tables' heads. */
    if (added && nb->on_column)
        nb->on_column(nb->on_column_ud, pt->tag);
    return 0;
}

/* A record's metadata as stored: the experiment's sha256 as hashed at
 * submit (clab.experiment_sha256, whatever the record says: an engine
 * cannot know which file the mount read), and with a job of several
 * repetitions, which one this is (epyc's RepeatedExperiment names,
 * CLAB_NB_REPETITIONS and CLAB_NB_REP). Added here rather than by the
 * engine so that every record of the job has them, whoever made it (the
 * engine, the controller, a cancel), and N.json and the tables, both made
 * from the stored document, agree. A new reference. */
static json_t *stored_metadata(const json_t *meta, const point_t *pt)
{
    json_t *m = json_copy((json_t *)meta);
    if (!m)
        return NULL;
    json_object_del(m, CLAB_NB_EXPERIMENT_SHA256);
    if (!pt->reuse_fill)
        json_object_del(m, "clab.reused_from");
    if ((pt->sha256[0] &&
         json_object_set_new(m, CLAB_NB_EXPERIMENT_SHA256, json_string(pt->sha256))) ||
        (pt->reps > 1 &&
         (json_object_set_new(m, CLAB_NB_REPETITIONS, json_integer(pt->reps)) ||
          json_object_set_new(m, CLAB_NB_REP, json_integer(pt->rep))))) {
        json_decref(m);
        m = NULL;
    }
    return m;
}

/* The metadata as the controller vouches for it: the stamp delivered
 * beside the record (who ran it: clab.engine, clab.host, and which
 * dispatch: clab.attempt) replaces what the record says of itself, and
 * the engine's own word on its host is kept as clab.host_reported.
 * Records without a stamp (a cancel made here) keep theirs. Takes meta,
 * returns a new reference or NULL. */
static json_t *stamped_metadata(json_t *meta, const json_t *stamp)
{
    const char *k;
    json_t *v;
    if (!json_is_object(stamp) || !meta)
        return meta;
    json_t *m = json_copy(meta);
    json_decref(meta);
    if (!m)
        return NULL;
    json_object_del(m, "clab.host_reported"); /* the engine's to say only here */
    json_object_del(m, "clab.attempt");       /* the controller's to say only */
    json_t *reported = json_object_get(m, "clab.host");
    if (json_is_string(reported) &&
        json_object_set(m, "clab.host_reported", reported) < 0) {
        json_decref(m);
        return NULL;
    }
    json_object_foreach((json_t *)stamp, k, v)
    {
        /* Only clabfs's own names: the controller says who, not what. */
        if (strncmp(k, "clab.", 5) == 0 && (json_is_string(v) || json_is_integer(v)) &&
            json_object_set(m, k, v)) {
            json_decref(m);
            return NULL;
        }
    }
    return m;
}

/* Stores one result of the point with its metadata as stored. */
static int insert_one(clab_notebook_t *nb, ingest_t *in, point_t *pt, int ok,
                      json_t *params, json_t *results, const json_t *meta)
{
    json_t *m = stamped_metadata(stored_metadata(meta, pt), pt->stamp);
    int rc = m ? insert_result(nb, in, pt, ok, params, results, m) : -ENOMEM;
    json_decref(m);
    return rc;
}

/* The point's epyc records (record.h), one result each with its own
 * parameters, results and metadata; elements that are not epyc results
 * dicts fail the point instead, with the point's metadata. */
static int insert_records(clab_notebook_t *nb, ingest_t *in, point_t *pt,
                          const json_t *records, json_t *params, const json_t *meta)
{
    size_t i;
    json_t *e;
    int well_formed = json_array_size(records) > 0;
    json_array_foreach(records, i, e) well_formed &=
        json_is_object(json_object_get(e, "parameters")) &&
        json_is_object(json_object_get(e, "results")) &&
        json_is_object(json_object_get(e, "metadata"));
    if (!well_formed) {
        json_t *m = json_copy((json_t *)meta), *empty = json_object();
        int rc = !m || !empty ||
                         json_object_set_new(m, "epyc.experiment.status", json_false()) ||
                         json_object_set_new(m, "epyc.experiment.exception",
                                             json_string(MALFORMED_RECORDS))
                     ? -ENOMEM
                     : insert_one(nb, in, pt, 0, params, empty, m);
        json_decref(m);
        json_decref(empty);
        return rc;
    }
    json_array_foreach(records, i, e)
    {
        int rc =
            insert_one(nb, in, pt, json_is_true(json_object_get(e, "ok")),
                       json_object_get(e, "parameters"), json_object_get(e, "results"),
                       json_object_get(e, "metadata"));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The point's results (or its failure) as its record gives them. */
static int insert_point(clab_notebook_t *nb, ingest_t *in, point_t *pt,
                        const json_t *record, json_t *params)
{
    json_t *meta = json_object_get(record, "metadata");
    json_t *results = json_object_get(record, "results"), *r;
    size_t i;
    int rc = 0;
    if (!json_is_true(json_object_get(record, "ok")) || json_array_size(results) == 0) {
        if (json_object_get(record, "records"))
            return insert_records(nb, in, pt, json_object_get(record, "records"), params,
                                  meta);
        json_t *empty = json_object();
        rc = empty ? insert_one(nb, in, pt, 0, params, empty, meta) : -ENOMEM;
        json_decref(empty);
        return rc;
    }
    json_array_foreach(results, i, r)
    {
        if (json_is_object(r) && (rc = insert_one(nb, in, pt, 1, params, r, meta)) < 0)
            break;
    }
    return rc;
}

/* The pending job pt->job: its tag, repetition and parameters (a new
 * reference) and their length. 1, 0 when the job is not pending, or
 * -errno. */
static int pending_job(clab_notebook_t *nb, ingest_t *in, point_t *pt,
                       char tag[CLAB_TAG_MAX + 1], json_t **params, int64_t *params_bytes)
{
    sqlite3_bind_text(in->job, clab_nbp_at(in->job, ":job"), pt->job, -1, SQLITE_STATIC);
    int rc = sqlite3_step(in->job);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(in->job);
        return rc == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, "job");
    }
    snprintf(tag, CLAB_TAG_MAX + 1, "%s", (const char *)sqlite3_column_text(in->job, 0));
    *params_bytes = sqlite3_column_bytes(in->job, 1);
    *params = json_loads((const char *)sqlite3_column_text(in->job, 1), 0, NULL);
    pt->rep = sqlite3_column_int64(in->job, 2);
    pt->reps = sqlite3_column_int64(in->job, 3);
    const unsigned char *sha = sqlite3_column_text(in->job, 4);
    snprintf(pt->sha256, sizeof pt->sha256, "%s", sha ? (const char *)sha : "");
    const unsigned char *rkey = sqlite3_column_text(in->job, 5);
    snprintf(pt->rkey, sizeof pt->rkey, "%s", rkey ? (const char *)rkey : "");
    sqlite3_reset(in->job);
    if (!*params)
        *params = json_object();
    return *params ? 1 : -ENOMEM;
}

/* The job is done and its set counts what it added. */
static int count_point(clab_notebook_t *nb, ingest_t *in, const point_t *pt,
                       int64_t params_bytes)
{
    sqlite3_bind_text(in->done, clab_nbp_at(in->done, ":job"), pt->job, -1,
                      SQLITE_STATIC);
    int rc = sqlite3_step(in->done);
    sqlite3_reset(in->done);
    if (rc != SQLITE_DONE)
        return clab_nbp_sql_errno(nb->db, "job done");
    sqlite3_stmt *st = in->counts;
    sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), pt->tag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":next_n"), pt->n);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":ok"), pt->ok);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":failed"), pt->failed);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":csv"), pt->csv);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":tsv"), pt->tsv);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":jsonl"), pt->jsonl);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":pending_bytes"), params_bytes + 1);
    sqlite3_bind_int64(st, clab_nbp_at(st, ":pending_jobs"),
                       clab_nbp_json_literal_len(pt->job, strlen(pt->job)));
    sqlite3_bind_double(st, clab_nbp_at(st, ":now"), pt->now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 1 : clab_nbp_sql_errno(nb->db, "counts");
}

/* Stores one delivered result; 1 stored, 0 skipped. A point is one N per
 * result it gave (or one failure), and done once. */
int clab_nbp_ingest_one(clab_notebook_t *nb, ingest_t *in, const json_t *item, double now)
{
    const json_t *record = json_object_get(item, "record");
    point_t pt = {.job = json_string_value(json_object_get(item, "job")),
                  .stamp = json_object_get(item, "stamp"),
                  .reuse_fill = in->reuse_fill,
                  .now = now};
    int ok = json_is_true(json_object_get(record, "ok"));
    if (!pt.job || !json_is_object(json_object_get(record, "metadata")) ||
        (ok && !json_is_array(json_object_get(record, "results")) &&
         !json_object_get(record, "records"))) {
        clab_warn("malformed result for job %s skipped", pt.job ? pt.job : "?");
        return 0;
    }
    char tag[CLAB_TAG_MAX + 1];
    int64_t params_bytes = 0;
    json_t *params = NULL;
    int rc = pending_job(nb, in, &pt, tag, &params, &params_bytes);
    if (rc <= 0)
        return rc;
    pt.tag = tag;
    sqlite3_bind_text(in->next_n, clab_nbp_at(in->next_n, ":tag"), tag, -1,
                      SQLITE_STATIC);
    rc = sqlite3_step(in->next_n);
    pt.n = rc == SQLITE_ROW ? (long)sqlite3_column_int64(in->next_n, 0) : 0;
    in->set_id = rc == SQLITE_ROW ? sqlite3_column_int64(in->next_n, 1) : 0;
    sqlite3_reset(in->next_n);
    /* A late result of a deleted set, whose jobs are not freed yet: no
     * set takes it (notebook_free.c). */
    if (rc == SQLITE_DONE) {
        json_decref(params);
        return 0;
    }
    rc = pt.n > 0 ? insert_point(nb, in, &pt, record, params)
                  : clab_nbp_sql_errno(nb->db, "set of job");
    json_decref(params);
    return rc < 0 ? rc : count_point(nb, in, &pt, params_bytes);
}

int clab_nbp_ingest_prepare(clab_notebook_t *nb)
{
    ingest_t *in = &nb->in;
    int rc;
    if ((rc = clab_nbp_prepare(nb->db,
                               "SELECT tag, params, rep, reps, sha256, rkey FROM jobs"
                               " WHERE job = :job AND state = " CLAB_NB_JOB_PENDING_SQL,
                               &in->job)) < 0 ||
        (rc = clab_nbp_prepare(nb->db, "SELECT next_n, id FROM sets WHERE tag = :tag",
                               &in->next_n)) < 0 ||
        (rc = clab_nbp_prepare(nb->db,
                               "INSERT INTO results(tag, n, ok, job, doc, stored,"
                               " ncols, csv, tsv, rkey, len) VALUES(:tag, :n, :ok,"
                               " :job, :doc, :stored, :ncols, :csv, :tsv, :rkey, :len)",
                               &in->insert)) < 0 ||
        (rc = clab_nbp_prepare(nb->db, CLAB_NBP_COUNT_NAME_SQL, &in->column)) < 0 ||
        (rc = clab_nbp_prepare(
             nb->db, "UPDATE jobs SET state = " CLAB_NB_JOB_DONE_SQL " WHERE job = :job",
             &in->done)) < 0 ||
        (rc = clab_nbp_prepare(
             nb->db,
             "UPDATE sets SET next_n = :next_n, n_ok = n_ok + :ok,"
             " n_failed = n_failed + :failed, n_done = n_done + 1,"
             " n_pending = n_pending - 1, csv_cells = csv_cells + :csv,"
             " tsv_cells = tsv_cells + :tsv, jsonl_bytes = jsonl_bytes + :jsonl,"
             " pending_bytes = pending_bytes - :pending_bytes,"
             " pending_jobs = pending_jobs - :pending_jobs, modified = :now"
             " WHERE tag = :tag",
             &in->counts)) < 0)
        return rc;
    return 0;
}

void clab_nbp_ingest_finalize(ingest_t *in)
{
    sqlite3_finalize(in->job);
    sqlite3_finalize(in->next_n);
    sqlite3_finalize(in->insert);
    sqlite3_finalize(in->column);
    sqlite3_finalize(in->done);
    sqlite3_finalize(in->counts);
    clab_buf_free(&in->cells.csv);
    clab_buf_free(&in->cells.tsv);
}

/* Durable: the link acknowledges these results once this returns, and the
 * controller then forgets them; an OS crash must not take them back. */
int clab_notebook_add_results(clab_notebook_t *nb, const json_t *results)
{
    /* The sets of the points stored, for the rate (ingest_t.rate_sets). */
    int64_t *sets = calloc(json_array_size(results) + 1, sizeof *sets);
    if (!sets)
        return -ENOMEM;
    int rc = clab_nbp_write_begin_durable(nb), stored = 0;
    if (rc)
        goto out;
    double now = clab_now();
    size_t i;
    json_t *item;
    json_array_foreach(results, i, item)
    {
        if ((rc = clab_nbp_ingest_one(nb, &nb->in, item, now)) < 0)
            break;
        if (rc > 0)
            sets[stored] = nb->in.set_id;
        stored += rc;
    }
    nb->in.rate_sets = sets;
    nb->in.rate_n = (size_t)stored;
    nb->in.rate_now = now;
    rc = clab_nbp_write_end(nb, rc < 0 ? rc : stored);
out:
    free(sets);
    return rc;
}
