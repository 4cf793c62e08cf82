/* Space given back (schema version 8): a deleted set vanishes at once and
 * its rows are freed afterwards in bounded batches (clab_notebook_free_step,
 * which the notebook's own thread runs too), then its pages go back to the
 * file system (auto_vacuum = INCREMENTAL). A tag submitted again while the
 * old rows are being freed keeps its new rows; a late result of a deleted
 * set is dropped; an older notebook is vacuumed into incremental mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "notebook.h"
#include "nb_fixture.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A set of n points x = 0..n-1 under tag. */
static void submit(fixture_t *f, const char *tag, int n)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    char out[CLAB_TAG_MAX + 1];
    size_t size = 128 + (size_t)n * 8;
    char *json = malloc(size);
    assert_non_null(json);
    int at = snprintf(json, size,
                      "{\"experiment\": \"/bin/true\", \"tag\": \"%s\","
                      " \"parameters\": {\"x\": [",
                      tag);
    for (int i = 0; i < n; i++)
        at += snprintf(json + at, size - (size_t)at, "%s%d", i ? "," : "", i);
    snprintf(json + at, size - (size_t)at, "]}}");
    assert_int_equal(clab_submission_parse(json, strlen(json), NULL, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->nb, sub, out), 0);
    clab_submission_destroy(&sub);
    free(json);
}

/* Results for up to max of the pending jobs, each with a result large
 * enough to fill pages; returns how many were stored. */
static int deliver_some(fixture_t *f, size_t max)
{
    json_t *tasks = json_array(), *items = json_array();
    int64_t after = 0;
    assert_true(clab_notebook_pending_tasks(f->nb, &after, max, tasks) >= 0);
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        json_array_append_new(
            items, json_pack("{s:O, s:{s:b, s:{s:i}, s:[{s:s}]}}", "job",
                             json_object_get(t, "job"), "record", "ok", 1, "metadata",
                             "k", 1, "results", "text",
                             "a result long enough to fill some pages of the notebook"));
    }
    int rc = clab_notebook_add_results(f->nb, items);
    json_decref(tasks);
    json_decref(items);
    return rc;
}

static long long sql_int(fixture_t *f, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static long long db_bytes(fixture_t *f)
{
    return sql_int(f, "SELECT page_count * page_size FROM pragma_page_count,"
                      " pragma_page_size");
}

static void gone(fixture_t *f, const char *tag)
{
    clab_nb_reader_t *r;
    clab_set_info_t info;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_set_info(r, tag, &info), -ENOENT);
    clab_nb_reader_close(&r);
}

/* Every row of the deleted set is freed and the file shrinks back to
 * within 64 KiB of a fresh notebook's, with next to no free pages. */
static void test_delete_gives_space_back(void **state)
{
    fixture_t *f = *state;
    sql_is(f, "PRAGMA auto_vacuum", "2");
    sql_is(f, "PRAGMA user_version", "11");
    long long empty = db_bytes(f);
    submit(f, "a", 6000);
    assert_int_equal(deliver_some(f, 3000), 3000);
    assert_true(clab_notebook_cancel(f->nb, "a", NULL) >= 0);
    assert_true(db_bytes(f) > empty + 1024 * 1024);
    assert_int_equal(clab_notebook_delete(f->nb, "a", NULL), 0);
    gone(f, "a");
    free_all(f);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results WHERE tag = 'a'"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM jobs WHERE tag = 'a'"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM columns WHERE tag = 'a'"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM sets"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM doomed"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM bundles"), 0);
    assert_true(sql_int(f, "PRAGMA freelist_count") <= 4);
    assert_true(db_bytes(f) <= empty + 64 * 1024);
}

/* The tag submitted again before the old rows are freed: the new set has
 * its own rows, and the freeing leaves them alone. */
static void test_resubmit_while_freeing(void **state)
{
    fixture_t *f = *state;
    submit(f, "a", 4000);
    assert_int_equal(deliver_some(f, 1000), 1000);
    assert_int_equal(clab_notebook_delete(f->nb, "a", NULL), 0);
    submit(f, "a", 3);
    clab_set_info_t info;
    info_of(f, "a", &info);
    assert_int_equal(info.pending, 3);
    assert_int_equal(info.done, 0);
    clab_set_info_clear(&info);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM jobs WHERE tag = 'a'"), 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results WHERE tag = 'a'"), 0);
    assert_int_equal(deliver_some(f, 10), 3);
    free_all(f);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM jobs WHERE tag = 'a'"), 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results WHERE tag = 'a'"), 3);
    assert_int_equal(sql_int(f, "SELECT min(n) FROM results WHERE tag = 'a'"), 1);
    info_of(f, "a", &info);
    assert_int_equal(info.done, 3);
    clab_set_info_clear(&info);
}

/* The link never sends a deleted set's jobs, and a late result of one is
 * dropped without failing the batch it came in. */
static void test_deleted_jobs_stay_home(void **state)
{
    fixture_t *f = *state;
    submit(f, "a", 5);
    submit(f, "b", 2);
    json_t *tasks = json_array();
    int64_t after = 0;
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &after, 100, tasks), 7);
    assert_int_equal(clab_notebook_delete(f->nb, "a", NULL), 0);
    json_t *again = json_array(), *items = json_array();
    after = 0;
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &after, 100, again), 2);
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        json_array_append_new(items, json_pack("{s:O, s:{s:b, s:{s:i}, s:[]}}", "job",
                                               json_object_get(t, "job"), "record", "ok",
                                               1, "metadata", "k", 1, "results"));
    }
    assert_int_equal(clab_notebook_add_results(f->nb, items), 2);
    free_all(f);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), 2);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results WHERE tag = 'b'"), 2);
    json_decref(tasks);
    json_decref(again);
    json_decref(items);
}

/* A notebook without auto_vacuum (version 7 and before) is vacuumed into
 * incremental mode when opened. */
static void test_old_notebook_migrated(void **state)
{
    fixture_t *f = *state;
    submit(f, "a", 10);
    clab_notebook_destroy(&f->nb);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "ALTER TABLE jobs DROP COLUMN sha256;"
                                  " ALTER TABLE jobs DROP COLUMN rkey;"
                                  " DROP INDEX results_rkey;"
                                  " ALTER TABLE results DROP COLUMN rkey;"
                                  " DROP INDEX results_list;"
                                  " ALTER TABLE results DROP COLUMN len;"
                                  " PRAGMA auto_vacuum = NONE; VACUUM;"
                                  " PRAGMA user_version = 7",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    sql_is(f, "PRAGMA auto_vacuum", "0");
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    sql_is(f, "PRAGMA auto_vacuum", "2");
    sql_is(f, "PRAGMA user_version", "11");
    assert_int_equal(sql_int(f, "SELECT count(*) FROM jobs WHERE tag = 'a'"), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delete_gives_space_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resubmit_while_freeing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_jobs_stay_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_notebook_migrated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
