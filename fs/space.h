/* The parameter space of a submission: axes built from the "parameters"
 * object (scalars, arrays, {"range": ...}, {"linspace": ...}) and the
 * points of their Cartesian product, addressed by index so that a sweep
 * of a million points is never built in memory at once. */
#ifndef CLAB_SPACE_H
#define CLAB_SPACE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Why a submission (or a /ctl command) was refused. */
typedef struct {
    int code;          /* positive errno: EINVAL, ENOENT, EACCES, E2BIG */
    char message[256]; /* one line a person can act on */
    int line, column;  /* 1-based position in the text; 0 when unknown */
    long position;     /* byte offset in the text; -1 when unknown */
} clab_submit_error_t;

typedef struct clab_space clab_space_t;

/* How a space's points are made from its axes (the submit field "design"). */
typedef enum {
    CLAB_DESIGN_FACTORIAL = 0, /* the default: the Cartesian product */
    /* epyc's PointwiseDesign: every axis longer than one value has the
     * same length n, one-value axes are extended, and point i takes value
     * i of each (value 0 of the one-value ones). */
    CLAB_DESIGN_POINTWISE,
} clab_design_t;

/* Builds the axes of `parameters` (must be a JSON object; an empty object
 * is a space of exactly one empty point), in the factorial design.
 * {"value": X} is one value X of any JSON type, alone or as an element of
 * an axis. Errors (-EINVAL with err filled,
 * err->position -1 since jansson keeps no positions of values): a value
 * that is null, an object other than {"range": [...]} / {"linspace": [...]}
 * / {"value": X}, nested arrays or objects (but {"value": X}) inside an
 * axis, an empty axis, a range with a
 * zero step or a non-number, a linspace whose n is not a positive integer,
 * a non-finite number, an empty parameter name. err may be NULL. */
int clab_space_new(const json_t *parameters, clab_space_t **out,
                   clab_submit_error_t *err);
/* The same in the given design; pointwise refuses (-EINVAL) axes longer
 * than one value whose lengths differ. */
int clab_space_new_design(const json_t *parameters, clab_design_t design,
                          clab_space_t **out, clab_submit_error_t *err);
/* A space of the points given, in their order (the submit field
 * "points"): a non-empty array of objects whose values are taken as they
 * are; its axes are the names any point has (a point need not have them
 * all). -EINVAL (err filled) for anything else or an empty name. */
int clab_space_new_points(const json_t *points, clab_space_t **out,
                          clab_submit_error_t *err);
void clab_space_destroy(clab_space_t **space);

/* Number of points (product of axis lengths), saturating at SIZE_MAX. */
size_t clab_space_size(const clab_space_t *space);
/* Number of axes and the name of axis i (axes are sorted by name); for a
 * space of explicit points, every name a point has. */
size_t clab_space_axes(const clab_space_t *space);
const char *clab_space_axis_name(const clab_space_t *space, size_t i);
/* An upper bound on the length of any point's compact JSON text (as
 * clab_json_dumps writes it), found from the axes without building a
 * point: exact for lists and integer ranges, the longest a double can
 * print for real ranges and linspace. SIZE_MAX when out of memory. */
size_t clab_space_max_point_bytes(const clab_space_t *space);
/* The i-th point, 0 <= i < size, as a new JSON object (factorial:
 * row-major over the sorted axis names, last name fastest; pointwise:
 * value i of each axis; explicit points: point i). Integers stay
 * integers; a range with any float bound or step yields reals; linspace
 * always yields reals. */
json_t *clab_space_point(const clab_space_t *space, size_t i);

/* A random permutation of 0..n-1 into order[] (Fisher-Yates on a 64-bit
 * xorshift generator seeded with seed). */
void clab_shuffle(size_t *order, size_t n, uint64_t seed);

#endif
