/* Compact, deterministic JSON output (sorted keys, shortest doubles). */
#include "json.h"
#include "utf8.h"

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
