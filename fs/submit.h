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
/* The largest task body the controller takes (backend/controller/controller_i.h's
 * MAX_TASK_BYTES, checked equal by test_submit): a job whose largest point
 * could make a bigger task is refused with E2BIG, since the controller
 * would drop that task and the point would stay pending for ever. */
#define CLAB_SUBMIT_MAX_TASK (1024 * 1024)
/* "files": at most this many, at most this many bytes together once
 * decoded (a pickled experiment up to 1 MiB). Their base64 text is not
 * counted in max_text: a text that names "files" may be longer by
 * CLAB_SUBMIT_MAX_FILES_TEXT (their base64 and names). */
#define CLAB_SUBMIT_MAX_FILES 16
#define CLAB_SUBMIT_MAX_FILE_BYTES (1024 * 1024)
#define CLAB_SUBMIT_MAX_FILES_TEXT                                                       \
    ((CLAB_SUBMIT_MAX_FILE_BYTES + 2) / 3 * 4 + CLAB_SUBMIT_MAX_FILES * 300)
/* Worker mode's argv after the experiment path (SPEC "Warm experiments"). */
#define CLAB_SUBMIT_MAX_ARGS 64
#define CLAB_SUBMIT_MAX_ARG 4096 /* bytes of one argument */

/* What a submit to a tag that exists does (epyc's createWith/already). */
typedef enum {
    CLAB_IF_EXISTS_ADD = 0, /* the default: the points join the set */
    CLAB_IF_EXISTS_SKIP,    /* accepted, nothing added (`points 0`) */
    CLAB_IF_EXISTS_ERROR,   /* refused with EEXIST */
} clab_if_exists_t;

/* How a job's points run ("worker"), as the notebook's jobs.worker column
 * keeps it too. */
typedef enum {
    CLAB_WORKER_NONE = 0,   /* absent or false: a process per point */
    CLAB_WORKER_PLAIN = 1,  /* true: one line in, exactly one line out */
    CLAB_WORKER_FRAMED = 2, /* "framed": each line carries its clab.seq */
} clab_worker_mode_t;

/* One of a job's files: what each of its points finds in its scratch
 * directory under name (a worker's, for as long as it lives). */
typedef struct {
    char *name;
    char *data; /* decoded, malloc'd */
    size_t len;
    char sha256[65]; /* of data, hex: the file's identity in the stores */
} clab_submit_file_t;

typedef struct {
    char *experiment;   /* absolute path, checked to be an executable regular file */
    char sha256[65];    /* of the experiment as read at parse, hex; "" unreadable */
    json_t *parameters; /* the object as given; NULL with explicit points */
    clab_space_t *space;
    char *tag;         /* NULL when none was given */
    char *description; /* NULL when none was given */
    long repetitions;  /* >= 1, default 1 */
    double timeout;    /* seconds > 0; 0 when none was given */
    size_t points;     /* space size x repetitions */
    json_t *arguments; /* a non-empty array of strings; NULL when none */
    int worker;        /* a clab_worker_mode_t: none, plain or framed */
    long tag_at;       /* where the tag is named in the text; -1 when it is not */
    clab_if_exists_t if_exists;
    clab_design_t design; /* how parameters make points */
    /* "points" instead of "parameters": parameters is NULL, the space
     * holds the points as given. */
    int explicit_points;
    /* "answer": "jobs": the answer lists each point's job id, in the order
     * of the points, repetitions one after another. */
    int answer_jobs;
    /* "reuse": true: points matching a successful result of the lab are
     * filled from it at submit instead of being run (notebook_reuse.c). */
    int reuse;
    clab_submit_file_t *files; /* "files", nfiles of them */
    size_t nfiles;
    size_t files_text; /* bytes of their base64 text in the job's text */
    /* Who submitted what from where (provenance.c), filled in at accept;
     * NULL when none was made. */
    json_t *provenance;
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
 *  -E2BIG   text over lim->max_text (not counting the files' base64),
 *           files over their limit, or points over lim->max_points.
 * Fields: experiment (string), parameters (object), tag (string), description
 * (string), repetitions (integer >= 1), timeout (number > 0), points (an
 * array of objects, instead of parameters), design ("factorial" or
 * "pointwise"), files (an object of at most CLAB_SUBMIT_MAX_FILES file
 * names and base64 texts, at most CLAB_SUBMIT_MAX_FILE_BYTES decoded),
 * answer ("jobs"), arguments (array of at most CLAB_SUBMIT_MAX_ARGS strings of at most
 * CLAB_SUBMIT_MAX_ARG bytes, no NUL), worker (true, false or "framed"),
 * if_exists ("add", "skip" or "error"). Leading and trailing white space is
 * ignored. lim NULL means the defaults above. */
int clab_submission_parse(const char *text, size_t len, const clab_submit_limits_t *lim,
                          clab_submission_t **out, clab_submit_error_t *err);
void clab_submission_destroy(clab_submission_t **sub);

/* A write that holds several jobs, as JSON lines: each job begins on a
 * line of its own (a JSON job may span several lines; after its closing
 * brace, only white space up to the next newline). All of them or none:
 * returns the number of jobs (>= 1) and *out, a NULL-terminated array for
 * clab_submissions_destroy, or what clab_submission_parse returns for the
 * first job that fails, err's position counted in the whole text. The
 * text limit and lim->max_points bound the write as a whole (E2BIG). */
int clab_submissions_parse(const char *text, size_t len, const clab_submit_limits_t *lim,
                           clab_submission_t ***out, clab_submit_error_t *err);
void clab_submissions_destroy(clab_submission_t ***subs);

/* The longest job text lim allows for text[0, len): max_text, or more by
 * CLAB_SUBMIT_MAX_FILES_TEXT when it names "files" (the inbox collects up
 * to it). */
size_t clab_submit_text_limit(const clab_submit_limits_t *lim, const char *text,
                              size_t len);

/* Sets err's position to byte pos of text, with its line and column as
 * jansson counts them (1-based, columns in characters). */
void clab_submit_locate(clab_submit_error_t *err, const char *text, size_t len, long pos);

/* 1 when tag matches [A-Za-z0-9][A-Za-z0-9._-]{0,127}. */
int clab_tag_valid(const char *tag);

#endif
