/* Set ids (schema version 7): a set's id names its files in the mount
 * (their inode numbers), so it is never handed out again, not even to the
 * same tag submitted after a delete; a notebook of version 5 or 6 (sets keyed
 * by tag, implicit rowids) is migrated keeping each set's rowid as its
 * id, every column, and columns another migration added to sets before
 * this one; the reader finds a set by its id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "notebook.h"
#include "nb_fixture.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void submit(fixture_t *f, const char *tag, const char *xs)
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
}

static int64_t id_of(fixture_t *f, const char *tag)
{
    clab_set_info_t info;
    info_of(f, tag, &info);
    int64_t id = info.id;
    clab_set_info_clear(&info);
    return id;
}

/* The tag of the set with id, or "" when there is none (-ENOENT). */
static void by_id_is(fixture_t *f, int64_t id, const char *tag, long pending)
{
    clab_nb_reader_t *r;
    clab_set_info_t info;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    int rc = clab_nb_set_by_id(r, id, &info);
    clab_nb_reader_close(&r);
    if (!tag[0]) {
        assert_int_equal(rc, -ENOENT);
        return;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(info.tag, tag);
    assert_int_equal(info.id, id);
    assert_int_equal(info.pending, pending);
    assert_string_equal(info.experiment, "/bin/true");
    clab_set_info_clear(&info);
}

/* A new notebook: deleting the newest set and submitting its tag again
 * gives a new id, and so does a reopen. */
static void test_ids_only_grow(void **state)
{
    fixture_t *f = *state;
    submit(f, "a", "[1, 2]");
    submit(f, "b", "[1]");
    assert_int_equal(id_of(f, "a"), 1);
    assert_int_equal(id_of(f, "b"), 2);
    by_id_is(f, 2, "b", 1);
    assert_int_equal(clab_notebook_delete(f->nb, "b", NULL), 0);
    by_id_is(f, 2, "", 0);
    submit(f, "b", "[1, 2, 3]");
    assert_int_equal(id_of(f, "b"), 3);
    by_id_is(f, 2, "", 0);
    by_id_is(f, 3, "b", 3);
    /* A submit to an existing tag keeps its id (its upsert may use up an
     * id all the same: ids grow, not one by one). */
    submit(f, "a", "[3]");
    assert_int_equal(id_of(f, "a"), 1);
    by_id_is(f, 1, "a", 3);
    assert_int_equal(clab_notebook_delete(f->nb, "b", NULL), 0);
    clab_notebook_destroy(&f->nb);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    submit(f, "b", "[1]");
    assert_true(id_of(f, "b") > 3);
    by_id_is(f, 3, "", 0);
    by_id_is(f, 0, "", 0);
    by_id_is(f, -1, "", 0);
}

/* The sets table of schema version 5, with three sets at rowids 1, 2 and
 * 5 (sets 3 and 4 were deleted), the newest locked with a count; extra is
 * a column another migration might have added before this one. */
static const char v5_sets[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE sets("
    "  tag TEXT PRIMARY KEY, experiment TEXT NOT NULL, description TEXT NOT NULL,"
    "  created REAL NOT NULL, next_n INTEGER NOT NULL DEFAULT 1,"
    "  n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0,"
    "  modified REAL NOT NULL DEFAULT 0,"
    "  csv_cells INTEGER NOT NULL DEFAULT 0, tsv_cells INTEGER NOT NULL DEFAULT 0,"
    "  jsonl_bytes INTEGER NOT NULL DEFAULT 0, pending_bytes INTEGER NOT NULL DEFAULT 0,"
    "  pending_jobs INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0);"
    "ALTER TABLE sets ADD COLUMN extra TEXT NOT NULL DEFAULT 'x';"
    "CREATE TABLE results("
    "  tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL, job TEXT NOT NULL,"
    "  doc TEXT NOT NULL, stored REAL, ncols INTEGER, csv TEXT, tsv TEXT,"
    "  PRIMARY KEY(tag, n)) WITHOUT ROWID;"
    "CREATE INDEX results_ok ON results(tag, ok, n);"
    "CREATE TABLE columns("
    "  tag TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(tag, kind, name)) WITHOUT ROWID;"
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job TEXT NOT NULL UNIQUE, tag TEXT NOT NULL, experiment TEXT NOT NULL,"
    "  params TEXT NOT NULL, timeout REAL NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
    "  arguments TEXT, worker INTEGER NOT NULL DEFAULT 0,"
    "  rep INTEGER NOT NULL DEFAULT 0, reps INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX jobs_pending ON jobs(tag, state, id);"
    "INSERT INTO sets(rowid, tag, experiment, description, created) VALUES"
    "  (1, 'one', '/bin/true', 'first', 10), (2, 'two', '/bin/true', '', 20);"
    "INSERT INTO sets(rowid, tag, experiment, description, created, n_ok, locked,"
    "  extra) VALUES (5, 'five', '/bin/true', '', 50, 7, 1, 'kept');"
    "INSERT INTO meta VALUES('client_id', 'clabfs-0123456789abcdef');"
    "PRAGMA user_version = 5;";

static void test_migrate_v5(void **state)
{
    fixture_t *f = *state;
    sqlite3 *db;
    clab_notebook_destroy(&f->nb);
    snprintf(f->db, sizeof f->db, "%s/v5.db", f->dir);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v5_sets, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    sql_is(f, "PRAGMA user_version", "11");
    sql_is(
        f,
        "SELECT group_concat(id || ':' || tag || ':' || description || ':' || n_ok"
        " || ':' || locked || ':' || extra, ' ') FROM (SELECT * FROM sets ORDER BY id)",
        "1:one:first:0:0:x 2:two::0:0:x 5:five::7:1:kept");
    sql_is(f, "SELECT seq FROM sqlite_sequence WHERE name = 'sets'", "5");
    sql_is(f, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'sets_v%'", "0");
    by_id_is(f, 5, "five", 0);
    by_id_is(f, 3, "", 0);
    assert_int_equal(id_of(f, "one"), 1);
    /* Tags stay unique (a submit to one extends it), ids only grow. */
    submit(f, "one", "[1]");
    assert_int_equal(id_of(f, "one"), 1);
    sql_is(f, "SELECT count(*) FROM sets", "3");
    submit(f, "six", "[1]");
    int64_t six = id_of(f, "six");
    assert_true(six > 5);
    assert_int_equal(clab_notebook_delete(f->nb, "six", NULL), 0);
    submit(f, "six", "[1]");
    assert_true(id_of(f, "six") > six);
    by_id_is(f, six, "", 0);
    /* Upgraded once: a second open changes nothing. */
    clab_notebook_destroy(&f->nb);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    sql_is(f, "PRAGMA user_version", "11");
    sql_is(f, "SELECT group_concat(id, ',') FROM (SELECT id FROM sets ORDER BY id)",
           "1,2,5,8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ids_only_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v5, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
