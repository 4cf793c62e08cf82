/* The files of the mount without a mount (fs/tree.c, fs/views.c,
 * fs/notebook/notebook.c, fs/inbox.c): a real notebook in a temporary directory,
 * results stored the way the sync thread stores them, every view read in
 * several patterns and checked against the size stat reports, snapshots
 * and catching up, notebook.json against epyc's layout, wait with a thread
 * finishing the set, listings resumed from cookies, /ctl commands, and a
 * notebook of the first schema brought up to date. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inbox.h"
#include "json.h"
#include "sha256.h"
#include "log.h"
#include "tree.h"
#include "views.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char db[128];
    clab_lab_t lab;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/clabviews.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/notebook.db", f->dir);
    clab_lab_init(&f->lab);
    assert_int_equal(clab_notebook_open(f->db, &f->lab.nb), 0);
    json_t *engines = json_loads(
        "[{\"id\": \"eng-1\", \"host\": \"h1\", \"pid\": 42, \"state\": \"busy\","
        " \"tasks\": 7}]",
        0, NULL);
    clab_lab_publish(&f->lab, 1, engines);
    json_decref(engines);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[160];
    clab_lab_fini(&f->lab);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void submit(fixture_t *f, const char *json, char tag[CLAB_TAG_MAX + 1])
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    assert_int_equal(
        clab_submission_parse(json, strlen(json), &f->lab.limits, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->lab.nb, sub, tag), 0);
    clab_submission_destroy(&sub);
}

/* Results of varied shapes: quotes, commas, line breaks and tabs in
 * strings, reals, booleans, null, arrays and objects; a new column from
 * the 150th on; every seventh point a failure. */
static json_t *varied(const json_t *params, const char *job, int i)
{
    json_int_t x = json_integer_value(json_object_get(params, "x"));
    json_t *meta = json_pack("{s:s, s:s, s:s, s:i}", "epyc.experiment.classname",
                             "/bin/true", "clab.job", job, "epyc.experiment.start_time",
                             "2026-01-02T03:04:05.000006Z", "clab.exit_status", 0);
    if (i % 7 == 3) {
        json_object_set_new(meta, "epyc.experiment.status", json_false());
        json_object_set_new(meta, "epyc.experiment.exception",
                            json_string("exit status 3"));
        return json_pack("{s:b, s:o}", "ok", 0, "metadata", meta);
    }
    json_object_set_new(meta, "epyc.experiment.status", json_true());
    json_t *r = json_pack("{s:f, s:s, s:b, s:n, s:[i, f, s], s:{s:i}}", "y",
                          (double)x * 0.1, "label", "a,\"b\"\nc\td", "flag", (int)(x % 2),
                          "none", "arr", 1, 2.5, "x", "obj", "k", (int)x);
    if (i >= 150)
        json_object_set_new(r, "extra", json_integer(i));
    return json_pack("{s:b, s:o, s:[o]}", "ok", 1, "metadata", meta, "results", r);
}

/* Completes up to n pending points, in notebook order, in one transaction. */
static int complete(fixture_t *f, int n, int *counter)
{
    json_t *tasks = json_array(), *batch = json_array(), *t;
    int64_t after = 0;
    size_t i;
    int got = clab_notebook_pending_tasks(f->lab.nb, &after, (size_t)n, tasks);
    assert_true(got >= 0);
    json_array_foreach(tasks, i, t)
    {
        const char *job = json_string_value(json_object_get(t, "job"));
        json_array_append_new(
            batch, json_pack("{s:s, s:o}", "job", job, "record",
                             varied(json_object_get(t, "params"), job, (*counter)++)));
    }
    if (got > 0)
        assert_int_equal(clab_notebook_add_results(f->lab.nb, batch), got);
    json_decref(tasks);
    json_decref(batch);
    return got;
}

static clab_node_t node_of(fixture_t *f, const char *path)
{
    clab_node_t node;
    assert_int_equal(clab_tree_lookup(&f->lab, path, &node), 0);
    return node;
}

static off_t size_of(fixture_t *f, const char *path, int pid)
{
    clab_node_t node = node_of(f, path);
    struct stat st;
    /* 1: the size of that process's own open. */
    assert_true(clab_view_getattr(&f->lab, &node, pid, &st) >= 0);
    return st.st_size;
}

/* Reads an open view to the end in chunks of `chunk` bytes. */
static char *read_view(clab_view_t *v, size_t chunk, size_t *len)
{
    clab_buf_t b = {0};
    char *tmp = malloc(chunk);
    ssize_t n;
    while ((n = clab_view_read(v, tmp, chunk, (off_t)b.len)) > 0)
        clab_buf_add(&b, tmp, (size_t)n);
    assert_int_equal(n, 0);
    free(tmp);
    *len = b.len;
    return b.data ? b.data : calloc(1, 1);
}

static char *read_path(fixture_t *f, const char *path, size_t chunk, size_t *len)
{
    clab_node_t node = node_of(f, path);
    clab_view_t *v;
    assert_int_equal(clab_view_open(&f->lab, &node, &v), 0);
    char *s = read_view(v, chunk, len);
    clab_view_destroy(&v);
    return s;
}

/* The size stat reports, and the same bytes whatever the read pattern:
 * forwards in chunks of several sizes, backwards block by block as tail
 * reads, and at random offsets. Returns the content. */
static char *check_view(fixture_t *f, const char *path, size_t *len_out)
{
    off_t size = size_of(f, path, 0);
    size_t len;
    char *all = read_path(f, path, 131072, &len);
    assert_int_equal((off_t)len, size);
    static const size_t chunks[] = {13, 4096, 65536};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        size_t l2;
        char *again = read_path(f, path, chunks[c], &l2);
        assert_int_equal(l2, len);
        assert_memory_equal(again, all, len);
        free(again);
    }
    clab_node_t node = node_of(f, path);
    clab_view_t *v;
    assert_int_equal(clab_view_open(&f->lab, &node, &v), 0);
    char buf[9000];
    /* Backwards, from the end. */
    for (off_t end = (off_t)len; end > 0; end -= 8192) {
        off_t off = end > 8192 ? end - 8192 : 0;
        ssize_t n = clab_view_read(v, buf, (size_t)(end - off), off);
        assert_int_equal(n, end - off);
        assert_memory_equal(buf, all + off, (size_t)n);
    }
    /* Random preads, some past the end. */
    srand(7);
    for (int i = 0; i < 300; i++) {
        off_t off = len ? (off_t)(rand() % (int)(len + 100)) : 0;
        size_t want = (size_t)(rand() % (int)sizeof buf) + 1;
        ssize_t n = clab_view_read(v, buf, want, off);
        size_t expect = off >= (off_t)len                   ? 0
                        : (size_t)((off_t)len - off) < want ? (size_t)((off_t)len - off)
                                                            : want;
        assert_int_equal(n, (ssize_t)expect);
        assert_memory_equal(buf, all + (off < (off_t)len ? off : 0), expect);
    }
    clab_view_destroy(&v);
    *len_out = len;
    return all;
}

static int count_lines(const char *s, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    return n;
}

static void test_sizes_and_reads(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    int counter = 0;
    submit(
        f,
        "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": {\"range\": [0, 700]},"
        " \"s\": \"p,q\"}, \"tag\": \"v\"}",
        tag);
    assert_string_equal(tag, "v");
    static const char *const files[] = {
        "/results/v/results.csv",
        "/results/v/results.tsv",
        "/results/v/results.jsonl",
        "/results/v/pending",
        "/notebook.json",
        "/status",
        "/status.json",
        "/results/v/status",
        "/results/v/experiment",
        "/engines/eng-1",
        "/errors",
    };
    /* Nothing yet, some (one column set), more (a new column), all. */
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            size_t len;
            free(check_view(f, files[i], &len));
        }
        complete(f, round == 0 ? 100 : round == 1 ? 100 : 1000, &counter);
    }
    size_t len;
    char *csv = check_view(f, "/results/v/results.csv", &len);
    clab_set_info_t info;
    clab_nb_reader_t *r;
    assert_int_equal(clab_nb_reader_open(f->lab.nb, &r), 0);
    assert_int_equal(clab_nb_set_info(r, "v", &info), 0);
    clab_nb_reader_close(&r);
    assert_int_equal(info.pending, 0);
    assert_int_equal(info.failed, 100);
    assert_int_equal(info.results, 600);
    /* Header, one line per success plus one more line break in each label. */
    assert_int_equal(count_lines(csv, len), 1 + 2 * 600);
    const char *header = "s,x,arr,extra,flag,label,none,obj,y,clab.exit_status,"
                         "clab.experiment_sha256,clab.job,"
                         "epyc.experiment.classname,epyc.experiment.start_time,"
                         "epyc.experiment.status\n";
    assert_memory_equal(csv, header, strlen(header));
    /* The first success, cell by cell. */
    const char *row = csv + strlen(header);
    long x = strtol(row + strlen("\"p,q\","), NULL, 10);
    char y[40], want[512], sha[CLAB_SHA256_HEX];
    clab_fmt_double(y, (double)x * 0.1, 0);
    assert_int_equal(clab_sha256_file("/bin/true", sha), 0);
    snprintf(want, sizeof want,
             "\"p,q\",%ld,\"[1,2.5,\"\"x\"\"]\",,%s,\"a,\"\"b\"\"\nc\td\",,\"{\"\"k\"\":%"
             "ld}\",%s,0,%s,j",
             x, x % 2 ? "TRUE" : "FALSE", x, y, sha);
    assert_memory_equal(row, want, strlen(want));
    free(csv);
    char *tsv = check_view(f, "/results/v/results.tsv", &len);
    assert_int_equal(count_lines(tsv, len), 601);
    row = strchr(tsv, '\n') + 1;
    x = strtol(row + strlen("p,q\t"), NULL, 10);
    clab_fmt_double(y, (double)x * 0.1, 0);
    snprintf(want, sizeof want,
             "p,q\t%ld\t[1,2.5,\"x\"]\t\t%s\ta,\"b\" c d\t\t{\"k\":%ld}\t%s\t0\t%s\tj", x,
             x % 2 ? "TRUE" : "FALSE", x, y, sha);
    assert_memory_equal(row, want, strlen(want));
    free(tsv);
    char *jsonl = check_view(f, "/results/v/results.jsonl", &len);
    assert_int_equal(count_lines(jsonl, len), 700);
    free(jsonl);
    assert_int_equal(size_of(f, "/results/v/pending", 0), 0);
    /* N.json: the document and a newline. */
    char *one = read_path(f, "/results/v/1.json", 100, &len);
    assert_int_equal(size_of(f, "/results/v/1.json", 0), (off_t)len);
    assert_string_equal(one + len - 2, "}\n");
    free(one);
    clab_set_info_clear(&info);
    char *engine = read_path(f, "/engines/eng-1", 100, &len);
    assert_string_equal(engine, "host h1\npid 42\nstate busy\ntasks 7\n");
    free(engine);
}

static void test_snapshots(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    int counter = 0;
    size_t len, len2;
    submit(
        f,
        "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": {\"range\": [0, 300]}},"
        " \"tag\": \"s\"}",
        tag);
    clab_node_t csvn = node_of(f, "/results/s/results.csv");
    clab_node_t pendn = node_of(f, "/results/s/pending");
    clab_view_t *csv, *pend, *empty;
    /* Before the first result the table is its header: the parameters. */
    assert_int_equal(clab_view_open(&f->lab, &csvn, &empty), 0);
    clab_view_attach(empty, 99);
    assert_int_equal(size_of(f, "/results/s/results.csv", 99), 2);
    char *head = read_view(empty, 4096, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(head, "x\n", 2);
    free(head);
    complete(f, 10, &counter);
    assert_int_equal(clab_view_open(&f->lab, &csvn, &csv), 0);
    assert_int_equal(clab_view_open(&f->lab, &pendn, &pend), 0);
    clab_view_attach(csv, 42);
    off_t size10 = size_of(f, "/results/s/results.csv", 0);
    off_t pend290 = size_of(f, "/results/s/pending", 0);
    complete(f, 20, &counter);
    /* Others see the present; each open its own state. */
    assert_true(size_of(f, "/results/s/results.csv", 0) > size10);
    char *old = read_view(csv, 1000, &len);
    assert_int_equal((off_t)len, size10);
    char *p = read_view(pend, 1000, &len2);
    assert_int_equal((off_t)len2, pend290);
    assert_int_equal(count_lines(p, len2), 290);
    free(p);
    /* The reader's stat moves its open on: the old bytes stay, rows follow. */
    off_t size30 = size_of(f, "/results/s/results.csv", 42);
    assert_int_equal(size30, size_of(f, "/results/s/results.csv", 0));
    char *grown = read_view(csv, 777, &len2);
    assert_int_equal((off_t)len2, size30);
    assert_memory_equal(grown, old, len);
    char *fresh = read_path(f, "/results/s/results.csv", 4096, &len);
    assert_int_equal(len, len2);
    assert_memory_equal(fresh, grown, len);
    free(old);
    free(grown);
    free(fresh);
    /* The first result brought its columns, which rewrites the header: the
     * open that read the header alone stays as it was. */
    assert_int_equal(size_of(f, "/results/s/results.csv", 99), 2);
    fresh = read_view(empty, 4096, &len);
    assert_int_equal(len, 2);
    free(fresh);
    /* A new column rewrites every row: the open stays where it was. */
    counter = 150;
    complete(f, 5, &counter);
    assert_int_equal(size_of(f, "/results/s/results.csv", 42), size30);
    assert_true(size_of(f, "/results/s/results.csv", 0) > size30);
    /* Detached, the process sees the present like everyone else. */
    clab_view_detach(csv);
    assert_int_equal(size_of(f, "/results/s/results.csv", 42),
                     size_of(f, "/results/s/results.csv", 0));
    clab_view_destroy(&csv);
    clab_view_destroy(&pend);
    clab_view_destroy(&empty);
}

/* notebook.json as epyc reads it (epyc.c): inside a result's parts an
 * object value is the flat list of its keys and values, and null is NaN.
 * flat() maps an N.json value the same way; parse_epyc() reads the file
 * with NaN (which jansson refuses) read back as null. */
static json_t *flat(json_t *v)
{
    if (json_is_object(v)) {
        json_t *l = json_array(), *x;
        const char *k;
        json_object_foreach(v, k, x)
        {
            json_array_append_new(l, json_string(k));
            json_array_append_new(l, flat(x));
        }
        return l;
    }
    if (json_is_array(v)) {
        json_t *l = json_array(), *x;
        size_t i;
        json_array_foreach(v, i, x) json_array_append_new(l, flat(x));
        return l;
    }
    return json_incref(v);
}

static json_t *epyc_result(json_t *doc)
{
    json_t *out = json_object(), *part;
    const char *name;
    json_object_foreach(doc, name, part)
    {
        json_t *o = json_object(), *x;
        const char *k;
        json_object_foreach(part, k, x) json_object_set_new(o, k, flat(x));
        json_object_set_new(out, name, o);
    }
    return out;
}

static json_t *parse_epyc(char *text, size_t len)
{
    for (char *p = text; (p = memmem(p, len - (size_t)(p - text), "NaN ", 4)); p += 4)
        memcpy(p, "null", 4);
    return json_loadb(text, len, 0, NULL);
}

static void test_notebook_json(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    int counter = 0;
    size_t len;
    char *text = check_view(f, "/notebook.json", &len);
    json_error_t e;
    json_t *j = json_loadb(text, len, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "current")),
                        "epyc.resultset.default");
    json_decref(j);
    free(text);
    submit(f,
           "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [1, 2, 3, 4, 5, 6, "
           "7, 8]},"
           " \"tag\": \"a\", \"description\": \"first \\\"one\\\"\"}",
           tag);
    submit(
        f,
        "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [1]}, \"tag\": \"b\"}",
        tag);
    complete(f, 5, &counter);
    text = check_view(f, "/notebook.json", &len);
    j = parse_epyc(text, len);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 6);
    assert_string_equal(json_string_value(json_object_get(j, "version")), "2");
    assert_string_equal(json_string_value(json_object_get(j, "current")), "b");
    assert_true(json_is_false(json_object_get(j, "locked")));
    assert_true(json_is_string(json_object_get(j, "creator")));
    assert_true(json_is_string(json_object_get(j, "description")));
    json_t *sets = json_object_get(j, "resultsets");
    assert_int_equal(json_object_size(sets), 3);
    json_t *a = json_object_get(sets, "a");
    assert_int_equal(json_object_size(a), 5);
    assert_string_equal(json_string_value(json_object_get(a, "description")),
                        "first \"one\"");
    assert_string_equal(json_string_value(json_object_get(a, "clab.experiment")),
                        "/bin/true");
    assert_true(json_is_false(json_object_get(a, "locked")));
    json_t *res = json_object_get(a, "results");
    assert_int_equal(json_array_size(res), 5);
    /* Each result is its N.json as epyc reads it, in N order. */
    for (size_t i = 0; i < 5; i++) {
        char path[64];
        size_t dl;
        json_t *doc;
        snprintf(path, sizeof path, "/results/a/%s%zu.json", i == 3 ? "failed/" : "",
                 i + 1);
        char *d = read_path(f, path, 4096, &dl);
        assert_non_null(doc = json_loadb(d, dl, 0, NULL));
        json_t *want = epyc_result(doc);
        assert_true(json_equal(want, json_array_get(res, i)));
        json_decref(want);
        json_decref(doc);
        free(d);
    }
    json_t *pend = json_object_get(a, "pending-results");
    assert_int_equal(json_object_size(pend), 3);
    const char *job;
    json_t *params;
    json_object_foreach(pend, job, params)
    {
        assert_true(job[0] == 'j' && strchr(job, '-'));
        assert_true(json_integer_value(json_object_get(params, "x")) >= 1);
    }
    json_t *b = json_object_get(sets, "b");
    assert_int_equal(json_array_size(json_object_get(b, "results")), 0);
    assert_int_equal(json_object_size(json_object_get(b, "pending-results")), 1);
    json_t *d = json_object_get(sets, "epyc.resultset.default");
    assert_int_equal(json_array_size(json_object_get(d, "results")), 0);
    assert_int_equal(json_object_size(json_object_get(d, "pending-results")), 0);
    json_decref(j);
    free(text);
}

/* Delivers one result per pending point of tag: results named like a
 * parameter (x) and like a metadata key (clab.job), and a record of
 * epyc's cancel (metadata named like no result). */
static void complete_clashing(fixture_t *f, const char *tag)
{
    json_t *tasks = json_array(), *batch = json_array(), *t;
    int64_t after = 0;
    size_t i;
    assert_true(clab_notebook_pending_tasks(f->lab.nb, &after, 100, tasks) > 0);
    json_array_foreach(tasks, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "tag")), tag))
            continue;
        const char *job = json_string_value(json_object_get(t, "job"));
        json_t *x = json_object_get(json_object_get(t, "params"), "x");
        json_array_append_new(
            batch, json_pack("{s:s, s:{s:b, s:{s:s, s:b}, s:[{s:O, s:s, s:n, s:{s:i}}]}}",
                             "job", job, "record", "ok", 1, "metadata", "clab.job", job,
                             "epyc.experiment.status", 1, "results", "x", x, "clab.job",
                             "mine", "z", "o", "k", 1));
    }
    assert_true(clab_notebook_add_results(f->lab.nb, batch) > 0);
    json_decref(tasks);
    json_decref(batch);
}

/* epyc refuses a notebook whose set has a field name twice (numpy: "field
 * 'x' occurs more than once"): notebook.json names a result named like a
 * parameter or a metadata key as the tables head it (results.NAME), in
 * every set, its size still exact; N.json keeps the plain names. Each set
 * also has results/TAG/notebook.json, a notebook of that set alone (and
 * epyc's default set), current there; a pending point's null and object
 * values are written as epyc can type them. */
static void test_notebook_json_names(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    size_t len;
    submit(f,
           "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [1, 2]}, \"tag\": "
           "\"c\"}",
           tag);
    submit(f,
           "{\"experiment\": \"/bin/true\", \"tag\": \"v\", \"parameters\": {\"x\": "
           "[1, 2], \"n\": {\"value\": null}, \"o\": {\"value\": {\"a\": [null]}}}}",
           tag);
    complete_clashing(f, "c");
    char *text = check_view(f, "/notebook.json", &len);
    json_t *j = parse_epyc(text, len);
    assert_non_null(j);
    free(text);
    json_t *c = json_object_get(json_object_get(j, "resultsets"), "c");
    json_t *r0 = json_array_get(json_object_get(c, "results"), 0);
    json_t *want = json_pack("{s:O, s:s, s:n, s:[s, i]}", "results.x",
                             json_object_get(json_object_get(r0, "parameters"), "x"),
                             "results.clab.job", "mine", "z", "o", "k", 1);
    assert_true(json_equal(json_object_get(r0, "results"), want));
    json_decref(want);
    assert_non_null(json_object_get(json_object_get(r0, "metadata"), "clab.job"));
    /* The pending point of v as epyc types it: null read back from NaN,
     * the object as its flat list. */
    json_t *pend = json_object_get(json_object_get(json_object_get(j, "resultsets"), "v"),
                                   "pending-results");
    const char *job;
    json_t *params;
    json_object_foreach(pend, job, params)
    {
        assert_true(json_is_null(json_object_get(params, "n")));
        want = json_pack("[s, [n]]", "a");
        assert_true(json_equal(json_object_get(params, "o"), want));
        json_decref(want);
    }
    json_decref(j);

    text = read_path(f, "/results/c/1.json", 4096, &len);
    j = json_loadb(text, len, 0, NULL);
    assert_non_null(json_object_get(json_object_get(j, "results"), "x"));
    json_decref(j);
    free(text);

    text = check_view(f, "/results/c/notebook.json", &len);
    j = parse_epyc(text, len);
    assert_non_null(j);
    free(text);
    assert_string_equal(json_string_value(json_object_get(j, "current")), "c");
    json_t *sets = json_object_get(j, "resultsets");
    assert_int_equal(json_object_size(sets), 2);
    assert_non_null(json_object_get(sets, "epyc.resultset.default"));
    c = json_object_get(sets, "c");
    assert_int_equal(json_array_size(json_object_get(c, "results")), 2);
    assert_non_null(json_object_get(
        json_object_get(json_array_get(json_object_get(c, "results"), 1), "results"),
        "results.clab.job"));
    json_decref(j);
    text = check_view(f, "/results/v/notebook.json", &len);
    j = parse_epyc(text, len);
    assert_int_equal(json_object_size(json_object_get(j, "resultsets")), 2);
    assert_int_equal(
        json_object_size(json_object_get(
            json_object_get(json_object_get(j, "resultsets"), "v"), "pending-results")),
        2);
    json_decref(j);
    free(text);
}

typedef struct {
    fixture_t *f;
    int delay_ms;
} finisher_t;

static void *finish_later(void *ud)
{
    finisher_t *fin = ud;
    int counter = 0;
    usleep((useconds_t)fin->delay_ms * 1000);
    complete(fin->f, 1000, &counter);
    return NULL;
}

/* What the held reads were answered, by token. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int answered, wrong; /* wrong: answered twice, or never held */
    ssize_t n[80];
    char data[80][512];
} answers = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void answer(void *token, const char *data, ssize_t n)
{
    int i = (int)(intptr_t)token;
    pthread_mutex_lock(&answers.lock);
    if (i < 0 || i >= 80 || answers.n[i] != 1) {
        answers.wrong++; /* no cmocka assertion off the test's thread */
        pthread_mutex_unlock(&answers.lock);
        return;
    }
    answers.n[i] = n;
    if (n > 0 && n < 512)
        memcpy(answers.data[i], data, (size_t)n);
    answers.answered++;
    pthread_cond_broadcast(&answers.cond);
    pthread_mutex_unlock(&answers.lock);
}

/* Waits up to seconds until want reads were answered; how many were. */
static int answered(int want, double seconds)
{
    double end = clab_mono() + seconds;
    pthread_mutex_lock(&answers.lock);
    while (answers.answered < want && clab_mono() < end) {
        pthread_mutex_unlock(&answers.lock);
        usleep(10000);
        pthread_mutex_lock(&answers.lock);
    }
    int n = answers.answered;
    pthread_mutex_unlock(&answers.lock);
    return n;
}

#define OTHER_UID 4242u

/* Holds a read of v as uid under token i: what prepare or hold said. */
static int hold_read(clab_waits_t *w, clab_view_t *v, unsigned uid, int i)
{
    clab_wait_t *h;
    int rc = clab_waits_prepare(w, v, uid, 512, 0, (void *)(intptr_t)i, &h);
    if (rc == 0) {
        answers.n[i] = 1; /* held, not answered */
        rc = clab_waits_hold(h);
    }
    return rc;
}

/* Reads of wait are held, not blocked: one thread answers every one of
 * them once a commit finishes their set; an interrupt takes a read back at
 * once; other uids are limited, the owner is not; a stop answers what is
 * still held. */
static void test_wait(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1], buf[512];
    clab_waits_t *w;
    submit(f,
           "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [1, 2, 3]}, \"tag\": "
           "\"w\"}",
           tag);
    clab_node_t node = node_of(f, "/results/w/wait"), lab_node = node_of(f, "/wait");
    clab_view_t *v, *lv;
    assert_int_equal(clab_view_open(&f->lab, &node, &v), 0);
    assert_int_equal(clab_view_open(&f->lab, &lab_node, &lv), 0);
    assert_int_equal(clab_view_read(v, buf, sizeof buf, 0), -EAGAIN);
    assert_int_equal(clab_view_read(lv, buf, sizeof buf, 0), -EAGAIN);
    assert_int_equal(size_of(f, "/results/w/wait", 0), 0);
    assert_int_equal(clab_waits_start(&f->lab, (unsigned)getuid(), answer, &w), 0);
    /* The owner's 40 and another uid's 16 are held; its 17th is refused. */
    for (int i = 0; i < 40; i++)
        assert_int_equal(hold_read(w, v, (unsigned)getuid(), i), 0);
    for (int i = 40; i < 56; i++)
        assert_int_equal(hold_read(w, v, OTHER_UID, i), 0);
    assert_int_equal(hold_read(w, v, OTHER_UID, 56), -EBUSY);
    assert_int_equal(hold_read(w, lv, (unsigned)getuid(), 57), 0);
    assert_int_equal(clab_waits_count(w), 57);
    /* Interrupted before its hold: the hold says so, the caller answers;
     * once held: taken back, for the caller to answer. */
    clab_wait_t *h;
    assert_int_equal(clab_waits_prepare(w, v, OTHER_UID, 10, 0, (void *)58, &h), -EBUSY);
    assert_int_equal(clab_waits_prepare(w, v, (unsigned)getuid(), 10, 0, (void *)58, &h),
                     0);
    assert_int_equal(clab_waits_interrupt(h), 0);
    assert_int_equal(clab_waits_hold(h), -EINTR);
    assert_int_equal(clab_waits_prepare(w, v, OTHER_UID, 10, 0, (void *)59, &h), -EBUSY);
    assert_int_equal(clab_waits_prepare(w, v, (unsigned)getuid(), 10, 0, (void *)59, &h),
                     0);
    assert_int_equal(clab_waits_hold(h), 0);
    assert_int_equal(clab_waits_interrupt(h), 1);
    assert_int_equal(clab_waits_count(w), 57);
    /* Nothing answered while the set runs. */
    usleep(300000);
    assert_int_equal(answered(0, 0), 0);
    /* A commit finishes the set: every held read gets its status. */
    pthread_t th;
    finisher_t fin = {f, 100};
    double t0 = clab_mono();
    pthread_create(&th, NULL, finish_later, &fin);
    assert_int_equal(answered(57, 10), 57);
    pthread_join(th, NULL);
    assert_true(clab_mono() - t0 < 5);
    assert_int_equal(clab_waits_count(w), 0);
    assert_int_equal(answers.wrong, 0);
    assert_int_equal(answers.n[56], 0);
    for (int i = 0; i < 56; i++) {
        assert_true(answers.n[i] > 0);
        answers.data[i][answers.n[i]] = '\0';
        assert_non_null(strstr(answers.data[i], "current w\n"));
        assert_non_null(strstr(answers.data[i], "\npending 0\ntotal 3\ndone 1\n"));
        assert_string_equal(answers.data[i], answers.data[0]);
    }
    answers.data[57][answers.n[57]] = '\0';
    assert_non_null(strstr(answers.data[57], "\npending 0\n"));
    /* The views are whole now: read as a file. */
    assert_int_equal(clab_view_read(v, buf, sizeof buf, 0), answers.n[0]);
    assert_int_equal(clab_view_read(v, buf, sizeof buf, answers.n[0]), 0);
    clab_view_destroy(&v);
    clab_view_destroy(&lv);
    /* Done already: at once, the set's status. */
    size_t len;
    char *st = read_path(f, "/results/w/wait", 64, &len);
    char *st2 = read_path(f, "/results/w/status", 64, &len);
    assert_string_equal(st, st2);
    free(st);
    free(st2);
    /* Still held at the stop: answered -ENOTCONN. */
    submit(f,
           "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [1]}, \"tag\": "
           "\"w2\"}",
           tag);
    node = node_of(f, "/results/w2/wait");
    assert_int_equal(clab_view_open(&f->lab, &node, &v), 0);
    assert_int_equal(clab_view_read(v, buf, sizeof buf, 0), -EAGAIN);
    assert_int_equal(hold_read(w, v, (unsigned)getuid(), 70), 0);
    clab_waits_stop(&w);
    assert_null(w);
    assert_int_equal(answers.n[70], -ENOTCONN);
    assert_int_equal(answers.wrong, 0);
    clab_view_destroy(&v);
}

typedef struct {
    char names[2048][24];
    int n, room;
    off_t last;
} listing_t;

static int take(void *ud, const char *name, const clab_node_t *child, off_t next)
{
    listing_t *l = ud;
    (void)child;
    if (l->room-- <= 0)
        return 1;
    snprintf(l->names[l->n++], sizeof l->names[0], "%s", name);
    l->last = next;
    return 0;
}

static void test_listings(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    int counter = 0;
    submit(
        f,
        "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": {\"range\": [0, 600]}},"
        " \"tag\": \"l\"}",
        tag);
    complete(f, 300, &counter);
    clab_node_t node = node_of(f, "/results/l");
    listing_t *l = calloc(1, sizeof *l);
    /* Seven entries per call, resumed from the last cookie; results that
     * arrive meanwhile are listed once. */
    for (int call = 0;; call++) {
        int before = l->n;
        l->room = 7;
        assert_int_equal(clab_tree_readdir(&f->lab, &node, l->last, take, l), 0);
        if (call == 10)
            complete(f, 300, &counter);
        if (l->n == before)
            break;
    }
    int ok = 0, seen[700] = {0};
    for (int i = 0; i < l->n; i++) {
        long k;
        if (sscanf(l->names[i], "%ld.json", &k) == 1) {
            assert_true(k >= 1 && k <= 600);
            assert_int_equal(seen[k]++, 0);
            ok++;
        }
    }
    assert_int_equal(ok, 600 - 600 / 7 - (600 % 7 > 3));
    static const char *const fixed[] = {
        ".",       "..",         "results.csv", "results.tsv", "results.jsonl", "status",
        "pending", "experiment", "description", "provenance",  "notebook.json", "failed"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        assert_string_equal(l->names[i], fixed[i]);
    assert_int_equal(l->n, 12 + ok);
    /* failed/ and the root. */
    memset(l, 0, sizeof *l);
    l->room = 1000;
    node = node_of(f, "/results/l/failed");
    assert_int_equal(clab_tree_readdir(&f->lab, &node, 0, take, l), 0);
    assert_int_equal(l->n, 2 + 600 / 7 + (600 % 7 > 3));
    memset(l, 0, sizeof *l);
    l->room = 1000;
    node = node_of(f, "/");
    assert_int_equal(clab_tree_readdir(&f->lab, &node, 0, take, l), 0);
    static const char *const root[] = {
        ".",           "..",     "submit",        "ctl",     "status",
        "status.json", "errors", "notebook.json", "engines", "results"};
    assert_int_equal(l->n, 10);
    for (int i = 0; i < 10; i++)
        assert_string_equal(l->names[i], root[i]);
    memset(l, 0, sizeof *l);
    l->room = 1000;
    node = node_of(f, "/engines");
    assert_int_equal(clab_tree_readdir(&f->lab, &node, 0, take, l), 0);
    assert_int_equal(l->n, 3);
    assert_string_equal(l->names[2], "eng-1");
    free(l);
    clab_node_t n;
    assert_int_equal(clab_tree_lookup(&f->lab, "/engines/eng-2", &n), -ENOENT);
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/l/0.json", &n), -ENOENT);
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/l/4.json", &n), -ENOENT);
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/l/failed/4.json", &n), 0);
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/l/wait/x", &n), -ENOTDIR);
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/nosuch/wait", &n), -ENOENT);
}

static int ctl(fixture_t *f, const char *text, int flush)
{
    clab_inbox_t *in;
    assert_int_equal(clab_inbox_new(&f->lab, CLAB_INBOX_CTL, &in), 0);
    int rc = (int)clab_inbox_write(in, text, strlen(text)), frc;
    if (rc >= 0 && flush && (frc = clab_inbox_flush(in)) < 0)
        rc = frc;
    clab_inbox_destroy(&in);
    return rc;
}

static void current_is(fixture_t *f, const char *want)
{
    clab_nb_reader_t *r;
    char tag[CLAB_TAG_MAX + 1];
    assert_int_equal(clab_nb_reader_open(f->lab.nb, &r), 0);
    assert_int_equal(clab_nb_current(r, tag), 0);
    clab_nb_reader_close(&r);
    assert_string_equal(tag, want);
}

static void test_ctl(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    submit(f, "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": \"t1\"}",
           tag);
    submit(f, "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": \"t2\"}",
           tag);
    current_is(f, "t2");
    assert_int_equal(ctl(f, "select t1\n", 1), 10);
    current_is(f, "t1");
    /* A last line without a newline runs at close. */
    clab_inbox_t *in;
    assert_int_equal(clab_inbox_new(&f->lab, CLAB_INBOX_CTL, &in), 0);
    assert_int_equal(clab_inbox_write(in, "  select\tt2 ", 12), 12);
    current_is(f, "t1");
    assert_int_equal(clab_inbox_flush(in), 0);
    clab_inbox_destroy(&in);
    current_is(f, "t2");
    assert_int_equal(ctl(f, "select t2\nselect t1\n", 1), 20);
    current_is(f, "t1");
    assert_int_equal(ctl(f, "select nosuch\n", 1), -ENOENT);
    assert_int_equal(ctl(f, "frob t1\n", 1), -EINVAL);
    assert_int_equal(ctl(f, "select\n", 1), -EINVAL);
    assert_int_equal(ctl(f, "select t1 t2\n", 1), -EINVAL);
    assert_int_equal(ctl(f, "select bad/tag\n", 1), -EINVAL);
    assert_int_equal(ctl(f, "cancel nosuch\n", 1), -ENOENT);
    assert_int_equal(ctl(f, "retry nosuch\n", 1), -ENOENT);
    assert_int_equal(ctl(f, "delete nosuch", 1), -ENOENT);
    current_is(f, "t1");
    size_t len;
    char *errors = read_path(f, "/errors", 4096, &len);
    assert_int_equal(count_lines(errors, len), 8 * 3);
    assert_non_null(strstr(errors, "] ctl: ENOENT: no result set \"nosuch\"\n"
                                   "  Command: select nosuch\n"
                                   "                  ^\n"));
    assert_non_null(strstr(errors, "] ctl: EINVAL: unknown command \"frob\""));
    assert_non_null(strstr(errors, "] ctl: EINVAL: select takes one tag, no more\n"
                                   "  Command: select t1 t2\n"
                                   "                     ^\n"));
    assert_non_null(strstr(errors, "] ctl: ENOENT: no result set \"nosuch\"\n"
                                   "  Command: cancel nosuch\n"
                                   "                  ^\n"));
    assert_non_null(strstr(errors, "] ctl: ENOENT: no result set \"nosuch\"\n"
                                   "  Command: delete nosuch\n"));
    free(errors);
}

/* The value of key in a "key value" status text. */
static long status_value(const char *text, const char *key)
{
    size_t k = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, k) == 0 && l[k] == ' ')
            return atol(l + k + 1);
    fail_msg("no %s in %s", key, text);
    return -1;
}

/* The status file at path says these counts (its size checked too). */
static void status_is(fixture_t *f, const char *path, long results, long failed,
                      long pending)
{
    size_t len;
    char *st = check_view(f, path, &len);
    char *text = strndup(st, len);
    assert_int_equal(status_value(text, "results"), results);
    assert_int_equal(status_value(text, "failed"), failed);
    assert_int_equal(status_value(text, "pending"), pending);
    free(text);
    free(st);
}

/* A notebook as the first clabfs wrote it: no byte counts. */
static void test_migration(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1], path[160];
    int counter = 0;
    size_t len;
    submit(
        f,
        "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": {\"range\": [0, 40]}},"
        " \"tag\": \"m\"}",
        tag);
    complete(f, 30, &counter);
    char *csv = read_path(f, "/results/m/results.csv", 4096, &len);
    clab_notebook_destroy(&f->lab.nb);
    /* Rebuild the first schema around the same rows. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    const char *old =
        "BEGIN;"
        "CREATE TABLE sets0 AS SELECT tag, experiment, description, created, next_n, "
        "n_ok,"
        " n_failed, n_done, n_pending FROM sets;"
        "DROP TABLE sets;"
        "CREATE TABLE sets(tag TEXT PRIMARY KEY, experiment TEXT NOT NULL,"
        " description TEXT NOT NULL, created REAL NOT NULL, next_n INTEGER NOT NULL"
        " DEFAULT 1, n_ok INTEGER NOT NULL DEFAULT 0, n_failed INTEGER NOT NULL DEFAULT "
        "0,"
        " n_done INTEGER NOT NULL DEFAULT 0, n_pending INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO sets SELECT * FROM sets0; DROP TABLE sets0;"
        "CREATE TABLE results0 AS SELECT tag, n, ok, job, doc FROM results;"
        "DROP TABLE results;"
        "CREATE TABLE results(tag TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL,"
        " job TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY(tag, n)) WITHOUT ROWID;"
        "INSERT INTO results SELECT * FROM results0; DROP TABLE results0;"
        "CREATE INDEX results_ok ON results(tag, ok, n);"
        "ALTER TABLE columns DROP COLUMN docs;"
        "ALTER TABLE columns DROP COLUMN ok_docs;"
        "PRAGMA user_version = 0;"
        "COMMIT;";
    assert_int_equal(sqlite3_exec(db, old, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(clab_notebook_open(f->db, &f->lab.nb), 0);
    size_t len2;
    char *csv2 = check_view(f, "/results/m/results.csv", &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(csv2, csv, len);
    free(csv);
    free(csv2);
    static const char *const files[] = {"/results/m/results.tsv",
                                        "/results/m/results.jsonl", "/results/m/pending",
                                        "/notebook.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        free(check_view(f, files[i], &len));
    /* And it goes on counting: 10 more results of m (2 of them failures,
     * points 31 and 38), then a new set of 6 (one failure, point 45).
     * Every view's size equals its bytes (check_view), the old rows are
     * the prefix of the new text, and the rows and counts are exact. */
    char *jsonl = read_path(f, "/results/m/results.jsonl", 4096, &len);
    assert_int_equal(count_lines(jsonl, len), 30);
    csv = read_path(f, "/results/m/results.csv", 4096, &len2);
    assert_int_equal(complete(f, 10, &counter), 10);
    size_t len3;
    snprintf(path, sizeof path, "/results/m/results.csv");
    csv2 = check_view(f, path, &len3);
    assert_true(len3 > len2);
    assert_memory_equal(csv2, csv, len2);
    assert_int_equal(count_lines(csv2, len3), 1 + 2 * 34); /* a cell holds a \n */
    free(csv);
    free(csv2);
    char *jsonl2 = check_view(f, "/results/m/results.jsonl", &len3);
    assert_true(len3 > len);
    assert_memory_equal(jsonl2, jsonl, len);
    assert_int_equal(count_lines(jsonl2, len3), 40);
    free(jsonl);
    free(jsonl2);
    free(check_view(f, "/results/m/pending", &len));
    assert_int_equal(len, 0);
    status_is(f, "/results/m/status", 34, 6, 0);
    submit(f,
           "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": {\"range\": [0, "
           "6]}}, \"tag\": \"m2\"}",
           tag);
    status_is(f, "/results/m2/status", 0, 0, 6);
    char *pend = check_view(f, "/results/m2/pending", &len);
    assert_int_equal(count_lines(pend, len), 6);
    /* Each line names its job: {"job":"ID","parameters":{"x":N}}. */
    json_error_t je;
    json_t *first = json_loadb(pend, (size_t)(strchr(pend, '\n') - pend), 0, &je);
    assert_non_null(first);
    assert_int_equal(json_object_size(first), 2);
    assert_true(json_string_length(json_object_get(first, "job")) > 0);
    assert_true(
        json_is_integer(json_object_get(json_object_get(first, "parameters"), "x")));
    json_decref(first);
    free(pend);
    assert_int_equal(complete(f, 10, &counter), 6);
    status_is(f, "/results/m2/status", 5, 1, 0);
    status_is(f, "/status", 5, 1, 0); /* the current set, m2 */
    csv = check_view(f, "/results/m2/results.csv", &len);
    assert_int_equal(count_lines(csv, len), 1 + 2 * 5);
    free(csv);
    free(check_view(f, "/results/m2/results.jsonl", &len));
    free(check_view(f, "/notebook.json", &len));
    free(check_view(f, "/status.json", &len));
}

/* What a lookup learns of N.json (size, time) is the same whether or not
 * the directory was just listed (ls -l: a listing, then a stat of each
 * file), and a listing does not outlive the notebook's state: results
 * added or deleted after it are seen by the next lookup. */
static void lookups_agree(fixture_t *f, const char *dir, int upto, clab_node_t *was)
{
    char path[96];
    for (int n = 1; n <= upto; n++) {
        clab_node_t node;
        snprintf(path, sizeof path, "%s/%d.json", dir, n);
        int rc = clab_tree_lookup(&f->lab, path, &node);
        if (was[n].kind == CLAB_NODE_ROOT) {
            /* First sight: a lookup with no listing before it. */
            assert_true(rc == 0 || rc == -ENOENT);
            was[n] = rc == 0 ? node : (clab_node_t){.kind = CLAB_NODE_ENGINES};
            continue;
        }
        assert_int_equal(rc, was[n].kind == CLAB_NODE_ENGINES ? -ENOENT : 0);
        if (rc == 0) {
            assert_int_equal(node.size, was[n].size);
            assert_true(node.stored == was[n].stored);
            assert_true(node.set_modified == was[n].set_modified);
        }
    }
}

static void list_all(fixture_t *f, const char *dir)
{
    listing_t *l = calloc(1, sizeof *l);
    clab_node_t node = node_of(f, dir);
    for (;;) {
        int before = l->n;
        l->room = 50;
        assert_int_equal(clab_tree_readdir(&f->lab, &node, l->last, take, l), 0);
        if (l->n == before)
            break;
    }
    free(l);
}

static void test_listing_then_lookups(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    int counter = 0;
    clab_node_t ok[80] = {0}, failed[80] = {0}, node;
    submit(
        f,
        "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": {\"range\": [0, 70]}},"
        " \"tag\": \"c\"}",
        tag);
    complete(f, 30, &counter);
    lookups_agree(f, "/results/c", 75, ok);
    lookups_agree(f, "/results/c/failed", 75, failed);
    list_all(f, "/results/c");
    lookups_agree(f, "/results/c", 75, ok);
    lookups_agree(f, "/results/c/failed", 75, failed);
    list_all(f, "/results/c/failed");
    lookups_agree(f, "/results/c", 75, ok);
    lookups_agree(f, "/results/c/failed", 75, failed);
    /* Results after the listing. */
    list_all(f, "/results/c");
    complete(f, 40, &counter);
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/c/31.json", &node), 0);
    /* A set deleted after its listing. */
    list_all(f, "/results/c");
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/c/1.json", &node), 0);
    assert_true(ctl(f, "delete c\n", 1) > 0);
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/c/1.json", &node), -ENOENT);
    assert_int_equal(clab_tree_lookup(&f->lab, "/results/c", &node), -ENOENT);
}

/* What a listing says of each entry (its node: inode number, size,
 * stored time, timeout) is what a lookup of it says. */
typedef struct {
    fixture_t *f;
    const char *dir;
    int n;
} agree_t;

static int agrees(void *ud, const char *name, const clab_node_t *child, off_t next)
{
    agree_t *a = ud;
    char path[160];
    clab_node_t node;
    (void)next;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    assert_int_equal(clab_tree_lookup(&a->f->lab, path, &node), 0);
    assert_int_equal(clab_node_ino(child), clab_node_ino(&node));
    assert_int_equal(child->size, node.size);
    assert_true(child->stored == node.stored);
    assert_true(clab_node_timeout(child) == clab_node_timeout(&node));
    a->n++;
    return 0;
}

/* Inode numbers of a deleted set answer ENOENT, also once its tag is
 * submitted again: the new set has new numbers. */
static void test_inos(void **state)
{
    fixture_t *f = *state;
    char tag[CLAB_TAG_MAX + 1];
    int counter = 0;
    clab_node_t node, back;
    submit(f,
           "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [1, 2, 3, 4]},"
           " \"tag\": \"s\"}",
           tag);
    complete(f, 4, &counter); /* point 4 fails (varied) */
    static const char *const paths[] = {"/results/s",
                                        "/results/s/1.json",
                                        "/results/s/failed/4.json",
                                        "/results/s/results.csv",
                                        "/results/s/failed",
                                        "/results/s/wait"};
    uint64_t old[6];
    for (int i = 0; i < 6; i++) {
        assert_int_equal(clab_tree_lookup(&f->lab, paths[i], &node), 0);
        old[i] = clab_node_ino(&node);
        assert_int_equal(clab_tree_node(&f->lab, old[i], &back), 0);
        assert_true(clab_node_same(&back, &node));
        assert_string_equal(back.tag, "s");
        assert_int_equal(back.size, node.size);
    }
    /* Settled: its directories and tables may be cached. */
    node = node_of(f, "/results/s/results.csv");
    assert_true(clab_node_timeout(&node) > 0);
    static const struct {
        const char *dir;
        int entries;
    } dirs[] = {{"/results/s", 10 + 3}, {"/results/s/failed", 1}, {"/results", 1}};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        agree_t a = {f, dirs[i].dir, 0};
        clab_node_t dir = node_of(f, dirs[i].dir);
        assert_int_equal(clab_tree_readdir(&f->lab, &dir, 0, agrees, &a), 0);
        assert_int_equal(a.n, dirs[i].entries);
    }
    assert_true(ctl(f, "delete s\n", 1) > 0);
    submit(f,
           "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [1, 2, 3, 4]},"
           " \"tag\": \"s\"}",
           tag);
    counter = 0; /* the fourth fails again */
    complete(f, 4, &counter);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(clab_tree_node(&f->lab, old[i], &back), -ENOENT);
        assert_int_equal(clab_tree_lookup(&f->lab, paths[i], &node), 0);
        assert_true(clab_node_ino(&node) != old[i]);
    }
    /* A set with points pending is not cached. */
    submit(f,
           "{\"experiment\": \"/bin/true\", \"parameters\": {\"x\": [9]},"
           " \"tag\": \"s\"}",
           tag);
    node = node_of(f, "/results/s/results.csv");
    assert_true(clab_node_timeout(&node) == 0);
    node = node_of(f, "/results/s/1.json");
    assert_true(clab_node_timeout(&node) > 0);
    /* Engines: an interned index, dead once the engine is gone. */
    node = node_of(f, "/engines/eng-1");
    uint64_t eng = clab_node_ino(&node);
    assert_int_equal(clab_tree_node(&f->lab, eng, &back), 0);
    assert_string_equal(back.engine, "eng-1");
    json_t *none = json_array();
    clab_lab_publish(&f->lab, 1, none);
    json_decref(none);
    assert_int_equal(clab_tree_node(&f->lab, eng, &back), -ENOENT);
}

int main(void)
{
    clab_log_init("test_views", CLAB_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizes_and_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notebook_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notebook_json_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing_then_lookups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
