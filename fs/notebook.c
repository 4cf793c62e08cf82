/* SQLite behind the notebook. One writer connection behind a mutex (SQLite
 * allows one writer at a time anyway); a pool of reader connections, each
 * lent out with a read transaction open so that its queries see one
 * snapshot. Result documents (the N.json texts) are rendered once, when
 * stored, since they never change. */
#include "notebook.h"
#include "json.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_MAX 16

/* The writer's statements for storing results, prepared once. */
typedef struct {
    sqlite3_stmt *job, *next_n, *insert, *column, *done, *counts;
} ingest_t;

struct clab_notebook {
    char *path;
    ingest_t in;
    sqlite3 *db; /* the writer */
    pthread_mutex_t lock;
    char client_id[64];
    pthread_mutex_t pool_lock;
    sqlite3 *pool[POOL_MAX];
    int npool;
};

static int prepare_ingest(clab_notebook_t *nb);
static void finalize_ingest(ingest_t *in);

struct clab_nb_reader {
    clab_notebook_t *nb;
    sqlite3 *db;
};

struct clab_nb_cursor {
    sqlite3_stmt *st;
    int has_n;
};

static const char schema[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS sets("
    "  tag TEXT PRIMARY KEY, experiment TEXT NOT NULL, description TEXT NOT NULL,"
    "  created REAL NOT NULL, next_n INTEGER NOT NULL DEFAULT 1,"
    "  n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS jobs("
    "  id INTEGER PRIMARY KEY, job TEXT NOT NULL UNIQUE, tag TEXT NOT NULL,"
    "  experiment TEXT NOT NULL, params TEXT NOT NULL, timeout REAL NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS jobs_pending ON jobs(tag, state, id);"
    "CREATE TABLE IF NOT EXISTS results("
    "  tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL, job TEXT NOT NULL,"
    "  doc TEXT NOT NULL, PRIMARY KEY(tag, n)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS results_ok ON results(tag, ok, n);"
    "CREATE TABLE IF NOT EXISTS columns("
    "  tag TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(tag, kind, name)) WITHOUT ROWID;";

static int sql_errno(sqlite3 *db, const char *what)
{
    int code = sqlite3_errcode(db) & 0xff;
    clab_err("notebook: %s: %s", what, sqlite3_errmsg(db));
    switch (code) {
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return -EACCES;
    default:
        return -EIO;
    }
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return sql_errno(db, sql);
    return 0;
}

static int open_db(const char *path, int flags, sqlite3 **out)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        int rc = db ? sql_errno(db, path) : -ENOMEM;
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    *out = db;
    return 0;
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char buf[32];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(buf, 1, bytes, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = got; i < bytes; i++)
        buf[i] = (unsigned char)(rand() ^ (int)time(NULL));
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", buf[i]);
}

static int meta_get(sqlite3 *db, const char *key, char *out, size_t size)
{
    sqlite3_stmt *st;
    int rc = prepare(db, "SELECT value FROM meta WHERE key = ?1", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : sql_errno(db, "meta");
    }
    sqlite3_finalize(st);
    return rc;
}

static int meta_set(sqlite3 *db, const char *key, const char *value)
{
    sqlite3_stmt *st;
    int rc = prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_errno(db, "meta");
    sqlite3_finalize(st);
    return rc;
}

int clab_notebook_open(const char *path, clab_notebook_t **out)
{
    clab_notebook_t *nb = calloc(1, sizeof *nb);
    int rc = -ENOMEM;
    if (!nb || !(nb->path = strdup(path)))
        goto fail;
    pthread_mutex_init(&nb->lock, NULL);
    pthread_mutex_init(&nb->pool_lock, NULL);
    if ((rc = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &nb->db)) < 0)
        goto fail;
    if (sqlite3_exec(nb->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        rc = sql_errno(nb->db, "schema");
        goto fail;
    }
    if ((rc = prepare_ingest(nb)) < 0)
        goto fail;
    rc = meta_get(nb->db, "client_id", nb->client_id, sizeof nb->client_id);
    if (rc == -ENOENT) {
        char hex[33];
        random_hex(hex, 8);
        snprintf(nb->client_id, sizeof nb->client_id, "clabfs-%s", hex);
        rc = meta_set(nb->db, "client_id", nb->client_id);
    }
    if (rc < 0)
        goto fail;
    *out = nb;
    return 0;
fail:
    clab_notebook_destroy(&nb);
    return rc;
}

void clab_notebook_destroy(clab_notebook_t **pnb)
{
    clab_notebook_t *nb = *pnb;
    if (!nb)
        return;
    for (int i = 0; i < nb->npool; i++)
        sqlite3_close(nb->pool[i]);
    finalize_ingest(&nb->in);
    sqlite3_close(nb->db);
    pthread_mutex_destroy(&nb->lock);
    pthread_mutex_destroy(&nb->pool_lock);
    free(nb->path);
    free(nb);
    *pnb = NULL;
}

const char *clab_notebook_client_id(const clab_notebook_t *nb)
{
    return nb->client_id;
}

/* The writer: one transaction at a time. */
static int write_begin(clab_notebook_t *nb)
{
    pthread_mutex_lock(&nb->lock);
    if (sqlite3_exec(nb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = sql_errno(nb->db, "begin");
        pthread_mutex_unlock(&nb->lock);
        return rc;
    }
    return 0;
}

static int write_end(clab_notebook_t *nb, int rc)
{
    if (rc >= 0 && sqlite3_exec(nb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_errno(nb->db, "commit");
    if (rc < 0)
        sqlite3_exec(nb->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&nb->lock);
    return rc;
}

static void fresh_tag(char *out)
{
    char when[32], hex[9];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
    random_hex(hex, 2);
    snprintf(out, CLAB_TAG_MAX + 1, "set-%s-%s", when, hex);
}

int clab_notebook_submit(clab_notebook_t *nb, const clab_submission_t *sub,
                         char tag_out[CLAB_TAG_MAX + 1])
{
    sqlite3_stmt *set = NULL, *job = NULL;
    size_t npoints = clab_space_size(sub->space);
    size_t *order = NULL;
    char prefix[40], hex[17], jobid[64];
    int rc = write_begin(nb);
    if (rc)
        return rc;
    if (sub->tag)
        snprintf(tag_out, CLAB_TAG_MAX + 1, "%s", sub->tag);
    else
        fresh_tag(tag_out);
    random_hex(hex, 8);
    snprintf(prefix, sizeof prefix, "j%s", hex);

    if ((rc = prepare(
             nb->db,
             "INSERT INTO sets(tag, experiment, description, created, n_pending) "
             "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(tag) DO UPDATE SET "
             "experiment = ?2, description = coalesce(nullif(?3, ''), description), "
             "n_pending = n_pending + ?5",
             &set)) < 0 ||
        (rc = prepare(nb->db,
                      "INSERT INTO jobs(job, tag, experiment, params, timeout) "
                      "VALUES(?1, ?2, ?3, ?4, ?5)",
                      &job)) < 0)
        goto out;
    sqlite3_bind_text(set, 1, tag_out, -1, SQLITE_STATIC);
    sqlite3_bind_text(set, 2, sub->experiment, -1, SQLITE_STATIC);
    sqlite3_bind_text(set, 3, sub->description ? sub->description : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_double(set, 4, clab_now());
    sqlite3_bind_int64(set, 5, (sqlite3_int64)sub->points);
    if (sqlite3_step(set) != SQLITE_DONE) {
        rc = sql_errno(nb->db, "set");
        goto out;
    }
    if (!(order = malloc((npoints ? npoints : 1) * sizeof *order))) {
        rc = -ENOMEM;
        goto out;
    }
    long serial = 0;
    for (long rep = 0; rep < sub->repetitions; rep++) {
        for (size_t i = 0; i < npoints; i++)
            order[i] = i;
        uint64_t seed;
        random_hex(hex, 8);
        seed = strtoull(hex, NULL, 16);
        clab_shuffle(order, npoints, seed);
        for (size_t i = 0; i < npoints; i++) {
            json_t *point = clab_space_point(sub->space, order[i]);
            char *params = point ? clab_json_dumps(point) : NULL;
            json_decref(point);
            if (!params) {
                rc = -ENOMEM;
                goto out;
            }
            snprintf(jobid, sizeof jobid, "%s-%ld", prefix, ++serial);
            sqlite3_bind_text(job, 1, jobid, -1, SQLITE_STATIC);
            sqlite3_bind_text(job, 2, tag_out, -1, SQLITE_STATIC);
            sqlite3_bind_text(job, 3, sub->experiment, -1, SQLITE_STATIC);
            sqlite3_bind_text(job, 4, params, -1, SQLITE_TRANSIENT);
            sqlite3_bind_double(job, 5, sub->timeout);
            free(params);
            if (sqlite3_step(job) != SQLITE_DONE) {
                rc = sql_errno(nb->db, "job");
                goto out;
            }
            sqlite3_reset(job);
        }
    }
    rc = meta_set(nb->db, "current", tag_out);
out:
    free(order);
    sqlite3_finalize(set);
    sqlite3_finalize(job);
    return write_end(nb, rc);
}

int clab_notebook_select(clab_notebook_t *nb, const char *tag)
{
    sqlite3_stmt *st = NULL;
    int rc = write_begin(nb);
    if (rc)
        return rc;
    if ((rc = prepare(nb->db, "SELECT 1 FROM sets WHERE tag = ?1", &st)) < 0)
        goto out;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_ROW ? meta_set(nb->db, "current", tag) : -ENOENT;
out:
    sqlite3_finalize(st);
    return write_end(nb, rc);
}

int clab_notebook_pending_tasks(clab_notebook_t *nb, int64_t *after, size_t max,
                                json_t *tasks)
{
    clab_nb_reader_t *r;
    sqlite3_stmt *st = NULL;
    int rc = clab_nb_reader_open(nb, &r), n = 0;
    if (rc)
        return rc;
    if ((rc = prepare(r->db,
                      "SELECT id, job, tag, experiment, params, timeout FROM jobs "
                      "WHERE id > ?1 AND state = 0 ORDER BY id LIMIT ?2",
                      &st)) < 0)
        goto out;
    sqlite3_bind_int64(st, 1, *after);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *after = sqlite3_column_int64(st, 0);
        json_t *params = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
        json_t *t = json_pack(
            "{s:s, s:s, s:s, s:o, s:f}", "job", sqlite3_column_text(st, 1), "tag",
            sqlite3_column_text(st, 2), "experiment", sqlite3_column_text(st, 3),
            "params", params ? params : json_object(), "timeout",
            sqlite3_column_double(st, 5));
        if (t)
            json_array_append_new(tasks, t);
        n++;
    }
    rc = rc == SQLITE_DONE ? n : sql_errno(r->db, "pending tasks");
out:
    sqlite3_finalize(st);
    clab_nb_reader_close(&r);
    return rc;
}

static int add_columns(clab_notebook_t *nb, ingest_t *in, const char *tag, int kind,
                       json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        sqlite3_bind_text(in->column, 1, tag, -1, SQLITE_STATIC);
        sqlite3_bind_int(in->column, 2, kind);
        sqlite3_bind_text(in->column, 3, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(in->column);
        sqlite3_reset(in->column);
        if (rc != SQLITE_DONE)
            return sql_errno(nb->db, "column");
    }
    return 0;
}

static int insert_result(clab_notebook_t *nb, ingest_t *in, const char *tag,
                         const char *job, long n, int ok, json_t *params, json_t *results,
                         json_t *meta)
{
    json_t *doc = json_pack("{s:O, s:O, s:O}", "metadata", meta, "parameters", params,
                            "results", results);
    char *text = doc ? clab_json_dumps(doc) : NULL;
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    sqlite3_bind_text(in->insert, 1, tag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(in->insert, 2, n);
    sqlite3_bind_int(in->insert, 3, ok);
    sqlite3_bind_text(in->insert, 4, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(in->insert, 5, text, -1, free);
    int rc = sqlite3_step(in->insert);
    sqlite3_reset(in->insert);
    if (rc != SQLITE_DONE)
        return sql_errno(nb->db, "result");
    if (!ok)
        return 0;
    if ((rc = add_columns(nb, in, tag, CLAB_COL_PARAM, params)) < 0 ||
        (rc = add_columns(nb, in, tag, CLAB_COL_RESULT, results)) < 0 ||
        (rc = add_columns(nb, in, tag, CLAB_COL_META, meta)) < 0)
        return rc;
    return 0;
}

/* Stores one delivered result; 1 stored, 0 skipped. */
static int ingest_one(clab_notebook_t *nb, ingest_t *in, const json_t *item)
{
    const char *jobid = json_string_value(json_object_get(item, "job"));
    json_t *record = json_object_get(item, "record");
    json_t *meta = json_object_get(record, "metadata");
    json_t *results = json_object_get(record, "results");
    int ok = json_is_true(json_object_get(record, "ok"));
    if (!jobid || !json_is_object(meta) || (ok && !json_is_array(results))) {
        clab_warn("malformed result for job %s skipped", jobid ? jobid : "?");
        return 0;
    }
    sqlite3_bind_text(in->job, 1, jobid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(in->job);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(in->job);
        return rc == SQLITE_DONE ? 0 : sql_errno(nb->db, "job");
    }
    char tag[CLAB_TAG_MAX + 1];
    snprintf(tag, sizeof tag, "%s", (const char *)sqlite3_column_text(in->job, 0));
    json_t *params = json_loads((const char *)sqlite3_column_text(in->job, 1), 0, NULL);
    sqlite3_reset(in->job);
    if (!params)
        params = json_object();

    sqlite3_bind_text(in->next_n, 1, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(in->next_n);
    long n = rc == SQLITE_ROW ? (long)sqlite3_column_int64(in->next_n, 0) : 0;
    sqlite3_reset(in->next_n);
    if (n <= 0) {
        json_decref(params);
        return sql_errno(nb->db, "set of job");
    }
    long nok = 0, nfailed = 0;
    rc = 0;
    if (ok && json_array_size(results) > 0) {
        size_t i;
        json_t *r;
        json_array_foreach(results, i, r)
        {
            if (!json_is_object(r))
                continue;
            if ((rc = insert_result(nb, in, tag, jobid, n++, 1, params, r, meta)) < 0)
                break;
            nok++;
        }
    } else {
        json_t *empty = json_object();
        rc = insert_result(nb, in, tag, jobid, n++, 0, params, empty, meta);
        json_decref(empty);
        nfailed = 1;
    }
    json_decref(params);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(in->done, 1, jobid, -1, SQLITE_STATIC);
    rc = sqlite3_step(in->done);
    sqlite3_reset(in->done);
    if (rc != SQLITE_DONE)
        return sql_errno(nb->db, "job done");
    sqlite3_bind_int64(in->counts, 1, n);
    sqlite3_bind_int64(in->counts, 2, nok);
    sqlite3_bind_int64(in->counts, 3, nfailed);
    sqlite3_bind_text(in->counts, 4, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(in->counts);
    sqlite3_reset(in->counts);
    return rc == SQLITE_DONE ? 1 : sql_errno(nb->db, "counts");
}

static int prepare_ingest(clab_notebook_t *nb)
{
    ingest_t *in = &nb->in;
    int rc;
    if ((rc = prepare(nb->db, "SELECT tag, params FROM jobs WHERE job = ?1 AND state = 0",
                      &in->job)) < 0 ||
        (rc = prepare(nb->db, "SELECT next_n FROM sets WHERE tag = ?1", &in->next_n)) <
            0 ||
        (rc = prepare(
             nb->db,
             "INSERT INTO results(tag, n, ok, job, doc) VALUES(?1, ?2, ?3, ?4, ?5)",
             &in->insert)) < 0 ||
        (rc = prepare(nb->db,
                      "INSERT OR IGNORE INTO columns(tag, kind, name) VALUES(?1, ?2, ?3)",
                      &in->column)) < 0 ||
        (rc = prepare(nb->db, "UPDATE jobs SET state = 1 WHERE job = ?1", &in->done)) <
            0 ||
        (rc = prepare(
             nb->db,
             "UPDATE sets SET next_n = ?1, n_ok = n_ok + ?2, n_failed = n_failed + ?3,"
             " n_done = n_done + 1, n_pending = n_pending - 1 WHERE tag = ?4",
             &in->counts)) < 0)
        return rc;
    return 0;
}

static void finalize_ingest(ingest_t *in)
{
    sqlite3_finalize(in->job);
    sqlite3_finalize(in->next_n);
    sqlite3_finalize(in->insert);
    sqlite3_finalize(in->column);
    sqlite3_finalize(in->done);
    sqlite3_finalize(in->counts);
}

int clab_notebook_add_results(clab_notebook_t *nb, const json_t *results)
{
    int rc = write_begin(nb), stored = 0;
    if (rc)
        return rc;
    size_t i;
    json_t *item;
    json_array_foreach(results, i, item)
    {
        if ((rc = ingest_one(nb, &nb->in, item)) < 0)
            break;
        stored += rc;
    }
    return write_end(nb, rc < 0 ? rc : stored);
}

/* Readers. */

int clab_nb_reader_open(clab_notebook_t *nb, clab_nb_reader_t **out)
{
    clab_nb_reader_t *r = calloc(1, sizeof *r);
    int rc = 0;
    if (!r)
        return -ENOMEM;
    r->nb = nb;
    pthread_mutex_lock(&nb->pool_lock);
    if (nb->npool > 0)
        r->db = nb->pool[--nb->npool];
    pthread_mutex_unlock(&nb->pool_lock);
    if (!r->db && (rc = open_db(nb->path, SQLITE_OPEN_READONLY, &r->db)) < 0) {
        free(r);
        return rc;
    }
    if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sql_errno(r->db, "begin read");
        sqlite3_close(r->db);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void clab_nb_reader_close(clab_nb_reader_t **pr)
{
    clab_nb_reader_t *r = *pr;
    if (!r)
        return;
    sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    clab_notebook_t *nb = r->nb;
    pthread_mutex_lock(&nb->pool_lock);
    if (nb->npool < POOL_MAX) {
        nb->pool[nb->npool++] = r->db;
        r->db = NULL;
    }
    pthread_mutex_unlock(&nb->pool_lock);
    sqlite3_close(r->db);
    free(r);
    *pr = NULL;
}

int clab_nb_current(clab_nb_reader_t *r, char tag[CLAB_TAG_MAX + 1])
{
    return meta_get(r->db, "current", tag, CLAB_TAG_MAX + 1);
}

void clab_set_info_clear(clab_set_info_t *info)
{
    free(info->experiment);
    free(info->description);
    memset(info, 0, sizeof *info);
}

int clab_nb_set_info(clab_nb_reader_t *r, const char *tag, clab_set_info_t *info)
{
    sqlite3_stmt *st;
    memset(info, 0, sizeof *info);
    int rc = prepare(r->db,
                     "SELECT experiment, description, n_ok, n_failed, n_done, n_pending "
                     "FROM sets WHERE tag = ?1",
                     &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(info->tag, sizeof info->tag, "%s", tag);
        info->experiment = strdup((const char *)sqlite3_column_text(st, 0));
        info->description = strdup((const char *)sqlite3_column_text(st, 1));
        info->results = (long)sqlite3_column_int64(st, 2);
        info->failed = (long)sqlite3_column_int64(st, 3);
        info->done = (long)sqlite3_column_int64(st, 4);
        info->pending = (long)sqlite3_column_int64(st, 5);
        rc = info->experiment && info->description ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : sql_errno(r->db, "set info");
    }
    sqlite3_finalize(st);
    if (rc)
        clab_set_info_clear(info);
    return rc;
}

int clab_nb_sets(clab_nb_reader_t *r, int (*fn)(void *ud, const char *tag), void *ud)
{
    sqlite3_stmt *st;
    int rc = prepare(r->db, "SELECT tag FROM sets ORDER BY tag", &st);
    if (rc)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int stop = fn(ud, (const char *)sqlite3_column_text(st, 0));
        if (stop) {
            sqlite3_finalize(st);
            return stop;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : sql_errno(r->db, "sets");
    sqlite3_finalize(st);
    return rc;
}

int clab_nb_result(clab_nb_reader_t *r, const char *tag, long n, int ok, char **doc,
                   size_t *len)
{
    sqlite3_stmt *st;
    int rc = prepare(
        r->db, "SELECT doc FROM results WHERE tag = ?1 AND n = ?2 AND ok = ?3", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, n);
    sqlite3_bind_int(st, 3, ok);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        *doc = malloc(*len + 1);
        if (*doc)
            memcpy(*doc, sqlite3_column_text(st, 0), *len + 1);
        rc = *doc ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : sql_errno(r->db, "result");
    }
    sqlite3_finalize(st);
    return rc;
}

int clab_nb_columns(clab_nb_reader_t *r, const char *tag, int kind, json_t **names)
{
    sqlite3_stmt *st;
    int rc = prepare(
        r->db, "SELECT name FROM columns WHERE tag = ?1 AND kind = ?2 ORDER BY name",
        &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, kind);
    *names = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(*names,
                              json_string((const char *)sqlite3_column_text(st, 0)));
    rc = rc == SQLITE_DONE ? 0 : sql_errno(r->db, "columns");
    sqlite3_finalize(st);
    if (rc) {
        json_decref(*names);
        *names = NULL;
    }
    return rc;
}

static int cursor_new(clab_nb_reader_t *r, const char *sql, const char *tag, int ok,
                      int has_n, clab_nb_cursor_t **out)
{
    clab_nb_cursor_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    int rc = prepare(r->db, sql, &c->st);
    if (rc) {
        free(c);
        return rc;
    }
    sqlite3_bind_text(c->st, 1, tag, -1, SQLITE_TRANSIENT);
    if (ok >= 0)
        sqlite3_bind_int(c->st, 2, ok);
    c->has_n = has_n;
    *out = c;
    return 0;
}

int clab_nb_results(clab_nb_reader_t *r, const char *tag, int ok, clab_nb_cursor_t **out)
{
    return cursor_new(
        r,
        ok < 0 ? "SELECT n, doc FROM results WHERE tag = ?1 ORDER BY n"
               : "SELECT n, doc FROM results WHERE tag = ?1 AND ok = ?2 ORDER BY n",
        tag, ok, 1, out);
}

int clab_nb_pending(clab_nb_reader_t *r, const char *tag, clab_nb_cursor_t **out)
{
    return cursor_new(
        r, "SELECT 0, params FROM jobs WHERE tag = ?1 AND state = 0 ORDER BY id", tag, -1,
        0, out);
}

int clab_nb_cursor_next(clab_nb_cursor_t *c, long *n, const char **text, size_t *len)
{
    int rc = sqlite3_step(c->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return sql_errno(sqlite3_db_handle(c->st), "cursor");
    *n = (long)sqlite3_column_int64(c->st, 0);
    *text = (const char *)sqlite3_column_text(c->st, 1);
    *len = (size_t)sqlite3_column_bytes(c->st, 1);
    return 1;
}

void clab_nb_cursor_close(clab_nb_cursor_t **pc)
{
    clab_nb_cursor_t *c = *pc;
    if (!c)
        return;
    sqlite3_finalize(c->st);
    free(c);
    *pc = NULL;
}
