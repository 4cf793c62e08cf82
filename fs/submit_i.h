/* Private to fs/submit.c (the text: JSON, shorthand, limits, the jobs of
 * one write) and fs/submit_fields.c (the JSON form's fields). */
#ifndef CLAB_SUBMIT_I_H
#define CLAB_SUBMIT_I_H

#include "submit.h"

#include <jansson.h>
#include <stddef.h>

/* The text being parsed: the whole write, so that every position is one
 * the user can count in what they wrote. */
typedef struct {
    const char *text;
    size_t len;
    clab_submit_error_t *err;
    /* Several jobs per write: where the job after the current one starts
     * (len when none). NULL: one job, and any text after it is refused. */
    size_t *next;
} ctx_t;

/* Fills c->err (the message one line) and returns -code. */
int clab_subp_refuse(const ctx_t *c, int code, long pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Where `"key"` followed by a colon is in text[from, len); -1 if nowhere. */
long clab_subp_find_key(const ctx_t *c, size_t from, const char *key);
int clab_subp_is_space(char c);
/* An absolute path without "." or ".." components. */
int clab_subp_check_path(const ctx_t *c, const char *path, long pos);

/* submit_fields.c: every field of the JSON form root, which starts at
 * start. Sets sub's fields and *params (borrowed from root); *params_at
 * is where parameter names are searched from. */
int clab_subp_check_fields(const ctx_t *c, size_t start, json_t *root,
                           clab_submission_t *sub, json_t **params, size_t *params_at);

#endif
