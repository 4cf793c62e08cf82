/* Unit tests for the parameter space (fs/space.c): axis kinds and their
 * exact values, row-major point order over sorted names, saturation, the
 * refusals, and the shuffle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json.h"
#include "space.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds a space from the JSON text of a parameters object. */
static clab_space_t *space_of(const char *params)
{
    json_error_t je;
    json_t *p = json_loads(params, 0, &je);
    if (!p)
        fail_msg("bad test JSON %s: %s", params, je.text);
    clab_space_t *sp = NULL;
    clab_submit_error_t err;
    int rc = clab_space_new(p, &sp, &err);
    json_decref(p);
    if (rc)
        fail_msg("clab_space_new(%s) = %d: %s", params, rc, err.message);
    return sp;
}

/* The values of the single axis "x" of params, as JSON. */
static json_t *values_of(const char *params, size_t expect_n)
{
    clab_space_t *sp = space_of(params);
    assert_int_equal(clab_space_axes(sp), 1);
    assert_string_equal(clab_space_axis_name(sp, 0), "x");
    assert_int_equal(clab_space_size(sp), expect_n);
    json_t *vals = json_array();
    for (size_t i = 0; i < expect_n; i++) {
        json_t *pt = clab_space_point(sp, i);
        assert_non_null(pt);
        assert_int_equal(json_object_size(pt), 1);
        json_array_append(vals, json_object_get(pt, "x"));
        json_decref(pt);
    }
    assert_null(clab_space_point(sp, expect_n));
    clab_space_destroy(&sp);
    assert_null(sp);
    return vals;
}

static void assert_ints(const char *params, const json_int_t *want, size_t n)
{
    json_t *vals = values_of(params, n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(vals, i);
        assert_true(json_is_integer(v));
        assert_int_equal(json_integer_value(v), want[i]);
    }
    json_decref(vals);
}

/* Reals compared exactly: the contract fixes how each one is computed. */
static void assert_reals(const char *params, const double *want, size_t n)
{
    json_t *vals = values_of(params, n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(vals, i);
        if (!json_is_real(v) || json_real_value(v) != want[i])
            fail_msg("%s: value %zu is %.17g (real %d), want %.17g", params, i,
                     json_number_value(v), json_is_real(v), want[i]);
    }
    json_decref(vals);
}

static void test_empty_object_is_one_empty_point(void **state)
{
    clab_space_t *sp = space_of("{}");
    assert_int_equal(clab_space_size(sp), 1);
    assert_int_equal(clab_space_axes(sp), 0);
    assert_null(clab_space_axis_name(sp, 0));
    json_t *pt = clab_space_point(sp, 0);
    assert_true(json_is_object(pt));
    assert_int_equal(json_object_size(pt), 0);
    json_decref(pt);
    assert_null(clab_space_point(sp, 1));
    clab_space_destroy(&sp);
    clab_space_destroy(&sp); /* already NULL: a no-op */
    clab_space_destroy(NULL);
}

static void test_scalars_are_one_value(void **state)
{
    clab_space_t *sp =
        space_of("{\"N\": 1000, \"r\": 0.5, \"s\": \"sir\", \"t\": true, \"f\": false}");
    assert_int_equal(clab_space_size(sp), 1);
    assert_int_equal(clab_space_axes(sp), 5);
    json_t *pt = clab_space_point(sp, 0);
    json_t *want = json_loads(
        "{\"N\": 1000, \"r\": 0.5, \"s\": \"sir\", \"t\": true, \"f\": false}", 0, NULL);
    assert_true(json_equal(pt, want));
    assert_true(json_is_integer(json_object_get(pt, "N")));
    assert_true(json_is_real(json_object_get(pt, "r")));
    json_decref(want);
    json_decref(pt);
    clab_space_destroy(&sp);
}

static void test_array_axis(void **state)
{
    const double want[] = {0.1, 0.2, 0.3};
    assert_reals("{\"x\": [0.1, 0.2, 0.3]}", want, 3);
    json_t *vals = values_of("{\"x\": [1, \"a\", false, 2.5]}", 4);
    json_t *exp = json_loads("[1, \"a\", false, 2.5]", 0, NULL);
    assert_true(json_equal(vals, exp));
    assert_true(json_is_integer(json_array_get(vals, 0)));
    json_decref(exp);
    json_decref(vals);
}

static void test_int_ranges(void **state)
{
    const json_int_t r1[] = {0, 3, 6, 9};
    assert_ints("{\"x\": {\"range\": [0, 10, 3]}}", r1, 4);
    const json_int_t r2[] = {0, 1, 2, 3, 4};
    assert_ints("{\"x\": {\"range\": [0, 5]}}", r2, 5);
    const json_int_t r3[] = {10, 7, 4, 1};
    assert_ints("{\"x\": {\"range\": [10, 0, -3]}}", r3, 4);
    const json_int_t r4[] = {-2, -1, 0, 1};
    assert_ints("{\"x\": {\"range\": [-2, 2]}}", r4, 4);
    const json_int_t r5[] = {7};
    assert_ints("{\"x\": {\"range\": [7, 8]}}", r5, 1);
    const json_int_t r6[] = {0, 5};
    assert_ints("{\"x\": {\"range\": [0, 10, 5]}}", r6, 2);
    /* The whole int64 line, where stop - start does not fit in int64. */
    const json_int_t r7[] = {INT64_MIN, -4611686018427387904LL, 0, 4611686018427387904LL};
    assert_ints("{\"x\": {\"range\": [-9223372036854775808, 9223372036854775807, "
                "4611686018427387904]}}",
                r7, 4);
    const json_int_t r8[] = {INT64_MAX, 0, INT64_MIN + 1};
    assert_ints("{\"x\": {\"range\": [9223372036854775807, -9223372036854775808, "
                "-9223372036854775807]}}",
                r8, 3);
}

static void test_real_ranges(void **state)
{
    const double r1[] = {0.0, 0.25, 0.5, 0.75};
    assert_reals("{\"x\": {\"range\": [0, 1, 0.25]}}", r1, 4);
    const double r2[] = {0.5, 1.5, 2.5};
    assert_reals("{\"x\": {\"range\": [0.5, 3]}}", r2, 3);
    const double r3[] = {1.0, 0.75, 0.5, 0.25};
    assert_reals("{\"x\": {\"range\": [1, 0, -0.25]}}", r3, 4);
    const double r4[] = {0.0, 1.0, 2.0};
    assert_reals("{\"x\": {\"range\": [0, 3, 1.0]}}", r4, 3);
    /* Values are start + i*step, not accumulated: 9*0.1, not 0.1+...+0.1. */
    double r5[10];
    for (int i = 0; i < 10; i++)
        r5[i] = 0.0 + i * 0.1;
    assert_reals("{\"x\": {\"range\": [0, 1, 0.1]}}", r5, 10);
    /* (1.3-1)/0.1 rounds to 3.0000000000000004; numpy's arange then gives
     * a 4th value 1.3000000000000003 >= stop. Python's rule excludes it. */
    const double r6[] = {1.0, 1.0 + 1 * 0.1, 1.0 + 2 * 0.1};
    assert_reals("{\"x\": {\"range\": [1, 1.3, 0.1]}}", r6, 3);
    /* (0.3-0)/0.1 rounds down to 2.9999999999999996: 3 values. */
    const double r7[] = {0.0, 0.1, 0.2};
    assert_reals("{\"x\": {\"range\": [0, 0.3, 0.1]}}", r7, 3);
}

static void test_linspace(void **state)
{
    const double l1[] = {0.0, 0.25, 0.5, 0.75, 1.0};
    assert_reals("{\"x\": {\"linspace\": [0, 1, 5]}}", l1, 5);
    const double l2[] = {3.0};
    assert_reals("{\"x\": {\"linspace\": [3, 7, 1]}}", l2, 1);
    const double l3[] = {2.0, 3.0};
    assert_reals("{\"x\": {\"linspace\": [2, 3, 2]}}", l3, 2);
    const double l4[] = {1.0, 0.5, 0.0};
    assert_reals("{\"x\": {\"linspace\": [1, 0, 3]}}", l4, 3);
    /* The last value is b itself, whatever the rounding of the others. */
    const double l5[] = {0.0, 1 * 0.3 / 3, 2 * 0.3 / 3, 0.3};
    assert_reals("{\"x\": {\"linspace\": [0, 0.3, 4]}}", l5, 4);
    json_t *vals;
    vals = values_of("{\"x\": {\"linspace\": [0, 1, 1000]}}", 1000);
    assert_true(json_real_value(json_array_get(vals, 999)) == 1.0);
    for (size_t i = 1; i < 1000; i++)
        assert_true(json_real_value(json_array_get(vals, i)) >
                    json_real_value(json_array_get(vals, i - 1)));
    json_decref(vals);
}

static void test_grid_is_row_major_over_sorted_names(void **state)
{
    /* Written b before a: the axes are still sorted, a slowest. */
    clab_space_t *sp =
        space_of("{\"b\": {\"range\": [0, 4]}, \"a\": [\"p\", \"q\", \"r\"]}");
    assert_int_equal(clab_space_size(sp), 12);
    assert_int_equal(clab_space_axes(sp), 2);
    assert_string_equal(clab_space_axis_name(sp, 0), "a");
    assert_string_equal(clab_space_axis_name(sp, 1), "b");
    const char *as[] = {"p", "q", "r"};
    json_t *seen = json_object();
    for (size_t i = 0; i < 12; i++) {
        json_t *pt = clab_space_point(sp, i);
        assert_int_equal(json_object_size(pt), 2);
        assert_string_equal(json_string_value(json_object_get(pt, "a")), as[i / 4]);
        assert_int_equal(json_integer_value(json_object_get(pt, "b")),
                         (json_int_t)(i % 4));
        char *key = json_dumps(pt, JSON_SORT_KEYS | JSON_COMPACT);
        json_object_set_new(seen, key, json_true());
        free(key);
        json_decref(pt);
    }
    assert_int_equal(json_object_size(seen), 12);
    json_decref(seen);
    clab_space_destroy(&sp);

    sp = space_of("{\"b\": 1, \"a\": 2, \"C\": 3, \"a2\": [1, 2]}");
    assert_string_equal(clab_space_axis_name(sp, 0), "C");
    assert_string_equal(clab_space_axis_name(sp, 1), "a");
    assert_string_equal(clab_space_axis_name(sp, 2), "a2");
    assert_string_equal(clab_space_axis_name(sp, 3), "b");
    assert_int_equal(clab_space_size(sp), 2);
    clab_space_destroy(&sp);
}

static void test_three_axes_order(void **state)
{
    clab_space_t *sp = space_of("{\"z\": [0, 1], \"y\": {\"range\": [0, 3]}, \"x\": "
                                "{\"linspace\": [0, 1, 2]}, \"k\": \"c\"}");
    assert_int_equal(clab_space_size(sp), 12);
    for (size_t i = 0; i < 12; i++) {
        json_t *pt = clab_space_point(sp, i);
        /* sorted: k (1), x (2), y (3), z (2); z fastest */
        assert_string_equal(json_string_value(json_object_get(pt, "k")), "c");
        assert_true(json_real_value(json_object_get(pt, "x")) == (double)(i / 6));
        assert_int_equal(json_integer_value(json_object_get(pt, "y")), (i / 2) % 3);
        assert_int_equal(json_integer_value(json_object_get(pt, "z")), i % 2);
        json_decref(pt);
    }
    clab_space_destroy(&sp);
}

static void test_big_range_is_not_materialised(void **state)
{
    /* Ten million points cost no memory: valgrind would show it. */
    clab_space_t *sp = space_of("{\"x\": {\"range\": [0, 10000000]}, \"y\": [1, 2]}");
    assert_int_equal(clab_space_size(sp), 20000000);
    json_t *pt = clab_space_point(sp, 19999999);
    assert_int_equal(json_integer_value(json_object_get(pt, "x")), 9999999);
    assert_int_equal(json_integer_value(json_object_get(pt, "y")), 2);
    json_decref(pt);
    pt = clab_space_point(sp, 12345679);
    assert_int_equal(json_integer_value(json_object_get(pt, "x")), 6172839);
    assert_int_equal(json_integer_value(json_object_get(pt, "y")), 2);
    json_decref(pt);
    clab_space_destroy(&sp);

    sp = space_of("{\"x\": {\"linspace\": [0, 1, 1000000001]}}");
    assert_int_equal(clab_space_size(sp), 1000000001);
    pt = clab_space_point(sp, 500000000);
    assert_true(json_real_value(json_object_get(pt, "x")) == 0.5);
    json_decref(pt);
    clab_space_destroy(&sp);
}

static void test_size_saturates(void **state)
{
    clab_space_t *sp = space_of("{\"a\": {\"range\": [0, 9000000000000000000]}, "
                                "\"b\": {\"range\": [0, 9000000000000000000]}}");
    assert_true(clab_space_size(sp) == SIZE_MAX);
    json_t *pt = clab_space_point(sp, 9000000000000000001ULL);
    assert_int_equal(json_integer_value(json_object_get(pt, "a")), 1);
    assert_int_equal(json_integer_value(json_object_get(pt, "b")), 1);
    json_decref(pt);
    clab_space_destroy(&sp);

    sp = space_of("{\"a\": {\"range\": [0, 1e300, 1]}}");
    assert_true(clab_space_size(sp) == SIZE_MAX);
    clab_space_destroy(&sp);
    sp = space_of("{\"a\": {\"linspace\": [0, 1, 9223372036854775807]}}");
    assert_true(clab_space_size(sp) == (size_t)INT64_MAX);
    clab_space_destroy(&sp);
}

static void test_space_keeps_no_reference_to_input(void **state)
{
    json_t *p = json_loads("{\"x\": [1, 2], \"s\": \"a\"}", 0, NULL);
    clab_space_t *sp = NULL;
    assert_int_equal(clab_space_new(p, &sp, NULL), 0);
    json_array_set_new(json_object_get(p, "x"), 0, json_integer(99));
    json_decref(p);
    json_t *pt = clab_space_point(sp, 0);
    assert_int_equal(json_integer_value(json_object_get(pt, "x")), 1);
    /* A point is the caller's to change. */
    json_string_set(json_object_get(pt, "s"), "changed");
    json_decref(pt);
    pt = clab_space_point(sp, 0);
    assert_string_equal(json_string_value(json_object_get(pt, "s")), "a");
    json_decref(pt);
    clab_space_destroy(&sp);
}

static const struct {
    const char *params, *message;
} bad[] = {
    {"{\"x\": null}", "parameter \"x\": null is not a value"},
    {"{\"x\": []}", "parameter \"x\": empty axis"},
    {"{\"x\": [[1, 2], [3]]}", "parameter \"x\": element 1 is an array"},
    {"{\"x\": [1, {\"a\": 1}]}", "parameter \"x\": element 2 is an object"},
    {"{\"x\": [1, null]}", "parameter \"x\": element 2 is null"},
    {"{\"x\": {}}", "parameter \"x\": an object must be"},
    {"{\"x\": {\"from\": 0, \"to\": 3}}", "parameter \"x\": an object must be"},
    {"{\"x\": {\"range\": [0, 3], \"step\": 1}}", "parameter \"x\": an object must be"},
    {"{\"x\": {\"range\": [0, 3], \"linspace\": [0, 1, 2]}}",
     "parameter \"x\": an object must be"},
    {"{\"x\": {\"range\": [0, 10, 0]}}", "parameter \"x\": range step is 0"},
    {"{\"x\": {\"range\": [0, 1, 0.0]}}", "parameter \"x\": range step is 0"},
    {"{\"x\": {\"range\": [0, 10, -1]}}", "parameter \"x\": empty axis"},
    {"{\"x\": {\"range\": [10, 0]}}", "parameter \"x\": empty axis"},
    {"{\"x\": {\"range\": [5, 5]}}", "parameter \"x\": empty axis"},
    {"{\"x\": {\"range\": [1.0, 0.5, 0.1]}}", "parameter \"x\": empty axis"},
    {"{\"x\": {\"range\": [0.5, 0.5]}}", "parameter \"x\": empty axis"},
    {"{\"x\": {\"range\": [5]}}", "parameter \"x\": range takes"},
    {"{\"x\": {\"range\": [0, 1, 2, 3]}}", "parameter \"x\": range takes"},
    {"{\"x\": {\"range\": [\"0\", 10]}}", "parameter \"x\": range takes"},
    {"{\"x\": {\"range\": [0, true]}}", "parameter \"x\": range takes"},
    {"{\"x\": {\"range\": [0, null]}}", "parameter \"x\": range takes"},
    {"{\"x\": {\"range\": 10}}", "parameter \"x\": range takes"},
    {"{\"x\": {\"range\": {\"stop\": 10}}}", "parameter \"x\": range takes"},
    {"{\"x\": {\"range\": [-1e308, 1e308]}}",
     "parameter \"x\": range(-1e+308, 1e+308, 1) "
     "overflows"},
    {"{\"x\": {\"range\": [0, 1e308, 1e-308]}}",
     "parameter \"x\": range(0, 1e+308, 1e-308) overflows"},
    {"{\"x\": {\"linspace\": [0, 1, 0]}}", "parameter \"x\": linspace takes"},
    {"{\"x\": {\"linspace\": [0, 1, -1]}}", "parameter \"x\": linspace takes"},
    {"{\"x\": {\"linspace\": [0, 1, 2.5]}}", "parameter \"x\": linspace takes"},
    {"{\"x\": {\"linspace\": [0, 1, 5.0]}}", "parameter \"x\": linspace takes"},
    {"{\"x\": {\"linspace\": [0, 1, \"5\"]}}", "parameter \"x\": linspace takes"},
    {"{\"x\": {\"linspace\": [0, 1]}}", "parameter \"x\": linspace takes"},
    {"{\"x\": {\"linspace\": [0, 1, 5, 6]}}", "parameter \"x\": linspace takes"},
    {"{\"x\": {\"linspace\": [\"a\", 1, 5]}}", "parameter \"x\": linspace takes"},
    {"{\"x\": {\"linspace\": [-1e308, 1e308, 3]}}", "parameter \"x\": linspace(-1e+308, "
                                                    "1e+308) overflows"},
    {"{\"x\": {\"value\": 1, \"range\": [0, 2]}}", "parameter \"x\": an object must be"},
    {"{\"x\": [1, {\"value\": 2, \"k\": 3}]}", "parameter \"x\": element 2 is an object"},
    /* The first wrong value in text order is the one reported. */
    {"{\"ok\": 1, \"b\": [], \"a\": null}", "parameter \"b\": empty axis"},
    {"{\"line\\nbreak\": null}", "parameter \"line\\nbreak\": null"},
};

static void test_refusals(void **state)
{
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_error_t je;
        json_t *p = json_loads(bad[i].params, 0, &je);
        if (!p)
            fail_msg("bad test JSON %s: %s", bad[i].params, je.text);
        clab_space_t *sp = (clab_space_t *)&je; /* must be reset to NULL */
        clab_submit_error_t err = {0};
        int rc = clab_space_new(p, &sp, &err);
        if (rc != -EINVAL || sp || err.code != EINVAL ||
            strncmp(err.message, bad[i].message, strlen(bad[i].message)))
            fail_msg("%s: rc %d, code %d, message '%s', want '%s...'", bad[i].params, rc,
                     err.code, err.message, bad[i].message);
        assert_int_equal(err.position, -1);
        assert_int_equal(err.line, 0);
        assert_int_equal(err.column, 0);
        assert_null(strchr(err.message, '\n'));
        /* err may be NULL. */
        assert_int_equal(clab_space_new(p, &sp, NULL), -EINVAL);
        json_decref(p);
    }
}

static void test_parameters_must_be_object(void **state)
{
    clab_submit_error_t err;
    clab_space_t *sp = NULL;
    json_t *a = json_loads("[1, 2]", 0, NULL);
    assert_int_equal(clab_space_new(a, &sp, &err), -EINVAL);
    assert_null(sp);
    assert_string_equal(err.message, "parameters must be a JSON object, not an array");
    json_decref(a);
    assert_int_equal(clab_space_new(NULL, &sp, NULL), -EINVAL);
}

static void test_long_name_is_shortened(void **state)
{
    char params[600];
    char name[501];
    memset(name, 'n', 500);
    name[500] = '\0';
    snprintf(params, sizeof params, "{\"%s\": []}", name);
    json_t *p = json_loads(params, 0, NULL);
    clab_space_t *sp = NULL;
    clab_submit_error_t err;
    assert_int_equal(clab_space_new(p, &sp, &err), -EINVAL);
    assert_non_null(strstr(err.message, "...\": empty axis"));
    assert_true(strlen(err.message) < 120);
    json_decref(p);
}

static int is_permutation(const size_t *order, size_t n)
{
    char *seen = calloc(n ? n : 1, 1);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        if (order[i] >= n || seen[order[i]])
            ok = 0;
        else
            seen[order[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_shuffle_is_a_permutation(void **state)
{
    size_t n = 1000;
    size_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    const uint64_t seeds[] = {0, 1, 2, 42, UINT64_MAX};
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++) {
        clab_shuffle(a, n, seeds[s]);
        assert_true(is_permutation(a, n));
        size_t fixed = 0;
        for (size_t i = 0; i < n; i++)
            fixed += a[i] == i;
        assert_true(fixed < 20); /* expected 1; identity would be 1000 */
        clab_shuffle(b, n, seeds[s]);
        assert_memory_equal(a, b, n * sizeof *a); /* same seed, same order */
    }
    clab_shuffle(a, n, 1);
    clab_shuffle(b, n, 2);
    assert_true(memcmp(a, b, n * sizeof *a) != 0);

    clab_shuffle(a, 0, 7); /* nothing to do, nothing touched */
    clab_shuffle(a, 1, 7);
    assert_int_equal(a[0], 0);
    free(a);
    free(b);
}

static void test_shuffle_is_uniform(void **state)
{
    /* All 6 orders of 3 items, each about 1/6 of 60000 draws (sd ~91). */
    int count[3][3][3] = {{{0}}};
    size_t o[3];
    for (uint64_t seed = 1; seed <= 60000; seed++) {
        clab_shuffle(o, 3, seed);
        assert_true(is_permutation(o, 3));
        count[o[0]][o[1]][o[2]]++;
    }
    const size_t perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int i = 0; i < 6; i++) {
        int c = count[perms[i][0]][perms[i][1]][perms[i][2]];
        if (c < 9500 || c > 10500)
            fail_msg("order %d drawn %d times of 60000", i, c);
    }
}

/* The bound on a point's JSON text (what the task carries): exact for
 * lists and integer ranges, never below the truth for reals. */
static void test_max_point_bytes(void **state)
{
    (void)state;
    const char *cases[] = {
        "{}",
        "{\"a\": [1, 22, 333], \"bb\": \"x\\by\"}",
        "{\"a\": {\"range\": [-1000, 5, 7]}, \"b\": [true, \"\\u00e9\"]}",
        "{\"r\": {\"range\": [0.1, 1, 0.1]}, \"l\": {\"linspace\": [0, 1e300, 7]}}",
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        json_t *p = json_loads(cases[c], 0, NULL);
        clab_space_t *sp = NULL;
        assert_int_equal(clab_space_new(p, &sp, NULL), 0);
        size_t bound = clab_space_max_point_bytes(sp), longest = 0;
        for (size_t i = 0; i < clab_space_size(sp); i++) {
            json_t *pt = clab_space_point(sp, i);
            char *text = clab_json_dumps(pt);
            if (strlen(text) > longest)
                longest = strlen(text);
            free(text);
            json_decref(pt);
        }
        assert_true(bound >= longest);
        if (c < 3)
            assert_int_equal(bound, longest);
        clab_space_destroy(&sp);
        json_decref(p);
    }
}

/* Every point of sp as one JSON array, in index order. */
static json_t *all_points(clab_space_t *sp)
{
    json_t *all = json_array();
    for (size_t i = 0; i < clab_space_size(sp); i++)
        json_array_append_new(all, clab_space_point(sp, i));
    assert_null(clab_space_point(sp, clab_space_size(sp)));
    return all;
}

static void points_are(clab_space_t *sp, const char *want_text)
{
    json_t *got = all_points(sp), *want = json_loads(want_text, 0, NULL);
    char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    if (!json_equal(got, want))
        fail_msg("points %s, want %s", g, want_text);
    free(g);
    json_decref(got);
    json_decref(want);
}

static clab_space_t *design_of(const char *params, clab_design_t design)
{
    json_t *p = json_loads(params, 0, NULL);
    clab_space_t *sp = NULL;
    clab_submit_error_t err;
    int rc = clab_space_new_design(p, design, &sp, &err);
    json_decref(p);
    if (rc)
        fail_msg("clab_space_new_design(%s) = %d: %s", params, rc, err.message);
    return sp;
}

/* {"value": X} is one value of any JSON type, alone or in an axis, and
 * never an axis itself; a value's copy is the space's own. */
static void test_value_is_one_value(void **state)
{
    (void)state;
    clab_space_t *sp = space_of("{\"a\": {\"value\": [1, 2]}, \"n\": {\"value\": null},"
                                " \"o\": {\"value\": {\"k\": [true]}},"
                                " \"x\": [{\"value\": [3]}, 4, {\"value\": {}}]}");
    assert_int_equal(clab_space_size(sp), 3);
    assert_int_equal(clab_space_axes(sp), 4);
    points_are(sp, "[{\"a\": [1, 2], \"n\": null, \"o\": {\"k\": [true]}, \"x\": [3]},"
                   " {\"a\": [1, 2], \"n\": null, \"o\": {\"k\": [true]}, \"x\": 4},"
                   " {\"a\": [1, 2], \"n\": null, \"o\": {\"k\": [true]}, \"x\": {}}]");
    assert_int_equal(clab_space_max_point_bytes(sp),
                     strlen("{\"a\":[1,2],\"n\":null,\"o\":{\"k\":[true]},\"x\":[3]}"));
    clab_space_destroy(&sp);
}

/* epyc's PointwiseDesign: axes longer than one value go in step, one-value
 * axes (scalars too) are extended; the factorial design is the default. */
static void test_pointwise(void **state)
{
    (void)state;
    clab_space_t *sp = design_of("{\"a\": [1, 2, 3], \"b\": {\"range\": [10, 13]},"
                                 " \"c\": \"k\", \"d\": [true]}",
                                 CLAB_DESIGN_POINTWISE);
    points_are(sp, "[{\"a\": 1, \"b\": 10, \"c\": \"k\", \"d\": true},"
                   " {\"a\": 2, \"b\": 11, \"c\": \"k\", \"d\": true},"
                   " {\"a\": 3, \"b\": 12, \"c\": \"k\", \"d\": true}]");
    clab_space_destroy(&sp);
    sp = design_of("{\"a\": 1, \"b\": [2]}", CLAB_DESIGN_POINTWISE);
    points_are(sp, "[{\"a\": 1, \"b\": 2}]");
    clab_space_destroy(&sp);
    sp = design_of("{}", CLAB_DESIGN_POINTWISE);
    points_are(sp, "[{}]");
    clab_space_destroy(&sp);
    sp = design_of("{\"a\": [1, 2], \"b\": [3, 4]}", CLAB_DESIGN_FACTORIAL);
    assert_int_equal(clab_space_size(sp), 4);
    clab_space_destroy(&sp);

    json_t *p = json_loads("{\"a\": [1, 2, 3], \"b\": [1, 2], \"c\": 5}", 0, NULL);
    clab_submit_error_t err = {0};
    assert_int_equal(clab_space_new_design(p, CLAB_DESIGN_POINTWISE, &sp, &err), -EINVAL);
    assert_null(sp);
    assert_string_equal(err.message,
                        "pointwise design: parameter \"b\" has 2 values and "
                        "\"a\" has 3; axes longer than one value go in step");
    json_decref(p);
}

/* An explicit list of points, run as given, in order: values are taken
 * literally (an array is a value, {"range": ...} an object); the names are
 * every point's names. */
static void test_points(void **state)
{
    (void)state;
    const char *text = "[{\"x\": 1, \"y\": [1, 2]}, {\"x\": {\"range\": [0, 9]}},"
                       " {\"z\": null}]";
    json_t *p = json_loads(text, 0, NULL);
    clab_space_t *sp = NULL;
    assert_int_equal(clab_space_new_points(p, &sp, NULL), 0);
    json_array_clear(p); /* the space keeps its own */
    json_decref(p);
    assert_int_equal(clab_space_size(sp), 3);
    assert_int_equal(clab_space_axes(sp), 3);
    assert_string_equal(clab_space_axis_name(sp, 0), "x");
    assert_string_equal(clab_space_axis_name(sp, 2), "z");
    points_are(sp, text);
    assert_int_equal(clab_space_max_point_bytes(sp), strlen("{\"x\":{\"range\":[0,9]}}"));
    clab_space_destroy(&sp);

    static const struct {
        const char *points, *message;
    } bad_points[] = {
        {"[]", "points: no points (give at least one object)"},
        {"{\"x\": 1}", "points must be an array of objects, not an object"},
        {"[{\"x\": 1}, 2]", "points[1] must be an object, not an integer"},
        {"[{\"\": 1}]", "points[0]: a parameter name must not be empty"},
    };
    for (size_t i = 0; i < sizeof bad_points / sizeof *bad_points; i++) {
        clab_submit_error_t err = {0};
        p = json_loads(bad_points[i].points, 0, NULL);
        assert_int_equal(clab_space_new_points(p, &sp, &err), -EINVAL);
        assert_null(sp);
        assert_string_equal(err.message, bad_points[i].message);
        assert_int_equal(clab_space_new_points(p, &sp, NULL), -EINVAL);
        json_decref(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_object_is_one_empty_point),
        cmocka_unit_test(test_scalars_are_one_value),
        cmocka_unit_test(test_array_axis),
        cmocka_unit_test(test_int_ranges),
        cmocka_unit_test(test_real_ranges),
        cmocka_unit_test(test_linspace),
        cmocka_unit_test(test_grid_is_row_major_over_sorted_names),
        cmocka_unit_test(test_three_axes_order),
        cmocka_unit_test(test_big_range_is_not_materialised),
        cmocka_unit_test(test_size_saturates),
        cmocka_unit_test(test_space_keeps_no_reference_to_input),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_parameters_must_be_object),
        cmocka_unit_test(test_long_name_is_shortened),
        cmocka_unit_test(test_shuffle_is_a_permutation),
        cmocka_unit_test(test_shuffle_is_uniform),
        cmocka_unit_test(test_max_point_bytes),
        cmocka_unit_test(test_value_is_one_value),
        cmocka_unit_test(test_pointwise),
        cmocka_unit_test(test_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
