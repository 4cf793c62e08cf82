/* The notebook's whole-set commands on sets large enough that holding one
 * thing per point at once would show: a cancel must page through the
 * set's pending jobs rather than build every failure record first (issue
 * 10: 10^6 points took 3.3 GB). The bound is checked on jansson's own
 * allocations, counted through json_set_alloc_funcs, so it does not
 * depend on timing or on the allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "notebook.h"
#include "nb_fixture.h"

#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POINTS 20000
/* Far below what POINTS failure records held at once take (each is a
 * dozen metadata entries, well over a hundred bytes), far above a page. */
#define JANSSON_PEAK_MAX (1024 * 1024)

static long long live, peak;

static void *count_malloc(size_t size)
{
    void *p = malloc(size);
    if (p) {
        live += (long long)malloc_usable_size(p);
        if (live > peak)
            peak = live;
    }
    return p;
}

static void count_free(void *p)
{
    if (p)
        live -= (long long)malloc_usable_size(p);
    free(p);
}

static void submit_range(fixture_t *f, const char *tag, int n)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    char json[256], out[CLAB_TAG_MAX + 1];
    snprintf(json, sizeof json,
             "{\"experiment\": \"/bin/true\", \"tag\": \"%s\","
             " \"parameters\": {\"i\": {\"range\": [0, %d]}}}",
             tag, n);
    assert_int_equal(clab_submission_parse(json, strlen(json), NULL, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->nb, sub, out), 0);
    clab_submission_destroy(&sub);
}

static void test_cancel_pages(void **state)
{
    fixture_t *f = *state;
    clab_set_info_t info;
    submit_range(f, "big", POINTS);
    info_of(f, "big", &info);
    assert_int_equal(info.pending, POINTS);
    clab_set_info_clear(&info);

    live = peak = 0;
    json_set_alloc_funcs(count_malloc, count_free);
    int rc = clab_notebook_cancel(f->nb, "big", NULL);
    json_set_alloc_funcs(malloc, free);
    assert_int_equal(rc, POINTS);
    assert_true(peak < JANSSON_PEAK_MAX);

    info_of(f, "big", &info);
    assert_int_equal(info.pending, 0);
    assert_int_equal(info.failed, POINTS);
    assert_int_equal(info.done, POINTS);
    assert_int_equal(info.last_n, POINTS);
    assert_int_equal(info.pending_bytes, 0);
    assert_int_equal(info.pending_jobs, 0);
    clab_set_info_clear(&info);
    assert_int_equal(clab_notebook_cancel(f->nb, "big", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cancel_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
