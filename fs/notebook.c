/* SQLite behind the notebook. One writer connection behind a mutex (SQLite
 * allows one writer at a time anyway); a pool of reader connections, each
 * lent out with a read transaction open so that its queries see one
 * snapshot, and keeping the statements of the point queries that stat and
 * lookup make for every file. Result documents (the N.json texts) are
 * rendered once, when stored, since they never change; the byte counts the
 * views are sized by change in the same transactions as the rows. Every
 * commit wakes the readers of wait. */
#include "notebook_i.h"
#include "json.h"
#include "log.h"
#include "runner.h"
#include "sqlerr.h"
#include "table.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHEMA_VERSION 1

/* A fresh notebook; older ones are brought up to date by migrate(). */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS sets("
    "  tag TEXT PRIMARY KEY, experiment TEXT NOT NULL, description TEXT NOT NULL,"
    "  created REAL NOT NULL, next_n INTEGER NOT NULL DEFAULT 1,"
    "  n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0,"
    "  modified REAL NOT NULL DEFAULT 0,"
    "  csv_cells INTEGER NOT NULL DEFAULT 0, tsv_cells INTEGER NOT NULL DEFAULT 0,"
    "  jsonl_bytes INTEGER NOT NULL DEFAULT 0, pending_bytes INTEGER NOT NULL DEFAULT 0,"
    "  pending_jobs INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS jobs("
    "  id INTEGER PRIMARY KEY, job TEXT NOT NULL UNIQUE, tag TEXT NOT NULL,"
    "  experiment TEXT NOT NULL, params TEXT NOT NULL, timeout REAL NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT " CLAB_NB_JOB_PENDING_SQL ");"
    "CREATE INDEX IF NOT EXISTS jobs_pending ON jobs(tag, state, id);"
    "CREATE TABLE IF NOT EXISTS results("
    "  tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL, job TEXT NOT NULL,"
    "  doc TEXT NOT NULL, stored REAL, PRIMARY KEY(tag, n)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS results_ok ON results(tag, ok, n);"
    "CREATE TABLE IF NOT EXISTS columns("
    "  tag TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(tag, kind, name)) WITHOUT ROWID;";

/* Version 0 notebooks lack the byte counts and the stored times. */
static const char migrate_v1[] =
    "ALTER TABLE sets ADD COLUMN modified REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE sets ADD COLUMN csv_cells INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sets ADD COLUMN tsv_cells INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sets ADD COLUMN jsonl_bytes INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sets ADD COLUMN pending_bytes INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sets ADD COLUMN pending_jobs INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE results ADD COLUMN stored REAL;"
    "UPDATE sets SET modified = created;";

int clab_nbp_sql_errno(sqlite3 *db, const char *what)
{
    return clab_sqlite_errno(db, "notebook", what);
}

int clab_nbp_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return clab_nbp_sql_errno(db, sql);
    return 0;
}

int clab_nbp_open_db(const char *path, int flags, sqlite3 **out)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        int rc = db ? clab_nbp_sql_errno(db, path) : -ENOMEM;
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    *out = db;
    return 0;
}

void clab_nbp_random_hex(char *out, size_t bytes)
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

int clab_nbp_meta_get(sqlite3 *db, const char *key, char *out, size_t size)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(db, "SELECT value FROM meta WHERE key = ?1", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : clab_nbp_sql_errno(db, "meta");
    }
    sqlite3_finalize(st);
    return rc;
}

int clab_nbp_meta_set(sqlite3 *db, const char *key, const char *value)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(
        db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(db, "meta");
    sqlite3_finalize(st);
    return rc;
}

static int user_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(db, "PRAGMA user_version", &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st) == SQLITE_ROW ? 0 : clab_nbp_sql_errno(db, "user_version");
    *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Creates the schema, or brings an older notebook up to date, in one
 * transaction so that a crash leaves the old one intact. */
static int setup_schema(clab_notebook_t *nb)
{
    sqlite3_stmt *st = NULL;
    int version = 0, existed = 0, rc;
    if (sqlite3_exec(nb->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(nb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return clab_nbp_sql_errno(nb->db, "schema");
    if ((rc = user_version(nb->db, &version)) < 0 ||
        (rc = clab_nbp_prepare(nb->db, "SELECT 1 FROM sqlite_master WHERE name = 'sets'",
                               &st)) < 0)
        goto out;
    existed = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    st = NULL;
    if (version > SCHEMA_VERSION) {
        clab_err("notebook: schema version %d is newer than this clabfs (%d)", version,
                 SCHEMA_VERSION);
        rc = -EPROTO;
        goto out;
    }
    if (existed && version < 1) {
        clab_info("notebook: upgrading to schema version %d", SCHEMA_VERSION);
        if (sqlite3_exec(nb->db, migrate_v1, NULL, NULL, NULL) != SQLITE_OK) {
            rc = clab_nbp_sql_errno(nb->db, "migrate");
            goto out;
        }
    }
    if (sqlite3_exec(nb->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        rc = clab_nbp_sql_errno(nb->db, "schema");
        goto out;
    }
    if (existed && version < 1) {
        if ((rc = clab_nbp_prepare(nb->db, "SELECT tag FROM sets", &st)) < 0)
            goto out;
        while (sqlite3_step(st) == SQLITE_ROW && rc == 0)
            rc = clab_nbp_recount(nb, (const char *)sqlite3_column_text(st, 0));
        if (rc < 0)
            goto out;
    }
    if (version != SCHEMA_VERSION &&
        sqlite3_exec(nb->db, "PRAGMA user_version = 1", NULL, NULL, NULL) != SQLITE_OK)
        rc = clab_nbp_sql_errno(nb->db, "user_version");
out:
    sqlite3_finalize(st);
    if (rc >= 0 && sqlite3_exec(nb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = clab_nbp_sql_errno(nb->db, "schema commit");
    if (rc < 0)
        sqlite3_exec(nb->db, "ROLLBACK", NULL, NULL, NULL);
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
    pthread_mutex_init(&nb->gen_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&nb->changed, &ca);
    pthread_condattr_destroy(&ca);
    if ((rc = clab_nbp_open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                               &nb->db)) < 0)
        goto fail;
    if ((rc = setup_schema(nb)) < 0 || (rc = clab_nbp_ingest_prepare(nb)) < 0)
        goto fail;
    rc = clab_nbp_meta_get(nb->db, "client_id", nb->client_id, sizeof nb->client_id);
    if (rc == -ENOENT) {
        char hex[33];
        clab_nbp_random_hex(hex, 8);
        snprintf(nb->client_id, sizeof nb->client_id, "clabfs-%s", hex);
        rc = clab_nbp_meta_set(nb->db, "client_id", nb->client_id);
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
        clab_nbp_conn_close(nb->pool[i]);
    clab_nbp_ingest_finalize(&nb->in);
    sqlite3_close(nb->db);
    pthread_mutex_destroy(&nb->lock);
    pthread_mutex_destroy(&nb->pool_lock);
    pthread_mutex_destroy(&nb->gen_lock);
    pthread_cond_destroy(&nb->changed);
    free(nb->path);
    free(nb);
    *pnb = NULL;
}

const char *clab_notebook_client_id(const clab_notebook_t *nb)
{
    return nb->client_id;
}

uint64_t clab_notebook_generation(clab_notebook_t *nb)
{
    pthread_mutex_lock(&nb->gen_lock);
    uint64_t g = nb->gen;
    pthread_mutex_unlock(&nb->gen_lock);
    return g;
}

uint64_t clab_notebook_wait_change(clab_notebook_t *nb, uint64_t seen, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&nb->gen_lock);
    while (nb->gen == seen &&
           pthread_cond_timedwait(&nb->changed, &nb->gen_lock, &until) == 0)
        ;
    uint64_t g = nb->gen;
    pthread_mutex_unlock(&nb->gen_lock);
    return g;
}

/* The writer: one transaction at a time. */
int clab_nbp_write_begin(clab_notebook_t *nb)
{
    pthread_mutex_lock(&nb->lock);
    if (sqlite3_exec(nb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = clab_nbp_sql_errno(nb->db, "begin");
        pthread_mutex_unlock(&nb->lock);
        return rc;
    }
    return 0;
}

int clab_nbp_write_end(clab_notebook_t *nb, int rc)
{
    if (rc >= 0 && sqlite3_exec(nb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = clab_nbp_sql_errno(nb->db, "commit");
    if (rc < 0)
        sqlite3_exec(nb->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&nb->lock);
    if (rc >= 0) {
        /* After the commit, so that a woken reader sees the change. */
        pthread_mutex_lock(&nb->gen_lock);
        nb->gen++;
        pthread_cond_broadcast(&nb->changed);
        pthread_mutex_unlock(&nb->gen_lock);
    }
    return rc;
}

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

/* /ctl commands on a whole set. */

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

/* Records every pending job of tag as failed with `cancelled`, through the
 * same path as a delivered failure, so that every count and size stays
 * right; a late result from an engine then finds the job done. */
static int cancel_pending(clab_notebook_t *nb, const char *tag, double now)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(nb->db,
                              "SELECT job, experiment FROM jobs WHERE tag = ?1 AND state "
                              "= " CLAB_NB_JOB_PENDING_SQL,
                              &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    json_t *items = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        clab_run_spec_t spec = {
            .experiment = (const char *)sqlite3_column_text(st, 1),
            .tag = tag,
            .job = (const char *)sqlite3_column_text(st, 0),
        };
        json_t *rec = clab_run_failure(&spec, "cancelled");
        json_array_append_new(items,
                              json_pack("{s:s, s:o*}", "job", spec.job, "record", rec));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return clab_nbp_sql_errno(nb->db, "cancel");
    }
    size_t i;
    json_t *item;
    int n = 0;
    json_array_foreach(items, i, item)
    {
        if ((rc = clab_nbp_ingest_one(nb, &nb->in, item, now)) < 0)
            break;
        n += rc;
    }
    json_decref(items);
    return rc < 0 ? rc : n;
}

int clab_notebook_cancel(clab_notebook_t *nb, const char *tag)
{
    int rc = clab_nbp_write_begin(nb);
    if (rc)
        return rc;
    if ((rc = set_exists(nb, tag)) == 0)
        rc = cancel_pending(nb, tag, clab_now());
    return clab_nbp_write_end(nb, rc);
}

int clab_notebook_retry(clab_notebook_t *nb, const char *tag)
{
    sqlite3_stmt *failed = NULL, *job = NULL, *old = NULL, *sizes = NULL;
    char hex[17], jobid[64];
    int64_t pend_bytes = 0, pend_jobs = 0;
    long serial = 0;
    int rc = clab_nbp_write_begin(nb);
    if (rc)
        return rc;
    if ((rc = set_exists(nb, tag)) < 0)
        goto out;
    clab_nbp_random_hex(hex, 8);
    /* Failures whose job has not been retried yet (done, not retried). */
    if ((rc = clab_nbp_prepare(
             nb->db,
             "SELECT r.job, r.doc, j.experiment, j.timeout FROM results r"
             " JOIN jobs j ON j.job = r.job"
             " WHERE r.tag = ?1 AND r.ok = 0 AND j.state = " CLAB_NB_JOB_DONE_SQL
             " ORDER BY r.n",
             &failed)) < 0 ||
        (rc = clab_nbp_prepare(nb->db,
                               "INSERT INTO jobs(job, tag, experiment, params, timeout) "
                               "VALUES(?1, ?2, ?3, ?4, ?5)",
                               &job)) < 0 ||
        (rc = clab_nbp_prepare(
             nb->db, "UPDATE jobs SET state = " CLAB_NB_JOB_RETRIED_SQL " WHERE job = ?1",
             &old)) < 0 ||
        (rc = clab_nbp_prepare(
             nb->db,
             "UPDATE sets SET n_pending = n_pending + ?1,"
             " pending_bytes = pending_bytes + ?2,"
             " pending_jobs = pending_jobs + ?3, modified = ?4 WHERE tag = ?5",
             &sizes)) < 0)
        goto out;
    sqlite3_bind_text(failed, 1, tag, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(failed)) == SQLITE_ROW) {
        json_t *doc = json_loads((const char *)sqlite3_column_text(failed, 1), 0, NULL);
        char *params = doc ? clab_json_dumps(json_object_get(doc, "parameters")) : NULL;
        json_decref(doc);
        if (!params) {
            rc = -ENOMEM;
            goto out;
        }
        int len = snprintf(jobid, sizeof jobid, "r%s-%ld", hex, ++serial);
        pend_bytes += (int64_t)strlen(params) + 1;
        pend_jobs += clab_nbp_json_literal_len(jobid, (size_t)len);
        sqlite3_bind_text(job, 1, jobid, -1, SQLITE_STATIC);
        sqlite3_bind_text(job, 2, tag, -1, SQLITE_STATIC);
        sqlite3_bind_value(job, 3, sqlite3_column_value(failed, 2));
        sqlite3_bind_text(job, 4, params, -1, free);
        sqlite3_bind_value(job, 5, sqlite3_column_value(failed, 3));
        sqlite3_bind_value(old, 1, sqlite3_column_value(failed, 0));
        if (sqlite3_step(job) != SQLITE_DONE || sqlite3_step(old) != SQLITE_DONE) {
            rc = clab_nbp_sql_errno(nb->db, "retry");
            goto out;
        }
        sqlite3_reset(job);
        sqlite3_reset(old);
    }
    if (rc != SQLITE_DONE) {
        rc = clab_nbp_sql_errno(nb->db, "retry");
        goto out;
    }
    sqlite3_bind_int64(sizes, 1, serial);
    sqlite3_bind_int64(sizes, 2, pend_bytes);
    sqlite3_bind_int64(sizes, 3, pend_jobs);
    sqlite3_bind_double(sizes, 4, clab_now());
    sqlite3_bind_text(sizes, 5, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(sizes) == SQLITE_DONE ? (int)serial
                                            : clab_nbp_sql_errno(nb->db, "retry");
out:
    sqlite3_finalize(failed);
    sqlite3_finalize(job);
    sqlite3_finalize(old);
    sqlite3_finalize(sizes);
    return clab_nbp_write_end(nb, rc);
}

int clab_notebook_delete(clab_notebook_t *nb, const char *tag)
{
    static const char *const sql[] = {
        "DELETE FROM results WHERE tag = ?1", "DELETE FROM jobs WHERE tag = ?1",
        "DELETE FROM columns WHERE tag = ?1", "DELETE FROM sets WHERE tag = ?1",
        "DELETE FROM meta WHERE key = 'current' AND value = ?1"};
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
    return clab_nbp_write_end(nb, rc);
}
