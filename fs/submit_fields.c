/* The fields of the JSON form of a job, one row each in a table (fields[]
 * at the end), each checked for its type and range with the position of
 * its key for the caret: the SPEC's fields, epyc's designs (design, or
 * points instead of parameters), worker mode's arguments and worker (plain
 * or framed), epyc's if_exists, and the files each point gets. Split from submit.c,
 * which parses the text and calls these over submit_i.h. */
#include "submit_i.h"
#include "base64.h"
#include "json.h"
#include "sha256.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_RULE "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"

/* What a field's check gets: the text, where the job starts, the field's
 * value (NULL when absent, for the rows that run then) and where its key
 * is, and what it fills in. */
typedef struct {
    const ctx_t *c;
    size_t start;
    json_t *root;
    long at;
    clab_submission_t *sub;
    json_t **params;
    size_t *params_at;
} field_t;

static int refuse_type(const field_t *f, const char *name, const char *want,
                       const json_t *v)
{
    return clab_subp_refuse(f->c, EINVAL, f->at, "field \"%s\" must be %s, not %s", name,
                            want, clab_json_type_name(v));
}

static int strdup_field(const field_t *f, const json_t *v, char **out)
{
    if (!(*out = strdup(json_string_value(v))))
        return clab_subp_refuse(f->c, ENOMEM, -1, "out of memory");
    return 0;
}

static int check_experiment(const field_t *f, const json_t *v)
{
    if (!json_is_string(v))
        return refuse_type(f, "experiment", "a string (an absolute path)", v);
    int rc = strdup_field(f, v, &f->sub->experiment);
    return rc ? rc : clab_subp_check_path(f->c, f->sub->experiment, f->at);
}

static int check_parameters(const field_t *f, const json_t *v)
{
    if (!v && json_object_get(f->root, "points"))
        return 0;
    if (!v)
        return clab_subp_refuse(f->c, EINVAL, -1,
                                "missing field \"parameters\" (an object such as "
                                "{\"x\": [1, 2]}, or \"points\")");
    if (!json_is_object(v))
        return refuse_type(f, "parameters", "an object", v);
    *f->params = (json_t *)v;
    *f->params_at = f->at >= 0 ? (size_t)f->at : f->start;
    return 0;
}

/* An explicit list of points, instead of parameters (the space checks
 * each point: clab_space_new_points). */
static int check_points(const field_t *f, const json_t *v)
{
    if (json_object_get(f->root, "parameters"))
        return clab_subp_refuse(f->c, EINVAL, f->at,
                                "give \"parameters\" or \"points\", not both");
    if (!json_is_array(v))
        return refuse_type(f, "points", "an array of objects", v);
    *f->params = (json_t *)v;
    *f->params_at = f->at >= 0 ? (size_t)f->at : f->start;
    f->sub->explicit_points = 1;
    return 0;
}

/* How parameters make points: epyc's FactorialDesign or PointwiseDesign. */
static int check_design(const field_t *f, const json_t *v)
{
    static const char *const words[] = {"factorial", "pointwise"};
    if (json_object_get(f->root, "points"))
        return clab_subp_refuse(f->c, EINVAL, f->at,
                                "field \"design\" applies to \"parameters\"; \"points\" "
                                "run as given");
    for (int i = 0; i < 2; i++)
        if (json_is_string(v) && !strcmp(json_string_value(v), words[i])) {
            f->sub->design = (clab_design_t)i;
            return 0;
        }
    return clab_subp_refuse(f->c, EINVAL, f->at,
                            "field \"design\" must be \"factorial\" or \"pointwise\"");
}

static int check_tag(const field_t *f, const json_t *v)
{
    char shown[80];
    f->sub->tag_at = f->at;
    if (!json_is_string(v))
        return refuse_type(f, "tag", "a string", v);
    if (!clab_tag_valid(json_string_value(v))) {
        clab_json_show(shown, sizeof shown, json_string_value(v));
        return clab_subp_refuse(f->c, EINVAL, f->at, "tag %s is invalid: use " TAG_RULE,
                                shown);
    }
    return strdup_field(f, v, &f->sub->tag);
}

static int check_description(const field_t *f, const json_t *v)
{
    if (!json_is_string(v))
        return refuse_type(f, "description", "a string", v);
    return strdup_field(f, v, &f->sub->description);
}

static int check_repetitions(const field_t *f, const json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return clab_subp_refuse(f->c, EINVAL, f->at,
                                "field \"repetitions\" must be an integer >= 1");
    json_int_t r = json_integer_value(v);
    f->sub->repetitions = r > LONG_MAX ? LONG_MAX : (long)r;
    return 0;
}

static int check_timeout(const field_t *f, const json_t *v)
{
    if (!json_is_number(v) || !(json_number_value(v) > 0))
        return clab_subp_refuse(f->c, EINVAL, f->at,
                                "field \"timeout\" must be a number of seconds > 0");
    f->sub->timeout = json_number_value(v);
    return 0;
}

/* Where element i of the array that follows key_at's colon starts, for
 * the caret: strings are skipped whole and only commas of the array's own
 * level count. key_at itself when the text is not as expected. */
static long find_element(const ctx_t *c, long key_at, size_t i)
{
    size_t p = (size_t)key_at + 1, depth = 0;
    while (p < c->len && c->text[p] != '"') /* the key's closing quote */
        p++;
    while (p < c->len && c->text[p] != '[')
        p++;
    for (p++; p < c->len; p++) {
        char ch = c->text[p];
        if (depth == 0 && i == 0 && !clab_subp_is_space(ch))
            return (long)p;
        if (ch == '"') {
            for (p++; p < c->len && c->text[p] != '"'; p++)
                p += c->text[p] == '\\';
        } else if (ch == '[' || ch == '{') {
            depth++;
        } else if ((ch == ']' || ch == '}') && depth-- == 0) {
            break;
        } else if (ch == ',' && depth == 0) {
            i--;
        }
    }
    return key_at;
}

/* "worker": true (a plain worker), false, or "framed" (SPEC "Trust every
 * result"); a string shows itself in the refusal, so that "Framed" or
 * "true" are seen for what they are. */
static int check_worker(const field_t *f, const json_t *v)
{
    char shown[80];
    if (json_is_boolean(v)) {
        f->sub->worker = json_is_true(v) ? CLAB_WORKER_PLAIN : CLAB_WORKER_NONE;
        return 0;
    }
    if (json_is_string(v) && json_string_length(v) == sizeof "framed" - 1 &&
        memcmp(json_string_value(v), "framed", sizeof "framed" - 1) == 0) {
        f->sub->worker = CLAB_WORKER_FRAMED;
        return 0;
    }
    if (json_is_string(v))
        clab_json_show(shown, sizeof shown, json_string_value(v));
    else
        snprintf(shown, sizeof shown, "%s", clab_json_type_name(v));
    return clab_subp_refuse(f->c, EINVAL, f->at,
                            "field \"worker\" must be true, false or \"framed\", not %s",
                            shown);
}

/* Worker mode's argv after the path, each a C string for execve. */
static int check_arguments(const field_t *f, const json_t *v)
{
    const ctx_t *c = f->c;
    long at = f->at;
    json_t *a;
    size_t i;
    if (!json_is_array(v))
        return refuse_type(f, "arguments", "an array of strings", v);
    if (json_array_size(v) > CLAB_SUBMIT_MAX_ARGS)
        return clab_subp_refuse(
            c, EINVAL, at < 0 ? at : find_element(c, at, CLAB_SUBMIT_MAX_ARGS),
            "field \"arguments\" has %zu strings, over the limit of %d",
            json_array_size(v), CLAB_SUBMIT_MAX_ARGS);
    json_array_foreach(v, i, a)
    {
        long el = at < 0 ? at : find_element(c, at, i);
        if (!json_is_string(a))
            return clab_subp_refuse(c, EINVAL, el,
                                    "arguments[%zu] must be a string, not %s", i,
                                    clab_json_type_name(a));
        if (memchr(json_string_value(a), '\0', json_string_length(a)))
            return clab_subp_refuse(c, EINVAL, el, "arguments[%zu] holds a NUL character",
                                    i);
        if (json_string_length(a) > CLAB_SUBMIT_MAX_ARG)
            return clab_subp_refuse(c, EINVAL, el,
                                    "arguments[%zu] is %zu bytes, over the limit of %d",
                                    i, json_string_length(a), CLAB_SUBMIT_MAX_ARG);
    }
    if (json_array_size(v) > 0)
        f->sub->arguments = json_incref((json_t *)v);
    return 0;
}

/* A file name of "files": one path component, of these characters. */
static int file_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= 255 && strcmp(name, ".") && strcmp(name, "..") &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789._-") == n;
}

/* One entry of "files", decoded into f with its digest. */
static int check_file(const field_t *f, const char *name, const json_t *v,
                      clab_submit_file_t *out, size_t *total)
{
    char shown[80];
    clab_buf_t b = {0};
    unsigned char digest[CLAB_SHA256_LEN];
    clab_json_show(shown, sizeof shown, name);
    if (!file_name_ok(name))
        return clab_subp_refuse(
            f->c, EINVAL, f->at,
            "files: %s is not a file name ([A-Za-z0-9._-]{1,255}, not "
            ". or ..)",
            shown);
    if (!json_is_string(v))
        return clab_subp_refuse(f->c, EINVAL, f->at,
                                "files: %s must be a base64 text, not %s", shown,
                                clab_json_type_name(v));
    int rc = clab_base64_decode(json_string_value(v), json_string_length(v), &b);
    if (rc == -EINVAL) {
        /* The decoder appends to a buffer the caller owns, even on refusal. */
        clab_buf_free(&b);
        return clab_subp_refuse(f->c, EINVAL, f->at, "files: %s is not base64", shown);
    }
    if (rc || !(out->name = strdup(name))) {
        clab_buf_free(&b);
        return clab_subp_refuse(f->c, ENOMEM, -1, "out of memory");
    }
    out->data = b.data;
    out->len = b.len;
    clab_sha256(b.data ? b.data : "", b.len, digest);
    clab_hex(digest, CLAB_SHA256_LEN, out->sha256);
    *total += b.len;
    f->sub->files_text += json_string_length(v);
    return 0;
}

/* "files": each point's scratch directory gets them (clab_submit_file_t). */
static int check_files(const field_t *f, const json_t *v)
{
    const char *name;
    json_t *x;
    size_t total = 0;
    if (!json_is_object(v))
        return refuse_type(f, "files", "an object of file names and base64 texts", v);
    if (json_object_size(v) > CLAB_SUBMIT_MAX_FILES)
        return clab_subp_refuse(f->c, EINVAL, f->at,
                                "files: %zu files, over the limit of %d",
                                json_object_size(v), CLAB_SUBMIT_MAX_FILES);
    if (!(f->sub->files = calloc(json_object_size(v) + 1, sizeof *f->sub->files)))
        return clab_subp_refuse(f->c, ENOMEM, -1, "out of memory");
    json_object_foreach((json_t *)v, name, x)
    {
        int rc = check_file(f, name, x, &f->sub->files[f->sub->nfiles], &total);
        if (rc)
            return rc;
        f->sub->nfiles++;
    }
    if (total > CLAB_SUBMIT_MAX_FILE_BYTES)
        return clab_subp_refuse(f->c, E2BIG, f->at,
                                "files: %zu bytes, over the limit of %d", total,
                                CLAB_SUBMIT_MAX_FILE_BYTES);
    return 0;
}

/* epyc's createWith/already: what a submit to an existing tag does. */
static int check_if_exists(const field_t *f, const json_t *v)
{
    static const char *const words[] = {"add", "skip", "error"};
    for (int i = 0; i < 3; i++)
        if (json_is_string(v) && !strcmp(json_string_value(v), words[i])) {
            f->sub->if_exists = (clab_if_exists_t)i;
            return 0;
        }
    return clab_subp_refuse(f->c, EINVAL, f->at,
                            "field \"if_exists\" must be \"add\", \"skip\" or \"error\"");
}

/* "answer": "jobs" asks the answer to list the job ids (clabfs.ClusterLab
 * records its points as pending results under them). */
static int check_answer(const field_t *f, const json_t *v)
{
    if (!json_is_string(v) || strcmp(json_string_value(v), "jobs"))
        return clab_subp_refuse(f->c, EINVAL, f->at, "field \"answer\" must be \"jobs\"");
    f->sub->answer_jobs = 1;
    return 0;
}

/* "reuse": a boolean, so that a typo (1, "yes") is refused rather than
 * read as one or the other. */
static int check_reuse(const field_t *f, const json_t *v)
{
    if (!json_is_boolean(v))
        return refuse_type(f, "reuse", "true or false", v);
    f->sub->reuse = json_is_true(v);
    return 0;
}

/* The fields of the JSON form, checked in this order (the SPEC's
 * precedence: what the job is before how it runs). missing: the refusal
 * when the field is absent (NULL: optional); absent: the check runs
 * without a value too (it decides). */
static const struct {
    const char *name;
    int (*check)(const field_t *f, const json_t *v);
    const char *missing;
    int absent;
} fields[] = {
    {.name = "experiment",
     .check = check_experiment,
     .missing = "missing field \"experiment\" (the absolute path of the program)"},
    {.name = "parameters", .check = check_parameters, .absent = 1},
    {.name = "points", .check = check_points},
    {.name = "design", .check = check_design},
    {.name = "tag", .check = check_tag},
    {.name = "description", .check = check_description},
    {.name = "repetitions", .check = check_repetitions},
    {.name = "timeout", .check = check_timeout},
    {.name = "arguments", .check = check_arguments},
    {.name = "worker", .check = check_worker},
    {.name = "if_exists", .check = check_if_exists},
    {.name = "files", .check = check_files},
    {.name = "answer", .check = check_answer},
    {.name = "reuse", .check = check_reuse},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

/* Every key of root is a field of the table. */
static int check_known_fields(const ctx_t *c, size_t start, json_t *root)
{
    char shown[80], names[256] = "";
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        size_t i = 0;
        while (i < NFIELDS && strcmp(key, fields[i].name))
            i++;
        if (i < NFIELDS)
            continue;
        for (i = 0; i < NFIELDS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     i ? ", " : "", fields[i].name);
        clab_json_show(shown, sizeof shown, key);
        return clab_subp_refuse(c, EINVAL, clab_subp_find_key(c, start, key),
                                "unknown field %s (expected %s)", shown, names);
    }
    return 0;
}

int clab_subp_check_fields(const ctx_t *c, size_t start, json_t *root,
                           clab_submission_t *sub, json_t **params, size_t *params_at)
{
    int rc = check_known_fields(c, start, root);
    field_t f = {.c = c,
                 .start = start,
                 .root = root,
                 .sub = sub,
                 .params = params,
                 .params_at = params_at};
    for (size_t i = 0; i < NFIELDS && !rc; i++) {
        json_t *v = json_object_get(root, fields[i].name);
        f.at = clab_subp_find_key(c, start, fields[i].name);
        if (!v && fields[i].missing)
            rc = clab_subp_refuse(c, EINVAL, -1, "%s", fields[i].missing);
        else if (v || fields[i].absent)
            rc = fields[i].check(&f, v);
    }
    return rc;
}
