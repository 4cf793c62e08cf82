/* /ctl commands without a mount (fs/ctl.c) and the lab's hand-offs
 * (fs/lab.c): the caret of each rejection, what each verb does to the
 * notebook, the cancelled tags the link takes, and the engine lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl.h"
#include "lab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    clab_lab_t lab;
    int woken;
} fixture_t;

static void wake(void *ud)
{
    ((fixture_t *)ud)->woken++;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char db[128];
    snprintf(f->dir, sizeof f->dir, "/tmp/clabctl.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(db, sizeof db, "%s/notebook.db", f->dir);
    clab_lab_init(&f->lab);
    assert_int_equal(clab_notebook_open(db, &f->lab.nb), 0);
    f->lab.wake = wake;
    f->lab.wake_ud = f;
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

static void submit(fixture_t *f, const char *tag)
{
    char json[256], got[CLAB_TAG_MAX + 1];
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    snprintf(json, sizeof json,
             "{\"experiment\": \"/bin/true\", \"tag\": \"%s\", \"parameters\": "
             "{\"x\": [1, 2, 3]}}",
             tag);
    assert_int_equal(
        clab_submission_parse(json, strlen(json), &f->lab.limits, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->lab.nb, sub, got), 0);
    assert_string_equal(got, tag);
    clab_submission_destroy(&sub);
}

/* Runs line; returns the errno and leaves the caret in *pos. */
static int run(fixture_t *f, const char *line, long *pos)
{
    clab_submit_error_t err = {.position = -1};
    int rc = clab_ctl_run(&f->lab, line, strlen(line), &err);
    *pos = err.position;
    if (rc < 0) {
        assert_int_equal(err.code, -rc);
        assert_true(err.message[0] != '\0');
    }
    return rc;
}

static void test_rejections(void **state)
{
    fixture_t *f = *state;
    long pos;
    assert_int_equal(run(f, "  frobnicate t", &pos), -EINVAL);
    assert_int_equal(pos, 2);
    assert_int_equal(run(f, "cancel", &pos), -EINVAL);
    assert_int_equal(pos, 6);
    assert_int_equal(run(f, "select a b", &pos), -EINVAL);
    assert_int_equal(pos, 9);
    assert_int_equal(run(f, "select -bad", &pos), -EINVAL);
    assert_int_equal(pos, 7);
    assert_int_equal(run(f, "select\tnosuch ", &pos), -ENOENT);
    assert_int_equal(pos, 7);
    assert_int_equal(f->woken, 0);
}

/* The i-th cancel the link was handed is of tag, up to the notebook's job
 * id upto: jobs submitted after it began are not the controller's to
 * cancel. */
static void cancel_is(const json_t *cancels, size_t i, const char *tag, json_int_t upto)
{
    json_t *want = json_pack("{s:s, s:I}", "tag", tag, "upto", upto);
    assert_true(json_equal(json_array_get(cancels, i), want));
    json_decref(want);
}

static void test_verbs(void **state)
{
    fixture_t *f = *state;
    long pos;
    submit(f, "a");
    submit(f, "b");
    assert_int_equal(run(f, "select a", &pos), 0);
    assert_null(clab_lab_cancel_take(&f->lab));

    assert_int_equal(run(f, "cancel a", &pos), 0);
    assert_int_equal(run(f, " delete b", &pos), 0);
    assert_int_equal(f->woken, 2);
    json_t *tags = clab_lab_cancel_take(&f->lab);
    assert_int_equal(json_array_size(tags), 2);
    cancel_is(tags, 0, "a", 6); /* a's jobs are 1 to 3, b's 4 to 6 */
    cancel_is(tags, 1, "b", 6);
    json_decref(tags);
    assert_null(clab_lab_cancel_take(&f->lab));

    /* The cancelled points failed: retry queues them again. */
    assert_int_equal(run(f, "retry a", &pos), 0);
    assert_int_equal(f->woken, 3);
    assert_int_equal(run(f, "select b", &pos), -ENOENT);
}

/* The counts of tag as a reader sees them; -ENOENT when it is gone. */
static int counts(fixture_t *f, const char *tag, long *results, long *failed,
                  long *pending)
{
    clab_nb_reader_t *r;
    clab_set_info_t info = {0};
    assert_int_equal(clab_nb_reader_open(f->lab.nb, &r), 0);
    int rc = clab_nb_set_info(r, tag, &info);
    *results = info.results;
    *failed = info.failed;
    *pending = info.pending;
    clab_set_info_clear(&info);
    clab_nb_reader_close(&r);
    return rc;
}

static void counts_are(fixture_t *f, const char *tag, long results, long failed,
                       long pending)
{
    long r, fl, p;
    assert_int_equal(counts(f, tag, &r, &fl, &p), 0);
    assert_int_equal(r, results);
    assert_int_equal(fl, failed);
    assert_int_equal(p, pending);
}

/* The pending jobs the link would send: how many of tag, and the sorted
 * x values of tag's points in *xs (a string of digits). */
static int pending_of(fixture_t *f, const char *tag, char *xs, size_t xs_size)
{
    json_t *tasks = json_array(), *t;
    int64_t after = 0;
    size_t i;
    int n = 0, seen[10] = {0};
    assert_true(clab_notebook_pending_tasks(f->lab.nb, &after, 1000, tasks) >= 0);
    json_array_foreach(tasks, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "tag")), tag) != 0)
            continue;
        n++;
        seen[json_integer_value(json_object_get(json_object_get(t, "params"), "x"))]++;
    }
    json_decref(tasks);
    size_t k = 0;
    for (int x = 0; x < 10; x++)
        for (int c = 0; c < seen[x] && k + 1 < xs_size; c++)
            xs[k++] = (char)('0' + x);
    xs[k] = '\0';
    return n;
}

/* Stores a successful result for the pending point x of tag. */
static void finish(fixture_t *f, const char *tag, int x)
{
    json_t *tasks = json_array(), *t, *batch = json_array();
    int64_t after = 0;
    size_t i;
    assert_true(clab_notebook_pending_tasks(f->lab.nb, &after, 1000, tasks) > 0);
    json_array_foreach(tasks, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "tag")), tag) ||
            json_integer_value(json_object_get(json_object_get(t, "params"), "x")) != x)
            continue;
        const char *job = json_string_value(json_object_get(t, "job"));
        json_array_append_new(batch, json_pack("{s:s, s:{s:b, s:{s:s, s:b}, s:[{s:i}]}}",
                                               "job", job, "record", "ok", 1, "metadata",
                                               "clab.job", job, "epyc.experiment.status",
                                               1, "results", "y", x));
        break;
    }
    assert_int_equal(clab_notebook_add_results(f->lab.nb, batch), 1);
    json_decref(batch);
    json_decref(tasks);
}

/* cancel, retry and delete through clab_ctl_run, counted in the notebook:
 * cancel fails exactly the pending points, retry queues exactly the
 * failures once, delete of a set with pending points leaves nothing of it
 * and nothing of the other set changes. */
static void test_verb_counts(void **state)
{
    fixture_t *f = *state;
    long pos, r, fl, p;
    char xs[16];
    submit(f, "a");
    submit(f, "b");
    finish(f, "a", 2);
    counts_are(f, "a", 1, 0, 2);

    assert_int_equal(run(f, "cancel a", &pos), 0);
    counts_are(f, "a", 1, 2, 0);
    counts_are(f, "b", 0, 0, 3);
    assert_int_equal(pending_of(f, "a", xs, sizeof xs), 0);
    assert_int_equal(pending_of(f, "b", xs, sizeof xs), 3);
    /* Nothing left to cancel: the counts stay. */
    assert_int_equal(run(f, "cancel a", &pos), 0);
    counts_are(f, "a", 1, 2, 0);

    /* Retry: the two cancelled points again, the failed files kept; a
     * second retry adds nothing. */
    assert_int_equal(run(f, "retry a", &pos), 0);
    counts_are(f, "a", 1, 2, 2);
    assert_int_equal(pending_of(f, "a", xs, sizeof xs), 2);
    assert_string_equal(xs, "13");
    assert_int_equal(run(f, "retry a", &pos), 0);
    counts_are(f, "a", 1, 2, 2);
    assert_int_equal(pending_of(f, "a", xs, sizeof xs), 2);
    finish(f, "a", 3);
    counts_are(f, "a", 2, 2, 1);
    counts_are(f, "b", 0, 0, 3);

    /* Delete a set with a pending point: gone, with its pending job; b is
     * untouched and becomes current. */
    assert_int_equal(run(f, "delete a", &pos), 0);
    assert_int_equal(counts(f, "a", &r, &fl, &p), -ENOENT);
    assert_int_equal(pending_of(f, "a", xs, sizeof xs), 0);
    counts_are(f, "b", 0, 0, 3);
    assert_int_equal(pending_of(f, "b", xs, sizeof xs), 3);
    assert_string_equal(xs, "123");
    clab_nb_reader_t *rd;
    char tag[CLAB_TAG_MAX + 1];
    assert_int_equal(clab_nb_reader_open(f->lab.nb, &rd), 0);
    assert_int_equal(clab_nb_current(rd, tag), 0);
    clab_nb_reader_close(&rd);
    assert_string_equal(tag, "b");
    /* The link is told to cancel a at the controller: twice for cancel,
     * once for delete, which also covers the retry's jobs 7 and 8. */
    json_t *tags = clab_lab_cancel_take(&f->lab);
    assert_int_equal(json_array_size(tags), 3);
    cancel_is(tags, 0, "a", 6);
    cancel_is(tags, 1, "a", 6);
    cancel_is(tags, 2, "a", 8);
    json_decref(tags);
    assert_int_equal(run(f, "retry a", &pos), -ENOENT);
}

/* describe takes the rest of the line; finish cancels as cancel does
 * (told to the link too) and locks: retry is then EACCES at the tag. */
static void test_describe_finish(void **state)
{
    fixture_t *f = *state;
    long pos, r, fl, p;
    clab_set_info_t info = {0};
    clab_nb_reader_t *rd;
    submit(f, "a");
    submit(f, "b");
    assert_int_equal(run(f, "describe a  two words \t", &pos), 0);
    assert_int_equal(run(f, "describe a", &pos), -EINVAL);
    assert_int_equal(pos, 10);
    assert_int_equal(run(f, "describe nosuch text", &pos), -ENOENT);
    assert_int_equal(pos, 9);
    assert_int_equal(run(f, "describe a bad\xff", &pos), -EINVAL);
    assert_int_equal(pos, 14);
    assert_int_equal(run(f, "finish a b", &pos), -EINVAL);
    assert_int_equal(pos, 9);
    assert_int_equal(run(f, "finish nosuch", &pos), -ENOENT);
    assert_int_equal(pos, 7);
    assert_int_equal(f->woken, 0);
    assert_null(clab_lab_cancel_take(&f->lab));

    assert_int_equal(run(f, "finish a", &pos), 0);
    assert_int_equal(f->woken, 1);
    json_t *tags = clab_lab_cancel_take(&f->lab);
    assert_int_equal(json_array_size(tags), 1);
    cancel_is(tags, 0, "a", 6);
    json_decref(tags);
    counts_are(f, "a", 0, 3, 0);
    counts_are(f, "b", 0, 0, 3);
    assert_int_equal(run(f, "retry a", &pos), -EACCES);
    assert_int_equal(pos, 6);
    assert_int_equal(counts(f, "a", &r, &fl, &p), 0);
    assert_int_equal(p, 0);

    assert_int_equal(clab_nb_reader_open(f->lab.nb, &rd), 0);
    assert_int_equal(clab_nb_set_info(rd, "a", &info), 0);
    assert_string_equal(info.description, "two words");
    assert_int_equal(clab_nb_set_locked(rd, "a"), 1);
    assert_int_equal(clab_nb_set_locked(rd, "b"), 0);
    clab_set_info_clear(&info);
    clab_nb_reader_close(&rd);
}

/* The job id of tag's pending point x. */
static void job_of(fixture_t *f, const char *tag, int x, char *out, size_t size)
{
    json_t *tasks = json_array(), *t;
    int64_t after = 0;
    size_t i;
    out[0] = '\0';
    assert_true(clab_notebook_pending_tasks(f->lab.nb, &after, 1000, tasks) > 0);
    json_array_foreach(
        tasks, i, t) if (!strcmp(json_string_value(json_object_get(t, "tag")), tag) &&
                         json_integer_value(
                             json_object_get(json_object_get(t, "params"), "x")) == x)
        snprintf(out, size, "%s", json_string_value(json_object_get(t, "job")));
    json_decref(tasks);
    assert_true(out[0] != '\0');
}

/* cancel TAG JOB...: epyc's cancelPendingResult for single points. The
 * named pending points are cancelled, a named point already finished is
 * left as it is, a job of no point of the set is ENOENT at its name (and
 * nothing is cancelled), a malformed name EINVAL; the link is told the
 * jobs it must cancel at the controller. */
static void test_cancel_jobs(void **state)
{
    fixture_t *f = *state;
    char j1[64], j2[64], j3[64], b1[64], line[512];
    long pos;
    submit(f, "a");
    submit(f, "b");
    job_of(f, "a", 1, j1, sizeof j1);
    job_of(f, "a", 2, j2, sizeof j2);
    job_of(f, "a", 3, j3, sizeof j3);
    job_of(f, "b", 1, b1, sizeof b1);
    finish(f, "a", 2);

    snprintf(line, sizeof line, "cancel a %s nosuch-1", j1);
    assert_int_equal(run(f, line, &pos), -ENOENT);
    assert_int_equal(pos, (long)(strlen("cancel a  ") + strlen(j1)));
    snprintf(line, sizeof line, "cancel a %s", b1);
    assert_int_equal(run(f, line, &pos), -ENOENT);
    assert_int_equal(pos, 9);
    assert_int_equal(run(f, "cancel a j/1", &pos), -EINVAL);
    assert_int_equal(pos, 9);
    assert_int_equal(run(f, "cancel nosuch j1", &pos), -ENOENT);
    assert_int_equal(pos, 7);
    counts_are(f, "a", 1, 0, 2);
    assert_null(clab_lab_cancel_take(&f->lab));
    assert_int_equal(f->woken, 0);

    snprintf(line, sizeof line, "cancel a %s\t%s %s  %s ", j1, j2, j1, j1);
    assert_int_equal(run(f, line, &pos), 0);
    counts_are(f, "a", 1, 1, 1);
    counts_are(f, "b", 0, 0, 3);
    char xs[16];
    assert_int_equal(pending_of(f, "a", xs, sizeof xs), 1);
    assert_string_equal(xs, "3");
    assert_int_equal(f->woken, 1);
    json_t *cancels = clab_lab_cancel_take(&f->lab);
    json_t *want =
        json_pack("[{s:s, s:I, s:[s]}]", "tag", "a", "upto", (json_int_t)6, "jobs", j1);
    assert_true(json_equal(cancels, want));
    json_decref(want);
    json_decref(cancels);
    /* The cancelled point is epyc's cancelled record. */
    clab_nb_reader_t *rd;
    clab_nb_cursor_t *c;
    clab_nb_row_t row;
    assert_int_equal(clab_nb_reader_open(f->lab.nb, &rd), 0);
    assert_int_equal(clab_nb_results(rd, "a", 0, 0, -1, &c), 0);
    assert_int_equal(clab_nb_cursor_next(c, &row), 1);
    json_t *doc = json_loadb(row.text, row.len, 0, NULL);
    json_t *md = json_object_get(doc, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "clab.job")), j1);
    assert_string_equal(
        json_string_value(json_object_get(md, "epyc.experiment.exception")), "Cancelled");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "parameters"), "x")), 1);
    json_decref(doc);
    clab_nb_cursor_close(&c);
    clab_nb_reader_close(&rd);

    /* Only finished points named: nothing to do, nothing to tell. */
    snprintf(line, sizeof line, "cancel a %s", j2);
    assert_int_equal(run(f, line, &pos), 0);
    assert_null(clab_lab_cancel_take(&f->lab));
    counts_are(f, "a", 1, 1, 1);
    (void)j3;
}

static void test_cluster_state(void **state)
{
    fixture_t *f = *state;
    int engines, connected;
    json_t *list =
        json_loads("[{\"id\": \"e1\", \"host\": \"h\"}, {\"id\": \"e2\"}]", 0, NULL);
    clab_lab_cluster(&f->lab, &engines, &connected);
    assert_int_equal(engines + connected, 0);
    assert_null(clab_lab_engines(&f->lab));

    clab_lab_publish(&f->lab, 1, list);
    json_decref(list);
    clab_lab_cluster(&f->lab, &engines, &connected);
    assert_int_equal(engines, 2);
    assert_int_equal(connected, 1);
    json_t *e = clab_lab_engine(&f->lab, "e1");
    assert_string_equal(json_string_value(json_object_get(e, "host")), "h");
    json_decref(e);
    assert_null(clab_lab_engine(&f->lab, "e3"));

    /* Disconnected: no engines, though the list is kept for next time. */
    clab_lab_publish(&f->lab, 0, NULL);
    clab_lab_cluster(&f->lab, &engines, &connected);
    assert_int_equal(engines + connected, 0);
    assert_null(clab_lab_engine(&f->lab, "e1"));
    assert_null(clab_lab_engines(&f->lab));
    clab_lab_publish(&f->lab, 1, NULL);
    list = clab_lab_engines(&f->lab);
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verb_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
