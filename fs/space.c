/* The parameter space of a submission. Each axis keeps only what is
 * needed to compute its k-th value (the values of an array, or the bounds
 * of a range / linspace), so a point is derived from its index in
 * O(number of axes) and no sweep is ever materialised: factorially (the
 * Cartesian product) or pointwise (epyc's PointwiseDesign). A space of
 * explicit points keeps them as given and names its axes only. */
#include "space.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum axis_kind { AXIS_LIST, AXIS_INT_RANGE, AXIS_REAL_RANGE, AXIS_LINSPACE };

typedef struct {
    char *name;
    enum axis_kind kind;
    size_t len;
    json_t *values;           /* AXIS_LIST: a private copy, scalars only */
    json_int_t istart, istep; /* AXIS_INT_RANGE */
    double start, step, stop; /* AXIS_REAL_RANGE: start, step; LINSPACE: a, -, b */
} axis_t;

struct clab_space {
    axis_t *axes;
    size_t n;
    size_t size;
    clab_design_t design;
    json_t *points;   /* explicit points (an array of objects), or NULL */
    size_t max_point; /* explicit points: the longest one's text */
};

static int refuse(clab_submit_error_t *err, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse_text(clab_submit_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* err gets the message (no position: jansson keeps none of values);
 * returns -code. */
static int refuse_text(clab_submit_error_t *err, int code, const char *fmt, ...)
{
    if (!err)
        return -code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    err->line = err->column = 0;
    err->position = -1;
    return -code;
}

/* About the parameter name. */
static int refuse(clab_submit_error_t *err, const char *name, const char *fmt, ...)
{
    char shown[80], what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    clab_json_show(shown, sizeof shown, name);
    return refuse_text(err, EINVAL, "parameter %s: %s", shown, what);
}

static size_t clamp_size(uint64_t n)
{
    return n > SIZE_MAX ? SIZE_MAX : (size_t)n;
}

static int is_scalar(const json_t *v)
{
    return json_is_number(v) || json_is_string(v) || json_is_boolean(v);
}

/* X of {"value": X}, one value of any JSON type; NULL for anything else. */
static json_t *value_of(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 ? json_object_get(v, "value")
                                                         : NULL;
}

/* An axis of the values of array v: scalars, or X of each {"value": X}. */
static int build_values(axis_t *ax, const json_t *v, clab_submit_error_t *err)
{
    size_t i;
    json_t *e;
    if (json_array_size(v) == 0)
        return refuse(err, ax->name, "empty axis");
    if (!(ax->values = json_array()))
        return -ENOMEM;
    json_array_foreach(v, i, e)
    {
        const json_t *x = is_scalar(e) ? e : value_of(e);
        if (!x)
            return refuse(err, ax->name,
                          "element %zu is %s; an axis holds numbers, strings, booleans "
                          "and {\"value\": X}",
                          i + 1, clab_json_type_name(e));
        if (json_array_append_new(ax->values, json_deep_copy(x)))
            return -ENOMEM;
    }
    return 0;
}

/* An axis of the array v's values, or of v alone (a scalar, or X of
 * {"value": X}, one = 1). */
static int build_list(axis_t *ax, const json_t *v, int one, clab_submit_error_t *err)
{
    if (json_is_array(v) && !one) {
        int rc = build_values(ax, v, err);
        if (rc)
            return rc;
    } else {
        ax->values = json_array();
        if (ax->values && json_array_append_new(ax->values, json_deep_copy(v))) {
            json_decref(ax->values);
            ax->values = NULL;
        }
    }
    if (!ax->values)
        return -ENOMEM;
    ax->kind = AXIS_LIST;
    ax->len = json_array_size(ax->values);
    return 0;
}

/* Python's range over int64 without overflow: the distance is taken as an
 * unsigned number, which always fits. */
static int build_int_range(axis_t *ax, json_int_t start, json_int_t stop, json_int_t step,
                           clab_submit_error_t *err)
{
    uint64_t dist, ustep;
    if (step > 0 && start < stop) {
        dist = (uint64_t)stop - (uint64_t)start;
        ustep = (uint64_t)step;
    } else if (step < 0 && start > stop) {
        dist = (uint64_t)start - (uint64_t)stop;
        ustep = 0 - (uint64_t)step;
    } else {
        return refuse(err, ax->name,
                      "empty axis: range(%" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
                      ", %" JSON_INTEGER_FORMAT ") has no values",
                      start, stop, step);
    }
    ax->kind = AXIS_INT_RANGE;
    ax->istart = start;
    ax->istep = step;
    ax->len = clamp_size((dist - 1) / ustep + 1);
    return 0;
}

static int before_stop(double v, double stop, double step)
{
    return step > 0 ? v < stop : v > stop;
}

/* How many k >= 0 have start + k*step (computed exactly that way by
 * clab_space_point) strictly before stop, as in Python. That value is
 * monotonic in k (each operation rounds monotonically), so the count is
 * found by bisection. Stepping k one by one from the quotient is not
 * enough: a tiny step on a huge start, e.g. range(2^60, 2^60 + 256,
 * 1e-12), rounds some 10^14 values of k onto the same doubles; and beyond
 * 2^53 the quotient itself may count values at or past stop. Needs
 * before_stop(start), which q > 0 guarantees. Saturates at UINT64_MAX. */
static uint64_t real_range_count(double start, double stop, double step, double q)
{
    uint64_t lo = 0, hi = (uint64_t)ceil(q) + 1;
    /* A doubling or two at most: hi starts just past the quotient. */
    while (before_stop(start + (double)hi * step, stop, step)) {
        if (hi > UINT64_MAX / 2)
            return UINT64_MAX;
        lo = hi;
        hi *= 2;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (before_stop(start + (double)mid * step, stop, step))
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

static int build_real_range(axis_t *ax, double start, double stop, double step,
                            clab_submit_error_t *err)
{
    double q = (stop - start) / step;
    if (!isfinite(stop - start) || !isfinite(q))
        return refuse(err, ax->name, "range(%g, %g, %g) overflows", start, stop, step);
    if (!(q > 0))
        return refuse(err, ax->name, "empty axis: range(%g, %g, %g) has no values", start,
                      stop, step);
    /* Past 2^63 values the count is of no use to anyone: saturate. */
    size_t n = q >= 9223372036854775808.0
                   ? SIZE_MAX
                   : clamp_size(real_range_count(start, stop, step, q));
    ax->kind = AXIS_REAL_RANGE;
    ax->start = start;
    ax->step = step;
    ax->len = n;
    return 0;
}

static int build_range(axis_t *ax, const json_t *args, clab_submit_error_t *err)
{
    size_t n = json_array_size(args), i;
    json_t *e;
    int all_int = 1;
    if (!json_is_array(args) || n < 2 || n > 3)
        goto bad;
    json_array_foreach(args, i, e)
    {
        if (!json_is_number(e))
            goto bad;
        all_int &= json_is_integer(e);
    }
    json_t *a = json_array_get(args, 0), *b = json_array_get(args, 1);
    json_t *s = n == 3 ? json_array_get(args, 2) : NULL;
    if (all_int) {
        json_int_t step = s ? json_integer_value(s) : 1;
        if (step == 0)
            return refuse(err, ax->name, "range step is 0");
        return build_int_range(ax, json_integer_value(a), json_integer_value(b), step,
                               err);
    }
    double step = s ? json_number_value(s) : 1.0;
    if (step == 0)
        return refuse(err, ax->name, "range step is 0");
    return build_real_range(ax, json_number_value(a), json_number_value(b), step, err);
bad:
    return refuse(err, ax->name,
                  "range takes [start, stop] or [start, stop, step], all numbers");
}

static int build_linspace(axis_t *ax, const json_t *args, clab_submit_error_t *err)
{
    json_t *a = json_array_get(args, 0), *b = json_array_get(args, 1);
    json_t *n = json_array_get(args, 2);
    if (!json_is_array(args) || json_array_size(args) != 3 || !json_is_number(a) ||
        !json_is_number(b) || !json_is_integer(n) || json_integer_value(n) < 1)
        return refuse(err, ax->name,
                      "linspace takes [a, b, n] with numbers a, b and an integer n >= 1");
    double da = json_number_value(a), db = json_number_value(b);
    if (!isfinite(db - da))
        return refuse(err, ax->name, "linspace(%g, %g) overflows", da, db);
    ax->kind = AXIS_LINSPACE;
    ax->start = da;
    ax->stop = db;
    ax->len = clamp_size((uint64_t)json_integer_value(n));
    return 0;
}

static int build_axis(axis_t *ax, const json_t *v, clab_submit_error_t *err)
{
    /* It would be a column without a header and a key epyc cannot use. */
    if (!ax->name[0])
        return refuse(err, ax->name, "a parameter name must not be empty");
    if (json_is_null(v))
        return refuse(err, ax->name,
                      "null is not a value (use a number, string, boolean, array, "
                      "{\"range\": ...} or {\"linspace\": ...})");
    if (!json_is_object(v))
        return build_list(ax, v, 0, err);
    if (json_object_size(v) == 1 && json_object_get(v, "range"))
        return build_range(ax, json_object_get(v, "range"), err);
    if (json_object_size(v) == 1 && json_object_get(v, "linspace"))
        return build_linspace(ax, json_object_get(v, "linspace"), err);
    if (value_of(v))
        return build_list(ax, value_of(v), 1, err);
    return refuse(err, ax->name,
                  "an object must be {\"range\": [start, stop, step]}, "
                  "{\"linspace\": [a, b, n]} or {\"value\": X}");
}

static int cmp_axes(const void *a, const void *b)
{
    return strcmp(((const axis_t *)a)->name, ((const axis_t *)b)->name);
}

/* The number of points of sp's axes in its design: their product
 * (factorial), or the one length of the axes longer than one value
 * (pointwise, which refuses two different ones). */
static int space_size(clab_space_t *sp, clab_submit_error_t *err)
{
    const axis_t *long_axis = NULL;
    sp->size = 1;
    for (size_t i = 0; i < sp->n; i++) {
        const axis_t *ax = &sp->axes[i];
        if (sp->design == CLAB_DESIGN_FACTORIAL) {
            sp->size = sp->size > SIZE_MAX / ax->len ? SIZE_MAX : sp->size * ax->len;
        } else if (ax->len > 1 && !long_axis) {
            long_axis = ax;
            sp->size = ax->len;
        } else if (ax->len > 1 && ax->len != long_axis->len) {
            char a[80], b[80];
            clab_json_show(a, sizeof a, ax->name);
            clab_json_show(b, sizeof b, long_axis->name);
            return refuse_text(err, EINVAL,
                               "pointwise design: parameter %s has %zu values and %s has "
                               "%zu; axes longer than one value go in step",
                               a, ax->len, b, long_axis->len);
        }
    }
    return 0;
}

static int out_of_memory(clab_submit_error_t *err, int rc)
{
    return rc == -ENOMEM ? refuse_text(err, ENOMEM, "out of memory") : rc;
}

int clab_space_new_design(const json_t *parameters, clab_design_t design,
                          clab_space_t **out, clab_submit_error_t *err)
{
    int rc = -ENOMEM;
    *out = NULL;
    if (!json_is_object(parameters))
        return refuse_text(err, EINVAL, "parameters must be a JSON object, not %s",
                           clab_json_type_name(parameters));
    clab_space_t *sp = calloc(1, sizeof *sp);
    if (!sp)
        return -ENOMEM;
    sp->design = design;
    size_t n = json_object_size(parameters);
    sp->axes = calloc(n ? n : 1, sizeof *sp->axes);
    if (!sp->axes)
        goto fail;
    /* Validated in the object's own (text) order so the first wrong value a
     * person wrote is the one reported. */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)parameters, key, v)
    {
        axis_t *ax = &sp->axes[sp->n];
        ax->name = strdup(key);
        if (!ax->name) {
            rc = -ENOMEM;
            goto fail;
        }
        sp->n++;
        rc = build_axis(ax, v, err);
        if (rc)
            goto fail;
    }
    qsort(sp->axes, sp->n, sizeof *sp->axes, cmp_axes);
    if ((rc = space_size(sp, err)) < 0)
        goto fail;
    *out = sp;
    return 0;
fail:
    clab_space_destroy(&sp);
    return out_of_memory(err, rc);
}

int clab_space_new(const json_t *parameters, clab_space_t **out, clab_submit_error_t *err)
{
    return clab_space_new_design(parameters, CLAB_DESIGN_FACTORIAL, out, err);
}

/* The names of explicit points as the space's axes, sorted: every name
 * any point has, once. */
static int point_names(clab_space_t *sp, clab_submit_error_t *err)
{
    json_t *names = json_object(), *pt, *v;
    size_t i;
    const char *key;
    int rc = names ? 0 : -ENOMEM;
    json_array_foreach(sp->points, i, pt)
    {
        json_object_foreach(pt, key, v)
        {
            if (!key[0] && !rc)
                rc = refuse_text(err, EINVAL,
                                 "points[%zu]: a parameter name must not be empty", i);
            if (!rc && json_object_set_new(names, key, json_true()))
                rc = -ENOMEM;
        }
    }
    if (!rc && !(sp->axes = calloc(json_object_size(names) + 1, sizeof *sp->axes)))
        rc = -ENOMEM;
    json_object_foreach(names, key, v) if (!rc && !(sp->axes[sp->n++].name = strdup(key)))
        rc = -ENOMEM;
    json_decref(names);
    if (!rc)
        qsort(sp->axes, sp->n, sizeof *sp->axes, cmp_axes);
    return rc;
}

int clab_space_new_points(const json_t *points, clab_space_t **out,
                          clab_submit_error_t *err)
{
    size_t i;
    json_t *pt;
    *out = NULL;
    if (!json_is_array(points))
        return refuse_text(err, EINVAL, "points must be an array of objects, not %s",
                           clab_json_type_name(points));
    if (json_array_size(points) == 0)
        return refuse_text(err, EINVAL, "points: no points (give at least one object)");
    json_array_foreach(points, i, pt) if (!json_is_object(pt)) return refuse_text(
        err, EINVAL, "points[%zu] must be an object, not %s", i, clab_json_type_name(pt));
    clab_space_t *sp = calloc(1, sizeof *sp);
    if (!sp)
        return out_of_memory(err, -ENOMEM);
    int rc = (sp->points = json_deep_copy(points)) ? point_names(sp, err) : -ENOMEM;
    json_array_foreach(sp->points, i, pt)
    {
        char *text = rc ? NULL : clab_json_dumps(pt);
        if (!rc && !text)
            rc = -ENOMEM;
        if (text && strlen(text) > sp->max_point)
            sp->max_point = strlen(text);
        free(text);
    }
    sp->size = json_array_size(points);
    if (rc)
        clab_space_destroy(&sp);
    *out = sp;
    return out_of_memory(err, rc);
}

void clab_space_destroy(clab_space_t **space)
{
    if (!space || !*space)
        return;
    clab_space_t *sp = *space;
    for (size_t i = 0; i < sp->n; i++) {
        free(sp->axes[i].name);
        json_decref(sp->axes[i].values);
    }
    free(sp->axes);
    json_decref(sp->points);
    free(sp);
    *space = NULL;
}

size_t clab_space_size(const clab_space_t *space)
{
    return space->size;
}

size_t clab_space_axes(const clab_space_t *space)
{
    return space->n;
}

const char *clab_space_axis_name(const clab_space_t *space, size_t i)
{
    return i < space->n ? space->axes[i].name : NULL;
}

static json_t *axis_value(const axis_t *ax, size_t k)
{
    switch (ax->kind) {
    case AXIS_LIST:
        return json_copy(json_array_get(ax->values, k));
    case AXIS_INT_RANGE:
        /* Wraps in unsigned arithmetic; the true value is in range. */
        return json_integer(
            (json_int_t)((uint64_t)ax->istart + (uint64_t)k * (uint64_t)ax->istep));
    case AXIS_REAL_RANGE:
        return json_real(ax->start + (double)k * ax->step);
    case AXIS_LINSPACE: {
        if (k == 0)
            return json_real(ax->start);
        if (k == ax->len - 1)
            return json_real(ax->stop);
        double delta = ax->stop - ax->start, div = (double)(ax->len - 1);
        double t = (double)k * delta;
        t = isfinite(t) ? t / div : delta / div * (double)k;
        return json_real(ax->start + t);
    }
    }
    return NULL;
}

json_t *clab_space_point(const clab_space_t *space, size_t i)
{
    if (i >= space->size)
        return NULL;
    if (space->points)
        return json_deep_copy(json_array_get(space->points, i));
    json_t *pt = json_object();
    if (!pt)
        return NULL;
    for (size_t a = space->n; a-- > 0;) {
        const axis_t *ax = &space->axes[a];
        size_t k =
            space->design == CLAB_DESIGN_POINTWISE ? (ax->len > 1 ? i : 0) : i % ax->len;
        if (json_object_set_new(pt, ax->name, axis_value(ax, k))) {
            json_decref(pt);
            return NULL;
        }
        if (space->design == CLAB_DESIGN_FACTORIAL)
            i /= ax->len;
    }
    return pt;
}

static uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, bound) by rejection: plain modulo would favour small
 * indices, and the point order is meant to be a fair sample. */
static uint64_t below(uint64_t *s, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do
        r = xorshift64s(s);
    while (r >= limit);
    return r % bound;
}

void clab_shuffle(size_t *order, size_t n, uint64_t seed)
{
    /* A zero state would make xorshift emit zeros forever; nearby seeds
     * are spread by one splitmix64 step so that 1, 2, 3... differ at once. */
    uint64_t s = seed ? seed : 0x9E3779B97F4A7C15ULL;
    s += 0x9E3779B97F4A7C15ULL;
    s = (s ^ (s >> 30)) * 0xBF58476D1CE4E5B9ULL;
    s = (s ^ (s >> 27)) * 0x94D049BB133111EBULL;
    s ^= s >> 31;
    if (!s)
        s = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)below(&s, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

/* The longest text clab_fmt_double writes for a JSON real, such as
 * "-2.2250738585072014e-308". */
#define REAL_TEXT_MAX 24

static size_t text_len(clab_buf_t *b, json_t *v)
{
    b->len = 0;
    int rc = v ? clab_json_dump_buf(b, v) : -ENOMEM;
    json_decref(v);
    return rc ? SIZE_MAX : b->len;
}

/* The longest value of an axis as JSON text. An integer range is
 * monotonic, so its longest value is one of its ends. */
static size_t axis_max_len(const axis_t *ax, clab_buf_t *b)
{
    size_t most = 0, n;
    switch (ax->kind) {
    case AXIS_LIST:
        for (size_t i = 0; i < ax->len; i++)
            if ((n = text_len(b, json_copy(json_array_get(ax->values, i)))) > most)
                most = n;
        return most;
    case AXIS_INT_RANGE:
        most = text_len(b, axis_value(ax, 0));
        n = text_len(b, axis_value(ax, ax->len - 1));
        return n > most ? n : most;
    default:
        return REAL_TEXT_MAX;
    }
}

size_t clab_space_max_point_bytes(const clab_space_t *space)
{
    if (space->points)
        return space->max_point;
    clab_buf_t b = {0};
    size_t total = 2 + (space->n ? space->n - 1 : 0); /* braces, commas */
    for (size_t i = 0; i < space->n && total != SIZE_MAX; i++) {
        const axis_t *ax = &space->axes[i];
        size_t value = axis_max_len(ax, &b);
        b.len = 0;
        if (value == SIZE_MAX || clab_json_dump_string(&b, ax->name, strlen(ax->name)))
            total = SIZE_MAX;
        else
            total += b.len + 1 + value; /* "name":value */
    }
    clab_buf_free(&b);
    return total;
}
