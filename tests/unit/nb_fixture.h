/* The notebook unit tests' shared fixture: a real notebook in a fresh
 * temporary directory, removed after each test, and the checks every one
 * of them makes on it. Include after cmocka.h. */
#ifndef CLAB_TEST_NB_FIXTURE_H
#define CLAB_TEST_NB_FIXTURE_H

#include "notebook.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    char dir[64];
    char db[128];
    clab_notebook_t *nb;
} fixture_t;

static inline int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/clabnb.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/notebook.db", f->dir);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[160];
    clab_notebook_destroy(&f->nb);
    assert_null(f->nb);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* The first column of the first row of sql, on the notebook's file; a
 * NULL reads "(null)". */
static inline void sql_is(fixture_t *f, const char *sql, const char *want)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *got = (const char *)sqlite3_column_text(st, 0);
    assert_string_equal(got ? got : "(null)", want);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The background freeing of deleted sets, finished here and now. */
static inline void free_all(fixture_t *f)
{
    int rc;
    while ((rc = clab_notebook_free_step(f->nb)) > 0)
        ;
    assert_int_equal(rc, 0);
}

static inline void info_of(fixture_t *f, const char *tag, clab_set_info_t *info)
{
    clab_nb_reader_t *r;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_set_info(r, tag, info), 0);
    clab_nb_reader_close(&r);
    assert_null(r);
}

#endif
