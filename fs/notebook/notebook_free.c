/* Space given back. A delete only moves its set into `doomed` (one short
 * transaction, so the write(2) of /ctl returns at once); this file frees
 * the set's rows afterwards, FREE_ROWS at a time, each batch its own
 * transaction, so that the writer is never held for long and the WAL,
 * checkpointed after every batch, stays a few MiB however large the set.
 * Once no deleted set is left, the free pages go back to the file system
 * (auto_vacuum = INCREMENTAL, VACUUM_PAGES per transaction). A thread of
 * the notebook's own does it; a crash leaves `doomed` behind, and the next
 * open carries on. */
#include "notebook_i.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Rows per table and transaction: a few MiB of pages at most. */
#define FREE_ROWS 1024
/* Pages given back per transaction: 4 MiB of 4 KiB pages. */
#define VACUUM_PAGES 1024
/* The WAL is cut back to this size after a checkpoint reaches its end. */
#define WAL_KEEP "4194304"

/* Each batch's statements, on the deleted set's tag (:tag). The jobs go
 * first: a late result finds no job and is dropped, so no row is added
 * behind the freeing. */
static const char *const free_sql[] = {
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE tag = :tag"
    " LIMIT " CLAB_NB_STR(FREE_ROWS) ")",
    "DELETE FROM results WHERE tag = :tag AND n IN (SELECT n FROM results"
    " WHERE tag = :tag LIMIT " CLAB_NB_STR(FREE_ROWS) ")",
};

/* When the set has no jobs and results left: its names, then the files
 * no other set's jobs name, then the set itself (:id). */
static const char *const last_sql[] = {
    "DELETE FROM columns WHERE tag = :tag",
    "DELETE FROM bundles WHERE id NOT IN"
    " (SELECT bundle FROM jobs WHERE bundle IS NOT NULL)",
    "DELETE FROM files WHERE hash NOT IN"
    " (SELECT value FROM bundles, json_each(bundles.files))",
    "DELETE FROM doomed WHERE id = :id",
};

int clab_nbp_free_setup(clab_notebook_t *nb)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(nb->db, "PRAGMA journal_size_limit = " WAL_KEEP, NULL, NULL, NULL) !=
        SQLITE_OK)
        return clab_nbp_sql_errno(nb->db, "journal_size_limit");
    int rc = clab_nbp_prepare(nb->db, "PRAGMA auto_vacuum", &st);
    if (rc)
        return rc;
    int mode = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (mode == 2)
        return 0;
    /* A notebook made before version 8: auto_vacuum changes only with a
     * VACUUM, which rewrites the file once. */
    clab_info("notebook: vacuuming once, so that deleted sets give space back");
    if (sqlite3_exec(nb->db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", NULL, NULL,
                     NULL) != SQLITE_OK)
        return clab_nbp_sql_errno(nb->db, "vacuum");
    return 0;
}

/* Runs sql with :tag and :id bound where it names them; the rows it
 * changed, or -errno. */
static int run_on(clab_notebook_t *nb, const char *sql, const char *tag, int64_t id)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(nb->db, sql, &st);
    if (rc)
        return rc;
    int at = sqlite3_bind_parameter_index(st, ":tag");
    if (at)
        sqlite3_bind_text(st, at, tag, -1, SQLITE_STATIC);
    if ((at = sqlite3_bind_parameter_index(st, ":id")))
        sqlite3_bind_int64(st, at, id);
    rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(nb->db)
                                         : clab_nbp_sql_errno(nb->db, "free");
    sqlite3_finalize(st);
    return rc;
}

/* The oldest deleted set (the one that had tag, when tag is not NULL):
 * 1 with its id and tag, 0 when there is none. */
static int doomed_next(clab_notebook_t *nb, const char *tag, int64_t *id,
                       char out[CLAB_TAG_MAX + 1])
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(nb->db,
                              "SELECT id, tag FROM doomed WHERE :tag IS NULL"
                              " OR tag = :tag ORDER BY id LIMIT 1",
                              &st);
    if (rc)
        return rc;
    if (tag)
        sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        snprintf(out, CLAB_TAG_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW    ? 1
           : rc == SQLITE_DONE ? 0
                               : clab_nbp_sql_errno(nb->db, "doomed");
}

/* The WAL moved back into the database as far as readers allow, without
 * waiting for them; then the next write starts it again from its
 * beginning and journal_size_limit cuts the file. The caller holds lock. */
static void checkpoint(clab_notebook_t *nb)
{
    if (sqlite3_exec(nb->db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL) !=
        SQLITE_OK)
        clab_warn("notebook: checkpoint: %s", sqlite3_errmsg(nb->db));
}

/* A transaction of the writer that changes nothing anyone sees, so it
 * does not wake the readers of `wait` as write_end would. */
static int quiet_end(clab_notebook_t *nb, int rc)
{
    if (rc >= 0 && sqlite3_exec(nb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = clab_nbp_sql_errno(nb->db, "free commit");
    if (rc < 0)
        sqlite3_exec(nb->db, "ROLLBACK", NULL, NULL, NULL);
    else
        checkpoint(nb);
    pthread_mutex_unlock(&nb->lock);
    return rc;
}

static int quiet_begin(clab_notebook_t *nb)
{
    clab_nbp_lock(nb);
    if (sqlite3_exec(nb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    int rc = clab_nbp_sql_errno(nb->db, "free begin");
    pthread_mutex_unlock(&nb->lock);
    return rc;
}

/* One batch of the oldest deleted set's rows (of tag's, when not NULL):
 * 1 when it freed something, 0 when no deleted set is left. */
static int free_batch(clab_notebook_t *nb, const char *tag)
{
    char doomed[CLAB_TAG_MAX + 1];
    int64_t id = 0;
    int rc = quiet_begin(nb), rows = 0;
    if (rc)
        return rc;
    if ((rc = doomed_next(nb, tag, &id, doomed)) <= 0)
        goto out;
    for (size_t i = 0; i < sizeof free_sql / sizeof *free_sql && rc >= 0; i++)
        if ((rc = run_on(nb, free_sql[i], doomed, id)) > 0)
            rows += rc;
    for (size_t i = 0; rows == 0 && rc >= 0 && i < sizeof last_sql / sizeof *last_sql;
         i++)
        rc = run_on(nb, last_sql[i], doomed, id);
    if (rc >= 0 && rows == 0)
        clab_debug("notebook: deleted set %lld (%s) freed", (long long)id, doomed);
    rc = rc < 0 ? rc : 1;
out:
    return quiet_end(nb, rc);
}

/* Up to VACUUM_PAGES free pages given back: 1 when some were, 0 when the
 * database has none. */
static int vacuum_batch(clab_notebook_t *nb)
{
    sqlite3_stmt *st = NULL;
    int rc = quiet_begin(nb);
    if (rc)
        return rc;
    if ((rc = clab_nbp_prepare(nb->db, "PRAGMA freelist_count", &st)) < 0)
        goto out;
    rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) > 0
                                        : clab_nbp_sql_errno(nb->db, "freelist");
    if (rc > 0 &&
        sqlite3_exec(nb->db, "PRAGMA incremental_vacuum(" CLAB_NB_STR(VACUUM_PAGES) ")",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = clab_nbp_sql_errno(nb->db, "incremental_vacuum");
out:
    sqlite3_finalize(st);
    return quiet_end(nb, rc);
}

int clab_notebook_free_step(clab_notebook_t *nb)
{
    int rc = free_batch(nb, NULL);
    return rc ? rc : vacuum_batch(nb);
}

int clab_nbp_free_tag(clab_notebook_t *nb, const char *tag)
{
    int rc;
    while ((rc = free_batch(nb, tag)) > 0)
        ;
    return rc;
}

/* Frees until nothing is left, then sleeps until the next delete. A
 * millisecond between batches lets the link and the mount's writes in
 * (a mutex is not fair). */
static void *freer(void *arg)
{
    clab_notebook_t *nb = arg;
    struct timespec pause = {.tv_nsec = 1000000};
    pthread_mutex_lock(&nb->free_lock);
    while (!nb->free_stop) {
        nb->free_kick = 0;
        pthread_mutex_unlock(&nb->free_lock);
        int rc = clab_notebook_free_step(nb);
        if (rc < 0)
            clab_warn("notebook: freeing deleted sets: %s", strerror(-rc));
        if (rc > 0)
            nanosleep(&pause, NULL);
        pthread_mutex_lock(&nb->free_lock);
        while (rc <= 0 && !nb->free_kick && !nb->free_stop)
            pthread_cond_wait(&nb->free_cond, &nb->free_lock);
    }
    pthread_mutex_unlock(&nb->free_lock);
    return NULL;
}

int clab_nbp_free_start(clab_notebook_t *nb)
{
    int rc = pthread_create(&nb->freer, NULL, freer, nb);
    nb->freer_started = rc == 0;
    return -rc;
}

void clab_nbp_free_kick(clab_notebook_t *nb)
{
    pthread_mutex_lock(&nb->free_lock);
    nb->free_kick = 1;
    pthread_cond_signal(&nb->free_cond);
    pthread_mutex_unlock(&nb->free_lock);
}

void clab_nbp_free_stop(clab_notebook_t *nb)
{
    if (!nb->freer_started)
        return;
    pthread_mutex_lock(&nb->free_lock);
    nb->free_stop = 1;
    pthread_cond_signal(&nb->free_cond);
    pthread_mutex_unlock(&nb->free_lock);
    pthread_join(nb->freer, NULL);
    nb->freer_started = 0;
}
