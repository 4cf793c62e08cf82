/* Compact, deterministic JSON output (sorted keys, shortest doubles). */
#include "json.h"
#include "utf8.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int clab_fmt_double(char *out, double d, int as_json_real)
{
    if (isnan(d))
        return snprintf(out, 32, "NaN");
    if (isinf(d))
        return snprintf(out, 32, d < 0 ? "-Infinity" : "Infinity");
    /* Any decimal of up to 15 digits survives a trip through a normal
     * double, so %.15g already prints the shortest form when there is one
     * that short; subnormals have fewer digits and take the long way. */
    int n = 0;
    for (int prec = fabs(d) >= DBL_MIN ? 15 : 1; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (as_json_real && strspn(out, "-0123456789") == (size_t)n)
        n += snprintf(out + n, 32 - (size_t)n, ".0");
    return n;
}

int clab_json_dump_string(clab_buf_t *b, const char *s, size_t len)
{
    if (clab_buf_reserve(b, len + 2))
        return -ENOMEM;
    b->data[b->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (clab_buf_add(b, s + run, i - run))
            return -ENOMEM;
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"':
            strcpy(esc, "\\\"");
            break;
        case '\\':
            strcpy(esc, "\\\\");
            break;
        case '\n':
            strcpy(esc, "\\n");
            break;
        case '\r':
            strcpy(esc, "\\r");
            break;
        case '\t':
            strcpy(esc, "\\t");
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            break;
        }
        if (clab_buf_puts(b, esc))
            return -ENOMEM;
    }
    if (clab_buf_add(b, s + run, len - run))
        return -ENOMEM;
    return clab_buf_add(b, "\"", 1);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dump_object(clab_buf_t *b, const json_t *v)
{
    size_t n = json_object_size(v), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return -ENOMEM;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_keys);
    int rc = clab_buf_add(b, "{", 1);
    for (i = 0; i < n && !rc; i++) {
        if (i)
            rc = clab_buf_add(b, ",", 1);
        rc = rc ? rc : clab_json_dump_string(b, keys[i], strlen(keys[i]));
        rc = rc ? rc : clab_buf_add(b, ":", 1);
        rc = rc ? rc : clab_json_dump_buf(b, json_object_get(v, keys[i]));
    }
    free(keys);
    return rc ? rc : clab_buf_add(b, "}", 1);
}

int clab_json_dump_buf(clab_buf_t *b, const json_t *v)
{
    char num[40];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return dump_object(b, v);
    case JSON_ARRAY: {
        int rc = clab_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v) && !rc; i++) {
            if (i)
                rc = clab_buf_add(b, ",", 1);
            rc = rc ? rc : clab_json_dump_buf(b, json_array_get(v, i));
        }
        return rc ? rc : clab_buf_add(b, "]", 1);
    }
    case JSON_STRING:
        if (clab_json_number_text(v))
            return clab_buf_puts(b, clab_json_number_text(v));
        return clab_json_dump_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return clab_buf_puts(b, num);
    case JSON_REAL:
        clab_fmt_double(num, json_real_value(v), 1);
        return clab_buf_puts(b, num);
    case JSON_TRUE:
        return clab_buf_puts(b, "true");
    case JSON_FALSE:
        return clab_buf_puts(b, "false");
    case JSON_NULL:
    default:
        return clab_buf_puts(b, "null");
    }
}

size_t clab_json_string_end(const char *text, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (text[i] == '\\')
            i++;
        else if (text[i] == '"')
            return i;
    }
    return len;
}

char *clab_json_dumps(const json_t *v)
{
    clab_buf_t b = {0};
    if (clab_json_dump_buf(&b, v) || clab_buf_reserve(&b, 0)) {
        clab_buf_free(&b);
        return NULL;
    }
    return b.data;
}

const char *clab_json_type_name(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        if (clab_json_number_text(v))
            return isdigit((unsigned char)clab_json_number_text(v)[1]) ? "an integer"
                                                                       : "a real number";
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

void clab_json_show(char *out, size_t cap, const char *s)
{
    clab_buf_t b = {0};
    size_t n = strlen(s), max = 48;
    int cut = n > max;
    if (cut)
        n = clab_utf8_floor(s, max);
    if (clab_json_dump_string(&b, s, n) || !b.data) {
        snprintf(out, cap, "\"?\"");
    } else {
        if (cut)
            b.data[b.len - 1] = '\0';
        snprintf(out, cap, "%s%s", b.data, cut ? "...\"" : "");
    }
    clab_buf_free(&b);
}

/* ---- Reading: why not jansson's loader is said in json.h. ---- */

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */
#define NUMBER_MARK 0xFFu

typedef struct {
    const char *s;
    size_t n, i;
    unsigned flags;
    int depth;
    const char *why; /* the first error, at byte at */
    size_t at;
    clab_buf_t str; /* the last string read, NUL-terminated */
} reader_t;

static json_t *read_value(reader_t *r);

static json_t *fail_at(reader_t *r, size_t at, const char *why)
{
    if (!r->why) {
        r->why = why;
        r->at = at;
    }
    return NULL;
}

static int ended(reader_t *r)
{
    if (r->i < r->n)
        return 0;
    fail_at(r, r->n, "unexpected end of text");
    return 1;
}

static void skip_ws(reader_t *r)
{
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' ||
                           r->s[r->i] == '\n' || r->s[r->i] == '\r'))
        r->i++;
}

json_t *clab_json_number_new(const char *text, size_t len)
{
    char *t = malloc(len + 1);
    if (!t)
        return NULL;
    t[0] = (char)NUMBER_MARK;
    memcpy(t + 1, text, len);
    json_t *v = json_stringn_nocheck(t, len + 1);
    free(t);
    return v;
}

const char *clab_json_number_text(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && json_string_length(v) >= 2 && (unsigned char)s[0] == NUMBER_MARK ? s + 1
                                                                                 : NULL;
}

static int hex4(const char *p, unsigned *out)
{
    *out = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        *out = *out * 16 + (unsigned)d;
    }
    return 0;
}

static int put_utf8(clab_buf_t *b, unsigned cp)
{
    char u[4];
    size_t n = 0;
    if (cp < 0x80) {
        u[n++] = (char)cp;
    } else if (cp < 0x800) {
        u[n++] = (char)(0xC0 | cp >> 6);
        u[n++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        u[n++] = (char)(0xE0 | cp >> 12);
        u[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[n++] = (char)(0x80 | (cp & 0x3F));
    } else {
        u[n++] = (char)(0xF0 | cp >> 18);
        u[n++] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[n++] = (char)(0x80 | (cp & 0x3F));
    }
    return clab_buf_add(b, u, n);
}

/* The escape at r->i (a backslash) into r->str. */
static int read_escape(reader_t *r)
{
    static const char plain[] = "\"\\/bfnrt", as[] = "\"\\/\b\f\n\r\t";
    size_t at = r->i;
    unsigned cp, lo;
    if (r->n - at < 2)
        return fail_at(r, r->n, "unexpected end of text"), -1;
    const char *e = r->s[at + 1] ? strchr(plain, r->s[at + 1]) : NULL;
    if (e) {
        r->i += 2;
        if (clab_buf_add(&r->str, &as[e - plain], 1))
            return fail_at(r, at, "out of memory"), -1;
        return 0;
    }
    if (r->s[at + 1] != 'u' || r->n - at < 6 || hex4(r->s + at + 2, &cp))
        return fail_at(r, at, "invalid escape"), -1;
    r->i += 6;
    if (cp >= 0xD800 && cp < 0xDC00) {
        /* A high surrogate: only with a low one after it. */
        if (r->n - r->i < 6 || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u' ||
            hex4(r->s + r->i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return fail_at(r, at, "invalid Unicode escape"), -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        r->i += 6;
    } else if (cp >= 0xDC00 && cp < 0xE000) {
        return fail_at(r, at, "invalid Unicode escape"), -1;
    }
    if (put_utf8(&r->str, cp))
        return fail_at(r, at, "out of memory"), -1;
    return 0;
}

/* The string at r->i (a quote) into r->str: UTF-8 checked, escapes
 * decoded, "\u0000" kept (the length says where it ends). */
static int read_string(reader_t *r)
{
    r->i++;
    r->str.len = 0;
    for (;;) {
        if (ended(r))
            return -1;
        size_t j = r->i;
        unsigned char c = (unsigned char)r->s[j];
        if (c == '"') {
            r->i++;
            /* An empty string has not been terminated yet. */
            if (clab_buf_reserve(&r->str, 0))
                return fail_at(r, j, "out of memory"), -1;
            r->str.data[r->str.len] = '\0';
            return 0;
        }
        if (c == '\\') {
            if (read_escape(r))
                return -1;
            continue;
        }
        while (j < r->n && (c = (unsigned char)r->s[j]) >= 0x20 && c != '"' &&
               c != '\\') {
            size_t k = c < 0x80 ? 1 : clab_utf8_len(r->s + j, r->n - j);
            if (k == 0)
                return fail_at(r, j, "invalid UTF-8"), -1;
            j += k;
        }
        if (j == r->i)
            return fail_at(r, j, "control character in a string"), -1;
        if (clab_buf_add(&r->str, r->s + r->i, j - r->i))
            return fail_at(r, j, "out of memory"), -1;
        r->i = j;
    }
}

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(const reader_t *r, size_t i)
{
    return i < r->n && r->s[i] >= '0' && r->s[i] <= '9';
}

/* The end of the number token at start, or start when it is not one. */
static size_t number_end(const reader_t *r, size_t start, int *integral)
{
    size_t i = start + (r->s[start] == '-');
    *integral = 1;
    if (!is_digit(r, i))
        return start;
    if (r->s[i] == '0')
        i++;
    else
        while (is_digit(r, i))
            i++;
    if (i < r->n && r->s[i] == '.') {
        *integral = 0;
        if (!is_digit(r, ++i))
            return start;
        while (is_digit(r, i))
            i++;
    }
    if (i < r->n && (r->s[i] == 'e' || r->s[i] == 'E')) {
        *integral = 0;
        i += i + 1 < r->n && (r->s[i + 1] == '+' || r->s[i + 1] == '-') ? 2 : 1;
        if (!is_digit(r, i))
            return start;
        while (is_digit(r, i))
            i++;
    }
    /* "01", "1x", "1.5.2": a number glued to more of a token. */
    if (is_digit(r, i) || (i < r->n && (r->s[i] == '.' || is_letter(r->s[i]))))
        return start;
    return i;
}

/* Integers past 64 bits keep their digits, overflowing reals are
 * Infinity (as Python reads them); underflow is 0 or subnormal. */
static json_t *read_number(reader_t *r)
{
    size_t start = r->i;
    int integral;
    if (r->n - start >= 9 && !memcmp(r->s + start, "-Infinity", 9)) {
        r->i += 9;
        return clab_json_number_new("-Infinity", 9);
    }
    size_t end = number_end(r, start, &integral), len = end - start;
    if (end == start)
        return fail_at(r, start, "invalid number");
    char small[64], *tok = len < sizeof small ? small : malloc(len + 1);
    json_t *v = NULL;
    if (!tok)
        return fail_at(r, start, "out of memory");
    memcpy(tok, r->s + start, len);
    tok[len] = '\0';
    errno = 0;
    if (integral) {
        long long ll = strtoll(tok, NULL, 10);
        v = errno == ERANGE ? clab_json_number_new(tok, len) : json_integer(ll);
    } else {
        double d = strtod(tok, NULL);
        const char *inf = d < 0 ? "-Infinity" : "Infinity";
        v = isinf(d) ? clab_json_number_new(inf, strlen(inf)) : json_real(d);
    }
    if (tok != small)
        free(tok);
    r->i = end;
    return v ? v : fail_at(r, start, "out of memory");
}

static json_t *read_word(reader_t *r)
{
    size_t start = r->i, end = start;
    while (end < r->n && is_letter(r->s[end]))
        end++;
    size_t len = end - start;
    const char *w = r->s + start;
    json_t *v = NULL;
    if (len == 4 && !memcmp(w, "true", 4))
        v = json_true();
    else if (len == 5 && !memcmp(w, "false", 5))
        v = json_false();
    else if (len == 4 && !memcmp(w, "null", 4))
        v = json_null();
    else if ((len == 3 && !memcmp(w, "NaN", 3)) ||
             (len == 8 && !memcmp(w, "Infinity", 8)))
        v = clab_json_number_new(w, len);
    else
        return fail_at(r, start, "invalid token");
    r->i = end;
    return v ? v : fail_at(r, start, "out of memory");
}

/* After an element: 1 at the closing bracket (taken), 0 at a comma
 * (taken), -1 at anything else. */
static int after_element(reader_t *r, char close, const char *why)
{
    skip_ws(r);
    if (ended(r))
        return -1;
    if (r->s[r->i] == ',' || r->s[r->i] == close)
        return r->s[r->i++] == close;
    fail_at(r, r->i, why);
    return -1;
}

static json_t *read_array(reader_t *r)
{
    json_t *a = json_array();
    int rc = 0;
    if (!a)
        return fail_at(r, r->i, "out of memory");
    r->i++;
    skip_ws(r);
    if (r->i < r->n && r->s[r->i] == ']') {
        r->i++;
        return a;
    }
    while (rc == 0) {
        skip_ws(r);
        json_t *v = read_value(r);
        if (!v || json_array_append_new(a, v)) {
            json_decref(a);
            return fail_at(r, r->i, "out of memory");
        }
        rc = after_element(r, ']', "expected ',' or ']'");
    }
    if (rc < 0)
        json_decref(a);
    return rc < 0 ? NULL : a;
}

/* One "key": value into o. */
static int read_member(reader_t *r, json_t *o)
{
    size_t at = r->i;
    if (ended(r))
        return -1;
    if (r->s[at] != '"')
        return fail_at(r, at, "expected a key (a string)"), -1;
    if (read_string(r))
        return -1;
    if (memchr(r->str.data, '\0', r->str.len))
        return fail_at(r, at, "NUL byte in an object key"), -1;
    if ((r->flags & CLAB_JSON_REJECT_DUPLICATES) && json_object_get(o, r->str.data))
        return fail_at(r, at, "duplicate key"), -1;
    skip_ws(r);
    if (ended(r))
        return -1;
    if (r->s[r->i] != ':')
        return fail_at(r, r->i, "expected ':' after a key"), -1;
    /* The value's strings reuse r->str. */
    char *key = strdup(r->str.data);
    if (!key)
        return fail_at(r, at, "out of memory"), -1;
    r->i++;
    skip_ws(r);
    json_t *v = read_value(r);
    int rc = v ? json_object_set_new_nocheck(o, key, v) : -1;
    free(key);
    if (rc)
        fail_at(r, r->i, "out of memory");
    return rc ? -1 : 0;
}

static json_t *read_object(reader_t *r)
{
    json_t *o = json_object();
    int rc = 0;
    if (!o)
        return fail_at(r, r->i, "out of memory");
    r->i++;
    skip_ws(r);
    if (r->i < r->n && r->s[r->i] == '}') {
        r->i++;
        return o;
    }
    while (rc == 0) {
        skip_ws(r);
        rc = read_member(r, o) ? -1 : after_element(r, '}', "expected ',' or '}'");
    }
    if (rc < 0)
        json_decref(o);
    return rc < 0 ? NULL : o;
}

static json_t *read_value(reader_t *r)
{
    if (ended(r))
        return NULL;
    char c = r->s[r->i];
    if (c == '{' || c == '[') {
        if (r->depth >= MAX_DEPTH)
            return fail_at(r, r->i, "nested too deep");
        r->depth++;
        json_t *v = c == '{' ? read_object(r) : read_array(r);
        r->depth--;
        return v;
    }
    if (c == '"') {
        size_t at = r->i;
        if (read_string(r))
            return NULL;
        json_t *v = json_stringn_nocheck(r->str.data, r->str.len);
        return v ? v : fail_at(r, at, "out of memory");
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return read_number(r);
    return read_word(r);
}

/* Line and column (in characters: UTF-8 continuation bytes do not count)
 * of r->at. */
static void locate(const reader_t *r, clab_json_error_t *err)
{
    *err = (clab_json_error_t){.line = 1, .column = 1, .position = r->at};
    for (size_t i = 0; i < r->at && i < r->n; i++) {
        if (r->s[i] == '\n') {
            err->line++;
            err->column = 1;
        } else if (((unsigned char)r->s[i] & 0xC0) != 0x80) {
            err->column++;
        }
    }
    snprintf(err->text, sizeof err->text, "%s", r->why ? r->why : "out of memory");
}

json_t *clab_json_loadb(const char *text, size_t len, unsigned flags,
                        clab_json_error_t *err)
{
    reader_t r = {.s = text ? text : "", .n = text ? len : 0, .flags = flags};
    skip_ws(&r);
    json_t *v = read_value(&r);
    skip_ws(&r);
    if (v && r.i < r.n) {
        json_decref(v);
        v = fail_at(&r, r.i, "text after the value");
    }
    clab_buf_free(&r.str);
    if (!v && err)
        locate(&r, err);
    return v;
}

json_t *clab_json_loads(const char *text, unsigned flags, clab_json_error_t *err)
{
    return clab_json_loadb(text, text ? strlen(text) : 0, flags, err);
}
