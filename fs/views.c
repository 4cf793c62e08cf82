/* Renderers for every readable file (views.h tells the scheme). A streamed
 * view is a generator: fill() appends the next piece after pos to a window
 * buffer and moves pos on; a checkpoint is a byte offset with the pos that
 * renders from there. Sizes are computed from the notebook's byte counts
 * with the same pieces the renderers emit. */
#include "views.h"
#include "views_i.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "epyc.h"
#include "provenance.h"
#include "status.h"
#include "table.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FILL_CHUNK (16 * 1024)
#define CHECKPOINT_EVERY (64 * 1024)

/* Small files. */

/* One submit's provenance, after a blank line from the one before. */
static int render_provenance(void *ud, const char *doc, size_t len)
{
    clab_buf_t *b = ud;
    json_t *j = clab_json_loadb(doc, len, 0, NULL);
    int rc = j ? 0 : -EIO;
    if (!rc && b->len)
        rc = clab_buf_add(b, "\n", 1);
    rc = rc ? rc : clab_provenance_render(j, b);
    json_decref(j);
    return rc;
}

static int render_set_text(clab_view_t *v)
{
    clab_set_info_t info;
    int rc = clab_nb_set_info(v->reader, v->node.tag, &info);
    if (rc)
        return rc;
    const char *text =
        v->info->arg == CLAB_SET_EXPERIMENT ? info.experiment : info.description;
    if (v->info->arg == CLAB_SET_PROVENANCE)
        rc = clab_nb_provenance(v->reader, v->node.tag, render_provenance, &v->buf);
    else if (text[0])
        rc = clab_buf_printf(&v->buf, "%s\n", text);
    v->mtime = info.modified;
    clab_set_info_clear(&info);
    return rc;
}

static int render_result(clab_view_t *v)
{
    char *doc;
    size_t len;
    int rc = clab_nb_result(v->reader, v->node.tag, v->node.n, v->info->arg, &doc, &len);
    if (rc)
        return rc;
    rc = clab_buf_add(&v->buf, doc, len);
    rc = rc ? rc : clab_buf_add(&v->buf, "\n", 1);
    free(doc);
    v->mtime = v->node.stored > 0 ? v->node.stored : v->node.set_modified;
    return rc;
}

static int render_engine(clab_view_t *v)
{
    json_t *found = clab_lab_engine(v->lab, v->node.engine);
    if (!found)
        return -ENOENT;
    v->mtime = clab_lab_engines_changed(v->lab);
    const char *host = json_string_value(json_object_get(found, "host"));
    const char *state = json_string_value(json_object_get(found, "state"));
    int rc = clab_buf_printf(&v->buf,
                             "host %s\npid %" JSON_INTEGER_FORMAT
                             "\nstate %s\ntasks %" JSON_INTEGER_FORMAT "\n",
                             host && host[0] ? host : "-",
                             json_integer_value(json_object_get(found, "pid")),
                             state && state[0] ? state : "-",
                             json_integer_value(json_object_get(found, "tasks")));
    json_decref(found);
    return rc;
}

static int render_status_file(clab_view_t *v)
{
    return clab_status_render(v->lab, v->reader, v->node.tag, v->info->arg, &v->buf,
                              &v->mtime);
}

static int render_errors(clab_view_t *v)
{
    v->mtime = clab_errors_changed(&v->lab->errors);
    return clab_errors_render(&v->lab->errors, &v->buf);
}

/* How each renderer of the node table serves its files. */
static const struct {
    shape_t shape;
    int (*whole)(clab_view_t *v); /* SHAPE_WHOLE: renders it all at open */
} renderers[] = {
    [CLAB_RENDER_NONE] = {SHAPE_WHOLE, NULL},
    [CLAB_RENDER_INBOX] = {SHAPE_WHOLE, NULL},
    [CLAB_RENDER_STATUS] = {SHAPE_WHOLE, render_status_file},
    [CLAB_RENDER_ERRORS] = {SHAPE_WHOLE, render_errors},
    [CLAB_RENDER_ENGINE] = {SHAPE_WHOLE, render_engine},
    [CLAB_RENDER_RESULT] = {SHAPE_WHOLE, render_result},
    [CLAB_RENDER_SET_TEXT] = {SHAPE_WHOLE, render_set_text},
    [CLAB_RENDER_TABLE] = {SHAPE_APPEND, NULL},
    [CLAB_RENDER_JSONL] = {SHAPE_APPEND, NULL},
    [CLAB_RENDER_PENDING] = {SHAPE_SNAPSHOT, NULL},
    [CLAB_RENDER_NOTEBOOK] = {SHAPE_SNAPSHOT, NULL},
    [CLAB_RENDER_WAIT] = {SHAPE_WAIT, NULL},
};
_Static_assert(sizeof renderers / sizeof renderers[0] == CLAB_RENDER_WAIT + 1,
               "a renderer of the node table without a row here");

static int render_whole(clab_view_t *v)
{
    v->mtime = clab_now();
    /* Directories and the files written to have no content of their own. */
    return renderers[v->info->render].whole ? renderers[v->info->render].whole(v)
                                            : -EISDIR;
}

/* results.csv, results.tsv and results.jsonl. */

static int load_columns(clab_nb_reader_t *r, const char *tag, json_t *cols[3])
{
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++)
        rc = clab_nb_columns(r, tag, k, &cols[k]);
    return rc;
}

static void drop_columns(json_t *cols[3])
{
    for (int k = 0; k < 3; k++) {
        json_decref(cols[k]);
        cols[k] = NULL;
    }
}

/* The size of an appendable view for the columns cols and the set info:
 * a header, then per row its cells, C - 1 separators and a newline. */
static int append_size(clab_view_t *v, json_t *const cols[3], const clab_set_info_t *info,
                       off_t *size)
{
    if (v->info->render == CLAB_RENDER_JSONL) {
        *size = (off_t)info->jsonl_bytes;
        return 0;
    }
    clab_buf_t b = {0};
    int rc = clab_table_header(&b, cols, v->fmt);
    int64_t c = (int64_t)(json_array_size(cols[0]) + json_array_size(cols[1]) +
                          json_array_size(cols[2]));
    int64_t cells = v->fmt == CLAB_TABLE_CSV ? info->csv_cells : info->tsv_cells;
    *size = c ? (off_t)((int64_t)b.len + cells + (int64_t)info->results * c) : 0;
    clab_buf_free(&b);
    return rc;
}

/* Streaming. */

/* One line of `pending`: {"job":"ID","parameters":{...}}. Its length is
 * PENDING_LINE_EXTRA more than the job's literal and its parameters' line,
 * which the notebook counts as points arrive (open_snapshot's size). */
#define PENDING_LINE_EXTRA (sizeof "{\"job\":,\"parameters\":}" - 1)

static int pending_line(clab_buf_t *b, const clab_nb_row_t *row)
{
    int rc = clab_buf_puts(b, "{\"job\":");
    rc = rc ? rc : clab_json_dump_string(b, row->job, row->job_len);
    rc = rc ? rc : clab_buf_puts(b, ",\"parameters\":");
    rc = rc ? rc : clab_buf_add(b, row->text, row->len);
    return rc ? rc : clab_buf_add(b, "}\n", 2);
}

/* Appends rows of the cursor at pos.key to the buffer, about a chunk. */
static int fill_rows(clab_view_t *v, int *done)
{
    size_t start = v->buf.len;
    int rc = 0;
    *done = 0;
    if (!v->cur) {
        if (v->info->render == CLAB_RENDER_PENDING)
            rc = clab_nb_pending(v->reader, v->node.tag, v->pos.key, &v->cur);
        else if (v->info->render == CLAB_RENDER_TABLE)
            rc = clab_nb_table_rows(v->reader, v->node.tag, (int)v->fmt, v->pos.key,
                                    v->upto, &v->cur);
        else
            rc =
                clab_nb_results(v->reader, v->node.tag, -1, v->pos.key, v->upto, &v->cur);
        if (rc)
            return rc;
    }
    /* A row whose cells were stored under all of the table's columns is
     * copied; one with fewer (a later result added a column) is rendered
     * from its document. */
    int ncols = (int)(json_array_size(v->cols[0]) + json_array_size(v->cols[1]) +
                      json_array_size(v->cols[2]));
    while (v->buf.len - start < FILL_CHUNK) {
        clab_nb_row_t row;
        if ((rc = clab_nb_cursor_next(v->cur, &row)) <= 0) {
            clab_nb_cursor_close(&v->cur);
            *done = 1;
            return rc;
        }
        if (v->info->render == CLAB_RENDER_TABLE && row.ncols == ncols) {
            rc = clab_buf_add(&v->buf, row.cells, row.cells_len);
            rc = rc ? rc : clab_buf_add(&v->buf, "\n", 1);
        } else if (v->info->render == CLAB_RENDER_TABLE) {
            rc = clab_table_row(&v->buf, v->cols, row.text, row.len, v->fmt);
        } else if (v->info->render == CLAB_RENDER_PENDING) {
            rc = pending_line(&v->buf, &row);
        } else {
            rc = clab_buf_add(&v->buf, row.text, row.len);
            rc = rc ? rc : clab_buf_add(&v->buf, "\n", 1);
        }
        if (rc)
            return rc;
        v->pos.key = row.key;
    }
    return 0;
}

static int fill_notebook(clab_view_t *v)
{
    int done = 0;
    int rc = clab_epyc_fill(v->reader, v->info->arg ? v->node.tag : NULL, &v->pos.nb,
                            &v->cur, &v->set, &v->buf, FILL_CHUNK, &done);
    if (done)
        v->exhausted = 1;
    return rc;
}

static int fill(clab_view_t *v)
{
    int rc, done = 0;
    if (v->info->render == CLAB_RENDER_NOTEBOOK)
        return fill_notebook(v);
    if (v->pos.phase == 0) {
        v->pos.phase = 1;
        if (v->info->render == CLAB_RENDER_TABLE)
            return clab_table_header(&v->buf, v->cols, v->fmt);
    }
    rc = fill_rows(v, &done);
    if (done)
        v->exhausted = 1;
    return rc;
}

static void checkpoint(clab_view_t *v)
{
    off_t end = v->base + (off_t)v->buf.len;
    if (end < v->cps[v->ncps - 1].off + CHECKPOINT_EVERY)
        return;
    if (v->ncps == v->cpcap) {
        size_t cap = v->cpcap * 2;
        checkpoint_t *p = realloc(v->cps, cap * sizeof *p);
        if (!p)
            return; /* fewer checkpoints only cost time */
        v->cps = p;
        v->cpcap = cap;
    }
    v->cps[v->ncps++] = (checkpoint_t){end, v->pos};
}

/* Starts rendering again from the last checkpoint at or before off. */
static void restore(clab_view_t *v, off_t off)
{
    size_t lo = 0, hi = v->ncps;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (v->cps[mid].off <= off)
            lo = mid;
        else
            hi = mid;
    }
    if (v->cps[lo].off <= v->base + (off_t)v->buf.len && v->base <= off)
        return; /* what is buffered is nearer */
    clab_nb_cursor_close(&v->cur);
    v->buf.len = 0;
    v->base = v->cps[lo].off;
    v->pos = v->cps[lo].pos;
    v->exhausted = 0;
}

/* Forgets what lies before off: readers go forwards. */
static void drop_before(clab_view_t *v, off_t off)
{
    off_t drop = off - v->base;
    if (drop <= 0)
        return;
    if (drop > (off_t)v->buf.len)
        drop = (off_t)v->buf.len;
    if (drop == 0)
        return; /* nothing buffered (and maybe no buffer yet) */
    memmove(v->buf.data, v->buf.data + drop, v->buf.len - (size_t)drop);
    v->buf.len -= (size_t)drop;
    v->base += drop;
}

/* Opening. */

static int open_append(clab_view_t *v)
{
    clab_set_info_t info;
    int rc = clab_nb_set_info(v->reader, v->node.tag, &info);
    if (rc)
        return rc;
    if (v->info->render == CLAB_RENDER_TABLE)
        rc = load_columns(v->reader, v->node.tag, v->cols);
    v->upto = info.last_n;
    v->mtime = info.modified;
    v->settled = info.pending == 0;
    rc = rc ? rc : append_size(v, v->cols, &info, &v->size);
    clab_set_info_clear(&info);
    return rc;
}

static int open_snapshot(clab_view_t *v)
{
    if (v->info->render == CLAB_RENDER_NOTEBOOK)
        return clab_epyc_size(v->reader, v->info->arg ? v->node.tag : NULL, &v->size,
                              &v->mtime);
    clab_set_info_t info;
    int rc = clab_nb_set_info(v->reader, v->node.tag, &info);
    v->size = (off_t)(info.pending_bytes + info.pending_jobs +
                      (int64_t)PENDING_LINE_EXTRA * info.pending);
    v->mtime = info.modified;
    v->pos.phase = 1;
    clab_set_info_clear(&info);
    return rc;
}

int clab_view_open(clab_lab_t *lab, const clab_node_t *node, clab_view_t **out)
{
    clab_view_t *v = calloc(1, sizeof *v);
    int rc = -ENOMEM;
    if (!v)
        goto fail;
    v->lab = lab;
    v->node = *node;
    v->info = clab_node_info(node->kind);
    v->shape = renderers[v->info->render].shape;
    /* Checkpoints for the streamed views only: a wait or a status is small,
     * and thousands of waits may be open at once. */
    v->cpcap = v->shape == SHAPE_APPEND || v->shape == SHAPE_SNAPSHOT ? 16 : 1;
    if (!(v->cps = malloc(v->cpcap * sizeof *v->cps)))
        goto fail;
    v->fmt = v->info->render == CLAB_RENDER_TABLE ? (clab_table_format_t)v->info->arg
                                                  : CLAB_TABLE_CSV;
    v->ncps = 1;
    v->cps[0] = (checkpoint_t){0, v->pos};
    pthread_mutex_init(&v->lock, NULL);
    if ((rc = clab_nb_reader_open(lab->nb, &v->reader)) < 0)
        goto fail;
    switch (v->shape) {
    case SHAPE_WHOLE:
        rc = render_whole(v);
        v->size = (off_t)v->buf.len;
        break;
    case SHAPE_APPEND:
        rc = open_append(v);
        break;
    case SHAPE_SNAPSHOT:
        rc = open_snapshot(v);
        v->cps[0].pos = v->pos;
        break;
    case SHAPE_WAIT:
        rc = clab_viewp_wait_open(v);
        break;
    }
    if (rc < 0)
        goto fail;
    /* Only a snapshot view keeps its read transaction. */
    if (v->shape != SHAPE_SNAPSHOT)
        clab_nb_reader_close(&v->reader);
    *out = v;
    return 0;
fail:
    clab_view_destroy(&v);
    return rc;
}

/* Reading. */

ssize_t clab_view_read(clab_view_t *v, char *buf, size_t size, off_t off)
{
    ssize_t rc = 0;
    pthread_mutex_lock(&v->lock);
    if (v->shape == SHAPE_WAIT) {
        pthread_mutex_unlock(&v->lock);
        if ((rc = clab_viewp_wait_read(v)) < 0)
            return rc; /* -EAGAIN: not done, to be held */
        pthread_mutex_lock(&v->lock);
    }
    if (off < 0) {
        rc = -EINVAL;
        goto out;
    }
    if (off >= v->size) {
        v->read_to_end = 1;
        goto out;
    }
    if ((off_t)size > v->size - off)
        size = (size_t)(v->size - off);
    if (v->shape == SHAPE_WHOLE) {
        memcpy(buf, v->buf.data + off, size);
        rc = (ssize_t)size;
        goto out;
    }
    off_t want = off + (off_t)size;
    if (off < v->base || off > v->base + (off_t)v->buf.len)
        restore(v, off);
    if (v->base + (off_t)v->buf.len < want && v->shape == SHAPE_APPEND &&
        (rc = clab_nb_reader_open(v->lab->nb, &v->reader)) < 0)
        goto out;
    while (v->base + (off_t)v->buf.len < want && !v->exhausted) {
        drop_before(v, off);
        if ((rc = fill(v)) < 0)
            goto out;
        checkpoint(v);
    }
    drop_before(v, off);
    off_t have = v->base + (off_t)v->buf.len - off;
    if (have < (off_t)size) {
        if (!v->warned++)
            clab_err("view of %s %s: %lld bytes rendered, %lld promised", v->node.tag,
                     v->info->render == CLAB_RENDER_NOTEBOOK ? "notebook.json" : "table",
                     (long long)(v->base + (off_t)v->buf.len), (long long)v->size);
        size = have > 0 ? (size_t)have : 0;
    }
    if (size)
        memcpy(buf, v->buf.data + (off - v->base), size);
    rc = (ssize_t)size;
    if (off + (off_t)size >= v->size)
        v->read_to_end = 1;
out:
    if (v->shape == SHAPE_APPEND) {
        clab_nb_cursor_close(&v->cur);
        clab_nb_reader_close(&v->reader);
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

void clab_view_destroy(clab_view_t **pv)
{
    clab_view_t *v = *pv;
    if (!v)
        return;
    clab_view_detach(v);
    clab_nb_cursor_close(&v->cur);
    clab_nb_reader_close(&v->reader);
    drop_columns(v->cols);
    clab_set_info_clear(&v->set);
    clab_buf_free(&v->buf);
    free(v->cps);
    pthread_mutex_destroy(&v->lock);
    free(v);
    *pv = NULL;
}

/* Sizes. */

static int same_columns(json_t *const a[3], json_t *const b[3])
{
    for (int k = 0; k < 3; k++)
        if (!json_equal(a[k], b[k]))
            return 0;
    return 1;
}

/* Moves an appendable open on to the present when that only appends to
 * what it reads: new rows under the same columns, or anything at all when
 * it was empty; and only once its reader has read all it had (tail -f
 * reads to the end, then stats), so that the size a stat told a reader
 * is what its reads then return. Called with v->lock. */
static void catch_up(clab_view_t *v)
{
    clab_nb_reader_t *r;
    clab_set_info_t info;
    json_t *cols[3] = {0};
    if (v->size > 0 && !v->read_to_end)
        return;
    if (clab_nb_reader_open(v->lab->nb, &r) < 0)
        return;
    if (clab_nb_set_info(r, v->node.tag, &info) < 0 || info.last_n <= v->upto)
        goto out;
    if (v->info->render == CLAB_RENDER_TABLE) {
        if (load_columns(r, v->node.tag, cols) < 0)
            goto out;
        if (v->size > 0 && !same_columns(cols, v->cols))
            goto out; /* a new column rewrites every row */
    }
    off_t size;
    if (append_size(v, v->info->render == CLAB_RENDER_TABLE ? cols : v->cols, &info,
                    &size) < 0)
        goto out;
    if (v->size == 0) {
        /* Empty so far: take the new columns and start afresh. */
        drop_columns(v->cols);
        memcpy(v->cols, cols, sizeof cols);
        memset(cols, 0, sizeof cols);
        v->ncps = 1;
        v->buf.len = 0;
        v->base = 0;
        v->pos = v->cps[0].pos;
    }
    v->upto = info.last_n;
    v->read_to_end = size <= v->size;
    v->size = size;
    v->mtime = info.modified;
    v->exhausted = 0;
out:
    drop_columns(cols);
    clab_set_info_clear(&info);
    clab_nb_reader_close(&r);
}

static int stat_locked(clab_view_t *v, off_t *size, double *mtime)
{
    pthread_mutex_lock(&v->lock);
    if (v->shape == SHAPE_APPEND)
        catch_up(v);
    /* A wait not yet done has no content yet: size 0, like /proc files,
     * so that readers read until the end instead of trusting a size. */
    *size = v->size < 0 ? 0 : v->size;
    *mtime = v->mtime;
    pthread_mutex_unlock(&v->lock);
    return 0;
}

int clab_view_settled(const clab_view_t *v)
{
    return v->shape == SHAPE_APPEND && v->settled;
}

int clab_view_is_wait(const clab_view_t *v)
{
    return v->info->render == CLAB_RENDER_WAIT;
}

const clab_node_t *clab_view_node(const clab_view_t *v)
{
    return &v->node;
}

int clab_view_stat_open(clab_view_t *v, off_t *size, double *mtime)
{
    return stat_locked(v, size, mtime);
}

int clab_view_stat(clab_lab_t *lab, const clab_node_t *node, int pid, off_t *size,
                   double *mtime)
{
    if (pid > 0) {
        pthread_mutex_lock(&lab->views_lock);
        for (clab_view_t *v = lab->views; v; v = v->next) {
            if (v->pid == pid && clab_node_same(&v->node, node)) {
                int rc = stat_locked(v, size, mtime);
                pthread_mutex_unlock(&lab->views_lock);
                return rc < 0 ? rc : 1;
            }
        }
        pthread_mutex_unlock(&lab->views_lock);
    }
    clab_view_t *v;
    int rc = clab_view_open(lab, node, &v);
    if (rc)
        return rc;
    *size = v->size < 0 ? 0 : v->size;
    *mtime = v->mtime;
    clab_view_destroy(&v);
    return 0;
}

/* The registry of open views (lab->views). */

void clab_view_attach(clab_view_t *v, int pid)
{
    if (pid <= 0 || clab_view_is_wait(v))
        return;
    pthread_mutex_lock(&v->lab->views_lock);
    if (!v->attached) {
        /* Newest first: a process with two opens is answered for the last. */
        v->pid = pid;
        v->next = v->lab->views;
        v->lab->views = v;
        v->attached = 1;
    }
    pthread_mutex_unlock(&v->lab->views_lock);
}

void clab_view_detach(clab_view_t *v)
{
    if (!v->lab)
        return;
    pthread_mutex_lock(&v->lab->views_lock);
    if (v->attached) {
        clab_view_t **p = &v->lab->views;
        while (*p && *p != v)
            p = &(*p)->next;
        if (*p)
            *p = v->next;
        v->attached = 0;
        v->next = NULL;
    }
    pthread_mutex_unlock(&v->lab->views_lock);
}

/* Attributes. */

int clab_view_getattr(clab_lab_t *lab, const clab_node_t *node, int pid, struct stat *st)
{
    const clab_node_info_t *info = clab_node_info(node->kind);
    double mtime = 0;
    off_t size = 0;
    int rc = 0;
    if (S_ISDIR(info->mode)) {
        /* A set's directories change with the set; the others with the
         * cluster, at any time. */
        mtime = node->set ? node->set_modified : clab_now();
    } else if (info->render == CLAB_RENDER_RESULT) {
        /* Learnt by the lookup. */
        size = node->size;
        mtime = node->stored > 0 ? node->stored : node->set_modified;
    } else if (info->render == CLAB_RENDER_INBOX) {
        mtime = lab->mounted;
    } else {
        rc = clab_view_stat(lab, node, pid, &size, &mtime);
    }
    clab_tree_attr(node, size, mtime, st);
    return rc;
}
