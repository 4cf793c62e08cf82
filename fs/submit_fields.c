/* The fields of the JSON form of a job, each checked for its type and
 * range with the position of its key for the caret: the SPEC's fields,
 * worker mode's arguments and worker (plain or framed), and epyc's
 * if_exists. Split from
 * submit.c, which parses the text and calls these over submit_i.h. */
#include "submit_i.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_RULE "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
#define FIELDS                                                                           \
    "experiment, parameters, tag, description, repetitions, timeout, arguments, "        \
    "worker, "                                                                           \
    "if_exists"

static const char *const known_fields[] = {"experiment",  "parameters",  "tag",
                                           "description", "repetitions", "timeout",
                                           "arguments",   "worker",      "if_exists"};

/* The JSON form: every field known and well typed. Sets sub's fields and
 * *params (borrowed from root); *params_at is where parameter names are
 * searched from. */
static int check_known_fields(const ctx_t *c, size_t start, json_t *root)
{
    char shown[80];
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        size_t i = 0;
        while (i < sizeof known_fields / sizeof *known_fields &&
               strcmp(key, known_fields[i]))
            i++;
        if (i == sizeof known_fields / sizeof *known_fields) {
            clab_json_show(shown, sizeof shown, key);
            return clab_subp_refuse(c, EINVAL, clab_subp_find_key(c, start, key),
                                    "unknown field %s (expected " FIELDS ")", shown);
        }
    }
    return 0;
}

static int check_fields(const ctx_t *c, size_t start, json_t *root,
                        clab_submission_t *sub, json_t **params, size_t *params_at)
{
    char shown[80];
    int rc = check_known_fields(c, start, root);
    if (rc)
        return rc;

    json_t *v = json_object_get(root, "experiment");
    long at = clab_subp_find_key(c, start, "experiment");
    if (!v)
        return clab_subp_refuse(
            c, EINVAL, -1,
            "missing field \"experiment\" (the absolute path of the program)");
    if (!json_is_string(v))
        return clab_subp_refuse(
            c, EINVAL, at,
            "field \"experiment\" must be a string (an absolute path), not %s",
            clab_json_type_name(v));
    sub->experiment = strdup(json_string_value(v));
    if (!sub->experiment)
        return clab_subp_refuse(c, ENOMEM, -1, "out of memory");
    rc = clab_subp_check_path(c, sub->experiment, at);
    if (rc)
        return rc;

    v = json_object_get(root, "parameters");
    at = clab_subp_find_key(c, start, "parameters");
    if (!v)
        return clab_subp_refuse(
            c, EINVAL, -1,
            "missing field \"parameters\" (an object such as {\"x\": [1, 2]})");
    if (!json_is_object(v))
        return clab_subp_refuse(c, EINVAL, at,
                                "field \"parameters\" must be an object, not %s",
                                clab_json_type_name(v));
    *params = v;
    *params_at = at >= 0 ? (size_t)at : start;

    if ((v = json_object_get(root, "tag"))) {
        at = clab_subp_find_key(c, start, "tag");
        sub->tag_at = at;
        if (!json_is_string(v))
            return clab_subp_refuse(c, EINVAL, at,
                                    "field \"tag\" must be a string, not %s",
                                    clab_json_type_name(v));
        if (!clab_tag_valid(json_string_value(v))) {
            clab_json_show(shown, sizeof shown, json_string_value(v));
            return clab_subp_refuse(c, EINVAL, at, "tag %s is invalid: use " TAG_RULE,
                                    shown);
        }
        if (!(sub->tag = strdup(json_string_value(v))))
            return clab_subp_refuse(c, ENOMEM, -1, "out of memory");
    }
    if ((v = json_object_get(root, "description"))) {
        if (!json_is_string(v))
            return clab_subp_refuse(
                c, EINVAL, clab_subp_find_key(c, start, "description"),
                "field \"description\" must be a string, not %s", clab_json_type_name(v));
        if (!(sub->description = strdup(json_string_value(v))))
            return clab_subp_refuse(c, ENOMEM, -1, "out of memory");
    }
    if ((v = json_object_get(root, "repetitions"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return clab_subp_refuse(c, EINVAL,
                                    clab_subp_find_key(c, start, "repetitions"),
                                    "field \"repetitions\" must be an integer >= 1");
        json_int_t r = json_integer_value(v);
        sub->repetitions = r > LONG_MAX ? LONG_MAX : (long)r;
    }
    if ((v = json_object_get(root, "timeout"))) {
        if (!json_is_number(v) || !(json_number_value(v) > 0))
            return clab_subp_refuse(c, EINVAL, clab_subp_find_key(c, start, "timeout"),
                                    "field \"timeout\" must be a number of seconds > 0");
        sub->timeout = json_number_value(v);
    }
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
static int check_worker(const ctx_t *c, size_t start, const json_t *v,
                        clab_submission_t *sub)
{
    char shown[80];
    if (!v || json_is_boolean(v)) {
        sub->worker = json_is_true(v) ? CLAB_WORKER_PLAIN : CLAB_WORKER_NONE;
        return 0;
    }
    if (json_is_string(v) && json_string_length(v) == sizeof "framed" - 1 &&
        memcmp(json_string_value(v), "framed", sizeof "framed" - 1) == 0) {
        sub->worker = CLAB_WORKER_FRAMED;
        return 0;
    }
    if (json_is_string(v))
        clab_json_show(shown, sizeof shown, json_string_value(v));
    else
        snprintf(shown, sizeof shown, "%s", clab_json_type_name(v));
    return clab_subp_refuse(c, EINVAL, clab_subp_find_key(c, start, "worker"),
                            "field \"worker\" must be true, false or \"framed\", not %s",
                            shown);
}

/* Worker mode's fields: argv after the path, each a C string for execve. */
static int check_worker_fields(const ctx_t *c, size_t start, json_t *root,
                               clab_submission_t *sub)
{
    json_t *v = json_object_get(root, "arguments"), *a;
    long at = clab_subp_find_key(c, start, "arguments");
    size_t i;
    if (v && !json_is_array(v))
        return clab_subp_refuse(c, EINVAL, at,
                                "field \"arguments\" must be an array of strings, not %s",
                                clab_json_type_name(v));
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
        sub->arguments = json_incref(v);
    return check_worker(c, start, json_object_get(root, "worker"), sub);
}

/* epyc's createWith/already: what a submit to an existing tag does. */
static int check_if_exists(const ctx_t *c, size_t start, json_t *root,
                           clab_submission_t *sub)
{
    static const char *const words[] = {"add", "skip", "error"};
    json_t *v = json_object_get(root, "if_exists");
    if (!v)
        return 0;
    for (int i = 0; i < 3; i++)
        if (json_is_string(v) && !strcmp(json_string_value(v), words[i])) {
            sub->if_exists = (clab_if_exists_t)i;
            return 0;
        }
    return clab_subp_refuse(c, EINVAL, clab_subp_find_key(c, start, "if_exists"),
                            "field \"if_exists\" must be \"add\", \"skip\" or \"error\"");
}

int clab_subp_check_fields(const ctx_t *c, size_t start, json_t *root,
                           clab_submission_t *sub, json_t **params, size_t *params_at)
{
    int rc = check_fields(c, start, root, sub, params, params_at);
    rc = rc ? rc : check_worker_fields(c, start, root, sub);
    return rc ? rc : check_if_exists(c, start, root, sub);
}
