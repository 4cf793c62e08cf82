/* notebook.json (epyc.h): its pieces, rendered and measured by the same
 * functions so that the size promised at open is the size read. */
#include "epyc.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_SET "epyc.resultset.default"

static int nb_head(clab_buf_t *b, clab_nb_reader_t *r, int *sets_done)
{
    char current[CLAB_TAG_MAX + 1];
    clab_set_info_t info;
    int rc = clab_nb_set_info(r, DEFAULT_SET, &info), has_default = rc == 0;
    clab_set_info_clear(&info);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (clab_nb_current(r, current) < 0)
        snprintf(current, sizeof current, "%s", DEFAULT_SET);
    rc = clab_buf_puts(b, "{\"creator\":\"clabfs " CLAB_VERSION "\",\"version\":\"2\","
                          "\"description\":\"clabfs lab notebook\",\"current\":");
    rc = rc ? rc : clab_json_dump_string(b, current, strlen(current));
    rc = rc ? rc : clab_buf_puts(b, ",\"locked\":false,\"resultsets\":{");
    *sets_done = 0;
    if (!rc && !has_default) {
        rc = clab_buf_puts(b,
                           "\n\"" DEFAULT_SET "\":{\"results\":[],\"pending-results\":{},"
                           "\"description\":\"Default result set\",\"locked\":false}");
        *sets_done = 1;
    }
    return rc;
}

static int nb_set_open(clab_buf_t *b, int sets_done, const char *tag)
{
    int rc = clab_buf_puts(b, sets_done ? ",\n" : "\n");
    rc = rc ? rc : clab_json_dump_string(b, tag, strlen(tag));
    return rc ? rc : clab_buf_puts(b, ":{\"results\":[");
}

static int nb_set_mid(clab_buf_t *b, int any)
{
    return clab_buf_puts(b,
                         any ? "\n],\"pending-results\":{" : "],\"pending-results\":{");
}

static int nb_set_close(clab_buf_t *b, int any, const clab_set_info_t *info)
{
    int rc =
        clab_buf_puts(b, any ? "\n},\"clab.experiment\":" : "},\"clab.experiment\":");
    rc = rc ? rc : clab_json_dump_string(b, info->experiment, strlen(info->experiment));
    rc = rc ? rc : clab_buf_puts(b, ",\"description\":");
    rc = rc ? rc : clab_json_dump_string(b, info->description, strlen(info->description));
    return rc ? rc : clab_buf_puts(b, ",\"locked\":false}");
}

static const char nb_end[] = "\n}}\n";

typedef struct {
    clab_nb_reader_t *r;
    clab_buf_t b;
    int64_t total;
    int sets_done;
    double mtime;
    int rc;
} nb_measure_t;

static int nb_measure_set(void *ud, int64_t id, const char *tag)
{
    nb_measure_t *m = ud;
    clab_set_info_t info;
    (void)id;
    if ((m->rc = clab_nb_set_info(m->r, tag, &info)) < 0)
        return 1;
    long nres = info.results + info.failed;
    m->b.len = 0;
    m->rc = nb_set_open(&m->b, m->sets_done++, tag);
    m->rc = m->rc ? m->rc : nb_set_mid(&m->b, nres > 0);
    m->rc = m->rc ? m->rc : nb_set_close(&m->b, info.pending > 0, &info);
    /* Rows: the first after "\n", the others after ",\n". */
    m->total += (int64_t)m->b.len;
    if (nres > 0)
        m->total += info.jsonl_bytes + nres - 1;
    if (info.pending > 0)
        m->total +=
            info.pending_jobs + info.pending_bytes + 2 * (int64_t)info.pending - 1;
    if (info.modified > m->mtime)
        m->mtime = info.modified;
    clab_set_info_clear(&info);
    return m->rc < 0;
}

int clab_epyc_size(clab_nb_reader_t *r, off_t *size, double *mtime)
{
    nb_measure_t m = {.r = r};
    int rc = nb_head(&m.b, r, &m.sets_done);
    m.total = (int64_t)m.b.len + (int64_t)strlen(nb_end);
    if (!rc && (rc = clab_nb_sets(r, 0, nb_measure_set, &m)) > 0)
        rc = m.rc;
    clab_buf_free(&m.b);
    *size = (off_t)m.total;
    *mtime = m.mtime > 0 ? m.mtime : clab_now();
    return rc;
}

typedef struct {
    int64_t id;
    char tag[CLAB_TAG_MAX + 1];
} next_set_t;

static int first_set(void *ud, int64_t id, const char *tag)
{
    next_set_t *n = ud;
    n->id = id;
    snprintf(n->tag, sizeof n->tag, "%s", tag);
    return 1;
}

/* The set at pos->tag, loaded again after a checkpoint took pos elsewhere. */
static int current_set(clab_nb_reader_t *r, const clab_epyc_pos_t *pos,
                       clab_set_info_t *set)
{
    if (set->experiment && strcmp(set->tag, pos->tag) == 0)
        return 0;
    clab_set_info_clear(set);
    return clab_nb_set_info(r, pos->tag, set);
}

/* Appends rows of the set's results (phase 2) or pending points (phase 3)
 * after pos->key, about a chunk; *done when there are no more. */
static int fill_rows(clab_nb_reader_t *r, clab_epyc_pos_t *pos, clab_nb_cursor_t **cur,
                     clab_buf_t *out, size_t chunk, int *done)
{
    size_t start = out->len;
    int rc = 0;
    *done = 0;
    if (!*cur) {
        rc = pos->phase == 2 ? clab_nb_results(r, pos->tag, -1, pos->key, -1, cur)
                             : clab_nb_pending(r, pos->tag, pos->key, cur);
        if (rc)
            return rc;
    }
    while (out->len - start < chunk) {
        clab_nb_row_t row;
        if ((rc = clab_nb_cursor_next(*cur, &row)) <= 0) {
            clab_nb_cursor_close(cur);
            *done = 1;
            return rc;
        }
        rc = clab_buf_puts(out, pos->key ? ",\n" : "\n");
        if (!rc && pos->phase == 3) {
            rc = clab_json_dump_string(out, row.job, row.job_len);
            rc = rc ? rc : clab_buf_add(out, ":", 1);
        }
        rc = rc ? rc : clab_buf_add(out, row.text, row.len);
        if (rc)
            return rc;
        pos->key = row.key;
    }
    return 0;
}

/* Phase 1: opens the next set, or ends the file. */
static int next_set(clab_nb_reader_t *r, clab_epyc_pos_t *pos, clab_buf_t *out, int *done)
{
    next_set_t n = {0};
    int rc = clab_nb_sets(r, pos->set, first_set, &n);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        pos->phase = 4;
        *done = 1;
        return clab_buf_puts(out, nb_end);
    }
    pos->set = n.id;
    memcpy(pos->tag, n.tag, sizeof n.tag);
    pos->phase = 2;
    pos->key = 0;
    return nb_set_open(out, pos->sets_done, n.tag);
}

int clab_epyc_fill(clab_nb_reader_t *r, clab_epyc_pos_t *pos, clab_nb_cursor_t **cur,
                   clab_set_info_t *set, clab_buf_t *out, size_t chunk, int *done)
{
    int rc = 0, rows_done = 0;
    *done = 0;
    switch (pos->phase) {
    case 0:
        rc = nb_head(out, r, &pos->sets_done);
        pos->phase = 1;
        return rc;
    case 1:
        return next_set(r, pos, out, done);
    case 2:
        if ((rc = fill_rows(r, pos, cur, out, chunk, &rows_done)) < 0 || !rows_done)
            return rc;
        rc = nb_set_mid(out, pos->key != 0);
        pos->phase = 3;
        pos->key = 0;
        return rc;
    case 3:
        if ((rc = fill_rows(r, pos, cur, out, chunk, &rows_done)) < 0 || !rows_done)
            return rc;
        if ((rc = current_set(r, pos, set)) < 0)
            return rc;
        rc = nb_set_close(out, pos->key != 0, set);
        pos->phase = 1;
        pos->key = 0;
        pos->sets_done++;
        return rc;
    default:
        *done = 1;
        return 0;
    }
}
