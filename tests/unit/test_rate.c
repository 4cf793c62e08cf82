/* The per-set rate window (fs/notebook/rate.c): points per second over the
 * last minute, a young set divided by its age (at least a second), counts
 * older than the window forgotten, sets kept apart, a window that ends in
 * the past, and past 1024 sets an idle set's entry taken over by another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "rate.h"

#define T0 1796680800.0 /* 2026-12-07T22:00:00Z */

static void test_empty(void **state)
{
    (void)state;
    clab_rate_t *r = NULL;
    assert_int_equal(clab_rate_new(&r), 0);
    assert_true(clab_rate_get(r, 1, T0 - 600, T0) == 0.0);
    clab_rate_destroy(&r);
    assert_null(r);
    clab_rate_destroy(&r);
}

static void test_window(void **state)
{
    (void)state;
    clab_rate_t *r = NULL;
    assert_int_equal(clab_rate_new(&r), 0);
    /* 2 points a second for two minutes of an old set: 2/s. */
    for (int t = 0; t < 120; t++)
        assert_int_equal(clab_rate_add(r, 7, T0 + t + 0.5, 2), 0);
    assert_true(clab_rate_get(r, 7, T0 - 3600, T0 + 119.9) == 2.0);
    /* Idle for 30 s: half the window counts. */
    assert_true(clab_rate_get(r, 7, T0 - 3600, T0 + 149.9) == 1.0);
    /* Idle for a minute: nothing in the window. */
    assert_true(clab_rate_get(r, 7, T0 - 3600, T0 + 179.9) == 0.0);
    /* Another set is not this one. */
    assert_true(clab_rate_get(r, 8, T0 - 3600, T0 + 119.9) == 0.0);
    clab_rate_destroy(&r);
}

static void test_young(void **state)
{
    (void)state;
    clab_rate_t *r = NULL;
    assert_int_equal(clab_rate_new(&r), 0);
    /* Submitted at T0, 10 points by T0 + 5: 2/s, not 10/60. */
    assert_int_equal(clab_rate_add(r, 1, T0 + 4.5, 10), 0);
    assert_true(clab_rate_get(r, 1, T0, T0 + 5) == 2.0);
    /* At least a second: a first point 0.1 s after the submit is 1/s. */
    assert_int_equal(clab_rate_add(r, 2, T0 + 0.1, 1), 0);
    assert_true(clab_rate_get(r, 2, T0, T0 + 0.2) == 1.0);
    clab_rate_destroy(&r);
}

static void test_reuse(void **state)
{
    (void)state;
    clab_rate_t *r = NULL;
    assert_int_equal(clab_rate_new(&r), 0);
    /* A finished set keeps its window, to be read at its last change. */
    for (int id = 1; id <= 1024; id++)
        assert_int_equal(clab_rate_add(r, id, T0, 1), 0);
    assert_true(clab_rate_get(r, 1, T0 - 1, T0 + 0.5) == 1.0 / 1.5);
    /* Past 1024 sets, a new one takes an idle one's entry; counts start at 0. */
    assert_int_equal(clab_rate_add(r, 2000, T0 + 3600, 3), 0);
    assert_true(clab_rate_get(r, 2000, T0 - 1, T0 + 3600.5) == 3.0 / 60);
    assert_true(clab_rate_get(r, 2000, T0 + 3599, T0 + 3600.5) == 3.0 / 1.5);
    assert_true(clab_rate_get(r, 1, T0 - 1, T0 + 0.5) == 0.0);
    assert_true(clab_rate_get(r, 2, T0 - 1, T0 + 0.5) == 1.0 / 1.5);
    clab_rate_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_young),
        cmocka_unit_test(test_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
