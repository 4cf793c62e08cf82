/* JSON text as clabfs writes it: keys sorted, numbers in shortest
 * round-trip form (0.1, not 0.10000000000000001), UTF-8 kept as is.
 * jansson's own dumper prints doubles with %.17g, which is exact but makes
 * every user-typed 0.1 look wrong in N.json and results.csv.
 *
 * And JSON text as clabfs reads a record: experiments print what Python's
 * json.dumps, R's jsonlite and Julia print, which goes beyond what jansson
 * can hold: integers past 64 bits (2**64, 10**40), NaN, Infinity and
 * -Infinity (and 1e400, which Python reads as Infinity). jansson has no
 * type for them and its loader refuses them, so clab_json_loadb reads
 * them as a private kind of string, a number's text: bytes that begin with
 * 0xFF, which is never in UTF-8, so no string read from any JSON text (or
 * made by record.c, which checks UTF-8) can pass for one. The dumpers
 * write one back as the bare token it was read from, so the text is the
 * same after any number of hops (engine -> controller -> notebook, through
 * SQLite twice): every place that reads a record must read it with
 * clab_json_loadb/loads, never json_loads, and write it with these
 * dumpers, never json_dumps. */
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
/* For the scanners that walk JSON text without parsing it (counting results
 * before building a tree, rewriting values in place): text[i] is the quote
 * that opens a string; returns the index of the quote that closes it, or
 * len when the text ends first. */
size_t clab_json_string_end(const char *text, size_t len, size_t i);

/* Where a text stops being JSON: line and column (in characters) from 1,
 * the byte offset, and what is wrong there ("invalid token"). */
typedef struct {
    int line, column;
    size_t position;
    char text[48];
} clab_json_error_t;

/* Refuses an object that holds a key twice (else the last one wins). */
#define CLAB_JSON_REJECT_DUPLICATES 0x1u

/* Reads text[0, len) as one JSON value of any kind (strict JSON, plus the
 * tokens NaN, Infinity and -Infinity, integers of any size, "\u0000" in
 * strings but not in keys; nesting up to 2048 deep), with nothing but
 * white space after it. Returns a new reference, or NULL with err (when
 * not NULL) filled. */
json_t *clab_json_loadb(const char *text, size_t len, unsigned flags,
                        clab_json_error_t *err);
json_t *clab_json_loads(const char *text, unsigned flags, clab_json_error_t *err);
/* A number jansson cannot hold, as its text ("NaN", "Infinity",
 * "-Infinity", or the digits of an integer past 64 bits); NULL when v is
 * anything else. */
const char *clab_json_number_text(const json_t *v);
/* A new such number from its text (len bytes), or NULL. */
json_t *clab_json_number_new(const char *text, size_t len);

#endif
