/* Reading the notebook. Readers come from a pool of read-only
 * connections; each is lent out with a read transaction open, so that all
 * its queries see one snapshot however long it is held, and keeps the
 * statements of the point queries that stat and lookup make for every
 * file. Cursors walk results and pending points in order of N or id. */
#include "notebook_i.h"
#include "table.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What clab_set_info_t holds, in the order fill_info reads it. */
#define SET_COLUMNS                                                                      \
    "tag, experiment, description, n_ok, n_failed, n_done, n_pending, id, next_n - 1,"   \
    " created, modified, csv_cells, tsv_cells, jsonl_bytes, pending_bytes, pending_jobs"

static const char *const reader_sql[Q_COUNT] = {
    [Q_CURRENT] = "SELECT value FROM meta WHERE key = 'current'",
    [Q_SET_INFO] = "SELECT " SET_COLUMNS " FROM sets WHERE tag = :tag",
    [Q_SET_BY_ID] = "SELECT " SET_COLUMNS " FROM sets WHERE id = :id",
    [Q_RESULT] = "SELECT doc FROM results WHERE tag = ?1 AND n = ?2 AND ok = ?3",
    [Q_RESULT_STAT] = "SELECT len, stored FROM results"
                      " WHERE tag = ?1 AND ok = ?3 AND n = ?2",
    /* The tables' columns: parameters of any record, results and metadata
     * of successes (a failure's are only counted, for notebook.json). */
    [Q_COLUMNS] = "SELECT name FROM columns WHERE tag = ?1 AND kind = ?2"
                  " AND (kind = 0 OR ok_docs > 0) ORDER BY name",
};

void clab_nbp_conn_close(conn_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(c->q[i]);
    sqlite3_close(c->db);
    free(c);
}

int clab_nb_reader_open(clab_notebook_t *nb, clab_nb_reader_t **out)
{
    clab_nb_reader_t *r = calloc(1, sizeof *r);
    int rc = 0;
    if (!r)
        return -ENOMEM;
    r->nb = nb;
    pthread_mutex_lock(&nb->pool_lock);
    if (nb->npool > 0)
        r->c = nb->pool[--nb->npool];
    pthread_mutex_unlock(&nb->pool_lock);
    if (!r->c) {
        if (!(r->c = calloc(1, sizeof *r->c))) {
            free(r);
            return -ENOMEM;
        }
        if ((rc = clab_nbp_open_db(nb->path, SQLITE_OPEN_READONLY, &r->c->db)) < 0) {
            free(r->c);
            free(r);
            return rc;
        }
    }
    r->db = r->c->db;
    if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = clab_nbp_sql_errno(r->db, "begin read");
        clab_nbp_conn_close(r->c);
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
    if (nb->npool < CLAB_NB_POOL_MAX) {
        nb->pool[nb->npool++] = r->c;
        r->c = NULL;
    }
    pthread_mutex_unlock(&nb->pool_lock);
    clab_nbp_conn_close(r->c);
    free(r);
    *pr = NULL;
}

/* A cached statement of this connection, reset and ready for binding. */
static int query(clab_nb_reader_t *r, int q, sqlite3_stmt **st)
{
    if (!r->c->q[q] &&
        sqlite3_prepare_v3(r->db, reader_sql[q], -1, SQLITE_PREPARE_PERSISTENT,
                           &r->c->q[q], NULL) != SQLITE_OK)
        return clab_nbp_sql_errno(r->db, reader_sql[q]);
    *st = r->c->q[q];
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return 0;
}

int clab_nb_current(clab_nb_reader_t *r, char tag[CLAB_TAG_MAX + 1])
{
    sqlite3_stmt *st;
    int rc = query(r, Q_CURRENT, &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(tag, CLAB_TAG_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : clab_nbp_sql_errno(r->db, "current");
    }
    sqlite3_reset(st);
    return rc;
}

void clab_set_info_clear(clab_set_info_t *info)
{
    free(info->experiment);
    free(info->description);
    memset(info, 0, sizeof *info);
}

/* The row of a set query (SET_COLUMNS) into info. */
static int fill_info(sqlite3_stmt *st, clab_set_info_t *info)
{
    snprintf(info->tag, sizeof info->tag, "%s", (const char *)sqlite3_column_text(st, 0));
    info->experiment = strdup((const char *)sqlite3_column_text(st, 1));
    info->description = strdup((const char *)sqlite3_column_text(st, 2));
    info->results = (long)sqlite3_column_int64(st, 3);
    info->failed = (long)sqlite3_column_int64(st, 4);
    info->done = (long)sqlite3_column_int64(st, 5);
    info->pending = (long)sqlite3_column_int64(st, 6);
    info->id = sqlite3_column_int64(st, 7);
    info->last_n = (long)sqlite3_column_int64(st, 8);
    info->created = sqlite3_column_double(st, 9);
    info->modified = sqlite3_column_double(st, 10);
    info->csv_cells = sqlite3_column_int64(st, 11);
    info->tsv_cells = sqlite3_column_int64(st, 12);
    info->jsonl_bytes = sqlite3_column_int64(st, 13);
    info->pending_bytes = sqlite3_column_int64(st, 14);
    info->pending_jobs = sqlite3_column_int64(st, 15);
    return info->experiment && info->description ? 0 : -ENOMEM;
}

/* Runs a set query (Q_SET_INFO or Q_SET_BY_ID, bound) into info. */
static int set_query(clab_nb_reader_t *r, sqlite3_stmt *st, clab_set_info_t *info)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = fill_info(st, info);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : clab_nbp_sql_errno(r->db, "set info");
    sqlite3_reset(st);
    if (rc)
        clab_set_info_clear(info);
    return rc;
}

int clab_nb_set_info(clab_nb_reader_t *r, const char *tag, clab_set_info_t *info)
{
    sqlite3_stmt *st;
    memset(info, 0, sizeof *info);
    int rc = query(r, Q_SET_INFO, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":tag"), tag, -1,
                      SQLITE_STATIC);
    return set_query(r, st, info);
}

int clab_nb_set_by_id(clab_nb_reader_t *r, int64_t id, clab_set_info_t *info)
{
    sqlite3_stmt *st;
    memset(info, 0, sizeof *info);
    int rc = query(r, Q_SET_BY_ID, &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":id"), id);
    return set_query(r, st, info);
}

double clab_nb_rate(clab_nb_reader_t *r, const clab_set_info_t *info, double now)
{
    /* Counting began at the set's first submit, or at the open for a set
     * older than this mount, whose earlier points the window never saw. */
    double since = info->created > r->nb->opened ? info->created : r->nb->opened;
    return clab_rate_get(r->nb->rate, info->id, since, now);
}

int clab_nb_provenance(clab_nb_reader_t *r, const char *tag,
                       int (*fn)(void *ud, const char *doc, size_t len), void *ud)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(
        r->db, "SELECT doc FROM provenance WHERE tag = :tag ORDER BY id", &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = fn(ud, (const char *)sqlite3_column_text(st, 0),
                     (size_t)sqlite3_column_bytes(st, 0))) != 0)
            break;
    rc = rc == SQLITE_DONE ? 0 : rc < 0 ? rc : clab_nbp_sql_errno(r->db, "provenance");
    sqlite3_finalize(st);
    return rc;
}

int clab_nb_sets(clab_nb_reader_t *r, int64_t after,
                 int (*fn)(void *ud, int64_t id, const char *tag), void *ud)
{
    sqlite3_stmt *st;
    int rc = clab_nbp_prepare(r->db, "SELECT id, tag FROM sets WHERE id > ?1 ORDER BY id",
                              &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, after);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int stop =
            fn(ud, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1));
        if (stop) {
            sqlite3_finalize(st);
            return stop;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : clab_nbp_sql_errno(r->db, "sets");
    sqlite3_finalize(st);
    return rc;
}

int clab_nb_result(clab_nb_reader_t *r, const char *tag, long n, int ok, char **doc,
                   size_t *len)
{
    sqlite3_stmt *st;
    int rc = query(r, Q_RESULT, &st);
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
        rc = rc == SQLITE_DONE ? -ENOENT : clab_nbp_sql_errno(r->db, "result");
    }
    sqlite3_reset(st);
    return rc;
}

int clab_nb_result_stat(clab_nb_reader_t *r, const char *tag, long n, int ok, size_t *len,
                        double *stored)
{
    sqlite3_stmt *st;
    int rc = query(r, Q_RESULT_STAT, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, n);
    sqlite3_bind_int(st, 3, ok);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_int64(st, 0);
        *stored = sqlite3_column_double(st, 1);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : clab_nbp_sql_errno(r->db, "result stat");
    }
    sqlite3_reset(st);
    return rc;
}

int clab_nb_names(clab_nb_reader_t *r, const char *tag, int kind, json_t **names)
{
    sqlite3_stmt *st = NULL;
    int rc = clab_nbp_prepare(r->db,
                              "SELECT name, docs, ok_docs FROM columns"
                              " WHERE tag = :tag AND kind = :kind",
                              &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, clab_nbp_at(st, ":tag"), tag, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, clab_nbp_at(st, ":kind"), kind);
    *names = json_object();
    while (*names && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_object_set_new(*names, (const char *)sqlite3_column_text(st, 0),
                                json_pack("[I, I]",
                                          (json_int_t)sqlite3_column_int64(st, 1),
                                          (json_int_t)sqlite3_column_int64(st, 2))))
            rc = -ENOMEM;
    rc = !*names             ? -ENOMEM
         : rc == SQLITE_DONE ? 0
         : rc < 0            ? rc
                             : clab_nbp_sql_errno(r->db, "names");
    sqlite3_finalize(st);
    if (rc) {
        json_decref(*names);
        *names = NULL;
    }
    return rc;
}

int clab_nb_columns(clab_nb_reader_t *r, const char *tag, int kind, json_t **names)
{
    sqlite3_stmt *st;
    int rc = query(r, Q_COLUMNS, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, kind);
    *names = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(*names,
                              json_string((const char *)sqlite3_column_text(st, 0)));
    rc = rc == SQLITE_DONE ? 0 : clab_nbp_sql_errno(r->db, "columns");
    sqlite3_reset(st);
    if (rc) {
        json_decref(*names);
        *names = NULL;
    }
    return rc;
}

static int cursor_new(clab_nb_reader_t *r, const char *sql, clab_nb_cursor_t **out)
{
    clab_nb_cursor_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    int rc = clab_nbp_prepare(r->db, sql, &c->st);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Binds a results query's tag (?1) and its range of N, after < N <= upto
 * (?3, ?4; upto < 0: all). */
static void bind_range(sqlite3_stmt *st, const char *tag, long after, long upto)
{
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, after);
    sqlite3_bind_int64(st, 4, upto < 0 ? INT64_MAX : upto);
}

int clab_nb_results(clab_nb_reader_t *r, const char *tag, int ok, long after, long upto,
                    clab_nb_cursor_t **out)
{
    int rc = cursor_new(r,
                        ok < 0 ? "SELECT n, doc, stored FROM results WHERE tag = ?1"
                                 " AND n > ?3 AND n <= ?4 ORDER BY n"
                               : "SELECT n, doc, stored FROM results WHERE tag = ?1"
                                 " AND ok = ?2 AND n > ?3 AND n <= ?4 ORDER BY n",
                        out);
    if (rc)
        return rc;
    bind_range((*out)->st, tag, after, upto);
    if (ok >= 0)
        sqlite3_bind_int((*out)->st, 2, ok);
    return 0;
}

int clab_nb_sizes(clab_nb_reader_t *r, const char *tag, int ok, long after,
                  clab_nb_cursor_t **out)
{
    int rc = cursor_new(r,
                        "SELECT n, len, stored FROM results INDEXED BY results_list"
                        " WHERE tag = ?1 AND ok = ?2 AND n > ?3 AND n <= ?4 ORDER BY n",
                        out);
    if (rc)
        return rc;
    bind_range((*out)->st, tag, after, -1);
    sqlite3_bind_int((*out)->st, 2, ok);
    (*out)->sizes = 1;
    return 0;
}

int clab_nb_table_rows(clab_nb_reader_t *r, const char *tag, int fmt, long after,
                       long upto, clab_nb_cursor_t **out)
{
    int rc = cursor_new(r,
                        fmt == CLAB_TABLE_CSV
                            ? "SELECT n, doc, stored, ncols, csv FROM results"
                              " WHERE tag = ?1 AND ok = 1 AND n > ?3 AND n <= ?4"
                              " ORDER BY n"
                            : "SELECT n, doc, stored, ncols, coalesce(tsv, csv)"
                              " FROM results WHERE tag = ?1 AND ok = 1 AND n > ?3"
                              " AND n <= ?4 ORDER BY n",
                        out);
    if (rc)
        return rc;
    bind_range((*out)->st, tag, after, upto);
    (*out)->table = 1;
    return 0;
}

int clab_nb_pending(clab_nb_reader_t *r, const char *tag, long after,
                    clab_nb_cursor_t **out)
{
    int rc = cursor_new(r,
                        "SELECT id, params, job FROM jobs"
                        " WHERE tag = ?1 AND state = " CLAB_NB_JOB_PENDING_SQL
                        " AND id > ?2 ORDER BY id",
                        out);
    if (rc)
        return rc;
    sqlite3_bind_text((*out)->st, 1, tag, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64((*out)->st, 2, after);
    (*out)->pending = 1;
    return 0;
}

int clab_nb_cursor_next(clab_nb_cursor_t *c, clab_nb_row_t *row)
{
    int rc = sqlite3_step(c->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return clab_nbp_sql_errno(sqlite3_db_handle(c->st), "cursor");
    memset(row, 0, sizeof *row);
    row->ncols = -1;
    row->key = (long)sqlite3_column_int64(c->st, 0);
    if (c->sizes) {
        row->len = (size_t)sqlite3_column_int64(c->st, 1);
    } else {
        row->text = (const char *)sqlite3_column_text(c->st, 1);
        row->len = (size_t)sqlite3_column_bytes(c->st, 1);
    }
    if (c->pending) {
        row->job = (const char *)sqlite3_column_text(c->st, 2);
        row->job_len = (size_t)sqlite3_column_bytes(c->st, 2);
    } else {
        row->stored = sqlite3_column_double(c->st, 2);
    }
    if (c->table && sqlite3_column_type(c->st, 3) != SQLITE_NULL) {
        row->ncols = sqlite3_column_int(c->st, 3);
        row->cells = (const char *)sqlite3_column_text(c->st, 4);
        row->cells_len = (size_t)sqlite3_column_bytes(c->st, 4);
        if (!row->cells)
            row->ncols = -1;
    }
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
