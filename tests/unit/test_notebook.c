/* The notebook through notebook.h alone (fs/notebook/): a real notebook
 * in a temporary directory, fed submissions and results the way the inbox
 * and the sync thread feed it. Counts and byte counts are checked against
 * literal values worked out by hand for tiny sets, so that a change in how
 * any of them is kept shows here before it shows as a wrong file size in
 * the mount. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json.h"
#include "notebook.h"
#include "nb_fixture.h"
#include "sha256.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A successful result as the tests deliver it, for parameters {"x":D}
 * with D one digit: its N.json text and its cells. CSV quotes "a,b", TSV
 * does not: x, s and k are 1 + 5 + 1 bytes of CSV, 1 + 3 + 1 of TSV. */
#define OK_DOC                                                                           \
    "{\"metadata\":{\"clab.experiment_sha256\":\"%s\",\"k\":1},\"parameters\":{\"x\":%"  \
    "d},"                                                                                \
    "\"results\":{\"s\":\"a,b\"}}"
#define OK_DOC_LEN 155 /* with clab.experiment_sha256: 92 bytes */
#define OK_CSV 71
#define OK_TSV 69
/* A failure as delivered: no cells, an empty results object. */
#define FAIL_DOC                                                                         \
    "{\"metadata\":{\"clab.experiment_sha256\":\"%s\",\"e\":\"boom\",\"k\":1},"          \
    "\"parameters\":{\"x\":%d},\"results\":{}}"
/* The sha256 of the experiment, /bin/true, which every record carries. */
static const char *true_sha(void)
{
    static char sha[CLAB_SHA256_HEX];
    if (!sha[0])
        assert_int_equal(clab_sha256_file("/bin/true", sha), 0);
    return sha;
}
#define FAIL_DOC_LEN 157
/* A pending point {"x":D} and its newline; a job id j<16 hex>-S (or r...)
 * with a one-digit serial S as a JSON string literal. */
#define PENDING_LEN 8
#define JOB_LIT_LEN 21

/* Submits /bin/true over {"x": xs} to tag (NULL: none) with more fields
 * (", ..." or ""); out gets the tag. */
static void submit(fixture_t *f, const char *tag, const char *xs, const char *more,
                   char out[CLAB_TAG_MAX + 1])
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    char json[512], tagf[160] = "";
    if (tag)
        snprintf(tagf, sizeof tagf, ", \"tag\": \"%s\"", tag);
    snprintf(json, sizeof json,
             "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": %s}%s%s}", xs, tagf,
             more);
    assert_int_equal(clab_submission_parse(json, strlen(json), NULL, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->nb, sub, out), 0);
    clab_submission_destroy(&sub);
}

/* Every pending task, in id order. */
static json_t *all_tasks(fixture_t *f)
{
    json_t *tasks = json_array();
    int64_t after = 0;
    assert_true(clab_notebook_pending_tasks(f->nb, &after, 1000, tasks) >= 0);
    return tasks;
}

static const char *task_job(json_t *tasks, size_t i)
{
    return json_string_value(json_object_get(json_array_get(tasks, i), "job"));
}

static int task_x(json_t *tasks, size_t i)
{
    json_t *params = json_object_get(json_array_get(tasks, i), "params");
    return (int)json_integer_value(json_object_get(params, "x"));
}

/* Job i of a set's tasks is <prefix>-<i + 1>, the prefix j or r and 16
 * hex digits, the same for the whole submission. */
static void serial_is(json_t *tasks, size_t i, char prefix)
{
    const char *job = task_job(tasks, i);
    char serial[8];
    snprintf(serial, sizeof serial, "-%zu", i + 1);
    assert_int_equal(strlen(job), 19);
    assert_int_equal(job[0], prefix);
    assert_string_equal(job + 17, serial);
    assert_memory_equal(job, task_job(tasks, 0), 17);
}

/* The rows left in cursor c, which is closed. */
static int rows(clab_nb_cursor_t *c)
{
    clab_nb_row_t row;
    int n = 0, rc;
    while ((rc = clab_nb_cursor_next(c, &row)) == 1)
        n++;
    assert_int_equal(rc, 0);
    clab_nb_cursor_close(&c);
    return n;
}

/* {job, record} for a success with `copies` results, or a failure. */
static json_t *ok_item(const char *job, int copies)
{
    json_t *results = json_array();
    for (int i = 0; i < copies; i++)
        json_array_append_new(results, json_pack("{s:s}", "s", "a,b"));
    return json_pack("{s:s, s:{s:b, s:{s:i}, s:o}}", "job", job, "record", "ok", 1,
                     "metadata", "k", 1, "results", results);
}

static json_t *failed_item(const char *job)
{
    return json_pack("{s:s, s:{s:b, s:{s:i, s:s}}}", "job", job, "record", "ok", 0,
                     "metadata", "k", 1, "e", "boom");
}

/* Delivers items (stolen) in one transaction; returns how many were stored. */
static int deliver(fixture_t *f, json_t *items)
{
    int rc = clab_notebook_add_results(f->nb, items);
    json_decref(items);
    return rc;
}

static void current_is(fixture_t *f, const char *want)
{
    clab_nb_reader_t *r;
    char tag[CLAB_TAG_MAX + 1];
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    int rc = clab_nb_current(r, tag);
    clab_nb_reader_close(&r);
    assert_int_equal(rc, want ? 0 : -ENOENT);
    if (want)
        assert_string_equal(tag, want);
}

/* The counts of a set, compared all at once: results, failed, done,
 * pending, last_n, csv_cells, tsv_cells, jsonl_bytes, pending_bytes and
 * pending_jobs. */
static void counts_are(fixture_t *f, const char *tag, long results, long failed,
                       long done, long pending, long last_n, int64_t csv, int64_t tsv,
                       int64_t jsonl, int64_t pend_bytes, int64_t pend_jobs)
{
    static const char fmt[] = "%ld %ld %ld %ld %ld %lld %lld %lld %lld %lld";
    clab_set_info_t i;
    char got[256], want[256];
    info_of(f, tag, &i);
    snprintf(got, sizeof got, fmt, i.results, i.failed, i.done, i.pending, i.last_n,
             (long long)i.csv_cells, (long long)i.tsv_cells, (long long)i.jsonl_bytes,
             (long long)i.pending_bytes, (long long)i.pending_jobs);
    snprintf(want, sizeof want, fmt, results, failed, done, pending, last_n,
             (long long)csv, (long long)tsv, (long long)jsonl, (long long)pend_bytes,
             (long long)pend_jobs);
    clab_set_info_clear(&i);
    assert_string_equal(got, want);
}

static void test_open_schema_client_id(void **state)
{
    fixture_t *f = *state;
    char id[64], other_db[160];
    snprintf(id, sizeof id, "%s", clab_notebook_client_id(f->nb));
    /* clabfs- and 8 random bytes in hex. */
    assert_int_equal(strlen(id), 7 + 16);
    assert_memory_equal(id, "clabfs-", 7);
    assert_int_equal(strspn(id + 7, "0123456789abcdef"), 16);
    current_is(f, NULL);
    sql_is(
        f,
        "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master"
        " WHERE type = 'table' ORDER BY name)",
        "bundles,columns,doomed,files,jobs,meta,provenance,results,sets,sqlite_sequence");
    sql_is(f, "PRAGMA user_version", "11");
    sql_is(f, "PRAGMA journal_mode", "wal");
    sql_is(f, "SELECT value FROM meta WHERE key = 'client_id'", id);

    /* The same name after a reopen; another notebook gets its own. */
    clab_notebook_destroy(&f->nb);
    assert_null(f->nb);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    assert_string_equal(clab_notebook_client_id(f->nb), id);
    clab_notebook_t *other;
    snprintf(other_db, sizeof other_db, "%s/other.db", f->dir);
    assert_int_equal(clab_notebook_open(other_db, &other), 0);
    assert_string_not_equal(clab_notebook_client_id(other), id);
    clab_notebook_destroy(&other);
    assert_null(other);

    /* No such directory: the error, and nothing to destroy. */
    clab_notebook_t *none = NULL;
    assert_true(clab_notebook_open("/nonexistent/dir/nb.db", &none) < 0);
    assert_null(none);
}

/* Set t: x in 1..3, twice over: six pending jobs. */
static void submit_six(fixture_t *f)
{
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "t", "[1, 2, 3]",
           ", \"description\": \"d\", \"repetitions\": 2, \"timeout\": 5", tag);
    assert_string_equal(tag, "t");
}

static void test_submit(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    clab_set_info_t info;
    uint64_t gen = clab_notebook_generation(f->nb);
    submit_six(f);
    assert_int_equal(clab_notebook_generation(f->nb), gen + 1);
    current_is(f, "t");
    counts_are(f, "t", 0, 0, 0, 6, 0, 0, 0, 0, 6 * PENDING_LEN, 6 * JOB_LIT_LEN);
    info_of(f, "t", &info);
    assert_string_equal(info.tag, "t");
    assert_string_equal(info.experiment, "/bin/true");
    assert_string_equal(info.description, "d");
    assert_true(info.id > 0);
    assert_true(info.created > 0);
    assert_true(info.modified == info.created);
    int64_t id = info.id;
    clab_set_info_clear(&info);
    assert_null(info.experiment);

    /* Extending the set: new jobs under a new prefix, the description kept
     * when none is given. */
    usleep(2000);
    submit(f, "t", "[4]", "", tag);
    counts_are(f, "t", 0, 0, 0, 7, 0, 0, 0, 0, 7 * PENDING_LEN, 7 * JOB_LIT_LEN);
    info_of(f, "t", &info);
    assert_string_equal(info.description, "d");
    assert_int_equal(info.id, id);
    assert_true(info.modified > info.created);
    clab_set_info_clear(&info);
    json_t *tasks = all_tasks(f);
    assert_int_equal(json_array_size(tasks), 7);
    assert_string_equal(task_job(tasks, 6) + 17, "-1");
    assert_memory_not_equal(task_job(tasks, 6), task_job(tasks, 0), 17);
    assert_int_equal(task_x(tasks, 6), 4);
    json_decref(tasks);

    /* No tag: a fresh one, set-YYYYmmdd-HHMMSS-hhhh, made current. */
    submit(f, NULL, "[1]", "", tag);
    assert_int_equal(strlen(tag), 24);
    assert_memory_equal(tag, "set-", 4);
    assert_int_equal(tag[12], '-');
    assert_int_equal(tag[19], '-');
    current_is(f, tag);
    counts_are(f, tag, 0, 0, 0, 1, 0, 0, 0, 0, PENDING_LEN, JOB_LIT_LEN);
    info_of(f, tag, &info);
    assert_string_equal(info.description, "");
    assert_true(info.id > id);
    clab_set_info_clear(&info);
}

/* Pages of 4 by id: 4, 4 (only 2 left), then none; each job once, serials
 * in id order under one prefix, every point twice. The pending cursor
 * gives the same points in the same order, from any id on. */
static void test_pending(void **state)
{
    fixture_t *f = *state;
    json_t *tasks = json_array();
    int64_t after = 0, last = 0;
    int seen[4] = {0};
    clab_nb_reader_t *r;
    clab_nb_cursor_t *c;
    clab_nb_row_t row;
    long key = 0, third = 0;
    submit_six(f);
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &after, 4, tasks), 4);
    assert_true(after > 0);
    last = after;
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &after, 4, tasks), 2);
    assert_true(after > last);
    last = after;
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &after, 4, tasks), 0);
    assert_int_equal(after, last);
    assert_int_equal(json_array_size(tasks), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *t = json_array_get(tasks, i);
        serial_is(tasks, i, 'j');
        assert_string_equal(json_string_value(json_object_get(t, "tag")), "t");
        assert_string_equal(json_string_value(json_object_get(t, "experiment")),
                            "/bin/true");
        assert_true(json_real_value(json_object_get(t, "timeout")) == 5.0);
        assert_int_equal(json_object_size(json_object_get(t, "params")), 1);
        int x = task_x(tasks, i);
        assert_true(x >= 1 && x <= 3);
        seen[x]++;
    }
    assert_int_equal(seen[1] * 100 + seen[2] * 10 + seen[3], 222);

    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_pending(r, "t", 0, &c), 0);
    for (size_t i = 0; i < 6; i++) {
        char params[16];
        assert_int_equal(clab_nb_cursor_next(c, &row), 1);
        assert_true(row.key > key);
        key = row.key;
        third = i == 2 ? key : third;
        snprintf(params, sizeof params, "{\"x\":%d}", task_x(tasks, i));
        assert_int_equal(row.len, strlen(params));
        assert_memory_equal(row.text, params, row.len);
        assert_int_equal(row.job_len, 19);
        assert_memory_equal(row.job, task_job(tasks, i), 19);
    }
    assert_int_equal(clab_nb_cursor_next(c, &row), 0);
    clab_nb_cursor_close(&c);
    assert_null(c);
    assert_int_equal(clab_nb_pending(r, "t", third, &c), 0);
    assert_int_equal(clab_nb_cursor_next(c, &row), 1);
    assert_memory_equal(row.job, task_job(tasks, 3), 19);
    assert_int_equal(rows(c), 2);
    assert_int_equal(clab_nb_pending(r, "nosuch", 0, &c), 0);
    assert_int_equal(rows(c), 0);
    clab_nb_reader_close(&r);
    json_decref(tasks);
}

/* The N.json text of result n of tag: the document for point x, or
 * -ENOENT when x < 0. */
static void doc_is(fixture_t *f, const char *tag, long n, int ok, int x)
{
    clab_nb_reader_t *r;
    char *doc = NULL, want[256];
    size_t len = 0;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_result(r, tag, n, ok, &doc, &len), x < 0 ? -ENOENT : 0);
    clab_nb_reader_close(&r);
    if (x < 0)
        return;
    snprintf(want, sizeof want, ok ? OK_DOC : FAIL_DOC, true_sha(), x);
    assert_int_equal(len, ok ? OK_DOC_LEN : FAIL_DOC_LEN);
    assert_string_equal(doc, want);
    free(doc);
}

/* The keys a results cursor of t gives, as "1,2,3". A listing's cursor
 * (clab_nb_sizes, ok 1 or 0 to the end) gives the same rows, each with
 * its document's length and time but no text. */
static void keys_are(clab_nb_reader_t *r, int ok, long after, long upto, const char *want)
{
    clab_nb_cursor_t *c, *sizes = NULL;
    clab_nb_row_t row, size;
    char got[64] = "";
    int rc;
    assert_int_equal(clab_nb_results(r, "t", ok, after, upto, &c), 0);
    if (ok >= 0 && upto < 0)
        assert_int_equal(clab_nb_sizes(r, "t", ok, after, &sizes), 0);
    while ((rc = clab_nb_cursor_next(c, &row)) == 1) {
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%ld", *got ? "," : "",
                 row.key);
        assert_true(row.stored > 0);
        assert_int_equal(row.len, strlen(row.text));
        assert_null(row.job);
        if (sizes) {
            assert_int_equal(clab_nb_cursor_next(sizes, &size), 1);
            assert_int_equal(size.key, row.key);
            assert_int_equal(size.len, row.len);
            assert_true(size.stored == row.stored);
            assert_null(size.text);
        }
    }
    assert_int_equal(rc, 0);
    if (sizes)
        assert_int_equal(clab_nb_cursor_next(sizes, &size), 0);
    clab_nb_cursor_close(&c);
    clab_nb_cursor_close(&sizes);
    assert_string_equal(got, want);
}

/* What test_add_results stored, seen through a reader: the lengths and
 * the columns (from successes only: the failure's "e" is not one). */
static void check_stored(fixture_t *f)
{
    static const char *const cols[3] = {"[\"x\"]", "[\"s\"]",
                                        "[\"clab.experiment_sha256\",\"k\"]"};
    clab_nb_reader_t *r;
    size_t len;
    double stored;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_result_stat(r, "t", 2, 1, &len, &stored), 0);
    assert_int_equal(len, OK_DOC_LEN);
    assert_true(stored > 0);
    assert_int_equal(clab_nb_result_stat(r, "t", 4, 0, &len, &stored), 0);
    assert_int_equal(len, FAIL_DOC_LEN);
    assert_int_equal(clab_nb_result_stat(r, "t", 4, 1, &len, &stored), -ENOENT);
    for (int kind = CLAB_COL_PARAM; kind <= CLAB_COL_META; kind++) {
        json_t *names;
        assert_int_equal(clab_nb_columns(r, "t", kind, &names), 0);
        char *text = clab_json_dumps(names);
        assert_string_equal(text, cols[kind]);
        free(text);
        json_decref(names);
    }
    keys_are(r, -1, 0, -1, "1,2,3,4");
    keys_are(r, 1, 0, -1, "1,2,3");
    keys_are(r, 0, 0, -1, "4");
    keys_are(r, -1, 1, 3, "2,3");
    keys_are(r, 1, 3, -1, "");
    clab_nb_reader_close(&r);
}

static void test_add_results(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "t", "[1, 2, 3]", "", tag);
    json_t *tasks = all_tasks(f);
    assert_int_equal(json_array_size(tasks), 3);
    const char *j1 = task_job(tasks, 0), *j2 = task_job(tasks, 1),
               *j3 = task_job(tasks, 2);

    /* j1 gives one result (N 1), j2 two (N 2 and 3). */
    uint64_t gen = clab_notebook_generation(f->nb);
    assert_int_equal(deliver(f, json_pack("[o, o]", ok_item(j1, 1), ok_item(j2, 2))), 2);
    assert_int_equal(clab_notebook_generation(f->nb), gen + 1);
    counts_are(f, "t", 3, 0, 2, 1, 3, 3 * OK_CSV, 3 * OK_TSV, 3 * (OK_DOC_LEN + 1),
               PENDING_LEN, JOB_LIT_LEN);

    /* Malformed (no metadata; ok without a results array), delivered
     * twice, unknown, or without a job: only j3's first well-formed
     * delivery is stored. */
    json_t *batch =
        json_pack("[o, o, o, o, o, o, o]",
                  json_pack("{s:s, s:{s:b}}", "job", j3, "record", "ok", 0),
                  json_pack("{s:s, s:{s:b, s:{}, s:{}}}", "job", j3, "record", "ok", 1,
                            "metadata", "results"),
                  ok_item(j1, 1), failed_item(j3), ok_item("nosuch", 1), failed_item(j3),
                  json_pack("{s:{s:b, s:{}}}", "record", "ok", 0, "metadata"));
    assert_non_null(batch);
    assert_int_equal(deliver(f, batch), 1);
    counts_are(f, "t", 3, 1, 3, 0, 4, 3 * OK_CSV, 3 * OK_TSV,
               3 * (OK_DOC_LEN + 1) + FAIL_DOC_LEN + 1, 0, 0);
    assert_int_equal(deliver(f, json_pack("[o]", failed_item(j3))), 0);
    assert_int_equal(deliver(f, json_array()), 0);
    json_t *left = all_tasks(f);
    assert_int_equal(json_array_size(left), 0);
    json_decref(left);

    doc_is(f, "t", 1, 1, task_x(tasks, 0));
    doc_is(f, "t", 2, 1, task_x(tasks, 1));
    doc_is(f, "t", 3, 1, task_x(tasks, 1));
    doc_is(f, "t", 4, 0, task_x(tasks, 2));
    doc_is(f, "t", 4, 1, -1);
    doc_is(f, "t", 1, 0, -1);
    doc_is(f, "t", 5, 1, -1);
    doc_is(f, "nosuch", 1, 1, -1);
    check_stored(f);
    json_decref(tasks);
}

/* What reader r sees of set t: results, pending, jsonl_bytes and the
 * rows of its cursors. */
static void sees(clab_nb_reader_t *r, long results, long pending, int64_t jsonl)
{
    clab_set_info_t info;
    clab_nb_cursor_t *c;
    assert_int_equal(clab_nb_set_info(r, "t", &info), 0);
    assert_int_equal(info.results, results);
    assert_int_equal(info.pending, pending);
    assert_int_equal(info.jsonl_bytes, jsonl);
    clab_set_info_clear(&info);
    assert_int_equal(clab_nb_results(r, "t", -1, 0, -1, &c), 0);
    assert_int_equal(rows(c), results);
    assert_int_equal(clab_nb_pending(r, "t", 0, &c), 0);
    assert_int_equal(rows(c), pending);
}

/* A reader keeps its snapshot while the writer commits; the next reader
 * sees the commit. */
static void test_snapshot(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "t", "[1, 2]", "", tag);
    json_t *tasks = all_tasks(f);
    clab_nb_reader_t *old, *now;
    /* BEGIN is deferred: the snapshot is the one of the first query. */
    assert_int_equal(clab_nb_reader_open(f->nb, &old), 0);
    sees(old, 0, 2, 0);
    uint64_t gen = clab_notebook_generation(f->nb);
    assert_int_equal(deliver(f, json_pack("[o]", ok_item(task_job(tasks, 0), 1))), 1);
    /* The commit is seen at once; nothing more within 20 ms. */
    assert_int_equal(clab_notebook_wait_change(f->nb, gen, 1000), gen + 1);
    assert_int_equal(clab_notebook_wait_change(f->nb, gen + 1, 20), gen + 1);
    sees(old, 0, 2, 0);
    assert_int_equal(clab_nb_reader_open(f->nb, &now), 0);
    sees(now, 1, 1, OK_DOC_LEN + 1);
    /* Each keeps its own, after another commit too. */
    assert_int_equal(deliver(f, json_pack("[o]", ok_item(task_job(tasks, 1), 1))), 1);
    sees(old, 0, 2, 0);
    sees(now, 1, 1, OK_DOC_LEN + 1);
    clab_nb_reader_close(&old);
    clab_nb_reader_close(&now);
    assert_null(old);
    /* A pooled connection starts a fresh snapshot. */
    assert_int_equal(clab_nb_reader_open(f->nb, &now), 0);
    sees(now, 2, 0, 2 * (OK_DOC_LEN + 1));
    clab_nb_reader_close(&now);
    counts_are(f, "t", 2, 0, 2, 0, 2, 2 * OK_CSV, 2 * OK_TSV, 2 * (OK_DOC_LEN + 1), 0, 0);
    json_decref(tasks);
}

/* Results stored one per commit come back in N order, page by page. */
static void test_cursor_pages(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "t", "{\"range\": [0, 10]}", "", tag);
    json_t *tasks = all_tasks(f);
    assert_int_equal(json_array_size(tasks), 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(deliver(f, json_pack("[o]", ok_item(task_job(tasks, i), 1))), 1);
    counts_are(f, "t", 10, 0, 10, 0, 10, 10 * OK_CSV, 10 * OK_TSV, 10 * (OK_DOC_LEN + 1),
               0, 0);
    clab_nb_reader_t *r;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    long after = 0, pages = 0;
    for (;;) {
        clab_nb_cursor_t *c;
        clab_nb_row_t row;
        int got = 0;
        assert_int_equal(clab_nb_results(r, "t", 1, after, -1, &c), 0);
        while (got < 3 && clab_nb_cursor_next(c, &row) == 1) {
            char want[256];
            snprintf(want, sizeof want, OK_DOC, true_sha(), task_x(tasks, (size_t)after));
            assert_int_equal(row.key, after + 1);
            assert_int_equal(row.len, OK_DOC_LEN);
            assert_memory_equal(row.text, want, row.len);
            after = row.key;
            got++;
        }
        clab_nb_cursor_close(&c);
        if (!got)
            break;
        pages++;
    }
    assert_int_equal(after, 10);
    assert_int_equal(pages, 4);
    keys_are(r, 1, 7, 9, "8,9");
    clab_nb_reader_close(&r);
    json_decref(tasks);
}

static int collect(void *ud, int64_t id, const char *tag)
{
    (void)id;
    char *out = ud;
    snprintf(out + strlen(out), 64 - strlen(out), "%s%s", *out ? "," : "", tag);
    return strcmp(tag, "stop") == 0 ? 7 : 0;
}

/* The tags clab_nb_sets gives after the set `after` (NULL: all). */
static void sets_are(fixture_t *f, const char *after, const char *want, int want_rc)
{
    clab_nb_reader_t *r;
    clab_set_info_t info = {0};
    char got[64] = "";
    if (after)
        info_of(f, after, &info);
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_sets(r, info.id, collect, got), want_rc);
    clab_nb_reader_close(&r);
    clab_set_info_clear(&info);
    assert_string_equal(got, want);
}

static void test_select_sets(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "a", "[1]", "", tag);
    submit(f, "stop", "[1]", "", tag);
    submit(f, "b", "[1]", "", tag);
    current_is(f, "b");
    assert_int_equal(clab_notebook_select(f->nb, "a"), 0);
    current_is(f, "a");
    assert_int_equal(clab_notebook_select(f->nb, "nosuch"), -ENOENT);
    current_is(f, "a");
    assert_int_equal(clab_notebook_select(f->nb, "b"), 0);
    current_is(f, "b");
    sets_are(f, NULL, "a,stop", 7);
    sets_are(f, "a", "stop", 7);
    sets_are(f, "stop", "b", 0);
    sets_are(f, "b", "", 0);
}

/* After cancel: failures N 2..4 are the cancelled tasks 1..3, in some
 * order; fail_x[k] gets the point of N = k + 2, *jsonl their bytes. */
static void check_cancelled(fixture_t *f, json_t *tasks, int fail_x[3], int64_t *jsonl)
{
    clab_nb_reader_t *r;
    clab_nb_cursor_t *c;
    clab_nb_row_t row;
    int seen[4] = {0};
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_results(r, "t", 0, 0, -1, &c), 0);
    for (long n = 2; n <= 4; n++) {
        assert_int_equal(clab_nb_cursor_next(c, &row), 1);
        assert_int_equal(row.key, n);
        *jsonl += (int64_t)row.len + 1;
        json_t *doc = json_loadb(row.text, row.len, 0, NULL);
        json_t *md = json_object_get(doc, "metadata");
        assert_string_equal(
            json_string_value(json_object_get(md, "epyc.experiment.exception")),
            "Cancelled");
        assert_true(json_is_false(json_object_get(md, "epyc.experiment.status")));
        /* epyc's cancelPendingResult writes no class name or start time. */
        assert_null(json_object_get(md, "epyc.experiment.classname"));
        assert_null(json_object_get(md, "epyc.experiment.start_time"));
        assert_string_equal(
            json_string_value(json_object_get(md, "epyc.experiment.traceback")),
            "cancelled by /ctl cancel");
        const char *job = json_string_value(json_object_get(md, "clab.job"));
        size_t i = 1;
        while (i < 4 && strcmp(task_job(tasks, i), job) != 0)
            i++;
        assert_true(i < 4);
        seen[i]++;
        fail_x[n - 2] = task_x(tasks, i);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(doc, "parameters"), "x")),
            fail_x[n - 2]);
        assert_int_equal(json_object_size(json_object_get(doc, "results")), 0);
        json_decref(doc);
    }
    assert_int_equal(clab_nb_cursor_next(c, &row), 0);
    assert_int_equal(seen[1] * 100 + seen[2] * 10 + seen[3], 111);
    clab_nb_cursor_close(&c);
    clab_nb_reader_close(&r);
}

static void test_cancel_retry(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    int fail_x[3];
    int64_t jsonl = OK_DOC_LEN + 1;
    submit(f, "t", "[1, 2, 3, 4]", "", tag);
    json_t *tasks = all_tasks(f);
    assert_int_equal(deliver(f, json_pack("[o]", ok_item(task_job(tasks, 0), 1))), 1);
    assert_int_equal(clab_notebook_retry(f->nb, "t"), 0);

    /* Cancel: the three pending points become failures N 2..4. */
    assert_int_equal(clab_notebook_cancel(f->nb, "t", NULL), 3);
    assert_int_equal(clab_notebook_cancel(f->nb, "t", NULL), 0);
    assert_int_equal(clab_notebook_cancel(f->nb, "nosuch", NULL), -ENOENT);
    check_cancelled(f, tasks, fail_x, &jsonl);
    counts_are(f, "t", 1, 3, 4, 0, 4, OK_CSV, OK_TSV, jsonl, 0, 0);
    /* A late result for a cancelled job finds it done. */
    assert_int_equal(deliver(f, json_pack("[o]", ok_item(task_job(tasks, 1), 1))), 0);

    /* Retry: each failure once, as new jobs r<hex>-1..3 in N order. */
    assert_int_equal(clab_notebook_retry(f->nb, "t"), 3);
    counts_are(f, "t", 1, 3, 4, 3, 4, OK_CSV, OK_TSV, jsonl, 3 * PENDING_LEN,
               3 * JOB_LIT_LEN);
    assert_int_equal(clab_notebook_retry(f->nb, "t"), 0);
    assert_int_equal(clab_notebook_retry(f->nb, "nosuch"), -ENOENT);
    json_t *again = all_tasks(f);
    assert_int_equal(json_array_size(again), 3);
    for (size_t i = 0; i < 3; i++) {
        serial_is(again, i, 'r');
        assert_int_equal(task_x(again, i), fail_x[i]);
    }
    /* A retried job that fails again can be retried again, alone. */
    assert_int_equal(deliver(f, json_pack("[o]", failed_item(task_job(again, 0)))), 1);
    jsonl += FAIL_DOC_LEN + 1;
    counts_are(f, "t", 1, 4, 5, 2, 5, OK_CSV, OK_TSV, jsonl, 2 * PENDING_LEN,
               2 * JOB_LIT_LEN);
    assert_int_equal(clab_notebook_retry(f->nb, "t"), 1);
    counts_are(f, "t", 1, 4, 5, 3, 5, OK_CSV, OK_TSV, jsonl, 3 * PENDING_LEN,
               3 * JOB_LIT_LEN);
    json_decref(again);
    json_decref(tasks);
}

static void test_delete(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    clab_nb_reader_t *r;
    clab_set_info_t info;
    submit(f, "a", "[1, 2]", "", tag);
    usleep(2000);
    submit(f, "b", "[1, 2]", "", tag);
    usleep(2000);
    submit(f, "c", "[1, 2]", "", tag);
    usleep(2000);
    /* A result makes a the most recently modified set. */
    json_t *tasks = all_tasks(f);
    assert_int_equal(json_array_size(tasks), 6);
    assert_int_equal(deliver(f, json_pack("[o]", ok_item(task_job(tasks, 0), 1))), 1);
    json_decref(tasks);

    /* The current set goes: the most recently modified one takes over. */
    assert_int_equal(clab_notebook_delete(f->nb, "c", NULL), 0);
    current_is(f, "a");
    assert_int_equal(clab_notebook_delete(f->nb, "c", NULL), -ENOENT);
    assert_int_equal(clab_notebook_delete(f->nb, "nosuch", NULL), -ENOENT);
    sets_are(f, NULL, "a,b", 0);
    /* Another one goes: the current one stays. */
    assert_int_equal(clab_notebook_delete(f->nb, "b", NULL), 0);
    current_is(f, "a");
    sets_are(f, NULL, "a", 0);
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_set_info(r, "b", &info), -ENOENT);
    assert_null(info.experiment);
    clab_nb_reader_close(&r);
    tasks = all_tasks(f);
    assert_int_equal(json_array_size(tasks), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(tasks, 0), "tag")), "a");
    json_decref(tasks);

    /* Gone with all it held: the tag starts afresh. */
    assert_int_equal(clab_notebook_delete(f->nb, "a", NULL), 0);
    current_is(f, NULL);
    sets_are(f, NULL, "", 0);
    submit(f, "a", "[1]", "", tag);
    counts_are(f, "a", 0, 0, 0, 1, 0, 0, 0, 0, PENDING_LEN, JOB_LIT_LEN);
    tasks = all_tasks(f);
    assert_int_equal(deliver(f, json_pack("[o]", ok_item(task_job(tasks, 0), 1))), 1);
    counts_are(f, "a", 1, 0, 1, 0, 1, OK_CSV, OK_TSV, OK_DOC_LEN + 1, 0, 0);
    json_t *names;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    assert_int_equal(clab_nb_columns(r, "a", CLAB_COL_RESULT, &names), 0);
    assert_int_equal(json_array_size(names), 1);
    json_decref(names);
    clab_nb_reader_close(&r);
    json_decref(tasks);
}

/* Job ids only grow: after the newest set is deleted, the next jobs get
 * ids past every id handed out before, so that a cursor the link keeps
 * (ids up to it were sent) still finds them; also after a reopen. */
static void test_ids_never_repeat(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    json_t *tasks = json_array();
    int64_t sent = 0;
    submit(f, "a", "[1, 2]", "", tag);
    submit(f, "b", "[1, 2, 3]", "", tag);
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &sent, 100, tasks), 5);
    assert_int_equal(clab_notebook_delete(f->nb, "b", NULL), 0);
    submit(f, "c", "[1, 2]", "", tag);
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &sent, 100, tasks), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(tasks, 6), "tag")), "c");
    assert_int_equal(clab_notebook_delete(f->nb, "c", NULL), 0);
    clab_notebook_destroy(&f->nb);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    submit(f, "d", "[1]", "", tag);
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &sent, 100, tasks), 1);
    json_decref(tasks);
}

/* A notebook of schema version 1 (jobs without AUTOINCREMENT) is migrated:
 * its jobs and their ids kept, and ids no longer repeat. */
static const char v1_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE sets(tag TEXT PRIMARY KEY, experiment TEXT NOT NULL,"
    "  description TEXT NOT NULL, created REAL NOT NULL, next_n INTEGER NOT NULL DEFAULT "
    "1,"
    "  n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0,"
    "  modified REAL NOT NULL DEFAULT 0,"
    "  csv_cells INTEGER NOT NULL DEFAULT 0, tsv_cells INTEGER NOT NULL DEFAULT 0,"
    "  jsonl_bytes INTEGER NOT NULL DEFAULT 0, pending_bytes INTEGER NOT NULL DEFAULT 0,"
    "  pending_jobs INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY, job TEXT NOT NULL UNIQUE, tag TEXT NOT "
    "NULL,"
    "  experiment TEXT NOT NULL, params TEXT NOT NULL, timeout REAL NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_pending ON jobs(tag, state, id);"
    "CREATE TABLE results(tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL,"
    "  job TEXT NOT NULL, doc TEXT NOT NULL, stored REAL, PRIMARY KEY(tag, n)) WITHOUT "
    "ROWID;"
    "CREATE INDEX results_ok ON results(tag, ok, n);"
    "CREATE TABLE columns(tag TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(tag, kind, name)) WITHOUT ROWID;"
    "INSERT INTO sets(tag, experiment, description, created, n_pending, pending_bytes,"
    "  pending_jobs) VALUES('old', '/bin/true', '', 1, 2, 16, 42);"
    "INSERT INTO jobs VALUES(7, 'jaaaaaaaaaaaaaaaa-1', 'old', '/bin/true', '{\"x\":1}', "
    "0, 0);"
    "INSERT INTO jobs VALUES(9, 'jaaaaaaaaaaaaaaaa-2', 'old', '/bin/true', '{\"x\":2}', "
    "0, 0);"
    "INSERT INTO meta VALUES('client_id', 'clabfs-0123456789abcdef');"
    "PRAGMA user_version = 1;";

static void test_migrate_v1_ids(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    sqlite3 *db;
    clab_notebook_destroy(&f->nb);
    snprintf(f->db, sizeof f->db, "%s/v1.db", f->dir);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    sql_is(f, "PRAGMA user_version", "11");
    sql_is(f, "SELECT group_concat(id) FROM (SELECT id FROM jobs ORDER BY id)", "7,9");
    sql_is(f, "SELECT count(*) FROM sqlite_master WHERE name = 'jobs_pending'", "1");
    sql_is(f, "SELECT group_concat(locked) FROM sets", "0");
    sql_is(f, "SELECT group_concat(rep || '/' || reps) FROM jobs", "0/1,0/1");
    json_t *tasks = json_array();
    int64_t sent = 0;
    submit(f, "new", "[1]", "", tag);
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &sent, 100, tasks), 3);
    assert_int_equal(sent, 10);
    assert_int_equal(clab_notebook_delete(f->nb, "new", NULL), 0);
    submit(f, "newer", "[1]", "", tag);
    assert_int_equal(clab_notebook_pending_tasks(f->nb, &sent, 100, tasks), 1);
    assert_int_equal(sent, 11);
    json_decref(tasks);
}

static int locked_of(fixture_t *f, const char *tag)
{
    clab_nb_reader_t *r;
    assert_int_equal(clab_nb_reader_open(f->nb, &r), 0);
    int rc = clab_nb_set_locked(r, tag);
    clab_nb_reader_close(&r);
    return rc;
}

/* describe sets the description; finish locks the set and cancels its
 * pending points as cancel does, and a locked set refuses submits and
 * retry with EACCES (if_exists skip still answers 0 points). */
static void test_describe_finish(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    clab_set_info_t info;
    submit(f, "t", "[1, 2, 3]", "", tag);
    submit(f, "u", "[1]", "", tag);
    assert_int_equal(clab_notebook_describe(f->nb, "t", "a b  c"), 0);
    assert_int_equal(clab_notebook_describe(f->nb, "nosuch", "x"), -ENOENT);
    info_of(f, "t", &info);
    assert_string_equal(info.description, "a b  c");
    clab_set_info_clear(&info);

    json_t *tasks = all_tasks(f);
    assert_int_equal(deliver(f, json_pack("[o]", ok_item(task_job(tasks, 0), 1))), 1);
    json_decref(tasks);
    assert_int_equal(locked_of(f, "t"), 0);
    assert_int_equal(clab_notebook_finish(f->nb, "t", NULL), 2);
    assert_int_equal(locked_of(f, "t"), 1);
    assert_int_equal(locked_of(f, "u"), 0);
    assert_int_equal(locked_of(f, "nosuch"), 0);
    info_of(f, "t", &info);
    assert_int_equal(info.results, 1);
    assert_int_equal(info.failed, 2);
    assert_int_equal(info.pending, 0);
    assert_int_equal(info.pending_bytes, 0);
    assert_int_equal(info.pending_jobs, 0);
    clab_set_info_clear(&info);
    assert_int_equal(clab_notebook_finish(f->nb, "t", NULL), 0);
    assert_int_equal(clab_notebook_finish(f->nb, "nosuch", NULL), -ENOENT);
    assert_int_equal(clab_notebook_retry(f->nb, "t"), -EACCES);

    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    const char *job =
        "{\"experiment\": \"/bin/true\", \"tag\": \"t\", \"parameters\": {}}";
    assert_int_equal(clab_submission_parse(job, strlen(job), NULL, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->nb, sub, tag), -EACCES);
    sub->if_exists = CLAB_IF_EXISTS_SKIP;
    assert_int_equal(clab_notebook_submit(f->nb, sub, tag), 0);
    clab_submission_destroy(&sub);
    info_of(f, "t", &info);
    assert_int_equal(info.pending, 0);
    assert_int_equal(info.last_n, 3);
    clab_set_info_clear(&info);

    /* Locked after a reopen too. */
    clab_notebook_destroy(&f->nb);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    assert_int_equal(locked_of(f, "t"), 1);
    assert_int_equal(clab_notebook_retry(f->nb, "t"), -EACCES);
}

/* A job of several repetitions: each record stored gets
 * epyc.experiment.repetitions and epyc.experiment.rep (epyc's
 * RepeatedExperiment names), whoever made it (here a
 * delivered success, a delivered failure and a cancel), and the metadata
 * columns name them; a retry keeps the index; one repetition adds none. */
/* A result's clab.engine and clab.host are the controller's stamp (who
 * ran it, as the controller knows the sender), not what the record says;
 * the engine's own word on its host stays as clab.host_reported; a
 * record without a stamp keeps its own. Every task carries its job's
 * notebook id as seq, which orders it against cancels. */
static void test_stamp_and_seq(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "s", "[1, 2, 3]", "", tag);
    json_t *tasks = all_tasks(f);
    sql_is(f, "SELECT group_concat(id) FROM (SELECT id FROM jobs ORDER BY id)", "1,2,3");
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(
            json_integer_value(json_object_get(json_array_get(tasks, i), "seq")),
            (json_int_t)i + 1);
    json_t *lying = ok_item(task_job(tasks, 0), 1);
    json_t *md = json_object_get(json_object_get(lying, "record"), "metadata");
    json_object_set_new(md, "clab.engine", json_string("nice-engine"));
    json_object_set_new(md, "clab.host", json_string("trusted"));
    json_object_set_new(md, "clab.host_reported", json_string("forged too"));
    json_object_set_new(
        lying, "stamp",
        json_pack("{s:s, s:s}", "clab.engine", "rogue-1", "clab.host", "10.9.8.7"));
    json_t *plain = ok_item(task_job(tasks, 1), 1);
    json_object_set_new(json_object_get(json_object_get(plain, "record"), "metadata"),
                        "clab.host", json_string("h"));
    assert_int_equal(deliver(f, json_pack("[o, o]", lying, plain)), 2);
    json_decref(tasks);
    sql_is(f,
           "SELECT json_extract(doc, '$.metadata.\"clab.engine\"') || ' ' ||"
           " json_extract(doc, '$.metadata.\"clab.host\"') || ' ' ||"
           " json_extract(doc, '$.metadata.\"clab.host_reported\"')"
           " FROM results WHERE tag = 's' AND n = 1",
           "rogue-1 10.9.8.7 trusted");
    sql_is(f,
           "SELECT json_extract(doc, '$.metadata.\"clab.host\"') || ' ' ||"
           " coalesce(json_extract(doc, '$.metadata.\"clab.host_reported\"'), '-')"
           " FROM results WHERE tag = 's' AND n = 2",
           "h -");
}

static void test_repetition_metadata(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "r", "[1, 2]", ", \"repetitions\": 3", tag);
    submit(f, "one", "[1]", "", tag);
    json_t *tasks = all_tasks(f);
    assert_int_equal(json_array_size(tasks), 7);
    assert_int_equal(deliver(f, json_pack("[o, o, o]", ok_item(task_job(tasks, 0), 1),
                                          failed_item(task_job(tasks, 1)),
                                          ok_item(task_job(tasks, 6), 1))),
                     3);
    json_decref(tasks);
    assert_int_equal(clab_notebook_cancel(f->nb, "r", NULL), 4);
    sql_is(f,
           "SELECT group_concat(x, ' ') FROM (SELECT json_extract(doc, '$.parameters.x')"
           " || ':' || json_extract(doc, '$.metadata.\"epyc.experiment.rep\"') || '/' ||"
           " json_extract(doc, '$.metadata.\"epyc.experiment.repetitions\"') AS x"
           " FROM results WHERE tag = 'r' ORDER BY x)",
           "1:0/3 1:1/3 1:2/3 2:0/3 2:1/3 2:2/3");
    sql_is(f, "SELECT count(*) FROM results WHERE tag = 'r'", "6");
    sql_is(f,
           "SELECT group_concat(name) FROM columns WHERE tag = 'r' AND kind = 2"
           " AND name LIKE 'epyc.experiment.rep%'",
           "epyc.experiment.rep,epyc.experiment.repetitions");
    sql_is(f,
           "SELECT count(*) FROM results WHERE tag = 'one' AND"
           " json_extract(doc, '$.metadata.\"epyc.experiment.rep\"') IS NULL",
           "1");
    assert_int_equal(clab_notebook_retry(f->nb, "r"), 5);
    /* The retried jobs are the failures' points and repetitions. */
    sql_is(
        f,
        "SELECT (SELECT group_concat(k) FROM (SELECT json_extract(params, '$.x') || ':'"
        " || rep || '/' || reps AS k FROM jobs WHERE tag = 'r' AND state = 0 ORDER BY"
        " k)) = (SELECT group_concat(k) FROM (SELECT json_extract(doc,"
        " '$.parameters.x') || ':' || json_extract(doc, "
        "'$.metadata.\"epyc.experiment.rep\"')"
        " || '/3' AS k FROM results WHERE tag = 'r' AND ok = 0 ORDER BY k))",
        "1");
}

/* A notebook of schema version 3 is migrated to 4: its sets unlocked, its
 * jobs repetition 0 of 1, and it can be finished. */
static const char v3_schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE sets(tag TEXT PRIMARY KEY, experiment TEXT NOT NULL,"
    "  description TEXT NOT NULL, created REAL NOT NULL, next_n INTEGER NOT NULL DEFAULT "
    "1,"
    "  n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT 0,"
    "  n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0,"
    "  modified REAL NOT NULL DEFAULT 0,"
    "  csv_cells INTEGER NOT NULL DEFAULT 0, tsv_cells INTEGER NOT NULL DEFAULT 0,"
    "  jsonl_bytes INTEGER NOT NULL DEFAULT 0, pending_bytes INTEGER NOT NULL DEFAULT 0,"
    "  pending_jobs INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL UNIQUE,"
    "  tag TEXT NOT NULL, experiment TEXT NOT NULL, params TEXT NOT NULL,"
    "  timeout REAL NOT NULL, state INTEGER NOT NULL DEFAULT 0, arguments TEXT,"
    "  worker INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_pending ON jobs(tag, state, id);"
    "CREATE TABLE results(tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL,"
    "  job TEXT NOT NULL, doc TEXT NOT NULL, stored REAL, PRIMARY KEY(tag, n)) WITHOUT "
    "ROWID;"
    "CREATE INDEX results_ok ON results(tag, ok, n);"
    "CREATE TABLE columns(tag TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(tag, kind, name)) WITHOUT ROWID;"
    "INSERT INTO sets(tag, experiment, description, created, n_pending, pending_bytes,"
    "  pending_jobs) VALUES('old', '/bin/true', 'kept', 1, 1, 8, 21);"
    "INSERT INTO jobs(id, job, tag, experiment, params, timeout) VALUES(4,"
    "  'jaaaaaaaaaaaaaaaa-1', 'old', '/bin/true', '{\"x\":1}', 0);"
    "INSERT INTO meta VALUES('client_id', 'clabfs-0123456789abcdef');"
    "PRAGMA user_version = 3;";

static void test_migrate_v3(void **state)
{
    fixture_t *f = *state;
    sqlite3 *db;
    clab_notebook_destroy(&f->nb);
    snprintf(f->db, sizeof f->db, "%s/v3.db", f->dir);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v3_schema, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    sql_is(f, "PRAGMA user_version", "11");
    sql_is(f, "SELECT locked || description FROM sets", "0kept");
    sql_is(f, "SELECT rep || '/' || reps FROM jobs", "0/1");
    assert_int_equal(clab_notebook_finish(f->nb, "old", NULL), 1);
    assert_int_equal(locked_of(f, "old"), 1);
    clab_notebook_destroy(&f->nb);
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    sql_is(f, "SELECT locked || n_failed || n_pending FROM sets", "110");
}

/* An element of a record with epyc's records (record.h): x its
 * parameter, status its success, y its result. */
static json_t *element(int x, double v, int ok, int y)
{
    json_t *params = json_pack("{s:i}", "x", x);
    if (v > 0)
        json_object_set_new(params, "v", json_real(v));
    json_t *md =
        json_pack("{s:b, s:s}", "epyc.experiment.status", ok, "clab.engine", "e1");
    if (!ok)
        json_object_set_new(md, "epyc.experiment.exception", json_string("E"));
    return json_pack("{s:b, s:o, s:o, s:o}", "ok", ok, "parameters", params, "results",
                     ok ? json_pack("{s:i}", "y", y) : json_object(), "metadata", md);
}

/* A point whose record holds epyc's records (a RepeatedExperiment with a
 * failed repetition, a setUp that added a parameter) is one N per
 * record, successes and failures in their order, each with its own
 * parameters and metadata (stamped with who ran it, given the job's
 * repetition); the point is done once. Malformed elements fail the
 * point instead. */
static void test_records_ingest(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "e", "[1]", ", \"repetitions\": 2", tag);
    json_t *tasks = all_tasks(f);
    json_t *rec =
        json_pack("{s:b, s:{s:s}, s:[o, o, o]}", "ok", 1, "metadata", "clab.job",
                  task_job(tasks, 0), "records", element(1, 0.5, 1, 2),
                  element(1, 0, 0, 0), element(1, 0, 1, 3));
    json_t *item =
        json_pack("{s:s, s:o, s:{s:s, s:s}}", "job", task_job(tasks, 0), "record", rec,
                  "stamp", "clab.engine", "st", "clab.host", "sh");
    json_t *bad = json_pack("{s:s, s:{s:b, s:{}, s:[i]}}", "job", task_job(tasks, 1),
                            "record", "ok", 1, "metadata", "records", 7);
    assert_int_equal(deliver(f, json_pack("[o, o]", item, bad)), 2);
    json_decref(tasks);
    sql_is(f,
           "SELECT group_concat(x, ' ') FROM (SELECT n || ':' || ok || ':' ||"
           " json_extract(doc, '$.parameters.x') || ':' ||"
           " coalesce(json_extract(doc, '$.parameters.v'), '-') || ':' ||"
           " coalesce(json_extract(doc, '$.results.y'), '-') || ':' ||"
           " coalesce(json_extract(doc, '$.metadata.\"clab.engine\"'), '') || ':' ||"
           " coalesce(json_extract(doc, '$.metadata.\"epyc.experiment.rep\"'), '-') AS x"
           " FROM results WHERE tag = 'e' ORDER BY n)",
           "1:1:1:0.5:2:st:0 2:0:1:-:-:st:0 3:1:1:-:3:st:0 4:0:1:-:-::1");
    sql_is(f,
           "SELECT json_extract(doc, '$.metadata.\"epyc.experiment.exception\"')"
           " FROM results WHERE tag = 'e' AND n = 4",
           "the record's epyc records are malformed");
    sql_is(f,
           "SELECT n_ok || ' ' || n_failed || ' ' || n_done || ' ' || n_pending"
           " FROM sets WHERE tag = 'e'",
           "2 2 2 0");
    sql_is(f, "SELECT group_concat(name) FROM columns WHERE tag = 'e' AND kind = 0",
           "v,x");
    sql_is(
        f,
        "SELECT jsonl_bytes = (SELECT sum(length(doc) + 1) FROM results WHERE tag = 'e')"
        " FROM sets WHERE tag = 'e'",
        "1");
}

/* A job's files are stored once per submit, by their digest (once in all,
 * whatever number of submits or points share them); every task of the
 * job names them, its retries too; the link reads their data by digest;
 * a deleted set takes away what no other job names. */
static void test_files_stored_once(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    static const char
        foo[] = "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2",
        none[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const char *files = ", \"files\": {\"experiment.pkl\": \"Zm9vYmFy\", \"e\": \"\"}";
    char more[256];
    snprintf(more, sizeof more, ", \"repetitions\": 2%s", files);
    submit(f, "f", "[1, 2, 3]", more, tag);
    submit(f, "g", "[1]", files, tag);
    sql_is(f, "SELECT count(*) || ' ' || sum(length(data)) FROM files", "2 6");
    sql_is(f, "SELECT count(*) FROM bundles", "2");
    sql_is(f,
           "SELECT count(DISTINCT bundle) || ' ' || count(*) FROM jobs WHERE tag = 'f'",
           "1 6");
    json_t *tasks = all_tasks(f),
           *want = json_pack("{s:s, s:s}", "experiment.pkl", foo, "e", none);
    assert_int_equal(json_array_size(tasks), 7);
    for (size_t i = 0; i < 7; i++)
        assert_true(json_equal(json_object_get(json_array_get(tasks, i), "files"), want));
    json_decref(want);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(clab_notebook_file(f->nb, foo, &data, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(data, "foobar", 6);
    free(data);
    assert_int_equal(clab_notebook_file(f->nb, "00", &data, &len), -ENOENT);

    /* A retried point names the same files. */
    assert_int_equal(deliver(f, json_pack("[o]", failed_item(task_job(tasks, 0)))), 1);
    json_decref(tasks);
    assert_int_equal(clab_notebook_retry(f->nb, "f"), 1);
    sql_is(f,
           "SELECT count(DISTINCT bundle) || ' ' || count(*) FROM jobs WHERE tag = 'f'",
           "1 7");
    /* Deleting f keeps what g names; deleting g too frees them. */
    assert_int_equal(clab_notebook_delete(f->nb, "f", NULL), 0);
    free_all(f);
    sql_is(f, "SELECT count(*) || ' ' || (SELECT count(*) FROM bundles) FROM files",
           "2 1");
    assert_int_equal(clab_notebook_delete(f->nb, "g", NULL), 0);
    free_all(f);
    sql_is(f, "SELECT count(*) || ' ' || (SELECT count(*) FROM bundles) FROM files",
           "0 0");
    /* A job without files names none. */
    submit(f, "h", "[1]", "", tag);
    tasks = all_tasks(f);
    assert_null(json_object_get(json_array_get(tasks, 0), "files"));
    json_decref(tasks);
}

/* "answer": "jobs": the submit says each point's job id, in the order of
 * its points (explicit ones here), repetitions one after another, while
 * the jobs are still dispatched in random order. */
static void test_answer_jobs(void **state)
{
    fixture_t *f = *state;
    const char *json =
        "{\"experiment\": \"/bin/true\", \"tag\": \"a\", \"answer\": \"jobs\","
        " \"repetitions\": 2, \"points\": [{\"x\": 5}, {\"x\": 3}, {\"x\": 4}]}";
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    assert_int_equal(clab_submission_parse(json, strlen(json), NULL, &sub, &err), 0);
    assert_true(sub->answer_jobs);
    clab_nb_added_t added = {0};
    assert_int_equal(clab_notebook_submit_all(f->nb, &sub, 1, &added, NULL), 0);
    clab_submission_destroy(&sub);
    assert_int_equal(json_array_size(added.jobs), 6);
    json_t *tasks = all_tasks(f);
    for (size_t i = 0; i < 6; i++) {
        const char *job = json_string_value(json_array_get(added.jobs, i));
        size_t k = 0;
        while (k < 6 && strcmp(task_job(tasks, k), job))
            k++;
        assert_true(k < 6);
        static const int want[3] = {5, 3, 4};
        assert_int_equal(task_x(tasks, k), want[i % 3]);
    }
    json_decref(tasks);
    json_decref(added.jobs);
}

/* Runs sql on the notebook's file (the notebook closed meanwhile). */
static void sql_run(fixture_t *f, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A notebook of schema version 5 named a repetition epyc.repeated.i of
 * epyc.repeated.repetitions and did not count its names' documents:
 * opened, its documents, metadata columns (and their counts), cells and
 * byte counts are those of version 6 (epyc.experiment.rep and
 * epyc.experiment.repetitions), as if stored today; a value the
 * experiment gave under a new name gives way to the job's. */
static void test_migrate_v5_names(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "r", "[1, 2]", ", \"repetitions\": 2", tag);
    json_t *tasks = all_tasks(f);
    json_t *items = json_array();
    for (size_t i = 0; i < 4; i++)
        json_array_append_new(items, i == 3 ? failed_item(task_job(tasks, i))
                                            : ok_item(task_job(tasks, i), 1));
    json_object_set_new(
        json_object_get(json_object_get(json_array_get(items, 0), "record"), "metadata"),
        "epyc.experiment.rep", json_integer(7));
    assert_int_equal(deliver(f, items), 4);
    json_decref(tasks);
    clab_notebook_destroy(&f->nb);
    /* What version 6 stores, kept aside; then the same as version 5 had it. */
    sql_run(
        f,
        "CREATE TABLE want AS SELECT tag, n, doc, ncols, csv, tsv FROM results;"
        "CREATE TABLE want_sets AS SELECT * FROM sets;"
        "CREATE TABLE want_columns AS SELECT * FROM columns;"
        "UPDATE results SET doc = replace(doc, '\"epyc.experiment.rep\":0,"
        "\"epyc.experiment.repetitions\":2', '\"epyc.experiment.rep\":7,"
        "\"epyc.repeated.repetitions\":2,\"epyc.repeated.i\":0'),"
        " csv = 'stale', tsv = NULL WHERE n = 1;"
        "UPDATE results SET doc = replace(replace(doc,"
        " '\"epyc.experiment.repetitions\":', '\"epyc.repeated.repetitions\":'),"
        " '\"epyc.experiment.rep\":', '\"epyc.repeated.i\":'), csv = 'stale'"
        " WHERE n > 1;"
        "UPDATE columns SET name = replace(replace(name, 'epyc.experiment.repetitions',"
        " 'epyc.repeated.repetitions'), 'epyc.experiment.rep', 'epyc.repeated.i');"
        "UPDATE sets SET jsonl_bytes = 1;"
        "ALTER TABLE columns DROP COLUMN docs;"
        "ALTER TABLE columns DROP COLUMN ok_docs;"
        "ALTER TABLE jobs DROP COLUMN bundle;"
        "ALTER TABLE jobs DROP COLUMN sha256;"
        "ALTER TABLE jobs DROP COLUMN rkey;"
        "DROP INDEX results_rkey;"
        "ALTER TABLE results DROP COLUMN rkey;"
        "DROP INDEX results_list;"
        "ALTER TABLE results DROP COLUMN len;"
        "CREATE INDEX results_ok ON results(tag, ok, n);"
        "PRAGMA user_version = 5;");
    sql_is(f, "SELECT count(*) FROM results WHERE doc LIKE '%epyc.repeated.i%'", "4");
    assert_int_equal(clab_notebook_open(f->db, &f->nb), 0);
    sql_is(f, "PRAGMA user_version", "11");
    sql_is(f, "SELECT count(*) FROM results WHERE instr(doc, 'epyc.repeated') > 0", "0");
    /* Each length is the rewritten document's, and the listing index
     * replaced the old one. */
    sql_is(f, "SELECT count(*) FROM results WHERE len IS NOT length(CAST(doc AS BLOB))",
           "0");
    sql_is(f,
           "SELECT group_concat(name) FROM sqlite_master WHERE type = 'index'"
           " AND name IN ('results_ok', 'results_list')",
           "results_list");
    sql_is(f,
           "SELECT count(*) FROM results r JOIN want w USING (tag, n) WHERE r.doc IS NOT"
           " w.doc OR r.ncols IS NOT w.ncols OR r.csv IS NOT w.csv OR r.tsv IS NOT w.tsv",
           "0");
    sql_is(f,
           "SELECT count(*) FROM (SELECT * FROM columns EXCEPT SELECT * FROM want_columns"
           " UNION ALL SELECT * FROM want_columns EXCEPT SELECT * FROM columns)",
           "0");
    sql_is(
        f,
        "SELECT s.jsonl_bytes = w.jsonl_bytes AND s.csv_cells = w.csv_cells FROM sets s"
        " JOIN want_sets w USING (tag)",
        "1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_schema_client_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamp_and_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_never_repeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v1_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repetition_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v5_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_ingest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_jobs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
