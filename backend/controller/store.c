/* SQLite behind the controller's queue; prepared statements made once. A
 * delivered task's row is deleted, a cancelled one marked and deleted in
 * batches (clab_store_vacuum), and their pages go back to the file system
 * (auto_vacuum = INCREMENTAL; schema 3, before which tombstones stayed). */
#include "store.h"
#include "conninfo.h"
#include "json.h"
#include "log.h"
#include "sqlerr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    ST_ADD,
    ST_NEXT,
    ST_MARK_RUNNING,
    ST_CLAIM,
    ST_FINISH,
    ST_CLIENT_OF,
    ST_REQUEUE,
    ST_DELIVERED,
    ST_UNDELIVERED,
    ST_MARK_SENT,
    ST_COUNT,
    ST_STATE_OF,
    ST_TRIES_OF,
    ST_CANCEL_RUNNING,
    ST_CANCEL,
    ST_CANCEL_JOB_RUNNING,
    ST_CANCEL_JOB,
    ST_RECOVER,
    ST_FILE_PUT,
    ST_FILE_HAS,
    ST_FILE_GET,
    ST_FILES_GC,
    ST_N
};

/* State numbers in the SQL text. */
#define QUEUED CLAB_STRINGIFY(CLAB_TASK_QUEUED)
#define RUNNING CLAB_STRINGIFY(CLAB_TASK_RUNNING)
#define DONE CLAB_STRINGIFY(CLAB_TASK_DONE)
#define DELIVERED CLAB_STRINGIFY(CLAB_TASK_DELIVERED)
#define PURGE_ROWS 8192 /* cancelled tasks deleted per clab_store_vacuum */

static const char *const sql[ST_N] = {
    /* A marked (cancelled) task is queued again, as a deleted one is. */
    [ST_ADD] =
        "INSERT INTO tasks(job, client, state, body, tag, cseq) "
        "VALUES(:job, :client, " QUEUED ", :body, :tag, :cseq) "
        "ON CONFLICT(job) DO UPDATE SET state = " QUEUED ", engine = NULL, "
        "tries = 0, record = NULL, client = excluded.client, body = excluded.body, "
        "tag = excluded.tag, cseq = excluded.cseq, "
        "seq = (SELECT max(seq) + 1 FROM tasks) WHERE state = " DELIVERED,
    /* ?1: NULL, or a JSON array of sets (client, newline, tag) to pass over. */
    [ST_NEXT] = "SELECT seq, job, body FROM tasks WHERE state = " QUEUED
                " AND (?1 IS NULL OR client || char(10) || tag NOT IN "
                "(SELECT value FROM json_each(?1))) ORDER BY seq LIMIT 1",
    [ST_MARK_RUNNING] =
        "UPDATE tasks SET state = " RUNNING ", engine = ?2 WHERE seq = ?1",
    [ST_CLAIM] = "UPDATE tasks SET state = " RUNNING ", engine = ?2 "
                 "WHERE job = ?1 AND (state = " QUEUED " OR (state = " RUNNING
                 " AND engine = ?2))",
    [ST_FINISH] = "UPDATE tasks SET state = " DONE ", record = :record, sent = :now, "
                  "stamp = :stamp WHERE job = :job AND state < " DONE,
    [ST_CLIENT_OF] = "SELECT client, client || char(10) || tag FROM tasks WHERE job = ?1",
    [ST_STATE_OF] = "SELECT state FROM tasks WHERE job = ?1",
    [ST_TRIES_OF] = "SELECT tries FROM tasks WHERE job = :job",
    /* :upto is the client's sequence number of its newest job when the
     * cancel began (NULL: all); its tasks submitted since are kept. */
    [ST_CANCEL_RUNNING] = "SELECT job, engine FROM tasks "
                          "WHERE client = :client AND tag = :tag AND state = " RUNNING
                          " AND (:upto IS NULL OR cseq IS NULL OR cseq <= :upto)",
    /* Marked: deleting 10^5 rows with their bodies held the loop past the
     * clients' heartbeat timeout; clab_store_vacuum deletes them in batches. */
    [ST_CANCEL] = "UPDATE tasks SET state = " DELIVERED ", record = NULL "
                  "WHERE client = :client AND tag = :tag AND state < " DONE
                  " AND (:upto IS NULL OR cseq IS NULL OR cseq <= :upto)",
    /* One job of the tag (/ctl cancel TAG JOB...), with the same rule. */
    [ST_CANCEL_JOB_RUNNING] =
        "SELECT job, engine FROM tasks "
        "WHERE client = :client AND tag = :tag AND job = :job"
        " AND state = " RUNNING " AND (:upto IS NULL OR cseq IS NULL OR cseq <= :upto)",
    [ST_CANCEL_JOB] =
        "DELETE FROM tasks "
        "WHERE client = :client AND tag = :tag AND job = :job"
        " AND state < " DONE " AND (:upto IS NULL OR cseq IS NULL OR cseq <= :upto)",
    [ST_REQUEUE] =
        "UPDATE tasks SET state = " QUEUED ", engine = NULL, tries = tries + ?2, "
        "seq = (SELECT max(seq) + 1 FROM tasks) "
        "WHERE job = ?1 AND state = " RUNNING " RETURNING tries, body",
    [ST_DELIVERED] = "DELETE FROM tasks WHERE job = ?1 AND client = ?2 AND state = " DONE,
    [ST_UNDELIVERED] =
        "SELECT seq, job, record, stamp FROM tasks WHERE client = ?1 AND state = " DONE
        " AND seq > ?2 AND sent < ?3 ORDER BY seq LIMIT ?4",
    [ST_MARK_SENT] = "UPDATE tasks SET sent = ?2 WHERE seq = ?1",
    [ST_COUNT] =
        "SELECT state, count(*) FROM tasks WHERE state < " DELIVERED " GROUP BY state",
    [ST_RECOVER] =
        "UPDATE tasks SET state = " QUEUED ", engine = NULL WHERE state = " RUNNING,
    /* A job's files, by sha256: kept while an unfinished task names them
     * in its body ("files": {"NAME": "SHA256"}). */
    [ST_FILE_PUT] = "INSERT OR IGNORE INTO files(hash, data) VALUES(:hash, :data)",
    [ST_FILE_HAS] = "SELECT 1 FROM files WHERE hash = :hash",
    [ST_FILE_GET] = "SELECT data FROM files WHERE hash = :hash",
    [ST_FILES_GC] = "DELETE FROM files WHERE hash NOT IN (SELECT f.value FROM tasks,"
                    " json_each(tasks.body, '$.files') f WHERE tasks.state < " DONE
                    " AND json_valid(tasks.body))",
};

struct clab_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_N];
    int vacuumed; /* the open transaction gave pages back: checkpoint after it */
};

/* auto_vacuum before the first table, so that a new store gives freed
 * pages back (an older one is vacuumed into it once, by vacuum_mode);
 * the WAL is cut back to 4 MiB once a checkpoint has emptied it. */
static const char schema[] =
    "PRAGMA auto_vacuum = INCREMENTAL;"
    "PRAGMA journal_mode = WAL;"
    "PRAGMA journal_size_limit = 4194304;"
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS tasks("
    "  seq INTEGER PRIMARY KEY,"
    "  job TEXT NOT NULL UNIQUE,"
    "  client TEXT NOT NULL,"
    "  tag TEXT NOT NULL DEFAULT '',"
    "  state INTEGER NOT NULL,"
    "  engine TEXT,"
    "  tries INTEGER NOT NULL DEFAULT 0,"
    "  body TEXT NOT NULL,"
    "  record TEXT,"
    "  sent REAL NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state, seq);"
    "CREATE INDEX IF NOT EXISTS tasks_client ON tasks(client, state, seq);"
    "CREATE INDEX IF NOT EXISTS tasks_tag ON tasks(client, tag, state);"
    "CREATE TABLE IF NOT EXISTS files(hash TEXT PRIMARY KEY, data BLOB NOT NULL)"
    "  WITHOUT ROWID;";

/* Schema version 1: every row has its tag (version 0 stored ''; cancel
 * matched nothing), taken back once from the task's body. */
static const char repair_tags[] =
    "BEGIN IMMEDIATE;"
    "UPDATE tasks SET tag = json_extract(body, '$.tag') "
    "  WHERE tag = '' AND json_valid(body) AND json_type(body, '$.tag') = 'text';"
    "PRAGMA user_version = 1;"
    "COMMIT;";

/* Schema version 2: a task's cseq (the notebook's job id) bounds a cancel to
 * the tasks submitted before it began; a result keeps the stamp of who ran
 * it (engine id, peer address), delivered beside the record. */
static const char add_cseq_stamp[] = "BEGIN IMMEDIATE;"
                                     "ALTER TABLE tasks ADD COLUMN cseq INTEGER;"
                                     "ALTER TABLE tasks ADD COLUMN stamp TEXT;"
                                     "PRAGMA user_version = 2;"
                                     "COMMIT;";

/* Schema version 3: delivered and cancelled tasks are deleted, not kept;
 * the tombstones of older stores go. */
static const char drop_tombstones[] = "BEGIN IMMEDIATE;"
                                      "DELETE FROM tasks WHERE state = " DELIVERED ";"
                                      "PRAGMA user_version = 3;"
                                      "COMMIT;";

/* The migrations, in order: each brings a store of version < to up to it;
 * one that adds a column is skipped (the version set) when the column is
 * there already, so that a store whose user_version was reset opens. */
static const struct {
    int to;
    const char *sql;
    const char *what;
    const char *adds; /* a column the migration adds, or NULL */
} migrations[] = {
    {.to = 1, .sql = repair_tags, .what = "repair tags"},
    {.to = 2, .sql = add_cseq_stamp, .what = "add cseq and stamp", .adds = "cseq"},
    {.to = 3, .sql = drop_tombstones, .what = "drop tombstones"},
};

static int has_column(clab_store_t *s, const char *column)
{
    char probe[128];
    sqlite3_stmt *st = NULL;
    snprintf(probe, sizeof probe, "SELECT %s FROM tasks LIMIT 0", column);
    int yes = sqlite3_prepare_v2(s->db, probe, -1, &st, NULL) == SQLITE_OK;
    sqlite3_finalize(st);
    return yes;
}

static int db_err(clab_store_t *s, const char *what)
{
    return clab_sqlite_errno(s->db, "store", what);
}

/* Brings the store from version up to the newest schema. */
static int migrate(clab_store_t *s, int version)
{
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
        const char *text = migrations[i].sql;
        char skip[64];
        if (version >= migrations[i].to)
            continue;
        if (migrations[i].adds && has_column(s, migrations[i].adds)) {
            snprintf(skip, sizeof skip, "PRAGMA user_version = %d", migrations[i].to);
            text = skip;
        }
        if (sqlite3_exec(s->db, text, NULL, NULL, NULL)) {
            int rc = db_err(s, migrations[i].what);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return 0;
}

/* A store made before version 3 has no auto_vacuum: it changes only with
 * a VACUUM, which rewrites the file once (outside any transaction). */
static int vacuum_mode(clab_store_t *s)
{
    sqlite3_stmt *st = NULL;
    int mode = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mode = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (mode == 2)
        return 0;
    clab_info("store: vacuuming once, so that finished tasks give space back");
    return sqlite3_exec(s->db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", NULL, NULL,
                        NULL)
               ? db_err(s, "vacuum")
               : 0;
}

static int schema_version(clab_store_t *s)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

int clab_store_open(const char *path, clab_store_t **out)
{
    clab_store_t *s = calloc(1, sizeof *s);
    int rc = -ENOMEM;
    if (!s)
        return rc;
    /* Made 0600 before SQLite opens it (its -wal and -shm take its mode),
     * and never through a link planted in the state directory. */
    int fd = clab_open_private(path, O_RDWR | O_CREAT);
    if (fd < 0) {
        clab_err("store: cannot open %s: %s", path, strerror(-fd));
        rc = fd;
        goto fail;
    }
    close(fd);
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                        NULL)) {
        rc = s->db ? db_err(s, path) : -ENOMEM;
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, schema, NULL, NULL, NULL)) {
        rc = db_err(s, "schema");
        goto fail;
    }
    int version = schema_version(s);
    if (version < 0) {
        rc = db_err(s, "user_version");
        goto fail;
    }
    if ((rc = migrate(s, version)) < 0 || (rc = vacuum_mode(s)) < 0)
        goto fail;
    for (int i = 0; i < ST_N; i++) {
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL)) {
            rc = db_err(s, sql[i]);
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    clab_store_destroy(&s);
    return rc;
}

void clab_store_destroy(clab_store_t **store)
{
    clab_store_t *s = *store;
    if (!s)
        return;
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
    *store = NULL;
}

int clab_store_begin(clab_store_t *s)
{
    return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ? db_err(s, "begin")
                                                                    : 0;
}

int clab_store_commit(clab_store_t *s)
{
    int vacuumed = s->vacuumed;
    s->vacuumed = 0;
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) {
        int rc = db_err(s, "commit");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    /* The file shrinks only when a checkpoint copies the vacuum into it, or
     * a quiet controller would wait for 1,000 pages of WAL to give it back. */
    if (vacuumed &&
        sqlite3_exec(s->db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL))
        clab_warn("store: checkpoint: %s", sqlite3_errmsg(s->db));
    return 0;
}

/* Binds the named parameter name of st (":job"): text, NULL when v is. */
static void bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* An integer, NULL when v is not positive (no such number). */
static void bind_positive(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* Runs a prepared statement that returns no rows. */
static int run(clab_store_t *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, what);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return strdup(t ? t : "");
}

int clab_store_recover(clab_store_t *s)
{
    int rc = run(s, s->st[ST_RECOVER], "recover");
    return rc ? rc : sqlite3_changes(s->db);
}

int clab_store_add(clab_store_t *s, const clab_store_task_t *t)
{
    sqlite3_stmt *st = s->st[ST_ADD];
    bind_text(st, ":job", t->job);
    bind_text(st, ":client", t->client);
    bind_text(st, ":body", t->body);
    bind_text(st, ":tag", t->tag ? t->tag : "");
    bind_positive(st, ":cseq", t->cseq);
    /* A job delivered or cancelled and submitted again by its client is
     * queued again: the client lost what it acknowledged (an OS crash, a
     * restored backup) and only a run finishes it. No point counts twice:
     * the notebook resubmits only jobs it holds as pending and stores a
     * job's result once. A job still in the queue is known: 0. */
    int rc = run(s, st, "add");
    return rc ? rc : sqlite3_changes(s->db) > 0;
}

int clab_store_take(clab_store_t *s, const char *engine, const char *skip, char **job,
                    char **body)
{
    sqlite3_stmt *st = s->st[ST_NEXT];
    if (skip)
        sqlite3_bind_text(st, 1, skip, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 1);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return db_err(s, "take");
    }
    sqlite3_int64 seq = sqlite3_column_int64(st, 0);
    *job = col_dup(st, 1);
    *body = col_dup(st, 2);
    sqlite3_reset(st);
    sqlite3_stmt *mk = s->st[ST_MARK_RUNNING];
    sqlite3_bind_int64(mk, 1, seq);
    sqlite3_bind_text(mk, 2, engine, -1, SQLITE_STATIC);
    if (!*job || !*body || (rc = run(s, mk, "take")) != 0) {
        free(*job);
        free(*body);
        *job = *body = NULL;
        return rc ? rc : -ENOMEM;
    }
    return 1;
}

int clab_store_claim(clab_store_t *s, const char *job, const char *engine)
{
    sqlite3_stmt *st = s->st[ST_CLAIM];
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, engine, -1, SQLITE_STATIC);
    int rc = run(s, st, "claim");
    return rc ? rc : sqlite3_changes(s->db) > 0;
}

int clab_store_finish(clab_store_t *s, const clab_store_result_t *r, char **client,
                      char **set, int *prev_state)
{
    const char *job = r->job;
    sqlite3_stmt *st = s->st[ST_STATE_OF];
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *prev_state = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(s, "finish");
    if (*prev_state < 0 || *prev_state >= CLAB_TASK_DONE)
        return 0;
    st = s->st[ST_FINISH];
    bind_text(st, ":job", job);
    bind_text(st, ":record", r->record);
    bind_text(st, ":stamp", r->stamp);
    sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":now"), r->now);
    if ((rc = run(s, st, "finish")) != 0)
        return rc;
    st = s->st[ST_CLIENT_OF];
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *client = rc == SQLITE_ROW ? col_dup(st, 0) : NULL;
    if (set)
        *set = rc == SQLITE_ROW ? col_dup(st, 1) : NULL;
    sqlite3_reset(st);
    return *client && (!set || *set) ? 1 : -ENOMEM;
}

/* The parameters both cancel statements take. */
static void bind_cancel(sqlite3_stmt *st, const char *client, const char *tag,
                        int64_t upto)
{
    bind_text(st, ":client", client);
    bind_text(st, ":tag", tag);
    int i = sqlite3_bind_parameter_index(st, ":upto");
    if (upto >= 0)
        sqlite3_bind_int64(st, i, upto);
    else
        sqlite3_bind_null(st, i);
}

int clab_store_cancel(clab_store_t *s, const char *client, const char *tag, int64_t upto,
                      json_t *running, long *queued, long *nrunning)
{
    sqlite3_stmt *st = s->st[ST_CANCEL_RUNNING];
    bind_cancel(st, client, tag, upto);
    int rc;
    *nrunning = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_array_append_new(running,
                              json_pack("{s:s, s:s}", "job", sqlite3_column_text(st, 0),
                                        "engine", sqlite3_column_text(st, 1)));
        (*nrunning)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_err(s, "cancel");
    st = s->st[ST_CANCEL];
    bind_cancel(st, client, tag, upto);
    if ((rc = run(s, st, "cancel")) != 0)
        return rc;
    *queued = sqlite3_changes(s->db) - *nrunning;
    return 0;
}

int clab_store_cancel_jobs(clab_store_t *s, const char *client, const char *tag,
                           int64_t upto, const json_t *jobs, json_t *running,
                           long *queued, long *nrunning)
{
    sqlite3_stmt *ask = s->st[ST_CANCEL_JOB_RUNNING], *drop = s->st[ST_CANCEL_JOB];
    size_t i;
    json_t *j;
    int rc = 0;
    *queued = *nrunning = 0;
    json_array_foreach(jobs, i, j)
    {
        const char *job = json_string_value(j);
        if (!job)
            continue;
        bind_cancel(ask, client, tag, upto);
        bind_text(ask, ":job", job);
        int was_running = 0;
        if ((rc = sqlite3_step(ask)) == SQLITE_ROW) {
            json_array_append_new(running, json_pack("{s:s, s:s}", "job", job, "engine",
                                                     sqlite3_column_text(ask, 1)));
            was_running = 1;
        }
        sqlite3_reset(ask);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return db_err(s, "cancel job");
        bind_cancel(drop, client, tag, upto);
        bind_text(drop, ":job", job);
        if ((rc = run(s, drop, "cancel job")) != 0)
            return rc;
        if (sqlite3_changes(s->db) > 0) {
            *nrunning += was_running;
            *queued += !was_running;
        }
    }
    return 0;
}

int clab_store_tries(clab_store_t *s, const char *job)
{
    sqlite3_stmt *st = s->st[ST_TRIES_OF];
    bind_text(st, ":job", job);
    int rc = sqlite3_step(st);
    int tries = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? tries : rc == SQLITE_DONE ? -ENOENT : db_err(s, "tries");
}

int clab_store_requeue(clab_store_t *s, const char *job, int count_try, char **body)
{
    sqlite3_stmt *st = s->st[ST_REQUEUE];
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, count_try ? 1 : 0);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? -ENOENT : db_err(s, "requeue");
    }
    int tries = sqlite3_column_int(st, 0);
    if (body)
        *body = col_dup(st, 1);
    /* RETURNING rows are produced before the update is final: step to the end. */
    while (sqlite3_step(st) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    return tries;
}

int clab_store_delivered(clab_store_t *s, const char *client, const char *job)
{
    sqlite3_stmt *st = s->st[ST_DELIVERED];
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, client, -1, SQLITE_STATIC);
    return run(s, st, "delivered");
}

int clab_store_undelivered(clab_store_t *s, const char *client, int64_t *after,
                           double sent_before, double now, size_t max, json_t *out)
{
    sqlite3_stmt *st = s->st[ST_UNDELIVERED];
    sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, *after);
    sqlite3_bind_double(st, 3, sent_before);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
    int n = 0, rc;
    int64_t seqs[1024];
    while (n < 1024 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *job = (const char *)sqlite3_column_text(st, 1);
        const char *rec = (const char *)sqlite3_column_text(st, 2);
        const char *stamp = (const char *)sqlite3_column_text(st, 3);
        json_t *record = rec ? clab_json_loads(rec, 0, NULL) : NULL;
        json_t *who = stamp ? json_loads(stamp, 0, NULL) : NULL;
        *after = seqs[n] = sqlite3_column_int64(st, 0);
        if (job && record)
            json_array_append_new(out, json_pack("{s:s, s:o, s:o*}", "job", job, "record",
                                                 record, "stamp", who));
        else
            json_decref(record);
        if (!job || !record)
            json_decref(who);
        n++;
    }
    sqlite3_reset(st);
    sqlite3_stmt *mk = s->st[ST_MARK_SENT];
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(mk, 1, seqs[i]);
        sqlite3_bind_double(mk, 2, now);
        if ((rc = run(s, mk, "mark sent")) != 0)
            return rc;
    }
    return n;
}

int clab_store_file_put(clab_store_t *s, const char *hash, const void *data, size_t len)
{
    sqlite3_stmt *st = s->st[ST_FILE_PUT];
    bind_text(st, ":hash", hash);
    sqlite3_bind_blob(st, sqlite3_bind_parameter_index(st, ":data"), len ? data : "",
                      (int)len, SQLITE_STATIC);
    int rc = run(s, st, "file");
    return rc ? rc : sqlite3_changes(s->db) > 0;
}

int clab_store_file_has(clab_store_t *s, const char *hash)
{
    sqlite3_stmt *st = s->st[ST_FILE_HAS];
    bind_text(st, ":hash", hash);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_err(s, "file");
}

int clab_store_file_get(clab_store_t *s, const char *hash, char **data, size_t *len)
{
    sqlite3_stmt *st = s->st[ST_FILE_GET];
    bind_text(st, ":hash", hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        if ((*data = malloc(*len + 1)) && *len)
            memcpy(*data, sqlite3_column_blob(st, 0), *len);
        rc = *data ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : db_err(s, "file");
    }
    sqlite3_reset(st);
    return rc;
}

int clab_store_files_gc(clab_store_t *s)
{
    int rc = run(s, s->st[ST_FILES_GC], "files gc");
    return rc ? rc : sqlite3_changes(s->db);
}

int clab_store_vacuum(clab_store_t *s, int pages)
{
    char text[64];
    sqlite3_stmt *st = NULL;
    int freed = 0;
    /* Cancelled tasks (ST_CANCEL marks them) go first, a batch a call. */
    if (sqlite3_exec(s->db,
                     "DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE state "
                     "= " DELIVERED " LIMIT " CLAB_STRINGIFY(PURGE_ROWS) ")",
                     NULL, NULL, NULL))
        return db_err(s, "purge");
    if (sqlite3_prepare_v2(s->db, "PRAGMA freelist_count", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        freed = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (freed > pages)
        freed = pages;
    snprintf(text, sizeof text, "PRAGMA incremental_vacuum(%d)", pages);
    if (freed > 0 && sqlite3_exec(s->db, text, NULL, NULL, NULL))
        return db_err(s, "incremental_vacuum");
    s->vacuumed |= freed > 0;
    return freed;
}

int clab_store_counts(clab_store_t *s, long *queued, long *running, long *done)
{
    sqlite3_stmt *st = s->st[ST_COUNT];
    *queued = *running = *done = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long n = (long)sqlite3_column_int64(st, 1);
        switch (sqlite3_column_int(st, 0)) {
        case CLAB_TASK_QUEUED:
            *queued = n;
            break;
        case CLAB_TASK_RUNNING:
            *running = n;
            break;
        default:
            *done = n;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, "counts");
}
