/* Fuzz target: the parameter-space expander. The input is the JSON text of
 * a "parameters" object; when clab_space_new accepts it, points at the
 * first, last and pseudo-random indices are checked against the parameters
 * themselves: every value of a list axis is one of its elements, every
 * range value lies in [start, stop) (Python's range, so the last point is
 * the acid test of the count), every linspace value between its ends. */
#include "fuzz_common.h"
#include "space.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* {"value": X} stands for X itself (SPEC, "Designs and values"). */
static const json_t *unwrap(const json_t *e)
{
    const json_t *x = json_is_object(e) && json_object_size(e) == 1
                          ? json_object_get(e, "value")
                          : NULL;
    return x ? x : e;
}

static int in_list(const json_t *list, const json_t *v)
{
    if (!json_is_array(list))
        return json_equal((json_t *)unwrap(list), (json_t *)v);
    size_t i;
    json_t *e;
    json_array_foreach(list, i,
                       e) if (json_equal((json_t *)unwrap(e), (json_t *)v)) return 1;
    return 0;
}

static void check_value(const char *name, const json_t *param, const json_t *v)
{
    /* Since the third wave a value may be any JSON (a list, an object, null). */
    FUZZ_CHECK(v != NULL);
    if (json_is_real(v))
        FUZZ_CHECK(isfinite(json_real_value(v)));
    json_t *range = json_is_object(param) ? json_object_get(param, "range") : NULL;
    json_t *lin = json_is_object(param) ? json_object_get(param, "linspace") : NULL;
    if (range) {
        double a = json_number_value(json_array_get(range, 0));
        double b = json_number_value(json_array_get(range, 1));
        json_t *s = json_array_get(range, 2);
        int all_int = json_is_integer(json_array_get(range, 0)) &&
                      json_is_integer(json_array_get(range, 1)) &&
                      (!s || json_is_integer(s));
        FUZZ_CHECK(all_int ? json_is_integer(v) : json_is_real(v));
        if (all_int) {
            json_int_t ia = json_integer_value(json_array_get(range, 0));
            json_int_t ib = json_integer_value(json_array_get(range, 1));
            json_int_t iv = json_integer_value(v), is = s ? json_integer_value(s) : 1;
            FUZZ_CHECK(is > 0 ? (iv >= ia && iv < ib) : (iv <= ia && iv > ib));
            uint64_t dist =
                is > 0 ? (uint64_t)iv - (uint64_t)ia : (uint64_t)ia - (uint64_t)iv;
            FUZZ_CHECK(dist % (is > 0 ? (uint64_t)is : 0 - (uint64_t)is) == 0);
        } else {
            double step = s ? json_number_value(s) : 1.0, x = json_real_value(v);
            /* Past 2^63 values the count saturates (documented): no promise. */
            if ((b - a) / step < 9223372036854775808.0)
                FUZZ_CHECK(step > 0 ? (x >= a && x < b) : (x <= a && x > b));
        }
    } else if (lin) {
        double a = json_number_value(json_array_get(lin, 0));
        double b = json_number_value(json_array_get(lin, 1));
        double x = json_real_value(v);
        FUZZ_CHECK(json_is_real(v));
        FUZZ_CHECK(x >= fmin(a, b) && x <= fmax(a, b));
    } else {
        FUZZ_CHECK(in_list(param, v));
    }
    (void)name;
}

static void check_point(const clab_space_t *sp, const json_t *params, size_t i)
{
    json_t *pt = clab_space_point(sp, i);
    FUZZ_CHECK(pt && json_object_size(pt) == clab_space_axes(sp));
    for (size_t a = 0; a < clab_space_axes(sp); a++) {
        const char *name = clab_space_axis_name(sp, a);
        if (a > 0)
            FUZZ_CHECK(strcmp(clab_space_axis_name(sp, a - 1), name) < 0);
        json_t *v = json_object_get(pt, name);
        FUZZ_CHECK(v);
        check_value(name, json_object_get(params, name), v);
    }
    json_decref(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *params = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    clab_space_t *sp = NULL;
    clab_submit_error_t err;
    memset(&err, 0, sizeof err);
    int rc = clab_space_new(params, &sp, &err);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    FUZZ_CHECK((rc == 0) == (sp != NULL));
    if (rc) {
        FUZZ_CHECK(err.code == -rc && err.message[0] && err.position == -1);
        FUZZ_CHECK(!strchr(err.message, '\n'));
        json_decref(params);
        return 0;
    }
    size_t n = clab_space_size(sp);
    FUZZ_CHECK(n >= 1);
    FUZZ_CHECK(clab_space_axes(sp) == json_object_size(params));
    check_point(sp, params, 0);
    check_point(sp, params, n - 1);
    uint64_t h = fuzz_hash(data, size);
    for (int k = 0; k < 8; k++) {
        h = h * 6364136223846793005ULL + 1442695040888963407ULL;
        check_point(sp, params, (size_t)(h % n));
    }
    FUZZ_CHECK(clab_space_point(sp, n) == NULL);

    /* A small shuffle must be a permutation. */
    size_t order[64], m = n < 64 ? n : 64, seen[64] = {0};
    clab_shuffle(order, m, h);
    for (size_t i = 0; i < m; i++) {
        FUZZ_CHECK(order[i] < m && !seen[order[i]]);
        seen[order[i]] = 1;
    }
    clab_space_destroy(&sp);
    FUZZ_CHECK(sp == NULL);
    json_decref(params);
    return 0;
}
