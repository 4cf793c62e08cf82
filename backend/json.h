/* JSON text as clabfs writes it: keys sorted, numbers in shortest
 * round-trip form (0.1, not 0.10000000000000001), UTF-8 kept as is.
 * jansson's own dumper prints doubles with %.17g, which is exact but makes
 * every user-typed 0.1 look wrong in N.json and results.csv. */
#ifndef CLAB_JSON_H
#define CLAB_JSON_H

#include "buf.h" /* clab_buf_t: the JSON dumpers append to one */

#include <jansson.h>
#include <stddef.h>

/* Shortest decimal text that reads back as exactly d; integral values keep
 * a ".0" when as_json_real is set so that JSON readers see a real. Writes at
 * most 32 bytes including the NUL. Returns the length. */
int clab_fmt_double(char *out, double d, int as_json_real);

/* Appends v as compact JSON (sorted keys). Returns 0 or -ENOMEM. */
int clab_json_dump_buf(clab_buf_t *b, const json_t *v);
/* Appends s as a JSON string literal with quotes. */
int clab_json_dump_string(clab_buf_t *b, const char *s, size_t len);
/* User text for a one-line message: a JSON string literal of s, cut after
 * 48 bytes (at a character boundary) with "..." so that it fits in out. */
void clab_json_show(char *out, size_t cap, const char *s);
/* The kind of v in a user message ("must be an object, not an array"):
 * "an object", "an array", "a string", "an integer", "a real number",
 * "a boolean", "null", and "nothing" when v is NULL (a missing value). */
const char *clab_json_type_name(const json_t *v);
/* Returns a malloc'd NUL-terminated compact JSON text, or NULL. */
char *clab_json_dumps(const json_t *v);

#endif
