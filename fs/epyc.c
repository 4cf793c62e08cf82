/* notebook.json and results/TAG/notebook.json (epyc.h): their pieces,
 * rendered and measured by the same functions so that the size promised
 * at open is the size read, and what epyc would refuse in them renamed or
 * retyped as it reads them. */
#include "epyc.h"
#include "json.h"
#include "buf.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SET "epyc.resultset.default"

/* epyc types a column from the first value it sees in it (numpy: bool,
 * int, float, str, or a list typed by its first element) and cannot type
 * null or an object. Inside a result's metadata, parameters and results
 * (depth base 2 and deeper), or a pending point's values (base 1), null is
 * written NaN (pandas' missing value) and an object as the list of its
 * keys and values: {"a":1} -> ["a",1]. Both keep the text's length, so
 * the byte counts of the notebook still size the file. p holds one
 * compact result document, or a pending point's parameters. */
static void epyc_values(char *p, size_t n, int base)
{
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '"') {
            i = clab_json_string_end(p, n, i);
        } else if (c == '{') {
            if (depth++ >= base)
                p[i] = '[';
        } else if (c == '[') {
            depth++;
        } else if (c == '}') {
            if (--depth >= base)
                p[i] = ']';
        } else if (c == ']') {
            depth--;
        } else if (c == ':' && depth > base) {
            p[i] = ',';
        } else if (c == 'n' && depth >= base && n - i >= 4 && !memcmp(p + i, "null", 4)) {
            memcpy(p + i, "NaN ", 4);
            i += 3;
        }
    }
}

/* epyc's Experiment.StandardMetadata: every record of an epyc notebook has
 * these metadata names, whatever it stored. */
static const char *const standard_metadata[] = {
    "epyc.experiment.classname",     "epyc.experiment.start_time",
    "epyc.experiment.end_time",      "epyc.experiment.elapsed_time",
    "epyc.experiment.setup_time",    "epyc.experiment.experiment_time",
    "epyc.experiment.teardown_time", "epyc.experiment.status",
    "epyc.experiment.exception",     "epyc.experiment.traceback"};

/* What epyc would refuse in a set (numpy: "field 'x' occurs more than
 * once": a result named like a parameter or a metadata name, a metadata
 * name like a parameter), renamed as the tables head them
 * (clab_table_header_names): map[1] for results, map[2] for metadata, old
 * key literal -> new one; extra, the bytes the renaming adds to the set's
 * documents. */
typedef struct {
    json_t *map[3];
    int64_t extra;
} renames_t;

static void renames_clear(renames_t *rn)
{
    for (int k = 0; k < 3; k++)
        json_decref(rn->map[k]);
    *rn = (renames_t){0};
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of names (an object, clab_nb_names) that epyc sees (results:
 * of successes only), and more, sorted as the tables sort theirs. */
static json_t *sorted_names(json_t *names, int results, const char *const *more,
                            size_t nmore)
{
    const char **all = malloc((json_object_size(names) + nmore + 1) * sizeof *all);
    json_t *out = all ? json_array() : NULL, *v;
    const char *k;
    size_t n = 0;
    json_object_foreach(names, k,
                        v) if (!results || json_integer_value(json_array_get(v, 1)) > 0)
        all[n++] = k;
    for (size_t i = 0; all && i < nmore; i++)
        if (!json_object_get(names, more[i]))
            all[n++] = more[i];
    if (out) {
        qsort(all, n, sizeof *all, by_name);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(out, json_string(all[i]));
    }
    free(all);
    return out;
}

/* Records the renaming of part k's name into rn (its documents' bytes). */
static int rename_one(renames_t *rn, int k, json_t *names, const char *from,
                      const char *to)
{
    clab_buf_t a = {0}, b = {0};
    int rc = clab_json_dump_string(&a, from, strlen(from));
    rc = rc ? rc : clab_json_dump_string(&b, to, strlen(to));
    if (!rc && json_object_set_new(rn->map[k], a.data, json_stringn(b.data, b.len)))
        rc = -ENOMEM;
    json_t *docs = json_array_get(json_object_get(names, from), 0);
    rn->extra += json_integer_value(docs) * (int64_t)(b.len - a.len);
    clab_buf_free(&a);
    clab_buf_free(&b);
    return rc;
}

static int set_renames(clab_nb_reader_t *r, const char *tag, renames_t *rn)
{
    json_t *names[3] = {NULL}, *cols[3] = {NULL}, *heads[3] = {NULL};
    int rc = 0;
    *rn = (renames_t){0};
    for (int k = 0; k < 3 && !rc; k++)
        rc = clab_nb_names(r, tag, k, &names[k]);
    if (!rc) {
        cols[0] = sorted_names(names[0], 0, NULL, 0);
        cols[1] = sorted_names(names[1], 1, NULL, 0);
        cols[2] = sorted_names(names[2], 0, standard_metadata,
                               sizeof standard_metadata / sizeof *standard_metadata);
        rc = cols[0] && cols[1] && cols[2] ? clab_table_header_names(cols, heads)
                                           : -ENOMEM;
    }
    for (int k = 1; k < 3 && !rc; k++) {
        size_t i;
        json_t *c;
        if (!(rn->map[k] = json_object()))
            rc = -ENOMEM;
        json_array_foreach(cols[k], i, c)
        {
            const char *to = json_string_value(json_array_get(heads[k], i));
            if (!rc && strcmp(json_string_value(c), to))
                rc = rename_one(rn, k, names[k], json_string_value(c), to);
        }
    }
    for (int k = 0; k < 3; k++) {
        json_decref(names[k]);
        json_decref(cols[k]);
        json_decref(heads[k]);
    }
    if (rc)
        renames_clear(rn);
    return rc;
}

/* Appends the result document p with rn's keys renamed (the keys of its
 * results and metadata objects) and its values as epyc types them. */
static int epyc_doc(clab_buf_t *out, const char *p, size_t n, const renames_t *rn)
{
    size_t from = 0, at = out->len;
    int depth = 0, part = 0, rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char c = p[i];
        if (c == '"') {
            size_t end = clab_json_string_end(p, n, i);
            if (depth == 1)
                part = !strncmp(p + i, "\"results\"", 9)     ? 1
                       : !strncmp(p + i, "\"metadata\"", 10) ? 2
                                                             : 0;
            json_t *to = depth == 2 && part && (p[i - 1] == '{' || p[i - 1] == ',') &&
                                 end < n && json_object_size(rn->map[part])
                             ? json_object_getn(rn->map[part], p + i, end + 1 - i)
                             : NULL;
            if (to) {
                rc = clab_buf_add(out, p + from, i - from);
                rc =
                    rc ? rc
                       : clab_buf_add(out, json_string_value(to), json_string_length(to));
                from = end + 1;
            }
            i = end;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    rc = rc ? rc : clab_buf_add(out, p + from, n - from);
    if (!rc)
        epyc_values(out->data + at, out->len - at, 2);
    return rc;
}

/* Parameter names as JSON string literals (escaped as in the text): a
 * pending point's, or a set's. */
typedef struct {
    char **lit;
    size_t n, cap;
} names_t;

static void names_free(names_t *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->lit[i]);
    free(ns->lit);
    *ns = (names_t){0};
}

static int names_has(const names_t *ns, const char *lit, size_t len)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strlen(ns->lit[i]) == len && !memcmp(ns->lit[i], lit, len))
            return 1;
    return 0;
}

static int names_add(names_t *ns, const char *lit, size_t len)
{
    if (names_has(ns, lit, len))
        return 0;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 8;
        char **p = realloc(ns->lit, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        ns->lit = p;
        ns->cap = cap;
    }
    if (!(ns->lit[ns->n] = strndup(lit, len)))
        return -ENOMEM;
    ns->n++;
    return 0;
}

/* The top-level keys of a compact JSON object, as literals. */
static int object_keys(const char *p, size_t n, names_t *out)
{
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"') {
            size_t j = i + 1;
            while (j < n && p[j] != '"')
                j += p[j] == '\\' ? 2 : 1;
            int rc = depth == 1 && j + 1 < n && p[j + 1] == ':'
                         ? names_add(out, p + i, j + 1 - i)
                         : 0;
            if (rc)
                return rc;
            i = j;
        } else if (p[i] == '{' || p[i] == '[') {
            depth++;
        } else if (p[i] == '}' || p[i] == ']') {
            depth--;
        }
    }
    return 0;
}

/* The bytes epyc_pad adds to a pending point with keys `have`. */
static int64_t pad_bytes(const names_t *all, const names_t *have)
{
    int64_t add = 0;
    size_t missing = 0;
    for (size_t i = 0; i < all->n; i++)
        if (!names_has(have, all->lit[i], strlen(all->lit[i]))) {
            add += (int64_t)strlen(all->lit[i]) + (int64_t)strlen(":NaN,");
            missing++;
        }
    /* No comma before the first name added to an empty point. */
    return missing && have->n == 0 ? add - 1 : add;
}

/* Pass 1 (pad NULL) adds every pending point's names to all; pass 2 sums
 * the bytes padding each point to all of them adds. */
static int scan_pending(clab_nb_reader_t *r, const char *tag, names_t *all, int64_t *pad)
{
    clab_nb_cursor_t *cur = NULL;
    clab_nb_row_t row;
    int rc = clab_nb_pending(r, tag, 0, &cur);
    while (rc == 0) {
        if ((rc = clab_nb_cursor_next(cur, &row)) <= 0)
            break;
        names_t have = {0};
        rc = object_keys(row.text, row.len, pad ? &have : all);
        if (!rc && pad)
            *pad += pad_bytes(all, &have);
        names_free(&have);
    }
    clab_nb_cursor_close(&cur);
    return rc < 0 ? rc : 0;
}

/* epyc refuses a pending point that lacks a parameter name the set already
 * has (from its results or the pending points before it), so a set whose
 * points differ in names has each pending point padded with the names it
 * lacks, as NaN. all gets every parameter name of the set; *pad what the
 * padding adds to the file (0: no point needs it). */
static int pending_names(clab_nb_reader_t *r, const char *tag, names_t *all, int64_t *pad)
{
    json_t *cols = NULL, *c;
    clab_buf_t b = {0};
    size_t i;
    int rc = clab_nb_columns(r, tag, CLAB_COL_PARAM, &cols);
    *pad = 0;
    json_array_foreach(cols, i, c)
    {
        b.len = 0;
        if (rc ||
            (rc = clab_json_dump_string(&b, json_string_value(c),
                                        json_string_length(c))) ||
            (rc = names_add(all, b.data, b.len)))
            break;
    }
    json_decref(cols);
    clab_buf_free(&b);
    rc = rc ? rc : scan_pending(r, tag, all, NULL);
    return rc ? rc : scan_pending(r, tag, all, pad);
}

/* A pending point's parameters with the names of all it lacks, as NaN. */
static int pad_row(clab_buf_t *out, const char *text, size_t len, const names_t *all)
{
    names_t have = {0};
    size_t end = len;
    while (end > 0 && text[end - 1] != '}')
        end--;
    int rc = end ? object_keys(text, len, &have) : -EINVAL, first = have.n == 0;
    rc = rc ? rc : clab_buf_add(out, text, end - 1);
    for (size_t i = 0; i < all->n && !rc; i++) {
        if (names_has(&have, all->lit[i], strlen(all->lit[i])))
            continue;
        rc = clab_buf_puts(out, first ? "" : ",");
        rc = rc ? rc : clab_buf_puts(out, all->lit[i]);
        rc = rc ? rc : clab_buf_puts(out, ":NaN");
        first = 0;
    }
    names_free(&have);
    return rc ? rc : clab_buf_add(out, "}", 1);
}

/* The head of the whole notebook (tag NULL), or of the notebook of one
 * set, which is its current one. */
static int nb_head(clab_buf_t *b, clab_nb_reader_t *r, const char *tag, int *sets_done)
{
    char current[CLAB_TAG_MAX + 1];
    clab_set_info_t info;
    int rc = 0, has_default = tag && strcmp(tag, DEFAULT_SET) == 0;
    if (!tag) {
        rc = clab_nb_set_info(r, DEFAULT_SET, &info);
        has_default = rc == 0;
        clab_set_info_clear(&info);
    }
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (tag)
        snprintf(current, sizeof current, "%s", tag);
    else if (clab_nb_current(r, current) < 0)
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

/* The set's end: its experiment, description and whether /ctl finish
 * locked it, read in the same snapshot as the rest. */
static int nb_set_close(clab_buf_t *b, int any, const clab_set_info_t *info,
                        clab_nb_reader_t *r, const char *tag)
{
    int locked = clab_nb_set_locked(r, tag);
    if (locked < 0)
        return locked;
    int rc =
        clab_buf_puts(b, any ? "\n},\"clab.experiment\":" : "},\"clab.experiment\":");
    rc = rc ? rc : clab_json_dump_string(b, info->experiment, strlen(info->experiment));
    rc = rc ? rc : clab_buf_puts(b, ",\"description\":");
    rc = rc ? rc : clab_json_dump_string(b, info->description, strlen(info->description));
    return rc ? rc
              : clab_buf_puts(b, locked ? ",\"locked\":true}" : ",\"locked\":false}");
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
    renames_t rn;
    if (nres > 0 && (m->rc = set_renames(m->r, tag, &rn)) == 0) {
        m->total += rn.extra;
        renames_clear(&rn);
    }
    if (m->rc < 0) {
        clab_set_info_clear(&info);
        return 1;
    }
    m->b.len = 0;
    m->rc = nb_set_open(&m->b, m->sets_done++, tag);
    m->rc = m->rc ? m->rc : nb_set_mid(&m->b, nres > 0);
    m->rc = m->rc ? m->rc : nb_set_close(&m->b, info.pending > 0, &info, m->r, tag);
    /* Rows: the first after "\n", the others after ",\n". */
    m->total += (int64_t)m->b.len;
    if (nres > 0)
        m->total += info.jsonl_bytes + nres - 1;
    if (info.pending > 0) {
        names_t all = {0};
        int64_t pad = 0;
        if ((m->rc = pending_names(m->r, tag, &all, &pad)) < 0) {
            names_free(&all);
            clab_set_info_clear(&info);
            return 1;
        }
        names_free(&all);
        m->total +=
            info.pending_jobs + info.pending_bytes + 2 * (int64_t)info.pending - 1 + pad;
    }
    if (info.modified > m->mtime)
        m->mtime = info.modified;
    clab_set_info_clear(&info);
    return m->rc < 0;
}

int clab_epyc_size(clab_nb_reader_t *r, const char *tag, off_t *size, double *mtime)
{
    nb_measure_t m = {.r = r};
    int rc = nb_head(&m.b, r, tag, &m.sets_done);
    m.total = (int64_t)m.b.len + (int64_t)strlen(nb_end);
    if (!rc && tag)
        rc = nb_measure_set(&m, 0, tag) ? m.rc : 0;
    else if (!rc && (rc = clab_nb_sets(r, 0, nb_measure_set, &m)) > 0)
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
                     clab_buf_t *out, size_t chunk, const names_t *pad_to, int *done)
{
    size_t start = out->len;
    renames_t rn = {0};
    int rc = pos->phase == 2 ? set_renames(r, pos->tag, &rn) : 0;
    *done = 0;
    if (!rc && !*cur) {
        rc = pos->phase == 2 ? clab_nb_results(r, pos->tag, -1, pos->key, -1, cur)
                             : clab_nb_pending(r, pos->tag, pos->key, cur);
    }
    while (!rc && out->len - start < chunk) {
        clab_nb_row_t row;
        if ((rc = clab_nb_cursor_next(*cur, &row)) <= 0) {
            clab_nb_cursor_close(cur);
            *done = 1;
            break;
        }
        rc = clab_buf_puts(out, pos->key ? ",\n" : "\n");
        if (!rc && pos->phase == 3) {
            rc = clab_json_dump_string(out, row.job, row.job_len);
            rc = rc ? rc : clab_buf_add(out, ":", 1);
        }
        size_t at = out->len;
        if (pos->phase == 2)
            rc = rc ? rc : epyc_doc(out, row.text, row.len, &rn);
        else if (pad_to)
            rc = rc ? rc : pad_row(out, row.text, row.len, pad_to);
        else
            rc = rc ? rc : clab_buf_add(out, row.text, row.len);
        if (!rc && pos->phase == 3)
            epyc_values(out->data + at, out->len - at, 1);
        pos->key = row.key;
    }
    renames_clear(&rn);
    return rc;
}

/* Phase 3: the set's pending points, a chunk at a time; when some must be
 * padded, all of them at once, since the names they are padded to would
 * not outlive this call. */
static int fill_pending(clab_nb_reader_t *r, clab_epyc_pos_t *pos, clab_nb_cursor_t **cur,
                        clab_buf_t *out, size_t chunk, int *done)
{
    names_t all = {0};
    int64_t pad = 0;
    int rc = 0;
    if (pos->key == 0 && !*cur)
        rc = pending_names(r, pos->tag, &all, &pad);
    if (!rc)
        rc = fill_rows(r, pos, cur, out, pad ? SIZE_MAX : chunk, pad ? &all : NULL, done);
    names_free(&all);
    return rc;
}

/* Phase 1: opens the next set (of all, or tag's alone), or ends the
 * file. */
static int next_set(clab_nb_reader_t *r, const char *tag, clab_epyc_pos_t *pos,
                    clab_buf_t *out, int *done)
{
    next_set_t n = {0};
    clab_set_info_t info;
    int rc = 0;
    if (!tag) {
        rc = clab_nb_sets(r, pos->set, first_set, &n);
    } else if (!pos->set && (rc = clab_nb_set_info(r, tag, &info)) == 0) {
        n.id = info.id;
        snprintf(n.tag, sizeof n.tag, "%s", tag);
        clab_set_info_clear(&info);
        rc = 1;
    }
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

int clab_epyc_fill(clab_nb_reader_t *r, const char *tag, clab_epyc_pos_t *pos,
                   clab_nb_cursor_t **cur, clab_set_info_t *set, clab_buf_t *out,
                   size_t chunk, int *done)
{
    int rc = 0, rows_done = 0;
    *done = 0;
    switch (pos->phase) {
    case 0:
        rc = nb_head(out, r, tag, &pos->sets_done);
        pos->phase = 1;
        return rc;
    case 1:
        return next_set(r, tag, pos, out, done);
    case 2:
        if ((rc = fill_rows(r, pos, cur, out, chunk, NULL, &rows_done)) < 0 || !rows_done)
            return rc;
        rc = nb_set_mid(out, pos->key != 0);
        pos->phase = 3;
        pos->key = 0;
        return rc;
    case 3:
        if ((rc = fill_pending(r, pos, cur, out, chunk, &rows_done)) < 0 || !rows_done)
            return rc;
        if ((rc = current_set(r, pos, set)) < 0)
            return rc;
        rc = nb_set_close(out, pos->key != 0, set, r, pos->tag);
        pos->phase = 1;
        pos->key = 0;
        pos->sets_done++;
        return rc;
    default:
        *done = 1;
        return 0;
    }
}
