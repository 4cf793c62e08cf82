/* The controller's per-set estimate of a point's duration (estimate.c):
 * nearest-rank 90th percentile, a bounded sample of the newest points,
 * unknown sets, and the list of sets too long for an engine's time left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "estimate.h"

static void test_unknown(void **state)
{
    (void)state;
    clab_estimate_t *e = NULL;
    double v = -1;
    assert_int_equal(clab_estimate_new(&e), 0);
    assert_int_equal(clab_estimate_p90(e, "a", &v), -ENOENT);
    json_t *out = json_array();
    assert_int_equal(clab_estimate_longer_than(e, 0, out), 0);
    assert_int_equal(json_array_size(out), 0);
    json_decref(out);
    clab_estimate_destroy(&e);
    assert_null(e);
    clab_estimate_destroy(&e);
}

static void test_p90(void **state)
{
    (void)state;
    clab_estimate_t *e = NULL;
    double v = 0;
    assert_int_equal(clab_estimate_new(&e), 0);
    assert_int_equal(clab_estimate_add(e, "a", 3.0), 0);
    assert_int_equal(clab_estimate_p90(e, "a", &v), 0);
    assert_true(v == 3.0);
    /* 1..10 in any order: the 9th of 10 is 9. */
    clab_estimate_t *f = NULL;
    assert_int_equal(clab_estimate_new(&f), 0);
    const double xs[] = {7, 2, 10, 1, 9, 4, 3, 8, 6, 5};
    for (int i = 0; i < 10; i++)
        assert_int_equal(clab_estimate_add(f, "b", xs[i]), 0);
    assert_int_equal(clab_estimate_p90(f, "b", &v), 0);
    assert_true(v == 9.0);
    /* Sets are separate. */
    assert_int_equal(clab_estimate_p90(f, "a", &v), -ENOENT);
    assert_int_equal(clab_estimate_add(f, "c", 0.5), 0);
    assert_int_equal(clab_estimate_p90(f, "b", &v), 0);
    assert_true(v == 9.0);
    clab_estimate_destroy(&e);
    clab_estimate_destroy(&f);
}

/* Only the newest CLAB_ESTIMATE_SAMPLE points count: a set that got
 * faster is estimated from its recent points. */
static void test_bounded(void **state)
{
    (void)state;
    clab_estimate_t *e = NULL;
    double v = 0;
    assert_int_equal(clab_estimate_new(&e), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(clab_estimate_add(e, "s", 100.0), 0);
    for (int i = 0; i < CLAB_ESTIMATE_SAMPLE; i++)
        assert_int_equal(clab_estimate_add(e, "s", 1.0), 0);
    assert_int_equal(clab_estimate_p90(e, "s", &v), 0);
    assert_true(v == 1.0);
    assert_int_equal(clab_estimate_add(e, "s", 50.0), 0);
    assert_int_equal(clab_estimate_p90(e, "s", &v), 0);
    assert_true(v == 1.0); /* one slow point of 64 is above the 90th */
    clab_estimate_destroy(&e);
}

static void test_longer_than(void **state)
{
    (void)state;
    clab_estimate_t *e = NULL;
    assert_int_equal(clab_estimate_new(&e), 0);
    assert_int_equal(clab_estimate_add(e, "short", 1.0), 0);
    assert_int_equal(clab_estimate_add(e, "long", 30.0), 0);
    assert_int_equal(clab_estimate_add(e, "mid", 10.0), 0);
    json_t *out = json_array();
    assert_int_equal(clab_estimate_longer_than(e, 20.0, out), 1);
    assert_string_equal(json_string_value(json_array_get(out, 0)), "long");
    json_array_clear(out);
    assert_int_equal(clab_estimate_longer_than(e, 5.0, out), 2);
    json_array_clear(out);
    /* Time already up: every known set is too long, unknown ones are not
     * listed (nothing known, so they are dispatched). */
    assert_int_equal(clab_estimate_longer_than(e, -1.0, out), 3);
    json_array_clear(out);
    assert_int_equal(clab_estimate_longer_than(e, 30.0, out), 0);
    json_decref(out);
    /* Bad input is refused, not stored. */
    assert_int_equal(clab_estimate_add(e, NULL, 1.0), -EINVAL);
    assert_int_equal(clab_estimate_add(e, "x", -1.0), -EINVAL);
    clab_estimate_destroy(&e);
}

/* The longest estimate, kept up to date as points arrive: what lets the
 * dispatcher skip building a skip list for an engine with time enough. */
static void test_longest(void **state)
{
    (void)state;
    clab_estimate_t *e = NULL;
    assert_int_equal(clab_estimate_new(&e), 0);
    assert_true(clab_estimate_longest(e) == 0);
    assert_int_equal(clab_estimate_add(e, "a", 5.0), 0);
    assert_int_equal(clab_estimate_add(e, "b", 20.0), 0);
    assert_true(clab_estimate_longest(e) == 20.0);
    /* b's p90 falls to 2 once 9 quick points follow the slow one. */
    for (int i = 0; i < 9; i++)
        assert_int_equal(clab_estimate_add(e, "b", 2.0), 0);
    assert_true(clab_estimate_longest(e) == 5.0);
    json_t *out = json_array();
    assert_int_equal(clab_estimate_longer_than(e, clab_estimate_longest(e), out), 0);
    json_decref(out);
    clab_estimate_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown), cmocka_unit_test(test_p90),
        cmocka_unit_test(test_bounded), cmocka_unit_test(test_longer_than),
        cmocka_unit_test(test_longest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
