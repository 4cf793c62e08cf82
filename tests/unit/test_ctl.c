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
    assert_int_equal(run(f, "cancel a b", &pos), -EINVAL);
    assert_int_equal(pos, 9);
    assert_int_equal(run(f, "select -bad", &pos), -EINVAL);
    assert_int_equal(pos, 7);
    assert_int_equal(run(f, "select\tnosuch ", &pos), -ENOENT);
    assert_int_equal(pos, 7);
    assert_int_equal(f->woken, 0);
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
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "a");
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "b");
    json_decref(tags);
    assert_null(clab_lab_cancel_take(&f->lab));

    /* The cancelled points failed: retry queues them again. */
    assert_int_equal(run(f, "retry a", &pos), 0);
    assert_int_equal(f->woken, 3);
    assert_int_equal(run(f, "select b", &pos), -ENOENT);
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
        cmocka_unit_test_setup_teardown(test_cluster_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
