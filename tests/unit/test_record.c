/* Unit tests for the result record (backend/common/record.c): the keys every
 * record carries, text made valid UTF-8, failures for points that never
 * ran, and the reading side the notebook relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "record.h"

static const char *const common_keys[] = {
    "epyc.experiment.classname",
    "epyc.experiment.start_time",
    "epyc.experiment.end_time",
    "epyc.experiment.elapsed_time",
    "epyc.experiment.experiment_time",
    "epyc.experiment.setup_time",
    "epyc.experiment.teardown_time",
    "epyc.experiment.status",
    "clab.job",
    "clab.engine",
    "clab.host",
    "clab.exit_status",
};

static const char *md_string(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(json_object_get(rec, "metadata"), key));
}

static void check_keys(const json_t *rec, int ok)
{
    json_t *md = json_object_get(rec, "metadata");
    assert_true(json_is_object(md));
    for (size_t i = 0; i < sizeof common_keys / sizeof *common_keys; i++)
        assert_non_null(json_object_get(md, common_keys[i]));
    assert_int_equal(json_is_true(json_object_get(md, "epyc.experiment.status")), ok);
    assert_int_equal(json_is_true(json_object_get(rec, "ok")), ok);
    assert_int_equal(json_object_get(md, "epyc.experiment.exception") != NULL, !ok);
    assert_int_equal(json_object_get(md, "epyc.experiment.traceback") != NULL, !ok);
    assert_int_equal(json_object_get(rec, "results") != NULL, ok);
    assert_int_equal(json_object_size(md), 12 + (ok ? 0 : 2));
}

static void test_success(void **state)
{
    (void)state;
    clab_record_info_t in = {
        .experiment = "/bin/exp",
        .job = "j1",
        .engine_id = "e1",
        .host = "h1",
        .start = 0,
        .end = 1.5,
        .elapsed = 1.5,
        .experiment_time = 1.25,
        .exit_status = 0,
        .exception = "ignored on success",
    };
    json_t *results = json_pack("[{s:i}]", "x", 1), *rec = NULL;
    assert_int_equal(clab_record_new(&in, results, &rec), 0);
    check_keys(rec, 1);
    assert_string_equal(md_string(rec, "epyc.experiment.classname"), "/bin/exp");
    assert_string_equal(md_string(rec, "epyc.experiment.start_time"),
                        "1970-01-01T00:00:00.000000Z");
    assert_string_equal(md_string(rec, "clab.job"), "j1");
    assert_string_equal(md_string(rec, "clab.engine"), "e1");
    assert_string_equal(md_string(rec, "clab.host"), "h1");
    json_t *md = json_object_get(rec, "metadata");
    assert_true(json_real_value(json_object_get(md, "epyc.experiment.experiment_time")) ==
                1.25);
    assert_int_equal(json_integer_value(json_object_get(md, "clab.exit_status")), 0);
    assert_ptr_equal(json_object_get(rec, "results"), results);

    int ok = 0;
    json_t *r = NULL, *m = NULL;
    assert_int_equal(clab_record_decode(rec, &ok, &r, &m), 0);
    assert_int_equal(ok, 1);
    assert_ptr_equal(r, results);
    assert_ptr_equal(m, md);
    json_decref(rec);
}

/* Bad bytes and NULs become '?', and the exception is one line; the
 * traceback keeps its line breaks. */
static void test_failure_text(void **state)
{
    (void)state;
    static const char tail[] = "line 1\nbad \xff byte\0nul";
    clab_record_info_t in = {
        .experiment = "/bin/\xc3",
        .job = NULL,
        .exit_status = 3,
        .exception = "exit status 3\nsecond line",
        .traceback = tail,
        .traceback_len = sizeof tail - 1,
    };
    json_t *rec = NULL;
    assert_int_equal(clab_record_new(&in, NULL, &rec), 0);
    check_keys(rec, 0);
    assert_string_equal(md_string(rec, "epyc.experiment.classname"), "/bin/?");
    assert_string_equal(md_string(rec, "clab.job"), "");
    assert_string_equal(md_string(rec, "epyc.experiment.exception"),
                        "exit status 3 second line");
    assert_string_equal(md_string(rec, "epyc.experiment.traceback"),
                        "line 1\nbad ? byte?nul");
    int ok = 1;
    json_t *r = (json_t *)1, *m = NULL;
    assert_int_equal(clab_record_decode(rec, &ok, &r, &m), 0);
    assert_int_equal(ok, 0);
    assert_null(r);
    assert_non_null(m);
    json_decref(rec);
}

static void test_failure_of_a_point_not_run(void **state)
{
    (void)state;
    clab_record_info_t who = {
        .experiment = "/x/y", .job = "j2", .engine_id = "eng", .host = "box"};
    json_t *rec = clab_record_failure(&who, "engine lost");
    assert_non_null(rec);
    check_keys(rec, 0);
    json_t *md = json_object_get(rec, "metadata");
    assert_string_equal(md_string(rec, "epyc.experiment.exception"), "engine lost");
    assert_string_equal(md_string(rec, "epyc.experiment.traceback"), "");
    assert_string_equal(md_string(rec, "clab.engine"), "eng");
    assert_int_equal(json_integer_value(json_object_get(md, "clab.exit_status")), -1);
    assert_true(json_real_value(json_object_get(md, "epyc.experiment.experiment_time")) ==
                0.0);
    assert_true(json_real_value(json_object_get(md, "epyc.experiment.elapsed_time")) >=
                0);
    json_decref(rec);

    /* A point that never ran without an engine or a host. */
    clab_record_info_t bare = {.experiment = "/x/y", .job = "j3"};
    rec = clab_record_failure(&bare, "no engine");
    check_keys(rec, 0);
    assert_string_equal(md_string(rec, "clab.host"), "");
    json_decref(rec);
}

/* A cancelled point's record is what epyc's cancelPendingResult writes:
 * status, end time, exception "Cancelled" (str() of its
 * CancelledException) and a traceback, and clabfs's own names. */
static void test_cancelled(void **state)
{
    (void)state;
    clab_record_info_t who = {.experiment = "/x/y", .job = "j3"};
    json_t *rec = clab_record_cancelled(&who, "cancelled by /ctl cancel");
    json_t *md = json_object_get(rec, "metadata");
    const char *key;
    json_t *v;
    char names[512] = "";
    assert_true(json_is_false(json_object_get(rec, "ok")));
    assert_null(json_object_get(rec, "results"));
    json_object_foreach(md, key, v)
    {
        strcat(names, key);
        strcat(names, " ");
    }
    assert_string_equal(names, "epyc.experiment.status epyc.experiment.end_time "
                               "epyc.experiment.exception epyc.experiment.traceback "
                               "clab.job clab.engine clab.host clab.exit_status ");
    assert_true(json_is_false(json_object_get(md, "epyc.experiment.status")));
    assert_string_equal(md_string(rec, "epyc.experiment.exception"), "Cancelled");
    assert_string_equal(CLAB_CANCELLED_EXCEPTION, "Cancelled");
    assert_string_equal(md_string(rec, "epyc.experiment.traceback"),
                        "cancelled by /ctl cancel");
    assert_string_equal(md_string(rec, "clab.job"), "j3");
    assert_int_equal(strlen(md_string(rec, "epyc.experiment.end_time")),
                     strlen("2026-11-26T20:54:43.566268Z"));
    assert_int_equal(json_integer_value(json_object_get(md, "clab.exit_status")), -1);
    json_decref(rec);
}

static void test_decode_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",
        "{\"ok\": true, \"metadata\": {}}",
        "{\"ok\": true, \"results\": {}, \"metadata\": {}}",
        "{\"ok\": false, \"metadata\": []}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *rec = json_loads(bad[i], 0, NULL), *r, *m;
        int ok;
        assert_non_null(rec);
        assert_int_equal(clab_record_decode(rec, &ok, &r, &m), -EINVAL);
        json_decref(rec);
    }
    assert_int_equal(
        clab_record_decode(NULL, &(int){0}, &(json_t *){NULL}, &(json_t *){NULL}),
        -EINVAL);
}

static int parse(const char *text, size_t max, json_t **res, char *why)
{
    why[0] = '\0';
    return clab_record_parse_output(text, strlen(text), max, res, why, 128);
}

/* Output to results: shapes, and the cap on how many, counted in the text
 * (strings holding brackets and commas do not count). */
static void test_parse_output(void **state)
{
    (void)state;
    char why[256];
    json_t *res;
    assert_int_equal(parse(" {\"a\": 1}\n", 3, &res, why), 0);
    assert_int_equal(json_array_size(res), 1);
    json_decref(res);
    assert_int_equal(
        parse("[{}, {\"s\": \"],[,{\\\"\"}, {\"t\": [1, {}]}]", 3, &res, why), 0);
    assert_int_equal(json_array_size(res), 3);
    json_decref(res);
    assert_int_equal(parse("[{}, {}, {}, {}]", 3, &res, why), -EINVAL);
    assert_null(res);
    assert_string_equal(why, "output has 4 results (at most 3)");
    /* Valid JSON, but not an object or an array of objects. */
    const char *bad[] = {"[]", "[1]", "[{}, 2]", "3", "null", "\"s\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(parse(bad[i], 3, &res, why), -EINVAL);
        assert_null(res);
        assert_string_equal(why, "stdout is not a JSON object");
    }
    /* Not JSON at all (issue 15): the reason says where. */
    const char *invalid[][2] = {
        {"", "stdout is not a JSON object: stdout is empty"},
        {" \n", "stdout is not a JSON object: stdout is empty"},
        {"{", "stdout is not a JSON object: unexpected end of text at line 1, column 2"},
        {"[{}, {}] x",
         "stdout is not a JSON object: text after the value at line 1, column 10"},
        {"{\"a\": 1, \"b\": tru}",
         "stdout is not a JSON object: invalid token at line 1, column 15"},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        assert_int_equal(parse(invalid[i][0], 3, &res, why), -EINVAL);
        assert_null(res);
        assert_string_equal(why, invalid[i][1]);
    }
}

/* What Python's json.dumps, R's jsonlite and Julia print is accepted, and
 * the record keeps it as written. */
static void test_parse_relaxed(void **state)
{
    (void)state;
    char why[256];
    json_t *res, *rec = NULL;
    assert_int_equal(parse("{\"big\": 18446744073709551616, \"nan\": NaN, \"inf\": "
                           "Infinity, \"ninf\": -Infinity, \"over\": 1e400, \"z\": -0.0, "
                           "\"s\": \"a\\u0000b\"}\n",
                           3, &res, why),
                     0);
    clab_record_info_t in = {.experiment = "/e", .job = "j"};
    assert_int_equal(clab_record_new(&in, res, &rec), 0);
    char *text = clab_json_dumps(json_object_get(rec, "results"));
    assert_string_equal(text,
                        "[{\"big\":18446744073709551616,\"inf\":Infinity,\"nan\":NaN,"
                        "\"ninf\":-Infinity,\"over\":Infinity,\"s\":\"a\\u0000b\","
                        "\"z\":-0.0}]");
    free(text);
    json_decref(rec);
}

/* Invalid output keeps its head as the traceback, stderr's tail after it. */
static void test_invalid_output_traceback(void **state)
{
    (void)state;
    char why[256];
    clab_output_t o;
    json_t *rec = NULL;
    assert_int_equal(
        clab_record_read_output("{\"a\": tru}\n", 11, 3, &o, why, sizeof why), -EINVAL);
    assert_string_equal(why,
                        "stdout is not a JSON object: invalid token at line 1, column 7");
    clab_record_info_t in = {.job = "j",
                             .exception = why,
                             .traceback = "boom\n",
                             .traceback_len = 5,
                             .extra_metadata = o.metadata,
                             .output_head = o.head,
                             .output_head_len = o.head_len};
    assert_int_equal(clab_record_new(&in, NULL, &rec), 0);
    assert_string_equal(md_string(rec, "epyc.experiment.traceback"),
                        "stdout:\n{\"a\": tru}\nstderr:\nboom\n");
    /* Nothing of it shows among the metadata. */
    assert_int_equal(json_object_size(json_object_get(rec, "metadata")), 14);
    json_decref(rec);
    clab_output_clear(&o);

    /* A long output: its first KiB, cut at a character; no stderr. */
    char big[3001];
    memset(big, '[', 1023);
    memcpy(big + 1023, "\xc3\xa9", 2);
    memset(big + 1025, 'x', 3000 - 1025);
    big[3000] = '\0';
    assert_int_equal(clab_record_read_output(big, 3000, 3, &o, why, sizeof why), -EINVAL);
    in = (clab_record_info_t){.job = "j",
                              .exception = why,
                              .extra_metadata = o.metadata,
                              .output_head = o.head,
                              .output_head_len = o.head_len};
    assert_int_equal(clab_record_new(&in, NULL, &rec), 0);
    const char *tb = md_string(rec, "epyc.experiment.traceback");
    const char *head = "stdout (first 1023 of 3000 bytes):\n";
    assert_int_equal(strncmp(tb, head, strlen(head)), 0);
    assert_int_equal(strlen(tb), strlen(head) + 1023 + 1);
    json_decref(rec);
    clab_output_clear(&o);

    /* Valid JSON that is not an object: the traceback stays stderr's. */
    assert_int_equal(clab_record_read_output("[1]", 3, 3, &o, why, sizeof why), -EINVAL);
    assert_null(o.metadata);
    assert_null(o.traceback);
    assert_null(o.head);
    clab_output_clear(&o);
}

/* SPEC's result envelope: results with metadata merged (but for clabfs's
 * own names and the status), or an exception with its traceback; its
 * results are counted before parsing like plain output. */
static int read(const char *text, size_t max, clab_output_t *o, char *why)
{
    return clab_record_read_output(text, strlen(text), max, o, why, 256);
}

static void test_envelope(void **state)
{
    (void)state;
    char why[256];
    clab_output_t o;
    assert_int_equal(read("{\"clab.results\": {\"y\": 2}, \"clab.metadata\": "
                          "{\"epyc.experiment.setup_time\": 0.5, \"clab.job\": \"x\", "
                          "\"epyc.experiment.status\": false}}",
                          3, &o, why),
                     0);
    assert_int_equal(json_array_size(o.results), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(o.results, 0), "y")), 2);
    clab_record_info_t in = {
        .experiment = "/e", .job = "j1", .extra_metadata = o.metadata};
    json_t *rec = NULL;
    assert_int_equal(clab_record_new(&in, json_incref(o.results), &rec), 0);
    json_t *md = json_object_get(rec, "metadata");
    assert_int_equal(json_object_size(md), 12); /* setup_time is one of the twelve */
    assert_true(json_real_value(json_object_get(md, "epyc.experiment.setup_time")) ==
                0.5);
    assert_true(json_real_value(json_object_get(md, "epyc.experiment.teardown_time")) ==
                0);
    assert_string_equal(md_string(rec, "clab.job"), "j1");
    assert_true(json_is_true(json_object_get(md, "epyc.experiment.status")));
    json_decref(rec);
    clab_output_clear(&o);

    assert_int_equal(read("{\"clab.results\": [{\"a\": 1}, {\"a\": 2}]}", 3, &o, why), 0);
    assert_int_equal(json_array_size(o.results), 2);
    clab_output_clear(&o);
    assert_int_equal(read("{\"clab.results\": [{}, {}, {}, {}]}", 3, &o, why), -EINVAL);
    assert_string_equal(why, "output has 4 results (at most 3)");
    clab_output_clear(&o);
    /* A plain result that happens to hold an array is not an envelope. */
    assert_int_equal(read("{\"ts\": [1, 2, 3, 4, 5]}", 3, &o, why), 0);
    clab_output_clear(&o);

    assert_int_equal(
        read("{\"clab.exception\": \"ValueError: bad\\nx\", \"clab.traceback\": "
             "\"Traceback ...\", \"clab.metadata\": {\"k\": 1}}",
             3, &o, why),
        -EINVAL);
    assert_null(o.results);
    assert_string_equal(why, "ValueError: bad\nx");
    assert_string_equal(o.traceback, "Traceback ...");
    in = (clab_record_info_t){.job = "j2",
                              .exception = why,
                              .traceback = o.traceback,
                              .traceback_len = strlen(o.traceback),
                              .extra_metadata = o.metadata};
    assert_int_equal(clab_record_new(&in, NULL, &rec), 0);
    assert_int_equal(json_object_size(json_object_get(rec, "metadata")), 15);
    assert_string_equal(md_string(rec, "epyc.experiment.exception"), "ValueError: bad x");
    assert_string_equal(md_string(rec, "epyc.experiment.traceback"), "Traceback ...");
    json_decref(rec);
    clab_output_clear(&o);

    const char *bad[][2] = {
        {"{\"clab.results\": 3}", "clab.results is not an object or an array of objects"},
        {"{\"clab.results\": []}",
         "clab.results is not an object or an array of objects"},
        {"{\"clab.results\": {}, \"clab.metadata\": 1}",
         "clab.metadata is not an object"},
        {"{\"clab.exception\": 1}", "clab.exception is not a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(read(bad[i][0], 3, &o, why), -EINVAL);
        assert_null(o.results);
        assert_string_equal(why, bad[i][1]);
        clab_output_clear(&o);
    }
}

/* Issue 21: NaN, ±Infinity and integers past 64 bits are carried as a
 * private marker string (json.h); for clab.exception and clab.traceback
 * they are not text. The exception fails the point as not a string, the
 * traceback is ignored so that stderr's tail stays; results and metadata
 * values may be such numbers, results and metadata themselves not. */
static void test_envelope_numbers_are_not_text(void **state)
{
    (void)state;
    static const char *const numbers[] = {"NaN", "Infinity", "-Infinity",
                                          "18446744073709551616", "-1e400"};
    char why[128], text[256];
    clab_output_t o;
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        snprintf(text, sizeof text, "{\"clab.exception\": %s}", numbers[i]);
        assert_int_equal(read(text, 3, &o, why), -EINVAL);
        assert_string_equal(why, "clab.exception is not a string");
        clab_output_clear(&o);

        snprintf(text, sizeof text,
                 "{\"clab.exception\": %s, \"clab.traceback\": \"tb\"}", numbers[i]);
        assert_int_equal(read(text, 3, &o, why), -EINVAL);
        assert_string_equal(why, "clab.exception is not a string");
        clab_output_clear(&o);

        /* A success whose traceback is a number: no traceback. */
        snprintf(text, sizeof text,
                 "{\"clab.results\": {\"y\": 1}, \"clab.traceback\": %s}", numbers[i]);
        assert_int_equal(read(text, 3, &o, why), 0);
        assert_null(o.traceback);
        clab_output_clear(&o);

        /* A failure whose traceback is a number: stderr's tail is kept. */
        snprintf(text, sizeof text,
                 "{\"clab.exception\": \"ValueError: x\", \"clab.traceback\": %s}",
                 numbers[i]);
        assert_int_equal(read(text, 3, &o, why), -EINVAL);
        assert_string_equal(why, "ValueError: x");
        assert_null(o.traceback);
        clab_record_info_t in = {.job = "j",
                                 .exception = why,
                                 .traceback = o.traceback ? o.traceback : "tail\n",
                                 .traceback_len = o.traceback ? strlen(o.traceback) : 5,
                                 .extra_metadata = o.metadata};
        json_t *rec = NULL;
        assert_int_equal(clab_record_new(&in, NULL, &rec), 0);
        assert_string_equal(md_string(rec, "epyc.experiment.exception"), "ValueError: x");
        assert_string_equal(md_string(rec, "epyc.experiment.traceback"), "tail\n");
        json_decref(rec);
        clab_output_clear(&o);

        /* The other envelope keys: results and metadata must be objects. */
        snprintf(text, sizeof text, "{\"clab.results\": %s}", numbers[i]);
        assert_int_equal(read(text, 3, &o, why), -EINVAL);
        assert_string_equal(why, "clab.results is not an object or an array of objects");
        clab_output_clear(&o);
        snprintf(text, sizeof text, "{\"clab.results\": {}, \"clab.metadata\": %s}",
                 numbers[i]);
        assert_int_equal(read(text, 3, &o, why), -EINVAL);
        assert_string_equal(why, "clab.metadata is not an object");
        clab_output_clear(&o);

        /* Their values may be such numbers, and stay numbers. */
        snprintf(text, sizeof text,
                 "{\"clab.results\": {\"y\": %s}, \"clab.metadata\": {\"m\": %s}}",
                 numbers[i], numbers[i]);
        assert_int_equal(read(text, 3, &o, why), 0);
        assert_non_null(
            clab_json_number_text(json_object_get(json_array_get(o.results, 0), "y")));
        assert_non_null(clab_json_number_text(json_object_get(o.metadata, "m")));
        clab_output_clear(&o);
    }
}

/* A point that gives full epyc records ("clab.records": epyc's results
 * dicts, a RepeatedExperiment's one per repetition): each element keeps
 * its own parameters, results and metadata (epyc's names and times, its
 * own status, exception and traceback as epyc stores them), clabfs adds
 * its clab.* names and its own clock as clab.start_time and
 * clab.elapsed_time, and a clab.* name of the element's own is dropped.
 * The point itself ran: the record is ok whatever its elements say. */
static void test_records(void **state)
{
    (void)state;
    char why[256];
    clab_output_t o;
    const char *text =
        "{\"clab.records\": ["
        "{\"parameters\": {\"x\": 1, \"v\": 0.5}, \"results\": {\"y\": 2},"
        " \"metadata\": {\"epyc.experiment.status\": true, \"epyc.experiment.rep\": 0,"
        " \"epyc.experiment.elapsed_time\": 4e-06, \"clab.job\": \"forged\"}},"
        "{\"parameters\": {\"x\": 1}, \"results\": {},"
        " \"metadata\": {\"epyc.experiment.status\": false, \"epyc.experiment.rep\": 1,"
        " \"epyc.experiment.exception\": \"We failed\\n(on purpose)\","
        " \"epyc.experiment.traceback\": \"Traceback (most recent call last):\\n\"}}]}";
    assert_int_equal(read(text, 3, &o, why), 0);
    assert_null(o.results);
    assert_int_equal(json_array_size(o.records), 2);
    clab_record_info_t in = {.experiment = "/e",
                             .job = "j1",
                             .engine_id = "e1",
                             .host = "h1",
                             .start = 0,
                             .end = 2.5,
                             .elapsed = 2.5,
                             .exit_status = 0,
                             .records = o.records};
    json_t *rec = NULL;
    assert_int_equal(clab_record_new(&in, NULL, &rec), 0);
    assert_true(json_is_true(json_object_get(rec, "ok")));
    assert_null(json_object_get(rec, "results"));
    json_t *els = json_object_get(rec, "records");
    assert_int_equal(json_array_size(els), 2);
    json_t *e0 = json_array_get(els, 0), *e1 = json_array_get(els, 1);
    assert_true(json_is_true(json_object_get(e0, "ok")));
    assert_true(json_is_false(json_object_get(e1, "ok")));
    json_t *want = json_loads("{\"x\": 1, \"v\": 0.5}", 0, NULL);
    assert_true(json_equal(json_object_get(e0, "parameters"), want));
    json_decref(want);
    json_t *m0 = json_object_get(e0, "metadata"), *m1 = json_object_get(e1, "metadata");
    const char *key;
    json_t *v;
    char names[512] = "";
    json_object_foreach(m0, key, v)
    {
        strcat(names, key);
        strcat(names, " ");
    }
    assert_string_equal(names, "epyc.experiment.status epyc.experiment.rep "
                               "epyc.experiment.elapsed_time clab.job clab.engine "
                               "clab.host clab.exit_status clab.start_time "
                               "clab.elapsed_time ");
    assert_string_equal(json_string_value(json_object_get(m0, "clab.job")), "j1");
    assert_true(json_real_value(json_object_get(m0, "epyc.experiment.elapsed_time")) ==
                4e-06);
    assert_true(json_real_value(json_object_get(m0, "clab.elapsed_time")) == 2.5);
    assert_string_equal(
        json_string_value(json_object_get(m1, "epyc.experiment.exception")),
        "We failed\n(on purpose)");
    assert_string_equal(
        json_string_value(json_object_get(m1, "epyc.experiment.traceback")),
        "Traceback (most recent call last):\n");
    json_decref(rec);
    clab_output_clear(&o);

    const char *bad[][2] = {
        {"{\"clab.records\": []}",
         "clab.records is not a non-empty array of epyc results dicts"},
        {"{\"clab.records\": {}}",
         "clab.records is not a non-empty array of epyc results dicts"},
        {"{\"clab.records\": [{\"parameters\": {}, \"results\": {}}]}",
         "clab.records[0] is not an epyc results dict (parameters, results and metadata "
         "objects, metadata with a boolean epyc.experiment.status)"},
        {"{\"clab.records\": [{\"parameters\": {}, \"results\": [], \"metadata\": "
         "{\"epyc.experiment.status\": true}}]}",
         "clab.records[0] is not an epyc results dict (parameters, results and metadata "
         "objects, metadata with a boolean epyc.experiment.status)"},
        {"{\"clab.records\": [{\"parameters\": {}, \"results\": {}, \"metadata\": "
         "{\"epyc.experiment.status\": 1}}]}",
         "clab.records[0] is not an epyc results dict (parameters, results and metadata "
         "objects, metadata with a boolean epyc.experiment.status)"},
        {"{\"clab.records\": [{}, {}, {}, {}]}", "output has 4 results (at most 3)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(read(bad[i][0], 3, &o, why), -EINVAL);
        assert_null(o.records);
        assert_string_equal(why, bad[i][1]);
        clab_output_clear(&o);
    }
    /* A point that failed as a whole is a failure, records or not. */
    assert_int_equal(
        read("{\"clab.exception\": \"boom\", \"clab.records\": [{}]}", 3, &o, why),
        -EINVAL);
    assert_string_equal(why, "boom");
    clab_output_clear(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_failure_text),
        cmocka_unit_test(test_failure_of_a_point_not_run),
        cmocka_unit_test(test_cancelled),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test(test_parse_output),
        cmocka_unit_test(test_parse_relaxed),
        cmocka_unit_test(test_invalid_output_traceback),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_envelope_numbers_are_not_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
