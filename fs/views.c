/* Renderers for every readable file. Each view is a small generator: fill()
 * appends the next piece of text to a window buffer until it sets eof. The
 * window keeps only what the reader has not consumed yet. */
#include "views.h"
#include "json.h"
#include "table.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FILL_CHUNK (64 * 1024)

struct clab_view {
    clab_lab_t *lab;
    clab_node_t node;
    clab_nb_reader_t *reader; /* the snapshot this open sees */
    pthread_mutex_t lock;     /* FUSE may read one handle from two threads */
    clab_buf_t buf;           /* bytes [base, base + buf.len) of the file */
    off_t base;
    int eof;
    int stage;
    clab_nb_cursor_t *cur;
    json_t *cols[3];
    clab_table_format_t fmt;
};

static int render_status(clab_view_t *v, const char *tag, int with_totals, int as_json)
{
    int engines, connected;
    clab_lab_cluster(v->lab, &engines, &connected);
    clab_set_info_t info = {0};
    char current[CLAB_TAG_MAX + 1] = "";
    int rc = 0;
    if (tag)
        snprintf(current, sizeof current, "%s", tag);
    else if (clab_nb_current(v->reader, current) < 0)
        current[0] = '\0';
    if (current[0] && (rc = clab_nb_set_info(v->reader, current, &info)) < 0 &&
        rc != -ENOENT)
        return rc;
    long finished = info.done;
    double fraction =
        finished + info.pending ? (double)finished / (finished + info.pending) : 1.0;
    long total = info.done + info.pending;
    if (as_json) {
        json_t *o = json_pack(
            "{s:i, s:i, s:o, s:f, s:I, s:I, s:I}", "engines", engines, "connected",
            connected, "current", current[0] ? json_string(current) : json_null(),
            "ready_fraction", fraction, "results", (json_int_t)info.results, "failed",
            (json_int_t)info.failed, "pending", (json_int_t)info.pending);
        if (with_totals && o) {
            json_object_set_new(o, "total", json_integer(total));
            json_object_set_new(o, "done", json_integer(info.pending == 0));
        }
        rc = o ? clab_json_dump_buf(&v->buf, o) : -ENOMEM;
        json_decref(o);
        rc = rc ? rc : clab_buf_puts(&v->buf, "\n");
    } else {
        rc = clab_buf_printf(&v->buf,
                             "engines %d\nconnected %d\ncurrent %s\nready_fraction %.6f\n"
                             "results %ld\nfailed %ld\npending %ld\n",
                             engines, connected, current[0] ? current : "-", fraction,
                             info.results, info.failed, info.pending);
        if (!rc && with_totals)
            rc = clab_buf_printf(&v->buf, "total %ld\ndone %d\n", total,
                                 info.pending == 0);
    }
    clab_set_info_clear(&info);
    v->eof = 1;
    return rc;
}

static int render_set_text(clab_view_t *v)
{
    clab_set_info_t info;
    int rc = clab_nb_set_info(v->reader, v->node.tag, &info);
    if (rc)
        return rc;
    const char *text =
        v->node.kind == CLAB_NODE_EXPERIMENT ? info.experiment : info.description;
    if (text[0])
        rc = clab_buf_printf(&v->buf, "%s\n", text);
    clab_set_info_clear(&info);
    v->eof = 1;
    return rc;
}

static int render_result(clab_view_t *v)
{
    char *doc;
    size_t len;
    int rc = clab_nb_result(v->reader, v->node.tag, v->node.n,
                            v->node.kind == CLAB_NODE_RESULT, &doc, &len);
    if (rc)
        return rc;
    rc = clab_buf_add(&v->buf, doc, len);
    rc = rc ? rc : clab_buf_add(&v->buf, "\n", 1);
    free(doc);
    v->eof = 1;
    return rc;
}

static int table_header(clab_view_t *v)
{
    int rc = 0, first = 1;
    for (int k = 0; k < 3 && !rc; k++)
        rc = clab_nb_columns(v->reader, v->node.tag, k, &v->cols[k]);
    if (rc)
        return rc;
    for (int k = 0; k < 3 && !rc; k++) {
        size_t i;
        json_t *name;
        json_array_foreach(v->cols[k], i, name)
        {
            if (!first)
                rc = rc ? rc : clab_buf_add(&v->buf, &(char){clab_table_sep(v->fmt)}, 1);
            first = 0;
            rc = rc ? rc : clab_table_name(&v->buf, json_string_value(name), v->fmt);
        }
    }
    if (first) {
        /* No successful result yet, so no columns: an empty file. */
        v->eof = 1;
        return rc;
    }
    rc = rc ? rc : clab_buf_add(&v->buf, "\n", 1);
    return rc ? rc : clab_nb_results(v->reader, v->node.tag, 1, &v->cur);
}

static int table_row(clab_view_t *v, const char *text, size_t len)
{
    static const char *const part[3] = {"parameters", "results", "metadata"};
    json_t *doc = json_loadb(text, len, 0, NULL);
    int rc = 0, first = 1;
    if (!doc)
        return -EIO;
    for (int k = 0; k < 3 && !rc; k++) {
        json_t *obj = json_object_get(doc, part[k]);
        size_t i;
        json_t *name;
        json_array_foreach(v->cols[k], i, name)
        {
            if (!first)
                rc = rc ? rc : clab_buf_add(&v->buf, &(char){clab_table_sep(v->fmt)}, 1);
            first = 0;
            rc = rc ? rc
                    : clab_table_cell(
                          &v->buf, json_object_get(obj, json_string_value(name)), v->fmt);
        }
    }
    json_decref(doc);
    return rc ? rc : clab_buf_add(&v->buf, "\n", 1);
}

/* Streams rows of the cursor: table rows, or each text on a line. */
static int fill_rows(clab_view_t *v, int as_table)
{
    size_t start = v->buf.len;
    while (v->buf.len - start < FILL_CHUNK) {
        long n;
        const char *text;
        size_t len;
        int rc = clab_nb_cursor_next(v->cur, &n, &text, &len);
        if (rc <= 0) {
            v->eof = 1;
            return rc;
        }
        rc = as_table ? table_row(v, text, len) : clab_buf_add(&v->buf, text, len);
        if (!rc && !as_table)
            rc = clab_buf_add(&v->buf, "\n", 1);
        if (rc)
            return rc;
    }
    return 0;
}

static int fill(clab_view_t *v)
{
    switch (v->node.kind) {
    case CLAB_NODE_STATUS:
        return render_status(v, NULL, 0, 0);
    case CLAB_NODE_STATUS_JSON:
        return render_status(v, NULL, 0, 1);
    case CLAB_NODE_SET_STATUS:
        return render_status(v, v->node.tag, 1, 0);
    case CLAB_NODE_EXPERIMENT:
    case CLAB_NODE_DESCRIPTION:
        return render_set_text(v);
    case CLAB_NODE_ERRORS:
        v->eof = 1;
        return clab_errors_render(&v->lab->errors, &v->buf);
    case CLAB_NODE_RESULT:
    case CLAB_NODE_FAILED_RESULT:
        return render_result(v);
    case CLAB_NODE_CSV:
    case CLAB_NODE_TSV:
        if (v->stage++ == 0)
            return table_header(v);
        return fill_rows(v, 1);
    case CLAB_NODE_JSONL:
        if (v->stage++ == 0)
            return clab_nb_results(v->reader, v->node.tag, -1, &v->cur);
        return fill_rows(v, 0);
    case CLAB_NODE_PENDING:
        if (v->stage++ == 0)
            return clab_nb_pending(v->reader, v->node.tag, &v->cur);
        return fill_rows(v, 0);
    default:
        v->eof = 1;
        return 0;
    }
}

static void rewind_view(clab_view_t *v)
{
    clab_nb_cursor_close(&v->cur);
    for (int k = 0; k < 3; k++) {
        json_decref(v->cols[k]);
        v->cols[k] = NULL;
    }
    v->buf.len = 0;
    v->base = 0;
    v->eof = 0;
    v->stage = 0;
}

int clab_view_open(clab_lab_t *lab, const clab_node_t *node, clab_view_t **out)
{
    clab_view_t *v = calloc(1, sizeof *v);
    if (!v)
        return -ENOMEM;
    int rc = clab_nb_reader_open(lab->nb, &v->reader);
    if (rc) {
        free(v);
        return rc;
    }
    v->lab = lab;
    v->node = *node;
    v->fmt = node->kind == CLAB_NODE_TSV ? CLAB_TABLE_TSV : CLAB_TABLE_CSV;
    pthread_mutex_init(&v->lock, NULL);
    *out = v;
    return 0;
}

ssize_t clab_view_read(clab_view_t *v, char *buf, size_t size, off_t off)
{
    ssize_t rc = 0;
    pthread_mutex_lock(&v->lock);
    if (off < v->base)
        rewind_view(v);
    while (!v->eof && v->base + (off_t)v->buf.len < off + (off_t)size) {
        int frc = fill(v);
        if (frc < 0) {
            rc = frc;
            goto out;
        }
    }
    /* Forget what lies before this read: readers go forwards. */
    off_t drop = off - v->base;
    if (drop > (off_t)v->buf.len)
        drop = (off_t)v->buf.len;
    if (drop > 0) {
        memmove(v->buf.data, v->buf.data + drop, v->buf.len - (size_t)drop);
        v->buf.len -= (size_t)drop;
        v->base += drop;
    }
    if (off >= v->base + (off_t)v->buf.len)
        goto out;
    size_t avail = v->buf.len - (size_t)(off - v->base);
    rc = (ssize_t)(avail < size ? avail : size);
    memcpy(buf, v->buf.data + (off - v->base), (size_t)rc);
out:
    pthread_mutex_unlock(&v->lock);
    return rc;
}

void clab_view_destroy(clab_view_t **pv)
{
    clab_view_t *v = *pv;
    if (!v)
        return;
    rewind_view(v);
    clab_buf_free(&v->buf);
    clab_nb_reader_close(&v->reader);
    pthread_mutex_destroy(&v->lock);
    free(v);
    *pv = NULL;
}

int clab_view_size(clab_lab_t *lab, const clab_node_t *node, off_t *size)
{
    clab_view_t *v;
    int rc = clab_view_open(lab, node, &v);
    if (rc)
        return rc;
    while (!v->eof && !rc)
        rc = fill(v);
    *size = (off_t)v->buf.len;
    clab_view_destroy(&v);
    return rc;
}
