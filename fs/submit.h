/* Parsing and validating what is written to /submit (SPEC "Submitting"):
 * the JSON form and the `PATH JSON` shorthand, with the errno and position
 * the user is told about. */
#ifndef CLAB_SUBMIT_H
#define CLAB_SUBMIT_H

#include "space.h"

#include <jansson.h>
#include <stddef.h>

typedef struct {
    size_t max_text;   /* bytes; over it: E2BIG */
    size_t max_points; /* points x repetitions; over it: E2BIG */
} clab_submit_limits_t;

#define CLAB_SUBMIT_MAX_TEXT (1u << 20)
#define CLAB_SUBMIT_MAX_POINTS 1000000u
/* The largest task body the controller takes (backend/controller_i.h's
 * MAX_TASK_BYTES, checked equal by test_submit): a job whose largest point
 * could make a bigger task is refused with E2BIG, since the controller
 * would drop that task and the point would stay pending for ever. */
#define CLAB_SUBMIT_MAX_TASK (1024 * 1024)
/* Worker mode's argv after the experiment path (SPEC "Warm experiments"). */
#define CLAB_SUBMIT_MAX_ARGS 64
#define CLAB_SUBMIT_MAX_ARG 4096 /* bytes of one argument */

typedef struct {
    char *experiment;   /* absolute path, checked to be an executable regular file */
    json_t *parameters; /* the object as given */
    clab_space_t *space;
    char *tag;         /* NULL when none was given */
    char *description; /* NULL when none was given */
    long repetitions;  /* >= 1, default 1 */
    double timeout;    /* seconds > 0; 0 when none was given */
    size_t points;     /* space size x repetitions */
    json_t *arguments; /* a non-empty array of strings; NULL when none */
    int worker;        /* 1: run the experiment as a long-lived worker */
} clab_submission_t;

/* Parses and validates a whole job text (need not be NUL-terminated).
 * Returns 0 and *out, or:
 *  -EAGAIN  the text is a proper prefix of a job (JSON ended early): more
 *           may come, so the caller waits for the next write or the close;
 *  -EINVAL  malformed JSON (err has jansson's line/column/position),
 *           unknown or ill-typed field, bad tag, bad parameter value,
 *           empty axis, relative experiment path or one with a ".."
 *           component, trailing garbage after the JSON, NUL bytes;
 *  -ENOENT  the experiment does not exist;
 *  -EACCES  the experiment is not an executable regular file;
 *  -E2BIG   text over lim->max_text or points over lim->max_points.
 * Fields: experiment (string), parameters (object), tag (string), description
 * (string), repetitions (integer >= 1), timeout (number > 0), arguments
 * (array of at most CLAB_SUBMIT_MAX_ARGS strings of at most
 * CLAB_SUBMIT_MAX_ARG bytes, no NUL), worker (boolean). Leading and
 * trailing white space is ignored. lim NULL means the defaults above. */
int clab_submission_parse(const char *text, size_t len, const clab_submit_limits_t *lim,
                          clab_submission_t **out, clab_submit_error_t *err);
void clab_submission_destroy(clab_submission_t **sub);

/* 1 when tag matches [A-Za-z0-9][A-Za-z0-9._-]{0,127}. */
int clab_tag_valid(const char *tag);

#endif
