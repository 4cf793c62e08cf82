/* Builds and reads result records. The metadata keys are SPEC's ("The
 * experiment contract"); every record carries all of them, so that the
 * notebook's columns are the same whether a point ran or not. */
#include "record.h"

#include "json.h"
#include "log.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON string from arbitrary bytes (stderr, paths, ids): json_stringn
 * refuses invalid UTF-8, so bad bytes and NULs become '?'; one_line also
 * turns line breaks into spaces, for the exception. */
static json_t *text_value(const char *s, size_t n, int one_line)
{
    const unsigned char *p = (const unsigned char *)s;
    char *t = malloc(n + 1);
    size_t i = 0, j = 0;

    if (!t)
        return NULL;
    while (i < n) {
        size_t len = clab_utf8_len(p + i, n - i);
        if (len == 0 || p[i] == '\0') {
            t[j++] = '?';
            i++;
        } else if (one_line && (p[i] == '\n' || p[i] == '\r')) {
            t[j++] = ' ';
            i++;
        } else {
            memcpy(t + j, p + i, len);
            i += len;
            j += len;
        }
    }
    json_t *v = json_stringn(t, j);
    free(t);
    return v;
}

/* Output that is not JSON fails with its head as the traceback, stderr's
 * tail after it; at most this much of it. */
#define HEAD_MAX 1024

static json_t *cstr_value(const char *s)
{
    return text_value(s ? s : "", s ? strlen(s) : 0, 0);
}

static json_t *iso_value(double t)
{
    char when[40];
    clab_iso8601(when, t);
    return json_string(when);
}

/* An envelope's metadata goes over ours (epyc's own times and names say
 * more than the engine's), but clabfs's names and the status are the
 * record's: what the point did is decided here, not by the experiment. */
static int merge_extra(json_t *md, const json_t *extra)
{
    const char *k;
    json_t *v;
    int bad = 0;
    json_object_foreach((json_t *)extra, k, v)
    {
        if (strncmp(k, "clab.", 5) == 0 || strcmp(k, "epyc.experiment.status") == 0 ||
            strcmp(k, "epyc.experiment.exception") == 0 ||
            strcmp(k, "epyc.experiment.traceback") == 0)
            continue;
        bad |= json_object_set(md, k, v);
    }
    return bad;
}

/* The traceback: the output's head when it was not JSON, then the
 * traceback given (stderr's tail, or the envelope's). */
static json_t *traceback_value(const clab_record_info_t *in)
{
    const char *tb = in->traceback ? in->traceback : "";
    size_t tb_len = in->traceback ? in->traceback_len : 0;
    if (!in->output_head)
        return text_value(tb, tb_len, 0);
    clab_buf_t b = {0};
    int rc = clab_buf_add(&b, in->output_head, in->output_head_len);
    if (!rc && tb_len > 0)
        rc = clab_buf_puts(&b, "stderr:\n") || clab_buf_add(&b, tb, tb_len);
    json_t *v = rc ? NULL : text_value(b.data, b.len, 0);
    clab_buf_free(&b);
    return v;
}

/* clabfs's own names, which every record has: who ran it and how it
 * exited. json_object_set_new takes (and frees) the value even on
 * failure, and fails on a NULL one: OR-ing the results covers every
 * ENOMEM. */
static int add_clab_keys(json_t *md, const clab_record_info_t *in)
{
    int bad = json_object_set_new(md, "clab.job", cstr_value(in->job));
    bad |= json_object_set_new(md, "clab.engine", cstr_value(in->engine_id));
    bad |= json_object_set_new(md, "clab.host", cstr_value(in->host));
    bad |= json_object_set_new(md, "clab.exit_status", json_integer(in->exit_status));
    return bad;
}

static json_t *build_metadata(const clab_record_info_t *in, int ok)
{
    json_t *md = json_object();
    int bad = !md;

    if (bad)
        return NULL;
    bad |=
        json_object_set_new(md, "epyc.experiment.classname", cstr_value(in->experiment));
    bad |= json_object_set_new(md, "epyc.experiment.start_time", iso_value(in->start));
    bad |= json_object_set_new(md, "epyc.experiment.end_time", iso_value(in->end));
    bad |=
        json_object_set_new(md, "epyc.experiment.elapsed_time", json_real(in->elapsed));
    bad |= json_object_set_new(md, "epyc.experiment.experiment_time",
                               json_real(in->experiment_time));
    /* A plain executable has no setUp/tearDown: 0, as epyc's own
     * Experiment says when they do nothing; clab-python's envelope gives
     * epyc's measured ones, merged below. */
    bad |= json_object_set_new(md, "epyc.experiment.setup_time", json_real(0));
    bad |= json_object_set_new(md, "epyc.experiment.teardown_time", json_real(0));
    bad |= json_object_set_new(md, "epyc.experiment.status", json_boolean(ok));
    if (!ok) {
        const char *e = in->exception ? in->exception : "";
        bad |= json_object_set_new(md, "epyc.experiment.exception",
                                   text_value(e, strlen(e), 1));
        bad |= json_object_set_new(md, "epyc.experiment.traceback", traceback_value(in));
    }
    bad |= add_clab_keys(md, in);
    bad |= merge_extra(md, in->extra_metadata);
    if (bad) {
        json_decref(md);
        return NULL;
    }
    return md;
}

/* One of the point's epyc records as the record holds it (record.h). */
static json_t *element(const json_t *e, const clab_record_info_t *in)
{
    json_t *emd = json_object_get(e, "metadata"), *md = json_object(), *v;
    const char *k;
    int bad = !md;
    json_object_foreach(emd, k, v) if (strncmp(k, "clab.", 5) != 0) bad |=
        json_object_set(md, k, v);
    bad |= add_clab_keys(md, in);
    bad |= json_object_set_new(md, "clab.start_time", iso_value(in->start));
    bad |= json_object_set_new(md, "clab.elapsed_time", json_real(in->elapsed));
    json_t *el =
        bad ? NULL
            : json_pack("{s:b, s:O, s:O, s:O}", "ok",
                        json_is_true(json_object_get(emd, "epyc.experiment.status")),
                        "parameters", json_object_get(e, "parameters"), "results",
                        json_object_get(e, "results"), "metadata", md);
    json_decref(md);
    return el;
}

static json_t *elements(const clab_record_info_t *in)
{
    json_t *els = json_array(), *e;
    size_t i;
    int bad = !els;
    json_array_foreach(in->records, i, e) bad |=
        json_array_append_new(els, element(e, in));
    if (bad) {
        json_decref(els);
        return NULL;
    }
    return els;
}

int clab_record_new(const clab_record_info_t *info, json_t *results, json_t **out)
{
    int ok = results != NULL || info->records;
    json_t *rec = json_object();
    int bad = !rec;

    if (!bad) {
        bad |= json_object_set_new(rec, "ok", json_boolean(ok));
        if (info->records) {
            bad |= json_object_set_new(rec, "records", elements(info));
        } else if (ok) {
            bad |= json_object_set_new(rec, "results", results);
            results = NULL;
        }
        bad |= json_object_set_new(rec, "metadata", build_metadata(info, ok));
    }
    json_decref(results);
    if (bad) {
        json_decref(rec);
        return -ENOMEM;
    }
    *out = rec;
    return 0;
}

json_t *clab_record_failure(const clab_record_info_t *who, const char *exception)
{
    double m0 = clab_mono(), w0 = clab_now();
    clab_record_info_t in = {
        .experiment = who->experiment,
        .job = who->job,
        .engine_id = who->engine_id,
        .host = who->host,
        .start = w0,
        .exit_status = -1,
        .exception = exception,
    };
    json_t *rec = NULL;

    in.end = clab_now();
    in.elapsed = clab_mono() - m0;
    clab_record_new(&in, NULL, &rec);
    return rec;
}

json_t *clab_record_cancelled(const clab_record_info_t *who, const char *why)
{
    clab_record_info_t in = {.job = who->job,
                             .engine_id = who->engine_id,
                             .host = who->host,
                             .exit_status = -1};
    json_t *md = json_object(), *rec = NULL;
    int bad = !md;
    if (!bad) {
        bad |= json_object_set_new(md, "epyc.experiment.status", json_false());
        bad |= json_object_set_new(md, "epyc.experiment.end_time", iso_value(clab_now()));
        bad |= json_object_set_new(md, "epyc.experiment.exception",
                                   json_string(CLAB_CANCELLED_EXCEPTION));
        bad |= json_object_set_new(md, "epyc.experiment.traceback", cstr_value(why));
        bad |= add_clab_keys(md, &in);
    }
    if (!bad)
        rec = json_pack("{s:b, s:O}", "ok", 0, "metadata", md);
    json_decref(md);
    return rec;
}

int clab_record_decode(const json_t *rec, int *ok, json_t **results, json_t **metadata)
{
    json_t *md = json_object_get(rec, "metadata");
    json_t *res = json_object_get(rec, "results");
    int is_ok = json_is_true(json_object_get(rec, "ok"));

    if (!json_is_object(md) || (is_ok && !json_is_array(res)))
        return -EINVAL;
    *ok = is_ok;
    *results = is_ok ? res : NULL;
    *metadata = md;
    return 0;
}

/* How many elements the top-level array of text has (1 when text is not an
 * array): a scan of brackets and strings, no tree, so that the count is
 * known before jansson would spend a few hundred bytes on each object. */
static size_t count_results(const char *text, size_t len)
{
    size_t i = 0, n = 0;
    int depth = 0, any = 0;
    while (i < len &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len || text[i] != '[')
        return 1;
    for (; i < len; i++) {
        char c = text[i];
        if (c == '"')
            i = clab_json_string_end(text, len, i);
        else if (c == '[' || c == '{')
            depth++;
        else if (c == ']' || c == '}')
            depth--;
        else if (c == ',' && depth == 1)
            n++;
        if (depth == 0)
            break;
        if (depth >= 1 && c != ' ' && c != '\t' && c != '\n' && c != '\r' &&
            !(depth == 1 && (c == '[' || c == ',')))
            any = 1;
    }
    return any ? n + 1 : n;
}

/* Where the value of the top-level key "clab.results" (or "clab.records")
 * starts in text, or len when text is not an object with that key: found
 * with the same kind of scan, so that an envelope's results are counted
 * before parsing too. */
static size_t envelope_results_at(const char *text, size_t len)
{
    static const char key[] = "\"clab.results\"", key2[] = "\"clab.records\"";
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '"') {
            if (depth == 1 && len - i >= sizeof key - 1 &&
                (!memcmp(text + i, key, sizeof key - 1) ||
                 !memcmp(text + i, key2, sizeof key2 - 1))) {
                size_t j = i + sizeof key - 1;
                while (j < len && strchr(" \t\r\n", text[j]) && text[j])
                    j++;
                if (j < len && text[j] == ':')
                    return j + 1;
            }
            i = clab_json_string_end(text, len, i);
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            if (--depth == 0)
                break;
        }
    }
    return len;
}

/* Results as an array of objects: an object is [it]; NULL otherwise. */
static json_t *as_results(json_t *v)
{
    if (json_is_object(v)) {
        json_t *a = json_array();
        if (a && json_array_append(a, v) == 0)
            return a;
        json_decref(a);
        return NULL;
    }
    int ok = json_is_array(v) && json_array_size(v) > 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) ok &= json_is_object(e);
    return ok ? json_incref(v) : NULL;
}

/* The text of v, or NULL when v is no string: a number jansson cannot
 * hold (NaN, Infinity, a big integer) is a string inside but not text. */
static const char *text_of(const json_t *v)
{
    return clab_json_number_text(v) ? NULL : json_string_value(v);
}

/* Whether e is an epyc results dict as clab.records holds them. */
static int is_results_dict(const json_t *e)
{
    json_t *md = json_object_get(e, "metadata");
    return json_is_object(json_object_get(e, "parameters")) &&
           json_is_object(json_object_get(e, "results")) && json_is_object(md) &&
           json_is_boolean(json_object_get(md, "epyc.experiment.status"));
}

/* clab.records: a non-empty array of epyc results dicts, into out. */
static int read_records(json_t *records, clab_output_t *out, char *why, size_t why_size)
{
    size_t i;
    json_t *e;
    if (!json_is_array(records) || json_array_size(records) == 0) {
        snprintf(why, why_size,
                 "clab.records is not a non-empty array of epyc results dicts");
        return -EINVAL;
    }
    json_array_foreach(records, i, e) if (!is_results_dict(e))
    {
        snprintf(why, why_size,
                 "clab.records[%zu] is not an epyc results dict (parameters, results and "
                 "metadata objects, metadata with a boolean epyc.experiment.status)",
                 i);
        return -EINVAL;
    }
    out->records = json_incref(records);
    return 0;
}

/* An envelope (SPEC "The result envelope"): its parts into out. Its
 * results and metadata may hold any numbers; its exception and traceback
 * are text or nothing, so a traceback that is not text leaves stderr's
 * tail in its place. */
static int read_envelope(json_t *env, clab_output_t *out, char *why, size_t why_size)
{
    json_t *md = json_object_get(env, "clab.metadata");
    const char *tb = text_of(json_object_get(env, "clab.traceback"));
    json_t *exc = json_object_get(env, "clab.exception");
    if (tb)
        out->traceback = strdup(tb);
    if (md && !json_is_object(md)) {
        snprintf(why, why_size, "clab.metadata is not an object");
        return -EINVAL;
    }
    out->metadata = json_incref(md);
    if (exc) {
        snprintf(why, why_size, "%s",
                 text_of(exc) ? text_of(exc) : "clab.exception is not a string");
        return -EINVAL;
    }
    if (json_object_get(env, "clab.records"))
        return read_records(json_object_get(env, "clab.records"), out, why, why_size);
    if (!(out->results = as_results(json_object_get(env, "clab.results")))) {
        snprintf(why, why_size, "clab.results is not an object or an array of objects");
        return -EINVAL;
    }
    return 0;
}

/* Output that is not JSON: where, in why; its head kept in out->head for
 * the traceback. */
static int not_json(const char *t, size_t n, const clab_json_error_t *err,
                    clab_output_t *out, char *why, size_t why_size)
{
    size_t i = 0;
    while (i < n && strchr(" \t\r\n", t[i]) && t[i])
        i++;
    if (i == n) {
        snprintf(why, why_size, "stdout is not a JSON object: stdout is empty");
        return -EINVAL;
    }
    snprintf(why, why_size, "stdout is not a JSON object: %s at line %d, column %d",
             err->text, err->line, err->column);
    size_t cut = n > HEAD_MAX ? clab_utf8_floor(t, HEAD_MAX) : n;
    clab_buf_t b = {0};
    int rc = cut < n ? clab_buf_printf(&b, "stdout (first %zu of %zu bytes):\n", cut, n)
                     : clab_buf_puts(&b, "stdout:\n");
    rc = rc ? rc : clab_buf_add(&b, t, cut);
    if (!rc && t[cut - 1] != '\n')
        rc = clab_buf_add(&b, "\n", 1);
    if (rc) {
        clab_buf_free(&b);
        return -EINVAL;
    }
    out->head = b.data;
    out->head_len = b.len;
    return -EINVAL;
}

int clab_record_read_output(const char *text, size_t len, size_t max_results,
                            clab_output_t *out, char *why, size_t why_size)
{
    const char *t = text ? text : "";
    size_t n = text ? len : 0, at = envelope_results_at(t, n);
    size_t count = at < n ? count_results(t + at, n - at) : count_results(t, n);
    *out = (clab_output_t){0};
    if (count > max_results) {
        snprintf(why, why_size, "output has %zu results (at most %zu)", count,
                 max_results);
        return -EINVAL;
    }
    clab_json_error_t err;
    json_t *v = clab_json_loadb(t, n, 0, &err);
    int rc = 0;
    if (!v) {
        rc = not_json(t, n, &err, out, why, why_size);
    } else if (json_is_object(v) && (json_object_get(v, "clab.results") ||
                                     json_object_get(v, "clab.records") ||
                                     json_object_get(v, "clab.exception"))) {
        rc = read_envelope(v, out, why, why_size);
    } else if (!(out->results = as_results(v))) {
        snprintf(why, why_size, "stdout is not a JSON object");
        rc = -EINVAL;
    }
    json_decref(v);
    return rc;
}

void clab_output_clear(clab_output_t *out)
{
    json_decref(out->results);
    json_decref(out->records);
    json_decref(out->metadata);
    free(out->traceback);
    free(out->head);
    *out = (clab_output_t){0};
}

int clab_record_parse_output(const char *text, size_t len, size_t max_results,
                             json_t **results, char *why, size_t why_size)
{
    clab_output_t o;
    int rc = clab_record_read_output(text, len, max_results, &o, why, why_size);
    *results = o.results;
    o.results = NULL;
    clab_output_clear(&o);
    return rc;
}
