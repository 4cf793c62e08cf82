/* Reuse (issue 25): the key of a point is one sha256 over the experiment
 * identity, the arguments and the parameters as canonical JSON (keys
 * sorted, compact), so that the order of keys in what was submitted does
 * not matter and a type does (1 is not 1.0); a submit with "reuse" fills
 * the points that match a successful result, never a failure, and
 * `recompute` makes them pending jobs again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json.h"
#include "notebook.h"
#include "nb_fixture.h"

#include <string.h>

static void key_of(const char *params_text, const char *args, long rep, long reps,
                   char out[65])
{
    json_t *p = json_loads(params_text, 0, NULL);
    assert_non_null(p);
    char *canon = clab_json_dumps(p);
    assert_non_null(canon);
    assert_int_equal(clab_nb_reuse_key("ID", args, canon, rep, reps, out), 1);
    free(canon);
    json_decref(p);
}

static void test_key_canonical(void **state)
{
    (void)state;
    char a[65], b[65], c[65];
    /* The text hashed: "ID\nnull\n{"a":1,"b":[1.0,"x"]}" (python3's
     * hashlib gives this digest). */
    key_of("{\"b\": [1.0, \"x\"],  \"a\": 1}", NULL, 0, 1, a);
    assert_string_equal(
        a, "7621f90028090becb9f2e7cd922aa8d8058acc118c91dddf9692014e9e23367f");
    key_of("{\"a\":1,\"b\":[1.0,\"x\"]}", NULL, 0, 1, b);
    assert_string_equal(a, b);
    /* A type is part of the value. */
    key_of("{\"a\":1.0,\"b\":[1.0,\"x\"]}", NULL, 0, 1, c);
    assert_string_not_equal(a, c);
    /* Arguments, and a repetition of a repeated job, are part of the key. */
    key_of("{\"a\":1,\"b\":[1.0,\"x\"]}", "[\"--fast\"]", 0, 1, c);
    assert_string_not_equal(a, c);
    key_of("{\"a\":1,\"b\":[1.0,\"x\"]}", NULL, 0, 2, c);
    assert_string_not_equal(a, c);
    /* No identity, no key. */
    assert_int_equal(clab_nb_reuse_key("", NULL, "{}", 0, 1, c), 0);
    assert_string_equal(c, "");
}

/* The identity: the file's sha256 alone, or with shipped files one sha256
 * over it and each file's name and content. */
static void test_identity(void **state)
{
    (void)state;
    const char *jobs[] = {
        "{\"experiment\": \"/bin/true\", \"parameters\": {}}",
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"files\": {\"a\": "
        "\"eA==\"}}",
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"files\": {\"a\": "
        "\"eQ==\"}}",
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"files\": {\"b\": "
        "\"eA==\"}}",
    };
    char ids[4][65];
    for (int i = 0; i < 4; i++) {
        clab_submission_t *sub = NULL;
        clab_submit_error_t err;
        assert_int_equal(
            clab_submission_parse(jobs[i], strlen(jobs[i]), NULL, &sub, &err), 0);
        assert_int_equal(clab_nb_reuse_identity(sub, ids[i]), 1);
        if (i == 0)
            assert_string_equal(ids[0], sub->sha256);
        clab_submission_destroy(&sub);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
}

static void submit(fixture_t *f, const char *tag, const char *xs, int reuse)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    char json[256], out[CLAB_TAG_MAX + 1];
    snprintf(json, sizeof json,
             "{\"experiment\": \"/bin/true\", \"tag\": \"%s\", \"reuse\": %s,"
             " \"parameters\": {\"x\": %s}}",
             tag, reuse ? "true" : "false", xs);
    assert_int_equal(clab_submission_parse(json, strlen(json), NULL, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->nb, sub, out), 0);
    clab_submission_destroy(&sub);
}

/* Delivers every pending job of tag: x 9 fails, others give y = x. */
static void run_pending(fixture_t *f, const char *tag)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    json_t *items = json_array();
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT job, json_extract(params, '$.x') FROM jobs"
                           " WHERE tag = ?1 AND state = 0",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int x = sqlite3_column_int(st, 1);
        json_array_append_new(items, json_pack("{s:s, s:{s:b, s:[{s:i}], s:{}}}", "job",
                                               (const char *)sqlite3_column_text(st, 0),
                                               "record", "ok", x != 9, "results", "y", x,
                                               "metadata"));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(clab_notebook_add_results(f->nb, items) >= 0);
    json_decref(items);
}

static void test_reuse_fills(void **state)
{
    fixture_t *f = *state;
    submit(f, "a", "[1, 2, 9]", 0);
    run_pending(f, "a");
    sql_is(f, "SELECT count(*) FROM results WHERE rkey IS NOT NULL", "2");
    /* b: 1 and 2 reused, 3 and the failed 9 pending. */
    submit(f, "b", "[1, 2, 3, 9]", 1);
    sql_is(f, "SELECT count(*) FROM jobs WHERE tag = 'b' AND state = 0", "2");
    /* Each from the result of a with its x. */
    sql_is(
        f,
        "SELECT count(*) FROM results r JOIN results s"
        " ON s.tag || '/' || s.n = json_extract(r.doc, '$.metadata.\"clab.reused_from\"')"
        " WHERE r.tag = 'b' AND s.tag = 'a' AND"
        " json_extract(s.doc, '$.parameters.x') = json_extract(r.doc, '$.parameters.x')",
        "2");
    sql_is(
        f,
        "SELECT count(*) FROM results r JOIN jobs j ON j.job = r.job"
        " WHERE r.tag = 'b' AND json_extract(r.doc, '$.metadata.\"clab.job\"') = j.job",
        "2");
    sql_is(f,
           "SELECT n_done || ' ' || n_ok || ' ' || n_pending FROM sets WHERE tag = 'b'",
           "2 2 2");
    /* Without the flag nothing is reused. */
    submit(f, "c", "[1]", 0);
    sql_is(f, "SELECT count(*) FROM jobs WHERE tag = 'c' AND state = 0", "1");
    /* recompute: the two reused points pending again, once. */
    assert_int_equal(clab_notebook_recompute(f->nb, "b"), 2);
    assert_int_equal(clab_notebook_recompute(f->nb, "b"), 0);
    sql_is(f, "SELECT count(*) FROM jobs WHERE tag = 'b' AND state = 0", "4");
    sql_is(f, "SELECT count(*) FROM results WHERE tag = 'b'", "2");
    /* Recomputed jobs have no key: they are not hashed again. */
    sql_is(f, "SELECT count(*) FROM jobs WHERE tag = 'b' AND state = 0 AND rkey IS NULL",
           "2");
}

/* A deleted set's results, still there until the notebook frees them in
 * the background, are never reused: b must not name a set that is gone. */
static void test_deleted_set_not_reused(void **state)
{
    fixture_t *f = *state;
    submit(f, "a", "[1, 2]", 0);
    run_pending(f, "a");
    /* What clab_notebook_delete leaves before the freeing has run. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO doomed(id, tag) SELECT id, tag FROM sets"
                                  " WHERE tag = 'a'; DELETE FROM sets WHERE tag = 'a'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    sql_is(f, "SELECT count(*) FROM results WHERE tag = 'a' AND rkey IS NOT NULL", "2");
    submit(f, "b", "[1, 2]", 1);
    sql_is(f, "SELECT count(*) FROM jobs WHERE tag = 'b' AND state = 0", "2");
    sql_is(f, "SELECT count(*) FROM results WHERE tag = 'b'", "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_canonical),
        cmocka_unit_test(test_identity),
        cmocka_unit_test_setup_teardown(test_reuse_fills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_set_not_reused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
