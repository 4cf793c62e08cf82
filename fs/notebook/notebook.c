/* The notebook itself: opening it, its schema and the migration of older
 * ones, the meta table and the client id. One writer connection behind a
 * mutex (SQLite allows one writer at a time anyway), whose transactions
 * are in notebook_writer.c. Ingest, reads and /ctl commands are in
 * notebook_ingest.c, notebook_read.c and notebook_ctl.c, over
 * notebook_i.h. */
#include "notebook_i.h"
#include "conninfo.h"
#include "json.h"
#include "log.h"
#include "random.h"
#include "sqlerr.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 11
/* The version that gave jobs their experiment's sha256 (provenance, issue
 * 25). Its own number so that a merge with another step to 8 renumbers
 * this one alone (and SCHEMA_VERSION). */
#define PROVENANCE_VERSION 9
/* The version that gave jobs and results their reuse key (rkey, issue 25,
 * notebook_reuse.c). Its own number, like PROVENANCE_VERSION: a merge with
 * another step renumbers this one (and SCHEMA_VERSION) alone. */
#define REUSE_VERSION 10
/* Each result's byte length (len) and the listing index over it (issue 22). */
#define LEN_VERSION 11

/* The jobs table. Its ids are the link's cursor (ids up to it were sent to
 * the controller): AUTOINCREMENT makes them only grow, so a job submitted
 * after the newest set was deleted never gets an id already passed. */
#define JOBS_TABLE(name)                                                                 \
    "CREATE TABLE IF NOT EXISTS " name "(id INTEGER PRIMARY KEY AUTOINCREMENT,"          \
    "  job TEXT NOT NULL UNIQUE, tag TEXT NOT NULL, experiment TEXT NOT NULL,"           \
    "  params TEXT NOT NULL, timeout REAL NOT NULL,"                                     \
    "  state INTEGER NOT NULL DEFAULT " CLAB_NB_JOB_PENDING_SQL ","                      \
    "  arguments TEXT, worker INTEGER NOT NULL DEFAULT 0,"                               \
    "  rep INTEGER NOT NULL DEFAULT 0, reps INTEGER NOT NULL DEFAULT 1,"                 \
    "  bundle INTEGER, sha256 TEXT, rkey TEXT);"

/* A fresh notebook; older ones are brought up to date by setup_schema().
 * A set's id only grows (AUTOINCREMENT): it names the set's files in the
 * mount (their inode numbers), so a deleted and resubmitted tag must not
 * get the id of the set it replaces. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS sets(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tag TEXT NOT NULL UNIQUE, experiment TEXT NOT NULL, description TEXT NOT NULL,"
    "  created REAL NOT NULL, next_n INTEGER NOT NULL DEFAULT 1,"
    "  n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0,"
    "  modified REAL NOT NULL DEFAULT 0,"
    "  csv_cells INTEGER NOT NULL DEFAULT 0, tsv_cells INTEGER NOT NULL DEFAULT 0,"
    "  jsonl_bytes INTEGER NOT NULL DEFAULT 0, pending_bytes INTEGER NOT NULL DEFAULT 0,"
    "  pending_jobs INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS results("
    "  tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL, job TEXT NOT NULL,"
    "  doc TEXT NOT NULL, stored REAL, ncols INTEGER, csv TEXT, tsv TEXT, rkey TEXT,"
    "  len INTEGER, PRIMARY KEY(tag, n)) WITHOUT ROWID;"
    /* A listing of results/TAG or failed/ (and a stat of N.json) reads
     * this index alone: each file's size (len + 1) and time. */
    "CREATE INDEX IF NOT EXISTS results_list ON results(tag, ok, n, len, stored);"
    /* Reuse (REUSE_VERSION): successful results by their key, one index
     * probe per point of a submit with "reuse"; failures have none. */
    "CREATE INDEX IF NOT EXISTS results_rkey ON results(rkey) WHERE rkey IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS columns("
    "  tag TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    "  docs INTEGER NOT NULL DEFAULT 0, ok_docs INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(tag, kind, name)) WITHOUT ROWID;"
    /* A job's files (submit's "files"): each content once, by its sha256,
     * and each submit's names for them once (a bundle: {"NAME": "SHA256"}),
     * which its jobs share (jobs.bundle). */
    "CREATE TABLE IF NOT EXISTS files(hash TEXT PRIMARY KEY, data BLOB NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS bundles(id INTEGER PRIMARY KEY, files TEXT NOT NULL);"
    /* Deleted sets whose rows are still being freed (notebook_free.c),
     * by the id the set had; version 8 (provenance is 9). */
    "CREATE TABLE IF NOT EXISTS doomed(id INTEGER PRIMARY KEY, tag TEXT NOT NULL);"
    /* Each submit's provenance (provenance.c) as a JSON object, kept when
     * it differs from the set's last (PROVENANCE_VERSION; a new table
     * needs no migration step). */
    "CREATE TABLE IF NOT EXISTS provenance(id INTEGER PRIMARY KEY, tag TEXT NOT NULL,"
    "  doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS provenance_tag ON provenance(tag, id);";

static const char jobs_schema[] =
    JOBS_TABLE("jobs") "CREATE INDEX IF NOT EXISTS jobs_pending ON jobs(tag, state, id);";

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

/* Version 1 notebooks reuse the ids of deleted jobs: the table is copied
 * into one with AUTOINCREMENT (made first, as jobs_v2), ids kept; its index
 * is made by jobs_schema. */
static const char jobs_v2[] = JOBS_TABLE("jobs_v2");
static const char migrate_v2[] =
    "INSERT INTO jobs_v2(id, job, tag, experiment, params, timeout, state)"
    "  SELECT id, job, tag, experiment, params, timeout, state FROM jobs;"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v2 RENAME TO jobs;";

/* Version 2 notebooks have no worker mode: each job gains its argv after
 * the path (a JSON array, NULL when none) and whether it runs in a worker.
 * Older ones got these columns with jobs_v2 above. */
static const char migrate_v3[] = "ALTER TABLE jobs ADD COLUMN arguments TEXT;"
                                 "ALTER TABLE jobs ADD COLUMN worker INTEGER NOT NULL "
                                 "DEFAULT 0;";

/* Version 3 notebooks have no `finish` and no repetition metadata: a set
 * gains whether it is locked, a job which repetition of how many it is
 * (0 of 1 for the jobs they hold). Jobs older than version 2 got these
 * columns with jobs_v2 above. */
static const char migrate_v4_sets[] =
    "ALTER TABLE sets ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;";
static const char migrate_v4_jobs[] =
    "ALTER TABLE jobs ADD COLUMN rep INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN reps INTEGER NOT NULL DEFAULT 1;";

/* Version 4 notebooks render every row of results.csv and results.tsv
 * from its JSON document: a successful result gains its cells as rendered
 * at ingest (ncols columns; tsv NULL when it is the same text as csv),
 * filled in for the results already there (clab_nbp_fill_cells). */
static const char migrate_v5[] = "ALTER TABLE results ADD COLUMN ncols INTEGER;"
                                 "ALTER TABLE results ADD COLUMN csv TEXT;"
                                 "ALTER TABLE results ADD COLUMN tsv TEXT;";

/* Version 5 notebooks named a job's repetition epyc.repeated.repetitions
 * and epyc.repeated.i, which are not epyc's names: stored documents get
 * epyc's (CLAB_NB_REPETITIONS, CLAB_NB_REP; the job's value wins over one
 * the experiment gave under the new name), the metadata columns too, and
 * the rows' cells, whose column order changes, are rendered again. Their
 * columns did not count the documents that have each name (notebook.json
 * renames and sizes by these): the counts are made from every document. */
static const char migrate_v6_counts[] =
    "ALTER TABLE columns ADD COLUMN docs INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE columns ADD COLUMN ok_docs INTEGER NOT NULL DEFAULT 0;";
/* Jobs of version 2 to 5 gain the files they name (version 1 jobs got the
 * column with jobs_v2). */
static const char migrate_v6_jobs[] = "ALTER TABLE jobs ADD COLUMN bundle INTEGER;";
static const char *const v6_renames[][2] = {
    {"epyc.repeated.repetitions", CLAB_NB_REPETITIONS},
    {"epyc.repeated.i", CLAB_NB_REP},
};
static const char migrate_v6_columns[] =
    "UPDATE OR REPLACE columns SET name = 'epyc.experiment.repetitions'"
    "  WHERE kind = 2 AND name = 'epyc.repeated.repetitions';"
    "UPDATE OR REPLACE columns SET name = 'epyc.experiment.rep'"
    "  WHERE kind = 2 AND name = 'epyc.repeated.i';";

/* doc (a result document's text) with its metadata renamed, keys in their
 * order; NULL when out of memory or not a document. */
static char *v6_document(const char *text, size_t len)
{
    json_t *doc = clab_json_loadb(text, len, 0, NULL), *md2 = json_object(), *v;
    json_t *md = json_object_get(doc, "metadata");
    const char *k;
    char *out = NULL;
    int bad = !md2 || !json_is_object(md);
    json_object_foreach(md, k, v)
    {
        const char *name = k;
        for (size_t i = 0; i < sizeof v6_renames / sizeof *v6_renames; i++)
            if (strcmp(k, v6_renames[i][0]) == 0)
                name = v6_renames[i][1];
        if (name == k && json_object_get(md2, k))
            continue; /* renamed onto already: the job's value stays */
        bad |= json_object_set(md2, name, v);
    }
    if (!bad && json_object_set(doc, "metadata", md2) == 0)
        out = clab_json_dumps(doc);
    json_decref(md2);
    json_decref(doc);
    return out;
}

/* Counts the names of every stored document into the columns (as ingest
 * does, clab_nbp_count_names). */
static int count_columns(clab_notebook_t *nb)
{
    sqlite3_stmt *st = NULL, *up = NULL;
    int rc = clab_nbp_prepare(nb->db, "SELECT tag, ok, doc FROM results", &st);
    rc = rc ? rc : clab_nbp_prepare(nb->db, CLAB_NBP_COUNT_NAME_SQL, &up);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        json_t *doc = clab_json_loadb((const char *)sqlite3_column_text(st, 2),
                                      (size_t)sqlite3_column_bytes(st, 2), 0, NULL);
        rc = doc ? clab_nbp_count_names(nb->db, up,
                                        (const char *)sqlite3_column_text(st, 0),
                                        sqlite3_column_int(st, 1), doc)
                 : -EIO;
        json_decref(doc);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    return rc;
}

static int migrate_v6(clab_notebook_t *nb)
{
    sqlite3_stmt *st = NULL, *up = NULL;
    json_t *tags = json_object();
    int rc = tags ? 0 : -ENOMEM;
    if (!rc && (rc = clab_nbp_prepare(nb->db,
                                      "SELECT tag, n, doc FROM results"
                                      " WHERE instr(doc, '\"epyc.repeated.') > 0",
                                      &st)) == 0)
        rc = clab_nbp_prepare(nb->db,
                              "UPDATE results SET doc = :doc, ncols = NULL, csv = NULL,"
                              " tsv = NULL WHERE tag = :tag AND n = :n",
                              &up);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        char *doc = v6_document((const char *)sqlite3_column_text(st, 2),
                                (size_t)sqlite3_column_bytes(st, 2));
        if (!doc) {
            rc = -ENOMEM;
            break;
        }
        sqlite3_bind_text(up, clab_nbp_at(up, ":doc"), doc, -1, free);
        sqlite3_bind_value(up, clab_nbp_at(up, ":tag"), sqlite3_column_value(st, 0));
        sqlite3_bind_int64(up, clab_nbp_at(up, ":n"), sqlite3_column_int64(st, 1));
        rc = sqlite3_step(up) == SQLITE_DONE ? 0 : clab_nbp_sql_errno(nb->db, "v6");
        sqlite3_reset(up);
        if (!rc && json_object_set_new(tags, (const char *)sqlite3_column_text(st, 0),
                                       json_true()))
            rc = -ENOMEM;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    if (!rc && sqlite3_exec(nb->db, migrate_v6_columns, NULL, NULL, NULL) != SQLITE_OK)
        rc = clab_nbp_sql_errno(nb->db, "v6 columns");
    rc = rc ? rc : clab_nbp_fill_cells(nb);
    const char *tag;
    json_t *v;
    json_object_foreach(tags, tag, v) if (!rc) rc = clab_nbp_recount(nb, tag);
    json_decref(tags);
    return rc ? rc : count_columns(nb);
}

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

int clab_nbp_at(sqlite3_stmt *st, const char *name)
{
    return sqlite3_bind_parameter_index(st, name);
}

/* Every connection refuses a notebook that is a symbolic link (SQLite
 * opens its -wal and -shm with O_NOFOLLOW itself). */
int clab_nbp_open_db(const char *path, int flags, sqlite3 **out)
{
    sqlite3 *db = NULL;
    flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rc = db ? clab_nbp_sql_errno(db, path) : -ENOMEM;
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 10000);
    *out = db;
    return 0;
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

/* 1 when tag is locked, 0 when not, -ENOENT when there is no such set. */
int clab_nbp_set_locked(sqlite3 *db, const char *tag)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(db, "SELECT locked FROM sets WHERE tag = ?1", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    int locked = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW    ? locked
           : rc == SQLITE_DONE ? -ENOENT
                               : clab_nbp_sql_errno(db, "set");
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

/* Notebooks before version 7 key a set by its tag alone, and the implicit rowid
 * that names the set's files in the mount is handed out again once the
 * newest set is deleted. The table is copied into one with an
 * AUTOINCREMENT id (tag UNIQUE), each set keeping its rowid as its id. The
 * columns are read from the table as it is, so that columns another
 * migration added to sets before this one are copied too. */
static int sets_column(clab_buf_t *def, clab_buf_t *names, sqlite3_stmt *info)
{
    const char *name = (const char *)sqlite3_column_text(info, 1);
    const char *type = (const char *)sqlite3_column_text(info, 2);
    const char *dflt = (const char *)sqlite3_column_text(info, 4);
    /* A table that has its id already (an INTEGER PRIMARY KEY is the
     * rowid, copied as the id) keeps it. */
    if (strcmp(name, "id") == 0)
        return 0;
    int rc = clab_buf_printf(names, ", \"%s\"", name);
    if (strcmp(name, "tag") == 0)
        return rc ? rc : clab_buf_puts(def, ", tag TEXT NOT NULL UNIQUE");
    rc = rc ? rc : clab_buf_printf(def, ", \"%s\" %s", name, type ? type : "");
    if (!rc && sqlite3_column_int(info, 3))
        rc = clab_buf_puts(def, " NOT NULL");
    if (!rc && dflt)
        rc = clab_buf_printf(def, " DEFAULT %s", dflt);
    return rc;
}

static int migrate_v7_sets(sqlite3 *db)
{
    sqlite3_stmt *info = NULL;
    clab_buf_t def = {0}, names = {0}, sql = {0};
    int rc = clab_nbp_prepare(db, "PRAGMA table_info(sets)", &info);
    rc = rc ? rc
            : clab_buf_puts(&def, "CREATE TABLE sets_v7(id INTEGER PRIMARY KEY "
                                  "AUTOINCREMENT");
    while (rc == 0 && (rc = sqlite3_step(info)) == SQLITE_ROW)
        rc = sets_column(&def, &names, info);
    if (rc != SQLITE_DONE)
        goto out;
    rc = clab_buf_printf(&sql,
                         "%s);INSERT INTO sets_v7(id%s) SELECT rowid%s FROM sets;"
                         "DROP TABLE sets;ALTER TABLE sets_v7 RENAME TO sets;",
                         def.data, names.data, names.data);
    if (!rc && sqlite3_exec(db, sql.data, NULL, NULL, NULL) != SQLITE_OK)
        rc = clab_nbp_sql_errno(db, "migrate sets");
out:
    if (rc > 0)
        rc = clab_nbp_sql_errno(db, "sets columns");
    sqlite3_finalize(info);
    clab_buf_free(&def);
    clab_buf_free(&names);
    clab_buf_free(&sql);
    return rc;
}

/* Provenance (PROVENANCE_VERSION): each job gains its experiment's sha256
 * as hashed at submit; jobs submitted before have none (NULL), and their
 * records no clab.experiment_sha256. Version 1 jobs got the column with
 * jobs_v2. */
static const char migrate_provenance_jobs[] = "ALTER TABLE jobs ADD COLUMN sha256 TEXT;";

/* Reuse (REUSE_VERSION): jobs and successful results gain their reuse
 * key. Older ones have none (NULL): their results are never reused, as
 * the key needs the arguments and identity hashed as a submit does, and a
 * record's parameters are not always the submitted ones. Version 1 jobs
 * got the column with jobs_v2. */
static const char migrate_reuse_jobs[] = "ALTER TABLE jobs ADD COLUMN rkey TEXT;";
static const char migrate_reuse_results[] = "ALTER TABLE results ADD COLUMN rkey TEXT;";

/* Lengths (LEN_VERSION): the column, filled once every document is final
 * (setup_schema, after migrate_v6), and results_list for results_ok. */
static const char migrate_len[] =
    "ALTER TABLE results ADD COLUMN len INTEGER; DROP INDEX IF EXISTS results_ok;";

/* The migrations, in order: each runs on a notebook whose version is at
 * least from and below to (some columns came with an earlier step for
 * older notebooks: jobs_v2 makes the jobs table whole). */
static const struct {
    int from, to;
    const char *sql;
} migrations[] = {
    {0, 1, migrate_v1},
    {0, 2, jobs_v2},
    {0, 2, migrate_v2},
    {2, 3, migrate_v3},
    {0, 4, migrate_v4_sets},
    {2, 4, migrate_v4_jobs},
    {0, 5, migrate_v5},
    {0, 6, migrate_v6_counts},
    {2, 6, migrate_v6_jobs},
    /* Provenance (issue 25): renumber with PROVENANCE_VERSION on a merge. */
    {2, PROVENANCE_VERSION, migrate_provenance_jobs},
    /* Reuse (issue 25): renumber with REUSE_VERSION on a merge. */
    {2, REUSE_VERSION, migrate_reuse_jobs},
    {0, REUSE_VERSION, migrate_reuse_results},
    {0, LEN_VERSION, migrate_len},
};

/* The migrations of a notebook of `version`, in order, then the schema. */
static int migrate(clab_notebook_t *nb, int existed, int version)
{
    if (existed && version < SCHEMA_VERSION)
        clab_info("notebook: upgrading to schema version %d", SCHEMA_VERSION);
    for (size_t i = 0; existed && i < sizeof migrations / sizeof *migrations; i++)
        if (version >= migrations[i].from && version < migrations[i].to &&
            sqlite3_exec(nb->db, migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK)
            return clab_nbp_sql_errno(nb->db, "migrate");
    int rc = existed && version < 7 ? migrate_v7_sets(nb->db) : 0;
    if (rc < 0)
        return rc;
    if (sqlite3_exec(nb->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(nb->db, jobs_schema, NULL, NULL, NULL) != SQLITE_OK)
        return clab_nbp_sql_errno(nb->db, "schema");
    return 0;
}

/* Creates the schema, or brings an older notebook up to date, in one
 * transaction so that a crash leaves the old one intact. */
static int setup_schema(clab_notebook_t *nb)
{
    sqlite3_stmt *st = NULL;
    int version = 0, existed = 0, rc;
    /* Before the first table: a new notebook gives the pages of deleted
     * sets back to the file system (an older one is vacuumed into this
     * mode by clab_nbp_free_setup). */
    if (sqlite3_exec(nb->db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(nb->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(nb->db,
                     nb->sync == CLAB_NB_SYNC_FULL ? "PRAGMA synchronous = FULL"
                                                   : "PRAGMA synchronous = NORMAL",
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
    if ((rc = migrate(nb, existed, version)) < 0)
        goto out;
    if (existed && version < 1) {
        if ((rc = clab_nbp_prepare(nb->db, "SELECT tag FROM sets", &st)) < 0)
            goto out;
        while (sqlite3_step(st) == SQLITE_ROW && rc == 0)
            rc = clab_nbp_recount(nb, (const char *)sqlite3_column_text(st, 0));
        if (rc < 0)
            goto out;
    }
    if (existed && version < 5 && (rc = clab_nbp_fill_cells(nb)) < 0)
        goto out;
    if (existed && version < 6 && (rc = migrate_v6(nb)) < 0)
        goto out;
    if (existed && version < LEN_VERSION &&
        sqlite3_exec(nb->db, "UPDATE results SET len = length(CAST(doc AS BLOB))", NULL,
                     NULL, NULL) != SQLITE_OK) {
        rc = clab_nbp_sql_errno(nb->db, "lengths");
        goto out;
    }
    if (version != SCHEMA_VERSION &&
        sqlite3_exec(nb->db, "PRAGMA user_version = " CLAB_NB_STR(SCHEMA_VERSION), NULL,
                     NULL, NULL) != SQLITE_OK)
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
    pthread_mutex_init(&nb->ctl_lock, NULL);
    pthread_mutex_init(&nb->pool_lock, NULL);
    pthread_mutex_init(&nb->gen_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&nb->changed, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&nb->free_lock, NULL);
    pthread_cond_init(&nb->free_cond, NULL);
    const char *sync = getenv("CLAB_NOTEBOOK_SYNC");
    nb->sync = !sync                         ? CLAB_NB_SYNC_RESULTS
               : strcmp(sync, "normal") == 0 ? CLAB_NB_SYNC_NORMAL
               : strcmp(sync, "full") == 0   ? CLAB_NB_SYNC_FULL
                                             : CLAB_NB_SYNC_RESULTS;
    /* A new notebook is made here, 0600 whatever the umask and never
     * through a link, so that its -wal and -shm, which SQLite makes with
     * the database file's mode, are private too (SQLite would make all
     * three 0644 less the umask). */
    int fd = clab_open_private(path, O_RDWR | O_CREAT);
    if (fd < 0) {
        rc = fd;
        goto fail;
    }
    close(fd);
    if ((rc = clab_nbp_open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                               &nb->db)) < 0)
        goto fail;
    if ((rc = setup_schema(nb)) < 0 || (rc = clab_nbp_free_setup(nb)) < 0 ||
        (rc = clab_nbp_ingest_prepare(nb)) < 0 || (rc = clab_rate_new(&nb->rate)) < 0)
        goto fail;
    nb->opened = clab_now();
    rc = clab_nbp_meta_get(nb->db, "client_id", nb->client_id, sizeof nb->client_id);
    if (rc == -ENOENT) {
        char hex[33];
        clab_random_hex(hex, 8);
        snprintf(nb->client_id, sizeof nb->client_id, "clabfs-%s", hex);
        rc = clab_nbp_meta_set(nb->db, "client_id", nb->client_id);
    }
    if (rc < 0 || (rc = clab_nbp_free_start(nb)) < 0)
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
    clab_nbp_free_stop(nb);
    for (int i = 0; i < nb->npool; i++)
        clab_nbp_conn_close(nb->pool[i]);
    clab_nbp_ingest_finalize(&nb->in);
    clab_rate_destroy(&nb->rate);
    sqlite3_close(nb->db);
    pthread_mutex_destroy(&nb->lock);
    pthread_mutex_destroy(&nb->ctl_lock);
    pthread_mutex_destroy(&nb->pool_lock);
    pthread_mutex_destroy(&nb->gen_lock);
    pthread_cond_destroy(&nb->changed);
    pthread_mutex_destroy(&nb->free_lock);
    pthread_cond_destroy(&nb->free_cond);
    free(nb->path);
    free(nb);
    *pnb = NULL;
}

const char *clab_notebook_client_id(const clab_notebook_t *nb)
{
    return nb->client_id;
}

void clab_notebook_on_new_column(clab_notebook_t *nb,
                                 void (*fn)(void *ud, const char *tag), void *ud)
{
    pthread_mutex_lock(&nb->lock);
    nb->on_column = fn;
    nb->on_column_ud = ud;
    pthread_mutex_unlock(&nb->lock);
}
