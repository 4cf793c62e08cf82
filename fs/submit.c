/* What is written to /submit, parsed and validated: the JSON form and the
 * `PATH JSON` shorthand. Checks run in the order of the SPEC's precedence
 * (text size, NUL, JSON syntax, fields, points, experiment on disk), and
 * every refusal names the byte of the caller's text it is about. */
#include "submit.h"
#include "json.h"
#include "utf8.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG_RULE "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
#define FIELDS                                                                           \
    "experiment, parameters, tag, description, repetitions, timeout, arguments, worker"

typedef struct {
    const char *text;
    size_t len;
    clab_submit_error_t *err;
} ctx_t;

static const char *const known_fields[] = {"experiment",  "parameters",  "tag",
                                           "description", "repetitions", "timeout",
                                           "arguments",   "worker"};

static int tag_char(char ch, int first);

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Line and column of byte pos counted as jansson counts them (1-based,
 * columns in characters), so that its positions and ours agree. A pos at
 * or past the end is the column just after the last character. */
static void locate(clab_submit_error_t *err, const char *text, size_t len, long pos)
{
    err->position = pos;
    err->line = err->column = 0;
    if (pos < 0)
        return;
    size_t p = (size_t)pos;
    int line = 1, col = 0;
    for (size_t i = 0; i < len && i <= p; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' && i < p) {
            line++;
            col = 0;
        } else if ((c & 0xC0) != 0x80) {
            col++;
        }
    }
    if (p >= len || col == 0) /* past the end, or a stray continuation byte */
        col++;
    err->line = line;
    err->column = col;
}

static int refuse(const ctx_t *c, int code, long pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(const ctx_t *c, int code, long pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
    va_end(ap);
    /* Messages quote user text and jansson's tokens: keep them one line
     * whatever those hold. */
    for (char *m = c->err->message; *m; m++)
        if ((unsigned char)*m < 0x20)
            *m = ' ';
    c->err->code = code;
    locate(c->err, c->text, c->len, pos);
    return -code;
}

/* Where `"key"` is followed by a colon in text[from, len). jansson keeps no
 * positions of values; this finds what a person would point at. Keys
 * written with escapes are not found (-1). */
static long find_key(const ctx_t *c, size_t from, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = from; i + k + 2 <= c->len; i++) {
        if (c->text[i] != '"' || memcmp(c->text + i + 1, key, k) ||
            c->text[i + k + 1] != '"')
            continue;
        size_t j = i + k + 2;
        while (j < c->len && is_space(c->text[j]))
            j++;
        if (j < c->len && c->text[j] == ':')
            return (long)i;
    }
    return -1;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_hex(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Whether text[start, end) ends in a token that the end of the text cut
 * short and more text could complete: a prefix of true/false/null, a
 * number stopped after '-', '.', 'e' or a sign, a string escape missing
 * its letters. A complete token (`}`, `"a"`, `12`) cannot be mended. */
static int cut_token(const char *t, size_t start, size_t end)
{
    static const char *const words[] = {"true", "false", "null"};
    size_t i = end;
    while (i > start && (tag_char(t[i - 1], 1) || t[i - 1] == '.' || t[i - 1] == '+' ||
                         t[i - 1] == '-'))
        i--;
    size_t n = end - i;
    for (size_t w = 0; w < sizeof words / sizeof *words; w++)
        if (n > 0 && n < strlen(words[w]) && !memcmp(t + i, words[w], n))
            return 1;
    char last = t[end - 1];
    if (n > 0 &&
        (last == '-' || last == '+' || last == '.' || last == 'e' || last == 'E') &&
        (t[i] == '-' || is_digit(t[i])))
        return 1;
    if (t[end - 1] == '\\')
        return 1;
    size_t h = 0; /* `\u` and up to 3 of its 4 hex digits */
    while (h < 3 && end - h > start && is_hex(t[end - h - 1]))
        h++;
    return end - start >= h + 2 && t[end - h - 1] == 'u' && t[end - h - 2] == '\\';
}

/* Parses text[start, end) as one JSON value with nothing but white space
 * after it. -EAGAIN (err filled as EINVAL for the close) when the text
 * could still become valid: jansson hit the end of input, or failed on a
 * token or character that the end of the text cut short (a later write
 * may complete it; text ending in white space cannot be such a cut). */
static int parse_json(const ctx_t *c, size_t start, size_t end, json_t **out)
{
    json_error_t je;
    json_t *v = json_loadb(c->text + start, end - start,
                           JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
    if (v) {
        size_t used = start + (size_t)je.position;
        while (used < end && is_space(c->text[used]))
            used++;
        if (used < end) {
            json_decref(v);
            return refuse(c, EINVAL, (long)used,
                          "unexpected text after the JSON object (one job per write)");
        }
        *out = v;
        return 0;
    }
    enum json_error_code code = json_error_code(&je);
    size_t at = start + (size_t)(je.position > 0 ? je.position : 0);
    if (code == json_error_out_of_memory)
        return refuse(c, ENOMEM, -1, "out of memory");
    if (code == json_error_premature_end_of_input) {
        refuse(c, EINVAL, (long)at, "incomplete JSON: %s", je.text);
        return -EAGAIN;
    }
    /* jansson's position is just after the offending token, except for a
     * bad byte, where it is the byte itself. */
    long pos = code == json_error_invalid_utf8 || at == start ? (long)at : (long)at - 1;
    int rc = refuse(c, EINVAL, pos, "invalid JSON: %s", je.text);
    size_t cut = clab_utf8_cut(c->text, end);
    if (end == c->len &&
        ((cut < end && at >= cut) || (at >= end && cut_token(c->text, start, end))))
        return -EAGAIN;
    return rc;
}

static int check_path(const ctx_t *c, const char *path, long pos)
{
    char shown[80];
    clab_json_show(shown, sizeof shown, path);
    if (path[0] != '/')
        return refuse(c, EINVAL, pos, "experiment %s is not an absolute path", shown);
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return refuse(c, EINVAL, pos,
                          "experiment %s has a \".\" or \"..\" component; write the path "
                          "without them",
                          shown);
        p += n;
    }
    return 0;
}

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
            return refuse(c, EINVAL, find_key(c, start, key),
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
    long at = find_key(c, start, "experiment");
    if (!v)
        return refuse(c, EINVAL, -1,
                      "missing field \"experiment\" (the absolute path of the program)");
    if (!json_is_string(v))
        return refuse(c, EINVAL, at,
                      "field \"experiment\" must be a string (an absolute path), not %s",
                      clab_json_type_name(v));
    sub->experiment = strdup(json_string_value(v));
    if (!sub->experiment)
        return refuse(c, ENOMEM, -1, "out of memory");
    rc = check_path(c, sub->experiment, at);
    if (rc)
        return rc;

    v = json_object_get(root, "parameters");
    at = find_key(c, start, "parameters");
    if (!v)
        return refuse(c, EINVAL, -1,
                      "missing field \"parameters\" (an object such as {\"x\": [1, 2]})");
    if (!json_is_object(v))
        return refuse(c, EINVAL, at, "field \"parameters\" must be an object, not %s",
                      clab_json_type_name(v));
    *params = v;
    *params_at = at >= 0 ? (size_t)at : start;

    if ((v = json_object_get(root, "tag"))) {
        at = find_key(c, start, "tag");
        if (!json_is_string(v))
            return refuse(c, EINVAL, at, "field \"tag\" must be a string, not %s",
                          clab_json_type_name(v));
        if (!clab_tag_valid(json_string_value(v))) {
            clab_json_show(shown, sizeof shown, json_string_value(v));
            return refuse(c, EINVAL, at, "tag %s is invalid: use " TAG_RULE, shown);
        }
        if (!(sub->tag = strdup(json_string_value(v))))
            return refuse(c, ENOMEM, -1, "out of memory");
    }
    if ((v = json_object_get(root, "description"))) {
        if (!json_is_string(v))
            return refuse(c, EINVAL, find_key(c, start, "description"),
                          "field \"description\" must be a string, not %s",
                          clab_json_type_name(v));
        if (!(sub->description = strdup(json_string_value(v))))
            return refuse(c, ENOMEM, -1, "out of memory");
    }
    if ((v = json_object_get(root, "repetitions"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return refuse(c, EINVAL, find_key(c, start, "repetitions"),
                          "field \"repetitions\" must be an integer >= 1");
        json_int_t r = json_integer_value(v);
        sub->repetitions = r > LONG_MAX ? LONG_MAX : (long)r;
    }
    if ((v = json_object_get(root, "timeout"))) {
        if (!json_is_number(v) || !(json_number_value(v) > 0))
            return refuse(c, EINVAL, find_key(c, start, "timeout"),
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
        if (depth == 0 && i == 0 && !is_space(ch))
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

/* Worker mode's fields: argv after the path, each a C string for execve. */
static int check_worker_fields(const ctx_t *c, size_t start, json_t *root,
                               clab_submission_t *sub)
{
    json_t *v = json_object_get(root, "arguments"), *a;
    long at = find_key(c, start, "arguments");
    size_t i;
    if (v && !json_is_array(v))
        return refuse(c, EINVAL, at,
                      "field \"arguments\" must be an array of strings, not %s",
                      clab_json_type_name(v));
    if (json_array_size(v) > CLAB_SUBMIT_MAX_ARGS)
        return refuse(c, EINVAL, at < 0 ? at : find_element(c, at, CLAB_SUBMIT_MAX_ARGS),
                      "field \"arguments\" has %zu strings, over the limit of %d",
                      json_array_size(v), CLAB_SUBMIT_MAX_ARGS);
    json_array_foreach(v, i, a)
    {
        long el = at < 0 ? at : find_element(c, at, i);
        if (!json_is_string(a))
            return refuse(c, EINVAL, el, "arguments[%zu] must be a string, not %s", i,
                          clab_json_type_name(a));
        if (memchr(json_string_value(a), '\0', json_string_length(a)))
            return refuse(c, EINVAL, el, "arguments[%zu] holds a NUL character", i);
        if (json_string_length(a) > CLAB_SUBMIT_MAX_ARG)
            return refuse(c, EINVAL, el,
                          "arguments[%zu] is %zu bytes, over the limit of %d", i,
                          json_string_length(a), CLAB_SUBMIT_MAX_ARG);
    }
    if (json_array_size(v) > 0)
        sub->arguments = json_incref(v);
    if ((v = json_object_get(root, "worker"))) {
        if (!json_is_boolean(v))
            return refuse(c, EINVAL, find_key(c, start, "worker"),
                          "field \"worker\" must be true or false, not %s",
                          clab_json_type_name(v));
        sub->worker = json_is_true(v);
    }
    return 0;
}

/* clab_space_new says what is wrong but not where: the first parameter
 * (in text order, as clab_space_new checks them) that fails alone is the
 * one, and its name is found in the text. */
static long find_bad_parameter(const ctx_t *c, size_t from, json_t *params)
{
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v)
    {
        json_t *one = json_object();
        clab_space_t *sp = NULL;
        int bad = !one || json_object_set(one, key, v) || clab_space_new(one, &sp, NULL);
        clab_space_destroy(&sp);
        json_decref(one);
        if (bad)
            return find_key(c, from, key);
    }
    return -1;
}

static int check_points(const ctx_t *c, clab_submission_t *sub, long at,
                        const clab_submit_limits_t *lim)
{
    size_t size = clab_space_size(sub->space), reps = (size_t)sub->repetitions;
    if (size == SIZE_MAX || size > SIZE_MAX / reps)
        return refuse(c, E2BIG, at,
                      "the job has more than %zu points, over the limit of %zu",
                      SIZE_MAX - 1, lim->max_points);
    sub->points = size * reps;
    if (sub->points <= lim->max_points)
        return 0;
    if (reps > 1)
        return refuse(c, E2BIG, at,
                      "%zu points (%zu x %zu repetitions) is over the limit of %zu",
                      sub->points, size, reps, lim->max_points);
    return refuse(c, E2BIG, at, "%zu points is over the limit of %zu", sub->points,
                  lim->max_points);
}

/* The body of a task as the controller gets it:
 * {"experiment":E,"job":J,"params":P,"tag":T,"timeout":X}, plus
 * ,"arguments":A and ,"worker":true when the job has them. Its keys and
 * punctuation, the longest job id (notebook_ingest.c makes them in 64
 * bytes), the longest tag and the longest number. */
#define TASK_OVERHEAD                                                                    \
    (sizeof "{\"experiment\":,\"job\":,\"params\":,\"tag\":,\"timeout\":}" - 1 +         \
     (63 + 2) + (128 + 2) + 24)

/* The task of the job's largest point must fit the controller's limit,
 * found from the axes without building a point. */
static int check_task_size(const ctx_t *c, const clab_submission_t *sub, long at)
{
    clab_buf_t b = {0};
    size_t params = clab_space_max_point_bytes(sub->space);
    int rc = clab_json_dump_string(&b, sub->experiment, strlen(sub->experiment));
    size_t task = TASK_OVERHEAD + b.len + params;
    char *args = sub->arguments ? clab_json_dumps(sub->arguments) : NULL;
    if (args)
        task += sizeof ",\"arguments\":" - 1 + strlen(args);
    if (sub->worker)
        task += sizeof ",\"worker\":true" - 1;
    clab_buf_free(&b);
    if (rc || params == SIZE_MAX || (sub->arguments && !args))
        rc = -ENOMEM;
    free(args);
    if (rc)
        return refuse(c, ENOMEM, -1, "out of memory");
    if (task <= CLAB_SUBMIT_MAX_TASK)
        return 0;
    return refuse(c, E2BIG, at,
                  "a point's task would be up to %zu bytes, over the limit of %d: "
                  "its parameters%s are too big",
                  task, CLAB_SUBMIT_MAX_TASK, sub->arguments ? " and arguments" : "");
}

static int check_executable(const ctx_t *c, const char *path, long at)
{
    char shown[80];
    struct stat st;
    clab_json_show(shown, sizeof shown, path);
    if (stat(path, &st)) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return refuse(c, ENOENT, at, "experiment %s: no such file", shown);
        return refuse(c, EACCES, at, "experiment %s: %s", shown, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK))
        return refuse(c, EACCES, at, "experiment %s: not an executable regular file",
                      shown);
    return 0;
}

/* The checks on the text as a whole; [*b, *e) is the job without the
 * white space around it. */
static int check_text(const ctx_t *c, const clab_submit_limits_t *lim, size_t *b,
                      size_t *e)
{
    const char *text = c->text;
    size_t len = c->len;
    if (len > lim->max_text)
        return refuse(c, E2BIG, -1, "the job is %zu bytes, over the limit of %zu", len,
                      lim->max_text);
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return refuse(c, EINVAL, (long)(nul - text),
                      "NUL byte at offset %ld: a job is text", (long)(nul - text));
    *b = 0;
    *e = len;
    while (*b < *e && is_space(text[*b]))
        (*b)++;
    while (*e > *b && is_space(text[*e - 1]))
        (*e)--;
    if (*b == *e)
        return refuse(c, EINVAL, -1,
                      "empty job: expected a JSON object or `PATH {params}`");
    if (text[*b] != '{' && text[*b] != '/')
        return refuse(c, EINVAL, (long)*b, "expected a JSON object or `PATH {params}`");
    return 0;
}

/* What parsing found: the JSON text (root), the parameters object in it
 * and where it starts, and where the experiment is named. */
typedef struct {
    json_t *root, *params;
    size_t params_at;
    long exp_at;
} found_t;

/* The `PATH {params}` shorthand in [b, e). */
static int parse_shorthand(const ctx_t *c, size_t b, size_t e, clab_submission_t *sub,
                           found_t *f)
{
    const char *text = c->text;
    size_t p = b, q;
    while (p < e && !is_space(text[p]))
        p++;
    for (q = p; q < e && is_space(text[q]); q++)
        ;
    /* A '{' in the path is most likely parameters written without the
     * white space that separates them. */
    const char *hint = memchr(text + b, '{', p - b)
                           ? " (separate it from the path with white space)"
                           : "";
    if (q == e) {
        refuse(c, EINVAL, (long)e,
               "incomplete job: expected a parameters object after the path%s", hint);
        return -EAGAIN;
    }
    /* The path becomes JSON text (metadata) later: refuse what JSON
     * cannot hold now rather than fail then. */
    json_t *s = json_stringn(text + b, p - b);
    json_decref(s);
    if (!s)
        return refuse(c, EINVAL, (long)b, "experiment path is not valid UTF-8");
    sub->experiment = strndup(text + b, p - b);
    if (!sub->experiment)
        return refuse(c, ENOMEM, -1, "out of memory");
    f->exp_at = (long)b;
    int rc = check_path(c, sub->experiment, f->exp_at);
    if (rc)
        return rc;
    if (text[q] != '{')
        return refuse(c, EINVAL, (long)q,
                      "expected a JSON object of parameters after the path%s",
                      *hint ? hint : " (a path with white space needs the JSON form)");
    rc = parse_json(c, q, e, &f->root);
    if (rc)
        return rc;
    f->params = f->root;
    f->params_at = q;
    return 0;
}

/* The JSON form in [b, e). */
static int parse_object(const ctx_t *c, size_t b, size_t e, clab_submission_t *sub,
                        found_t *f)
{
    int rc = parse_json(c, b, e, &f->root);
    if (rc)
        return rc;
    rc = check_fields(c, b, f->root, sub, &f->params, &f->params_at);
    rc = rc ? rc : check_worker_fields(c, b, f->root, sub);
    if (rc)
        return rc;
    f->exp_at = find_key(c, b, "experiment");
    return 0;
}

int clab_submission_parse(const char *text, size_t len, const clab_submit_limits_t *lim,
                          clab_submission_t **out, clab_submit_error_t *err)
{
    static const clab_submit_limits_t defaults = {CLAB_SUBMIT_MAX_TEXT,
                                                  CLAB_SUBMIT_MAX_POINTS};
    clab_submit_error_t local;
    ctx_t c = {text, len, err ? err : &local};
    clab_submission_t *sub = NULL;
    found_t f = {NULL, NULL, 0, -1};
    size_t b = 0, e = 0;
    int rc;

    *out = NULL;
    c.err->code = 0;
    c.err->message[0] = '\0';
    c.err->line = c.err->column = 0;
    c.err->position = -1;
    if (!lim)
        lim = &defaults;
    if ((rc = check_text(&c, lim, &b, &e)) != 0)
        return rc;
    sub = calloc(1, sizeof *sub);
    if (!sub)
        return refuse(&c, ENOMEM, -1, "out of memory");
    sub->repetitions = 1;

    rc = text[b] == '{' ? parse_object(&c, b, e, sub, &f)
                        : parse_shorthand(&c, b, e, sub, &f);
    if (rc)
        goto fail;
    rc = clab_space_new(f.params, &sub->space, c.err);
    if (rc == -EINVAL)
        locate(c.err, text, len, find_bad_parameter(&c, f.params_at, f.params));
    if (rc)
        goto fail;
    rc = check_points(&c, sub, (long)f.params_at, lim);
    if (rc)
        goto fail;
    rc = check_task_size(&c, sub, (long)f.params_at);
    if (rc)
        goto fail;
    rc = check_executable(&c, sub->experiment, f.exp_at);
    if (rc)
        goto fail;

    sub->parameters = json_incref(f.params);
    json_decref(f.root);
    *out = sub;
    return 0;
fail:
    json_decref(f.root);
    clab_submission_destroy(&sub);
    return rc;
}

void clab_submission_destroy(clab_submission_t **sub)
{
    if (!sub || !*sub)
        return;
    clab_submission_t *s = *sub;
    free(s->experiment);
    json_decref(s->parameters);
    clab_space_destroy(&s->space);
    free(s->tag);
    free(s->description);
    json_decref(s->arguments);
    free(s);
    *sub = NULL;
}

static int tag_char(char ch, int first)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9') || (!first && (ch == '.' || ch == '_' || ch == '-'));
}

int clab_tag_valid(const char *tag)
{
    if (!tag || !tag_char(tag[0], 1))
        return 0;
    for (size_t i = 1; tag[i]; i++)
        if (i >= 128 || !tag_char(tag[i], 0))
            return 0;
    return 1;
}
