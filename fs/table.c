/* Formatting of table cells for results.csv and results.tsv.
 *
 * Values JSON has no strict form for are written as pandas and R read them
 * back (both checked): NaN, Inf, -Inf; integers past 64 bits as their
 * digits (R: numeric; pandas: uint64 up to 2**64 - 1, else their digits
 * as text); -0.0 as -0.0, since "-0" reads back as the integer 0. A NUL
 * character inside a string is written U+2400 (SYMBOL FOR NUL): R's
 * read.csv loses the rest of the row at a raw NUL byte, pandas the rest
 * of the field. */
#include "table.h"
#include "buf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char clab_table_sep(clab_table_format_t fmt)
{
    return fmt == CLAB_TABLE_CSV ? ',' : '\t';
}

static int add_text_raw(clab_buf_t *b, const char *s, size_t len, clab_table_format_t fmt)
{
    if (fmt == CLAB_TABLE_TSV) {
        if (clab_buf_reserve(b, len))
            return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            b->data[b->len++] = (c == '\t' || c == '\n' || c == '\r') ? ' ' : c;
        }
        b->data[b->len] = '\0';
        return 0;
    }
    int quote = 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote)
        return clab_buf_add(b, s, len);
    if (clab_buf_reserve(b, 2 * len + 2))
        return -ENOMEM;
    b->data[b->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            b->data[b->len++] = '"';
        b->data[b->len++] = s[i];
    }
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
    return 0;
}

/* s with each NUL as U+2400 (see the top), then as add_text_raw. */
static int add_text(clab_buf_t *b, const char *s, size_t len, clab_table_format_t fmt)
{
    if (!memchr(s, '\0', len))
        return add_text_raw(b, s, len, fmt);
    clab_buf_t t = {0};
    int rc = 0;
    for (size_t i = 0; i < len && !rc; i++)
        rc = s[i] ? clab_buf_add(&t, s + i, 1) : clab_buf_puts(&t, "\xe2\x90\x80");
    rc = rc ? rc : add_text_raw(b, t.data, t.len, fmt);
    clab_buf_free(&t);
    return rc;
}

int clab_table_name(clab_buf_t *b, const char *name, clab_table_format_t fmt)
{
    return add_text(b, name, strlen(name), fmt);
}

/* A number jansson cannot hold (json.h), in the tables' words. */
static const char *number_cell(const char *text)
{
    if (strcmp(text, "Infinity") == 0)
        return "Inf";
    if (strcmp(text, "-Infinity") == 0)
        return "-Inf";
    return text; /* NaN, and an integer's digits */
}

int clab_table_cell(clab_buf_t *b, const json_t *v, clab_table_format_t fmt)
{
    char num[40];
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (clab_json_number_text(v))
            return clab_buf_puts(b, number_cell(clab_json_number_text(v)));
        return add_text(b, json_string_value(v), json_string_length(v), fmt);
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return clab_buf_puts(b, num);
    case JSON_REAL:
        clab_fmt_double(num, json_real_value(v), 0);
        return clab_buf_puts(b, strcmp(num, "-0") ? num : "-0.0");
    case JSON_TRUE:
        return clab_buf_puts(b, "TRUE");
    case JSON_FALSE:
        return clab_buf_puts(b, "FALSE");
    case JSON_NULL:
        return 0;
    default: {
        clab_buf_t tmp = {0};
        int rc = clab_json_dump_buf(&tmp, v);
        if (!rc)
            rc = add_text(b, tmp.data, tmp.len, fmt);
        clab_buf_free(&tmp);
        return rc;
    }
    }
}

int clab_table_cells_len(const json_t *obj, clab_table_format_t fmt, int64_t *len)
{
    clab_buf_t b = {0};
    const char *key;
    json_t *v;
    int rc = 0;
    *len = 0;
    json_object_foreach((json_t *)obj, key, v)
    {
        b.len = 0;
        if ((rc = clab_table_cell(&b, v, fmt)) < 0)
            break;
        *len += (int64_t)b.len;
    }
    clab_buf_free(&b);
    return rc;
}

/* Header names. Parameters keep their names. A result named like a
 * parameter or a metadata key, and a metadata key named like a parameter,
 * give way: they get their part's prefix, and again, until the name is
 * neither in the header so far nor any column's own name. A renamed name
 * is never anyone's own name, so the names kept cannot meet it, and every
 * header name is unique whatever the names ("results.k" beside a result
 * "results.k" becomes "results.results.k"). The loop ends: each turn makes
 * the name longer, and only finitely many names are in the way. */
static const char *const part_prefix[3] = {"", "results.", "metadata."};
/* Whose own names part k gives way to, as bits of parts. */
static const unsigned gives_way_to[3] = {0, 1u << 0 | 1u << 2, 1u << 0};
#define ALL_PARTS 7u

/* Names as the keys of an object, looked up by hashing: a table may have
 * thousands of columns, and every stat of it renders the header. */
static int add_names(json_t *set, const json_t *names)
{
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        if (json_object_set_new(set, json_string_value(n), json_true()))
            return -ENOMEM;
    }
    return 0;
}

static int is_own_name(json_t *const own[3], unsigned parts, const char *name)
{
    for (int k = 0; k < 3; k++)
        if ((parts & 1u << k) && json_object_get(own[k], name))
            return 1;
    return 0;
}

/* The header name of the column name of part k, into h. */
static int header_name(json_t *const own[3], json_t *taken, int k, const char *name,
                       clab_buf_t *h)
{
    size_t plen = strlen(part_prefix[k]);
    h->len = 0;
    int rc = clab_buf_puts(h, name);
    if (rc || (!json_object_get(taken, name) && !is_own_name(own, gives_way_to[k], name)))
        return rc;
    do {
        if (clab_buf_reserve(h, plen))
            return -ENOMEM;
        memmove(h->data + plen, h->data, h->len + 1);
        memcpy(h->data, part_prefix[k], plen);
        h->len += plen;
    } while (json_object_get(taken, h->data) || is_own_name(own, ALL_PARTS, h->data));
    return 0;
}

int clab_table_header_names(json_t *const cols[3], json_t *out[3])
{
    json_t *own[3], *taken = json_object();
    clab_buf_t h = {0};
    int rc = taken ? 0 : -ENOMEM;
    for (int k = 0; k < 3; k++) {
        own[k] = json_object();
        out[k] = json_array();
        if (!rc)
            rc = !own[k] || !out[k] ? -ENOMEM : add_names(own[k], cols[k]);
    }
    for (int k = 0; k < 3 && !rc; k++) {
        size_t i;
        json_t *name;
        json_array_foreach(cols[k], i, name)
        {
            rc = rc ? rc : header_name(own, taken, k, json_string_value(name), &h);
            if (!rc && (json_object_set_new(taken, h.data, json_true()) ||
                        json_array_append_new(out[k], json_string(h.data))))
                rc = -ENOMEM;
        }
    }
    clab_buf_free(&h);
    json_decref(taken);
    for (int k = 0; k < 3; k++) {
        json_decref(own[k]);
        if (rc) {
            json_decref(out[k]);
            out[k] = NULL;
        }
    }
    return rc;
}

int clab_table_header(clab_buf_t *b, json_t *const cols[3], clab_table_format_t fmt)
{
    json_t *names[3];
    int rc = clab_table_header_names(cols, names), first = 1;
    for (int k = 0; k < 3 && !rc; k++) {
        size_t i;
        json_t *name;
        json_array_foreach(names[k], i, name)
        {
            if (!first)
                rc = rc ? rc : clab_buf_add(b, &(char){clab_table_sep(fmt)}, 1);
            first = 0;
            rc = rc ? rc : clab_table_name(b, json_string_value(name), fmt);
        }
    }
    for (int k = 0; k < 3; k++)
        json_decref(names[k]);
    /* No successful result yet, so no columns: an empty file. */
    return rc || first ? rc : clab_buf_add(b, "\n", 1);
}

int clab_table_row(clab_buf_t *b, json_t *const cols[3], const char *text, size_t len,
                   clab_table_format_t fmt)
{
    static const char *const part[3] = {"parameters", "results", "metadata"};
    json_t *doc = clab_json_loadb(text, len, 0, NULL);
    int rc = 0, first = 1;
    if (!doc)
        return -EIO;
    for (int k = 0; k < 3 && !rc; k++) {
        json_t *obj = json_object_get(doc, part[k]);
        size_t i;
        json_t *name;
        json_array_foreach(cols[k], i, name)
        {
            if (!first)
                rc = rc ? rc : clab_buf_add(b, &(char){clab_table_sep(fmt)}, 1);
            first = 0;
            rc = rc ? rc
                    : clab_table_cell(b, json_object_get(obj, json_string_value(name)),
                                      fmt);
        }
    }
    json_decref(doc);
    return rc ? rc : clab_buf_add(b, "\n", 1);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The cells of obj's values in name order (the order of a table's columns:
 * SQLite's BINARY collation, which is strcmp's for names without NUL), each
 * after a separator but the very first of the row (*first). */
static int object_cells(clab_buf_t *b, const json_t *obj, clab_table_format_t fmt,
                        int *first, int *ncols)
{
    size_t n = json_object_size(obj), i = 0;
    if (n == 0) /* qsort's array may not be NULL, even for no elements */
        return 0;
    const char *key, **keys = malloc(n * sizeof *keys);
    json_t *v;
    int rc = 0;
    if (!keys)
        return -ENOMEM;
    json_object_foreach((json_t *)obj, key, v) keys[i++] = key;
    qsort(keys, n, sizeof *keys, by_name);
    for (i = 0; i < n && !rc; i++) {
        if (!*first)
            rc = clab_buf_add(b, &(char){clab_table_sep(fmt)}, 1);
        *first = 0;
        rc = rc ? rc : clab_table_cell(b, json_object_get(obj, keys[i]), fmt);
    }
    free(keys);
    *ncols += (int)n;
    return rc;
}

int clab_table_cells(clab_buf_t *b, json_t *const parts[3], clab_table_format_t fmt,
                     int *ncols)
{
    int rc = 0, first = 1;
    *ncols = 0;
    for (int k = 0; k < 3 && !rc; k++)
        if (json_is_object(parts[k]))
            rc = object_cells(b, parts[k], fmt, &first, ncols);
    return rc;
}
