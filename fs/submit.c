/* What is written to /submit, parsed and validated: the JSON form and the
 * `PATH JSON` shorthand. Checks run in the order of the SPEC's precedence
 * (text size, NUL, JSON syntax, fields, points, experiment on disk), and
 * every refusal names the byte of the caller's text it is about. */
#include "submit_i.h"
#include "json.h"
#include "sha256.h"
#include "utf8.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int tag_char(char ch, int first);

int clab_subp_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Line and column of byte pos counted as jansson counts them (1-based,
 * columns in characters), so that its positions and ours agree. A pos at
 * or past the end is the column just after the last character. */
void clab_submit_locate(clab_submit_error_t *err, const char *text, size_t len, long pos)
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

int clab_subp_refuse(const ctx_t *c, int code, long pos, const char *fmt, ...)
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
    clab_submit_locate(c->err, c->text, c->len, pos);
    return -code;
}

/* Where `"key"` is followed by a colon in text[from, len). jansson keeps no
 * positions of values; this finds what a person would point at. Keys
 * written with escapes are not found (-1). */
long clab_subp_find_key(const ctx_t *c, size_t from, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = from; i + k + 2 <= c->len; i++) {
        if (c->text[i] != '"' || memcmp(c->text + i + 1, key, k) ||
            c->text[i + k + 1] != '"')
            continue;
        size_t j = i + k + 2;
        while (j < c->len && clab_subp_is_space(c->text[j]))
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
 * after it, or (c->next) with the next job on a later line. -EAGAIN (err filled as EINVAL
 * for the close) when the text could still become valid: jansson hit the end of input, or
 * failed on a token or character that the end of the text cut short (a later write may
 * complete it; text ending in white space cannot be such a cut). */
static int parse_json(const ctx_t *c, size_t start, size_t end, json_t **out)
{
    json_error_t je;
    json_t *v = json_loadb(c->text + start, end - start,
                           JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
    if (v) {
        size_t used = start + (size_t)je.position;
        while (used < end && clab_subp_is_space(c->text[used]))
            used++;
        /* Several jobs per write: the next one starts on a line of its
         * own. */
        if (used < end && c->next &&
            memchr(c->text + start + je.position, '\n', used - start - je.position)) {
            *c->next = used;
        } else if (used < end) {
            json_decref(v);
            return clab_subp_refuse(
                c, EINVAL, (long)used,
                "unexpected text after the JSON object (one job per %s)",
                c->next ? "line" : "write");
        }
        *out = v;
        return 0;
    }
    enum json_error_code code = json_error_code(&je);
    size_t at = start + (size_t)(je.position > 0 ? je.position : 0);
    if (code == json_error_out_of_memory)
        return clab_subp_refuse(c, ENOMEM, -1, "out of memory");
    if (code == json_error_premature_end_of_input) {
        clab_subp_refuse(c, EINVAL, (long)at, "incomplete JSON: %s", je.text);
        return -EAGAIN;
    }
    /* jansson's position is just after the offending token, except for a
     * bad byte, where it is the byte itself. */
    long pos = code == json_error_invalid_utf8 || at == start ? (long)at : (long)at - 1;
    int rc = clab_subp_refuse(c, EINVAL, pos, "invalid JSON: %s", je.text);
    size_t cut = clab_utf8_cut(c->text, end);
    if (end == c->len &&
        ((cut < end && at >= cut) || (at >= end && cut_token(c->text, start, end))))
        return -EAGAIN;
    return rc;
}

int clab_subp_check_path(const ctx_t *c, const char *path, long pos)
{
    char shown[80];
    clab_json_show(shown, sizeof shown, path);
    if (path[0] != '/')
        return clab_subp_refuse(c, EINVAL, pos, "experiment %s is not an absolute path",
                                shown);
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return clab_subp_refuse(
                c, EINVAL, pos,
                "experiment %s has a \".\" or \"..\" component; write the path "
                "without them",
                shown);
        p += n;
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
            return clab_subp_find_key(c, from, key);
    }
    return -1;
}

static int check_points(const ctx_t *c, clab_submission_t *sub, long at,
                        const clab_submit_limits_t *lim)
{
    size_t size = clab_space_size(sub->space), reps = (size_t)sub->repetitions;
    if (size == SIZE_MAX || size > SIZE_MAX / reps)
        return clab_subp_refuse(c, E2BIG, at,
                                "the job has more than %zu points, over the limit of %zu",
                                SIZE_MAX - 1, lim->max_points);
    sub->points = size * reps;
    if (sub->points <= lim->max_points)
        return 0;
    if (reps > 1)
        return clab_subp_refuse(
            c, E2BIG, at, "%zu points (%zu x %zu repetitions) is over the limit of %zu",
            sub->points, size, reps, lim->max_points);
    return clab_subp_refuse(c, E2BIG, at, "%zu points is over the limit of %zu",
                            sub->points, lim->max_points);
}

/* The body of a task as the controller gets it:
 * {"experiment":E,"job":J,"params":P,"tag":T,"timeout":X}, plus
 * ,"arguments":A and ,"worker":true (or "framed") when the job has them.
 * Its keys and punctuation, the longest job id (notebook_ingest.c makes
 * them in 64 bytes), the longest tag and the longest number. */
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
    /* ,"files":{"NAME":"SHA256",...}: a task names its files; their data
     * travel beside it. */
    for (size_t i = 0; i < sub->nfiles; i++)
        task += (i ? 1 : sizeof ",\"files\":{}" - 1) + strlen(sub->files[i].name) +
                sizeof "\"\":\"\"" - 1 + 64;
    if (sub->worker)
        task += sizeof ",\"worker\":\"framed\"" - 1; /* or the shorter true */
    clab_buf_free(&b);
    if (rc || params == SIZE_MAX || (sub->arguments && !args))
        rc = -ENOMEM;
    free(args);
    if (rc)
        return clab_subp_refuse(c, ENOMEM, -1, "out of memory");
    if (task <= CLAB_SUBMIT_MAX_TASK)
        return 0;
    return clab_subp_refuse(
        c, E2BIG, at,
        "a point's task would be up to %zu bytes, over the limit of %d: "
        "its parameters%s are too big",
        task, CLAB_SUBMIT_MAX_TASK, sub->arguments ? " and arguments" : "");
}

/* The job starting at b (alone in its text, or one of several ending
 * where the next starts) without its files' base64 is within the text
 * limit. */
static int check_files_text(const ctx_t *c, const clab_submission_t *sub, size_t b,
                            const clab_submit_limits_t *lim)
{
    size_t len = (c->next ? *c->next - b : c->len) - sub->files_text;
    if (!sub->nfiles || len <= lim->max_text)
        return 0;
    return clab_subp_refuse(
        c, E2BIG, -1, "the job is %zu bytes without its files, over the limit of %zu",
        len, lim->max_text);
}

static int check_executable(const ctx_t *c, const char *path, long at)
{
    char shown[80];
    struct stat st;
    clab_json_show(shown, sizeof shown, path);
    if (stat(path, &st)) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return clab_subp_refuse(c, ENOENT, at, "experiment %s: no such file", shown);
        return clab_subp_refuse(c, EACCES, at, "experiment %s: %s", shown, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK))
        return clab_subp_refuse(c, EACCES, at,
                                "experiment %s: not an executable regular file", shown);
    return 0;
}

size_t clab_submit_text_limit(const clab_submit_limits_t *lim, const char *text,
                              size_t len)
{
    return memmem(text, len, "\"files\"", 7) ? lim->max_text + CLAB_SUBMIT_MAX_FILES_TEXT
                                             : lim->max_text;
}

/* The checks on the text as a whole; [*b, *e) is the job without the
 * white space around it. A text that names files may be longer by their
 * base64 (parse_job checks the rest of it). */
static int check_text(const ctx_t *c, const clab_submit_limits_t *lim, size_t *b,
                      size_t *e)
{
    const char *text = c->text;
    size_t len = c->len;
    if (len > clab_submit_text_limit(lim, text, len))
        return clab_subp_refuse(c, E2BIG, -1,
                                "the job is %zu bytes, over the limit of %zu", len,
                                lim->max_text);
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return clab_subp_refuse(c, EINVAL, (long)(nul - text),
                                "NUL byte at offset %ld: a job is text",
                                (long)(nul - text));
    *b = 0;
    *e = len;
    while (*b < *e && clab_subp_is_space(text[*b]))
        (*b)++;
    while (*e > *b && clab_subp_is_space(text[*e - 1]))
        (*e)--;
    if (*b == *e)
        return clab_subp_refuse(c, EINVAL, -1,
                                "empty job: expected a JSON object or `PATH {params}`");
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
    while (p < e && !clab_subp_is_space(text[p]))
        p++;
    for (q = p; q < e && clab_subp_is_space(text[q]); q++)
        ;
    /* A '{' in the path is most likely parameters written without the
     * white space that separates them. */
    const char *hint = memchr(text + b, '{', p - b)
                           ? " (separate it from the path with white space)"
                           : "";
    if (q == e) {
        clab_subp_refuse(c, EINVAL, (long)e,
                         "incomplete job: expected a parameters object after the path%s",
                         hint);
        return -EAGAIN;
    }
    /* The path becomes JSON text (metadata) later: refuse what JSON
     * cannot hold now rather than fail then. */
    json_t *s = json_stringn(text + b, p - b);
    json_decref(s);
    if (!s)
        return clab_subp_refuse(c, EINVAL, (long)b, "experiment path is not valid UTF-8");
    sub->experiment = strndup(text + b, p - b);
    if (!sub->experiment)
        return clab_subp_refuse(c, ENOMEM, -1, "out of memory");
    f->exp_at = (long)b;
    int rc = clab_subp_check_path(c, sub->experiment, f->exp_at);
    if (rc)
        return rc;
    if (text[q] != '{')
        return clab_subp_refuse(
            c, EINVAL, (long)q, "expected a JSON object of parameters after the path%s",
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
    rc = clab_subp_check_fields(c, b, f->root, sub, &f->params, &f->params_at);
    if (rc)
        return rc;
    f->exp_at = clab_subp_find_key(c, b, "experiment");
    return 0;
}

/* One job at text[b] (not white space); the text ends at e. */
static int parse_job(const ctx_t *c, const clab_submit_limits_t *lim, size_t b, size_t e,
                     clab_submission_t **out)
{
    found_t f = {NULL, NULL, 0, -1};
    clab_submission_t *sub = NULL;
    int rc;
    if (c->text[b] != '{' && c->text[b] != '/')
        return clab_subp_refuse(c, EINVAL, (long)b,
                                "expected a JSON object or `PATH {params}`");
    if (!(sub = calloc(1, sizeof *sub)))
        return clab_subp_refuse(c, ENOMEM, -1, "out of memory");
    sub->repetitions = 1;
    sub->tag_at = -1;
    rc = c->text[b] == '{' ? parse_object(c, b, e, sub, &f)
                           : parse_shorthand(c, b, e, sub, &f);
    if (rc)
        goto fail;
    if (sub->explicit_points)
        rc = clab_space_new_points(f.params, &sub->space, c->err);
    else
        rc = clab_space_new_design(f.params, sub->design, &sub->space, c->err);
    if (rc == -EINVAL) {
        long at =
            sub->explicit_points ? -1 : find_bad_parameter(c, f.params_at, f.params);
        clab_submit_locate(c->err, c->text, c->len, at < 0 ? (long)f.params_at : at);
    }
    if (rc || (rc = check_files_text(c, sub, b, lim)) ||
        (rc = check_points(c, sub, (long)f.params_at, lim)) ||
        (rc = check_task_size(c, sub, (long)f.params_at)) ||
        (rc = check_executable(c, sub->experiment, f.exp_at)))
        goto fail;
    /* Once per submit, here, where the file was just checked: the identity
     * every record of it carries (clab.experiment_sha256). A file that can
     * be run but not read has none, and its records have no such key. */
    if (clab_sha256_file(sub->experiment, sub->sha256) < 0)
        sub->sha256[0] = '\0';
    if (!sub->explicit_points)
        sub->parameters = json_incref(f.params);
    json_decref(f.root);
    *out = sub;
    return 0;
fail:
    json_decref(f.root);
    clab_submission_destroy(&sub);
    return rc;
}

static const clab_submit_limits_t *start(ctx_t *c, const clab_submit_limits_t *lim)
{
    static const clab_submit_limits_t defaults = {CLAB_SUBMIT_MAX_TEXT,
                                                  CLAB_SUBMIT_MAX_POINTS};
    c->err->code = 0;
    c->err->message[0] = '\0';
    c->err->line = c->err->column = 0;
    c->err->position = -1;
    return lim ? lim : &defaults;
}

int clab_submission_parse(const char *text, size_t len, const clab_submit_limits_t *lim,
                          clab_submission_t **out, clab_submit_error_t *err)
{
    clab_submit_error_t local;
    ctx_t c = {text, len, err ? err : &local, NULL};
    size_t b = 0, e = 0;
    int rc;
    *out = NULL;
    lim = start(&c, lim);
    if ((rc = check_text(&c, lim, &b, &e)) != 0)
        return rc;
    return parse_job(&c, lim, b, e, out);
}

int clab_submissions_parse(const char *text, size_t len, const clab_submit_limits_t *lim,
                           clab_submission_t ***out, clab_submit_error_t *err)
{
    clab_submit_error_t local;
    size_t b = 0, e = 0, next = 0, n = 0, total = 0;
    ctx_t c = {text, len, err ? err : &local, &next};
    clab_submission_t **subs = NULL;
    int rc;
    *out = NULL;
    lim = start(&c, lim);
    if ((rc = check_text(&c, lim, &b, &e)) != 0)
        return rc;
    while (b < e) {
        clab_submission_t **more = realloc(subs, (n + 2) * sizeof *subs);
        if (!more) {
            rc = clab_subp_refuse(&c, ENOMEM, -1, "out of memory");
            goto fail;
        }
        subs = more;
        subs[n] = subs[n + 1] = NULL;
        next = e;
        if ((rc = parse_job(&c, lim, b, e, &subs[n])) < 0)
            goto fail;
        total += subs[n++]->points;
        if (total > lim->max_points) {
            rc = clab_subp_refuse(
                &c, E2BIG, (long)b,
                "the %zu jobs of this write have %zu points together, over the limit "
                "of %zu",
                n, total, lim->max_points);
            goto fail;
        }
        b = next;
    }
    *out = subs;
    return (int)n;
fail:
    clab_submissions_destroy(&subs);
    return rc;
}

void clab_submissions_destroy(clab_submission_t ***psubs)
{
    clab_submission_t **subs = *psubs;
    for (size_t i = 0; subs && subs[i]; i++)
        clab_submission_destroy(&subs[i]);
    free(subs);
    *psubs = NULL;
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
    json_decref(s->provenance);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].name);
        free(s->files[i].data);
    }
    free(s->files);
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
