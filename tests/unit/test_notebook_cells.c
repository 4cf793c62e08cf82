/* The rendered cells the notebook stores with each successful result
 * (schema version 5), so that results.csv and results.tsv are read without
 * parsing a JSON document per row: the stored row must be exactly what
 * clab_table_row renders from the document under the set's columns, for
 * CSV and TSV; a row with fewer columns than its set (a later result added
 * one) says so by its column count; an older notebook gets them at its
 * upgrade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json.h"
#include "notebook.h"
#include "nb_fixture.h"
#include "sha256.h"
#include "table.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Submits /bin/true over {"x": xs} to tag; returns its tasks. */
static json_t *submit(fixture_t *f, const char *tag, const char *xs)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    char json[256], out[CLAB_TAG_MAX + 1];
    snprintf(
        json, sizeof json,
        "{\"experiment\": \"/bin/true\", \"tag\": \"%s\", \"parameters\": {\"x\": %s}}",
        tag, xs);
    assert_int_equal(clab_submission_parse(json, strlen(json), NULL, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->nb, sub, out), 0);
    clab_submission_destroy(&sub);
    json_t *tasks = json_array();
    int64_t after = 0;
    assert_true(clab_notebook_pending_tasks(f->nb, &after, 100, tasks) >= 0);
    return tasks;
}

/* Delivers a success of job i of tasks with the results object res (a
 * JSON text) and metadata {"k": "q\"t", "e": "a\tb"}. */
static void deliver(fixture_t *f, json_t *tasks, size_t i, const char *res)
{
    json_t *job = json_object_get(json_array_get(tasks, i), "job");
    json_t *item = json_pack("{s:O, s:{s:b, s:{s:s, s:s}, s:[o]}}", "job", job, "record",
                             "ok", 1, "metadata", "k", "q\"t", "e", "a\tb", "results",
                             json_loads(res, 0, NULL));
    json_t *items = json_pack("[o]", item);
    assert_int_equal(clab_notebook_add_results(f->nb, items), 1);
    json_decref(items);
}

/* Every row of the set's table in fmt read from the stored cells must be
 * the row clab_table_row renders from the document; returns how many rows
 * had all the set's columns. */
static int rows_agree(fixture_t *f, const char *tag, clab_table_format_t fmt)
{
    clab_nb_reader_t *r;
    clab_nb_cursor_t *c;
    json_t *cols[3];
    clab_nb_row_t row;
    int rc, whole = 0;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(clab_nb_columns(r, tag, k, &cols[k]), 0);
    int ncols = (int)(json_array_size(cols[0]) + json_array_size(cols[1]) +
                      json_array_size(cols[2]));
    assert_int_equal(clab_nb_table_rows(r, tag, fmt, 0, -1, &c), 0);
    while ((rc = clab_nb_cursor_next(c, &row)) == 1) {
        clab_buf_t want = {0};
        assert_int_equal(clab_table_row(&want, cols, row.text, row.len, fmt), 0);
        assert_true(row.ncols >= 0 && row.ncols <= ncols);
        if (row.ncols == ncols) {
            whole++;
            assert_int_equal(row.cells_len + 1, want.len);
            assert_memory_equal(row.cells, want.data, row.cells_len);
        }
        clab_buf_free(&want);
    }
    assert_int_equal(rc, 0);
    clab_nb_cursor_close(&c);
    for (int k = 0; k < 3; k++)
        json_decref(cols[k]);
    clab_nb_reader_close(&r);
    return whole;
}

static void test_cells_stored(void **state)
{
    fixture_t *f = *state;
    json_t *tasks = submit(f, "c", "[1, 2, 3]");
    deliver(f, tasks, 0, "{\"s\": \"a,b\", \"n\": 1.5, \"b\": true}");
    deliver(f, tasks, 1, "{\"b\": false, \"n\": null, \"s\": \"x\\ny\"}");
    /* Keys in any order: cells are in column (name) order. */
    /* Points are shuffled: x (one digit) is left out. */
    /* Every record carries its experiment's sha256 (/bin/true's). */
    char sha[CLAB_SHA256_HEX], want[256];
    assert_int_equal(clab_sha256_file("/bin/true", sha), 0);
    snprintf(want, sizeof want, "7|,TRUE,1.5,\"a,b\",%s,a\tb,\"q\"\"t\"", sha);
    sql_is(f, "SELECT ncols || '|' || substr(csv, 2) FROM results WHERE n = 1", want);
    snprintf(want, sizeof want, "\tTRUE\t1.5\ta,b\t%s\ta b\tq\"t", sha);
    sql_is(f, "SELECT substr(tsv, 2) FROM results WHERE n = 1", want);
    assert_int_equal(rows_agree(f, "c", CLAB_TABLE_CSV), 2);
    assert_int_equal(rows_agree(f, "c", CLAB_TABLE_TSV), 2);
    /* A later result with one more column: the older rows lack it. */
    deliver(f, tasks, 2, "{\"b\": true, \"n\": 2, \"s\": \"z\", \"t\": [1]}");
    sql_is(f, "SELECT ncols FROM results WHERE n = 1", "7");
    assert_int_equal(rows_agree(f, "c", CLAB_TABLE_CSV), 1);
    assert_int_equal(rows_agree(f, "c", CLAB_TABLE_TSV), 1);
    json_decref(tasks);
}

/* A version 4 notebook: its successful results get their cells at the
 * upgrade, its failures none. */
static const char v4_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE sets(tag TEXT PRIMARY KEY, experiment TEXT NOT NULL,"
    "  description TEXT NOT NULL, created REAL NOT NULL, next_n INTEGER NOT NULL DEFAULT "
    "1,"
    "  n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0,"
    "  modified REAL NOT NULL DEFAULT 0,"
    "  csv_cells INTEGER NOT NULL DEFAULT 0, tsv_cells INTEGER NOT NULL DEFAULT 0,"
    "  jsonl_bytes INTEGER NOT NULL DEFAULT 0, pending_bytes INTEGER NOT NULL DEFAULT 0,"
    "  pending_jobs INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL UNIQUE,"
    "  tag TEXT NOT NULL, experiment TEXT NOT NULL, params TEXT NOT NULL,"
    "  timeout REAL NOT NULL, state INTEGER NOT NULL DEFAULT 0, arguments TEXT,"
    "  worker INTEGER NOT NULL DEFAULT 0, rep INTEGER NOT NULL DEFAULT 0,"
    "  reps INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX jobs_pending ON jobs(tag, state, id);"
    "CREATE TABLE results(tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL,"
    "  job TEXT NOT NULL, doc TEXT NOT NULL, stored REAL, PRIMARY KEY(tag, n)) WITHOUT "
    "ROWID;"
    "CREATE INDEX results_ok ON results(tag, ok, n);"
    "CREATE TABLE columns(tag TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(tag, kind, name)) WITHOUT ROWID;"
    "INSERT INTO sets(tag, experiment, description, created, next_n, n_ok, n_failed,"
    "  n_done, csv_cells, tsv_cells) VALUES('old', '/bin/true', '', 1, 3, 1, 1, 2, 6, 4);"
    "INSERT INTO results VALUES('old', 1, 1, 'j1', '{\"metadata\":{\"k\":\"a,b\"},"
    "  \"parameters\":{\"x\":1},\"results\":{\"y\":-0.0}}', 1);"
    "INSERT INTO results VALUES('old', 2, 0, 'j2', '{\"metadata\":{\"k\":\"c\"},"
    "  \"parameters\":{\"x\":2},\"results\":{}}', 1);"
    "INSERT INTO columns VALUES('old', 0, 'x'), ('old', 1, 'y'), ('old', 2, 'k');"
    "INSERT INTO meta VALUES('client_id', 'clabfs-0123456789abcdef');"
    "PRAGMA user_version = 4;";

static void test_migrate_v4(void **state)
{
    fixture_t *f = *state;
    sqlite3 *db;
    clab_notebook_destroy(&f->nb);
    snprintf(f->db, sizeof f->db, "%s/v4.db", f->dir);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v4_schema, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    sql_is(f, "PRAGMA user_version", "11");
    sql_is(f, "SELECT ncols || '|' || csv FROM results WHERE n = 1", "3|1,-0.0,\"a,b\"");
    sql_is(f, "SELECT tsv FROM results WHERE n = 1", "1\t-0.0\ta,b");
    sql_is(f, "SELECT quote(ncols) || quote(csv) FROM results WHERE n = 2", "NULLNULL");
    assert_int_equal(rows_agree(f, "old", CLAB_TABLE_CSV), 1);
    assert_int_equal(rows_agree(f, "old", CLAB_TABLE_TSV), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cells_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v4, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
