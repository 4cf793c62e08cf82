/* Worker mode's submit fields (SPEC "Warm experiments", "Trust every
 * result"): "arguments" and "worker" (true, false or "framed") parsed and
 * bounded by fs/submit.c, kept per job by the notebook across a reopen, a
 * retry and the migration of a version-2 notebook, and carried by every
 * task the link sends (only when they say something, so that a one-shot
 * task is what it always was). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "notebook.h"
#include "submit.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOB(more)                                                                        \
    "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [1, 2]}" more "}"

static int parse(const char *text, clab_submission_t **sub, clab_submit_error_t *err)
{
    return clab_submission_parse(text, strlen(text), NULL, sub, err);
}

/* text is refused with EINVAL, a message holding `words`, and the caret on
 * the first occurrence of `at` in the text. */
static void refused(const char *text, const char *words, const char *at)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    int rc = parse(text, &sub, &err);
    if (rc != -EINVAL || !strstr(err.message, words))
        fail_msg("%s:\n rc %d '%s', want EINVAL '%s'", text, rc, err.message, words);
    assert_null(sub);
    assert_int_equal(err.code, EINVAL);
    long want = (long)(strstr(text, at) - text);
    if (err.position != want)
        fail_msg("%s:\n caret at %ld, want %ld (%s)", text, err.position, want, at);
}

static void test_fields_parsed(void **state)
{
    (void)state;
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    assert_int_equal(parse(JOB(""), &sub, &err), 0);
    assert_null(sub->arguments);
    assert_int_equal(sub->worker, 0);
    clab_submission_destroy(&sub);

    assert_int_equal(
        parse(JOB(", \"arguments\": [\"--model\", \"sir\", \"\"], \"worker\": true"),
              &sub, &err),
        0);
    json_t *want = json_pack("[sss]", "--model", "sir", "");
    assert_true(json_equal(sub->arguments, want));
    json_decref(want);
    assert_int_equal(sub->worker, 1);
    assert_int_equal(sub->points, 2);
    clab_submission_destroy(&sub);

    /* An empty list says nothing; worker false is the default. */
    assert_int_equal(parse(JOB(", \"arguments\": [], \"worker\": false"), &sub, &err), 0);
    assert_null(sub->arguments);
    assert_int_equal(sub->worker, 0);
    clab_submission_destroy(&sub);

    /* A framed worker (SPEC "Trust every result"). */
    assert_int_equal(parse(JOB(", \"worker\": \"framed\""), &sub, &err), 0);
    assert_int_equal(sub->worker, CLAB_WORKER_FRAMED);
    clab_submission_destroy(&sub);
}

static void test_fields_refused(void **state)
{
    (void)state;
    refused(JOB(", \"arguments\": \"--model sir\""), "must be an array of strings",
            "\"arguments\"");
    refused(JOB(", \"arguments\": {\"a\": 1}"), "not an object", "\"arguments\"");
    refused(JOB(", \"arguments\": [\"a\", 7]"), "arguments[1] must be a string", "7]");
    refused(JOB(", \"arguments\": [\"a,]\", [\"b\"]]"), "arguments[1] must be a string",
            "[\"b\"]");
    refused(JOB(", \"arguments\": [null]"), "arguments[0] must be a string, not null",
            "null");
    refused(JOB(", \"worker\": 1"),
            "field \"worker\" must be true, false or \"framed\", not an integer",
            "\"worker\"");
    refused(JOB(", \"worker\": \"true\""),
            "field \"worker\" must be true, false or \"framed\", not \"true\"",
            "\"worker\"");
    refused(JOB(", \"worker\": \"Framed\""), "not \"Framed\"", "\"worker\"");
    refused(JOB(", \"worker\": \"framed \""), "not \"framed \"", "\"worker\"");
    refused(JOB(", \"worker\": null"), "true, false or \"framed\", not null",
            "\"worker\"");
    refused(JOB(", \"worker\": [\"framed\"]"), "not an array", "\"worker\"");
    /* A NUL cannot reach execve: jansson refuses \u0000 as it parses. */
    refused(JOB(", \"arguments\": [\"a\\u0000b\"]"), "NUL", "\"]}");
}

static void test_limits(void **state)
{
    (void)state;
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    char *text = malloc(2 * CLAB_SUBMIT_MAX_ARG + 1024);
    int n;

    /* 64 strings of 4096 bytes are taken; a 65th string, or one byte more
     * in one of them, is not. */
    n = sprintf(text,
                "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"arguments\": [");
    for (int i = 0; i < CLAB_SUBMIT_MAX_ARGS; i++)
        n += sprintf(text + n, "%s\"%d\"", i ? ", " : "", i);
    sprintf(text + n, "]}");
    assert_int_equal(parse(text, &sub, &err), 0);
    assert_int_equal(json_array_size(sub->arguments), CLAB_SUBMIT_MAX_ARGS);
    clab_submission_destroy(&sub);
    sprintf(text + n, ", \"64\"]}");
    refused(text, "has 65 strings, over the limit of 64", "\"64\"");

    n = sprintf(text, JOB(", \"arguments\": [\"a\", \""));
    n -= 1; /* JOB's closing brace */
    memset(text + n, 'v', CLAB_SUBMIT_MAX_ARG);
    sprintf(text + n + CLAB_SUBMIT_MAX_ARG, "\"]}");
    assert_int_equal(parse(text, &sub, &err), 0);
    clab_submission_destroy(&sub);
    memset(text + n, 'v', CLAB_SUBMIT_MAX_ARG + 1);
    sprintf(text + n + CLAB_SUBMIT_MAX_ARG + 1, "\"]}");
    refused(text, "arguments[1] is 4097 bytes, over the limit of 4096", "\"vvv");
    /* Bytes, not characters: 2049 two-byte characters are too many. */
    for (int i = 0; i < 2049; i++)
        memcpy(text + n + 2 * i, "\xc3\xa9", 2);
    sprintf(text + n + 2 * 2049, "\"]}");
    refused(text, "arguments[1] is 4098 bytes", "\"\xc3\xa9");
    free(text);
}

/* The tasks' bodies, each dumped with sorted keys, joined by newlines. */
static char *tasks_text(clab_notebook_t *nb)
{
    json_t *tasks = json_array(), *t;
    int64_t after = 0;
    size_t i;
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    assert_true(clab_notebook_pending_tasks(nb, &after, 1000, tasks) >= 0);
    json_array_foreach(tasks, i, t)
    {
        json_object_del(t, "job");
        json_object_del(t, "seq"); /* the notebook's id: test_ctl's business */
        char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
        len += (size_t)snprintf(out + len, cap - len, "%s\n", s);
        free(s);
    }
    json_decref(tasks);
    return out;
}

static void submit(clab_notebook_t *nb, const char *text)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    char tag[CLAB_TAG_MAX + 1];
    assert_int_equal(parse(text, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(nb, sub, tag), 0);
    clab_submission_destroy(&sub);
}

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/clabsw.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/notebook.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

#define TASK_W                                                                           \
    "{\"arguments\":[\"m:f\",\"--path\",\"/x y\"],\"experiment\":\"/bin/true\","         \
    "\"params\":{},\"tag\":\"w\",\"timeout\":0.0,\"worker\":true}\n"
#define TASK_P                                                                           \
    "{\"experiment\":\"/bin/true\",\"params\":{},\"tag\":\"p\",\"timeout\":0.0}\n"
#define TASK_F                                                                           \
    "{\"experiment\":\"/bin/true\",\"params\":{},\"tag\":\"f\",\"timeout\":0.0,"         \
    "\"worker\":\"framed\"}\n"
#define TASK_A                                                                           \
    "{\"arguments\":[\"-v\"],\"experiment\":\"/bin/true\",\"params\":{},\"tag\":\"a\","  \
    "\"timeout\":0.0}\n"

static void test_tasks_and_reopen(void **state)
{
    (void)state;
    clab_notebook_t *nb = NULL;
    assert_int_equal(clab_notebook_open(path, &nb), 0);
    submit(nb, "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": \"w\","
               " \"arguments\": [\"m:f\", \"--path\", \"/x y\"], \"worker\": true}");
    submit(nb, "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": \"p\","
               " \"arguments\": [], \"worker\": false}");
    submit(nb, "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": \"a\","
               " \"arguments\": [\"-v\"]}");
    submit(nb, "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": \"f\","
               " \"worker\": \"framed\"}");
    char *got = tasks_text(nb);
    assert_string_equal(got, TASK_W TASK_P TASK_A TASK_F);
    free(got);
    clab_notebook_destroy(&nb);

    assert_int_equal(clab_notebook_open(path, &nb), 0);
    got = tasks_text(nb);
    assert_string_equal(got, TASK_W TASK_P TASK_A TASK_F);
    free(got);

    /* A failed worker point retried runs as a worker again. */
    json_t *tasks = json_array();
    int64_t after = 0;
    assert_int_equal(clab_notebook_pending_tasks(nb, &after, 1, tasks), 1);
    json_t *item = json_pack("[{s:O, s:{s:b, s:{s:s}}}]", "job",
                             json_object_get(json_array_get(tasks, 0), "job"), "record",
                             "ok", 0, "metadata", "e", "boom");
    assert_int_equal(clab_notebook_add_results(nb, item), 1);
    json_decref(item);
    json_decref(tasks);
    assert_int_equal(clab_notebook_retry(nb, "w"), 1);
    got = tasks_text(nb);
    assert_string_equal(got, TASK_P TASK_A TASK_F TASK_W);
    free(got);

    /* A framed one retried runs framed again. */
    tasks = json_array();
    after = 0;
    assert_int_equal(clab_notebook_pending_tasks(nb, &after, 3, tasks), 3);
    item = json_pack("[{s:O, s:{s:b, s:{s:s}}}]", "job",
                     json_object_get(json_array_get(tasks, 2), "job"), "record", "ok", 0,
                     "metadata", "e", "boom");
    assert_int_equal(clab_notebook_add_results(nb, item), 1);
    json_decref(item);
    json_decref(tasks);
    assert_int_equal(clab_notebook_retry(nb, "f"), 1);
    got = tasks_text(nb);
    assert_string_equal(got, TASK_P TASK_A TASK_W TASK_F);
    free(got);
    clab_notebook_destroy(&nb);
}

/* The schema of the current main (version 2), as its clabfs makes it, with
 * one pending job. */
static const char v2_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE sets(tag TEXT PRIMARY KEY, experiment TEXT NOT NULL,"
    "  description TEXT NOT NULL, created REAL NOT NULL, next_n INTEGER NOT NULL"
    "  DEFAULT 1, n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0,"
    "  modified REAL NOT NULL DEFAULT 0,"
    "  csv_cells INTEGER NOT NULL DEFAULT 0, tsv_cells INTEGER NOT NULL DEFAULT 0,"
    "  jsonl_bytes INTEGER NOT NULL DEFAULT 0, pending_bytes INTEGER NOT NULL DEFAULT 0,"
    "  pending_jobs INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE results(tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL,"
    "  job TEXT NOT NULL, doc TEXT NOT NULL, stored REAL, PRIMARY KEY(tag, n))"
    "  WITHOUT ROWID;"
    "CREATE INDEX results_ok ON results(tag, ok, n);"
    "CREATE TABLE columns(tag TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(tag, kind, name)) WITHOUT ROWID;"
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job TEXT NOT NULL UNIQUE, tag TEXT NOT NULL, experiment TEXT NOT NULL,"
    "  params TEXT NOT NULL, timeout REAL NOT NULL, state INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_pending ON jobs(tag, state, id);"
    "INSERT INTO sets(tag, experiment, description, created, n_pending, pending_bytes,"
    "  pending_jobs) VALUES('old', '/bin/true', '', 1, 1, 3, 21);"
    "INSERT INTO jobs(id, job, tag, experiment, params, timeout) VALUES(5,"
    "  'jaaaaaaaaaaaaaaaa-1', 'old', '/bin/true', '{}', 0);"
    "INSERT INTO meta VALUES('client_id', 'clabfs-0123456789abcdef');"
    "INSERT INTO meta VALUES('current', 'old');"
    "PRAGMA user_version = 2;";

static void test_migrate_v2(void **state)
{
    (void)state;
    sqlite3 *db;
    sqlite3_stmt *st;
    clab_notebook_t *nb = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v2_schema, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(clab_notebook_open(path, &nb), 0);
    assert_string_equal(clab_notebook_client_id(nb), "clabfs-0123456789abcdef");
    submit(nb, "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": \"w\","
               " \"arguments\": [\"m:f\", \"--path\", \"/x y\"], \"worker\": true}");
    char *got = tasks_text(nb);
    assert_string_equal(got,
                        "{\"experiment\":\"/bin/true\",\"params\":{},\"tag\":\"old\","
                        "\"timeout\":0.0}\n" TASK_W);
    free(got);
    clab_notebook_destroy(&nb);

    /* Upgraded once: version 4 (3, then finish's lock and repetitions), and
     * a second open changes nothing. */
    assert_int_equal(clab_notebook_open(path, &nb), 0);
    clab_notebook_destroy(&nb);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT (SELECT user_version FROM pragma_user_version),"
                           " group_concat(coalesce(arguments, '-') || worker, ' ')"
                           " FROM (SELECT * FROM jobs ORDER BY id)",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 11);
    assert_string_equal((const char *)sqlite3_column_text(st, 1),
                        "-0 [\"m:f\",\"--path\",\"/x y\"]1");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_parsed),
        cmocka_unit_test(test_fields_refused),
        cmocka_unit_test(test_limits),
        cmocka_unit_test_setup_teardown(test_tasks_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
