/* Path parsing, attributes and directory listings of the mount. */
#include "tree.h"
#include "log.h"
#include "table.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DIR_MODE (S_IFDIR | 0755)
#define RO_MODE (S_IFREG | 0444)

/* The node table: one row per kind, in clab_node_kind_t order. */
static const clab_node_info_t nodes[CLAB_NODE_KINDS] = {
    [CLAB_NODE_ROOT] = {"/", CLAB_NODE_ROOT, CLAB_NAME_FIXED, DIR_MODE, 0,
                        CLAB_RENDER_NONE, 0},
    [CLAB_NODE_SUBMIT] = {"submit", CLAB_NODE_ROOT, CLAB_NAME_FIXED, S_IFREG | 0600, 1,
                          CLAB_RENDER_INBOX, CLAB_INBOX_SUBMIT},
    [CLAB_NODE_CTL] = {"ctl", CLAB_NODE_ROOT, CLAB_NAME_FIXED, S_IFREG | 0200, 1,
                       CLAB_RENDER_INBOX, CLAB_INBOX_CTL},
    [CLAB_NODE_STATUS] = {"status", CLAB_NODE_ROOT, CLAB_NAME_FIXED, RO_MODE, 1,
                          CLAB_RENDER_STATUS, 0},
    [CLAB_NODE_STATUS_JSON] = {"status.json", CLAB_NODE_ROOT, CLAB_NAME_FIXED, RO_MODE, 1,
                               CLAB_RENDER_STATUS, CLAB_STATUS_JSON},
    [CLAB_NODE_ERRORS] = {"errors", CLAB_NODE_ROOT, CLAB_NAME_FIXED, RO_MODE, 1,
                          CLAB_RENDER_ERRORS, 0},
    [CLAB_NODE_NOTEBOOK_JSON] = {"notebook.json", CLAB_NODE_ROOT, CLAB_NAME_FIXED,
                                 RO_MODE, 1, CLAB_RENDER_NOTEBOOK, 0},
    [CLAB_NODE_LAB_WAIT] = {"wait", CLAB_NODE_ROOT, CLAB_NAME_FIXED, RO_MODE, 1,
                            CLAB_RENDER_WAIT, 0, 1},
    [CLAB_NODE_ENGINES] = {"engines", CLAB_NODE_ROOT, CLAB_NAME_FIXED, DIR_MODE, 0,
                           CLAB_RENDER_NONE, 0},
    [CLAB_NODE_RESULTS] = {"results", CLAB_NODE_ROOT, CLAB_NAME_FIXED, DIR_MODE, 0,
                           CLAB_RENDER_NONE, 0},
    [CLAB_NODE_ENGINE] = {"ID", CLAB_NODE_ENGINES, CLAB_NAME_ENGINE, RO_MODE, 1,
                          CLAB_RENDER_ENGINE, 0},
    [CLAB_NODE_SET] = {"TAG", CLAB_NODE_RESULTS, CLAB_NAME_TAG, DIR_MODE, 0,
                       CLAB_RENDER_NONE, 0},
    [CLAB_NODE_CSV] = {"results.csv", CLAB_NODE_SET, CLAB_NAME_FIXED, RO_MODE, 1,
                       CLAB_RENDER_TABLE, CLAB_TABLE_CSV},
    [CLAB_NODE_TSV] = {"results.tsv", CLAB_NODE_SET, CLAB_NAME_FIXED, RO_MODE, 1,
                       CLAB_RENDER_TABLE, CLAB_TABLE_TSV},
    [CLAB_NODE_JSONL] = {"results.jsonl", CLAB_NODE_SET, CLAB_NAME_FIXED, RO_MODE, 1,
                         CLAB_RENDER_JSONL, 0},
    [CLAB_NODE_SET_STATUS] = {"status", CLAB_NODE_SET, CLAB_NAME_FIXED, RO_MODE, 1,
                              CLAB_RENDER_STATUS, CLAB_STATUS_SET},
    [CLAB_NODE_WAIT] = {"wait", CLAB_NODE_SET, CLAB_NAME_FIXED, RO_MODE, 1,
                        CLAB_RENDER_WAIT, CLAB_STATUS_SET, 1},
    [CLAB_NODE_PENDING] = {"pending", CLAB_NODE_SET, CLAB_NAME_FIXED, RO_MODE, 1,
                           CLAB_RENDER_PENDING, 0},
    [CLAB_NODE_EXPERIMENT] = {"experiment", CLAB_NODE_SET, CLAB_NAME_FIXED, RO_MODE, 1,
                              CLAB_RENDER_SET_TEXT, CLAB_SET_EXPERIMENT},
    [CLAB_NODE_DESCRIPTION] = {"description", CLAB_NODE_SET, CLAB_NAME_FIXED, RO_MODE, 1,
                               CLAB_RENDER_SET_TEXT, CLAB_SET_DESCRIPTION},
    [CLAB_NODE_SET_NOTEBOOK_JSON] = {"notebook.json", CLAB_NODE_SET, CLAB_NAME_FIXED,
                                     RO_MODE, 1, CLAB_RENDER_NOTEBOOK, 1},
    [CLAB_NODE_FAILED] = {"failed", CLAB_NODE_SET, CLAB_NAME_FIXED, DIR_MODE, 0,
                          CLAB_RENDER_NONE, 0},
    [CLAB_NODE_RESULT] = {"N.json", CLAB_NODE_SET, CLAB_NAME_RESULT, RO_MODE, 0,
                          CLAB_RENDER_RESULT, 1},
    [CLAB_NODE_FAILED_RESULT] = {"N.json", CLAB_NODE_FAILED, CLAB_NAME_RESULT, RO_MODE, 0,
                                 CLAB_RENDER_RESULT, 0},
};

const clab_node_info_t *clab_node_info(clab_node_kind_t kind)
{
    return &nodes[kind < CLAB_NODE_KINDS ? kind : CLAB_NODE_ROOT];
}

/* Directory cookies: "." is 1, ".." is 2, fixed entries follow in table
 * order; result files, sets and engines come after those, numbered by N,
 * by the set's row id (both only grow) or by place in the engine list. */
#define COOKIE_FIXED 3

/* The listed children of parent with a fixed name, and the one named by a
 * pattern (CLAB_NODE_KINDS when none is). */
static size_t fixed_children(clab_node_kind_t parent, clab_node_kind_t *pattern)
{
    size_t n = 0;
    *pattern = CLAB_NODE_KINDS;
    for (int k = CLAB_NODE_ROOT + 1; k < CLAB_NODE_KINDS; k++) {
        if (nodes[k].parent != parent)
            continue;
        if (nodes[k].shape == CLAB_NAME_FIXED)
            n += !nodes[k].unlisted;
        else
            *pattern = (clab_node_kind_t)k;
    }
    return n;
}

/* Splits the next component off *p; returns its length, 0 at the end. */
static size_t next_component(const char **p, const char **comp)
{
    while (**p == '/')
        (*p)++;
    *comp = *p;
    while (**p && **p != '/')
        (*p)++;
    return (size_t)(*p - *comp);
}

/* "N.json" with N a positive decimal without leading zeros. */
static long parse_result_name(const char *s, size_t len)
{
    if (len < 6 || len > 24 || strncmp(s + len - 5, ".json", 5) != 0 || s[0] < '1' ||
        s[0] > '9')
        return -1;
    long n = 0;
    for (size_t i = 0; i < len - 5; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    return n;
}

/* What the last listing of a results directory learnt of its N.json
 * files: `ls -l` lists, then stats every file, and each stat would
 * otherwise cost a read transaction of its own. Valid while the notebook
 * is unchanged (its generation, read before the listing's snapshot); the
 * lookups that find nothing here ask the notebook. */
#define SEEN_MAX (1L << 19) /* N values kept: 12 bytes each */

static struct {
    pthread_mutex_t lock;
    const clab_notebook_t *nb;
    uint64_t gen;
    char tag[CLAB_TAG_MAX + 1];
    int ok;
    double set_modified;
    long cap;       /* N in 1..cap have a slot */
    int32_t *len;   /* the document's length, -1 when there is no such file */
    double *stored; /* when it was stored */
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* With seen.lock: whether seen is the listing of tag's files of ok at gen. */
static int seen_is(const clab_notebook_t *nb, uint64_t gen, const char *tag, int ok)
{
    return seen.nb == nb && seen.gen == gen && seen.ok == ok &&
           strcmp(seen.tag, tag) == 0;
}

/* Starts or goes on with the listing of node (a results directory): called
 * for each chunk of it, with the generation read before its snapshot. */
static void seen_start(const clab_notebook_t *nb, uint64_t gen, const char *tag, int ok,
                       double set_modified)
{
    pthread_mutex_lock(&seen.lock);
    if (!seen_is(nb, gen, tag, ok)) {
        seen.nb = nb;
        seen.gen = gen;
        seen.ok = ok;
        seen.set_modified = set_modified;
        snprintf(seen.tag, sizeof seen.tag, "%s", tag);
        for (long i = 0; i < seen.cap; i++)
            seen.len[i] = -1;
    }
    pthread_mutex_unlock(&seen.lock);
}

static void seen_add(const clab_notebook_t *nb, uint64_t gen, const char *tag, int ok,
                     const clab_nb_row_t *row)
{
    pthread_mutex_lock(&seen.lock);
    if (!seen_is(nb, gen, tag, ok) || row->key < 1 || row->key > SEEN_MAX ||
        row->len > INT32_MAX)
        goto out;
    if (row->key > seen.cap) {
        long cap = seen.cap ? seen.cap : 1024;
        while (cap < row->key)
            cap *= 2;
        int32_t *len = realloc(seen.len, (size_t)cap * sizeof *len);
        if (len)
            seen.len = len;
        double *stored = len ? realloc(seen.stored, (size_t)cap * sizeof *stored) : NULL;
        if (!stored)
            goto out; /* a smaller cache only costs time */
        seen.stored = stored;
        for (long i = seen.cap; i < cap; i++)
            seen.len[i] = -1;
        seen.cap = cap;
    }
    seen.len[row->key - 1] = (int32_t)row->len;
    seen.stored[row->key - 1] = row->stored;
out:
    pthread_mutex_unlock(&seen.lock);
}

/* Fills what a lookup of node (ok: -1 for the set itself) learns from the
 * last listing; 1 when it could. */
static int seen_find(clab_notebook_t *nb, clab_node_t *node, int ok)
{
    uint64_t gen = clab_notebook_generation(nb);
    int hit = 0;
    pthread_mutex_lock(&seen.lock);
    if (ok < 0) {
        hit = seen.nb == nb && seen.gen == gen && strcmp(seen.tag, node->tag) == 0;
        if (hit)
            node->set_modified = seen.set_modified;
    } else if (seen_is(nb, gen, node->tag, ok) && node->n >= 1 && node->n <= seen.cap &&
               seen.len[node->n - 1] >= 0) {
        node->size = (off_t)seen.len[node->n - 1] + 1;
        node->stored = seen.stored[node->n - 1];
        hit = 1;
    }
    pthread_mutex_unlock(&seen.lock);
    return hit;
}

static int find_result(clab_lab_t *lab, clab_nb_reader_t **r, clab_node_t *node,
                       const char *c, size_t len)
{
    size_t rlen;
    node->n = parse_result_name(c, len);
    if (node->n <= 0)
        return -ENOENT;
    if (seen_find(lab->nb, node, nodes[node->kind].arg))
        return 0;
    /* The set was found in the listing: no snapshot open yet. */
    int rc = *r ? 0 : clab_nb_reader_open(lab->nb, r);
    rc = rc ? rc
            : clab_nb_result_stat(*r, node->tag, node->n, nodes[node->kind].arg, &rlen,
                                  &node->stored);
    node->size = (off_t)rlen + 1; /* N.json ends in a newline */
    return rc;
}

/* Enters a set: the tag must be one the notebook knows. The reader stays
 * open for what lies below, so that the whole path sees one snapshot. */
static int find_set(clab_lab_t *lab, clab_nb_reader_t **r, clab_node_t *node,
                    const char *c, size_t len)
{
    if (len > CLAB_TAG_MAX)
        return -ENOENT;
    memcpy(node->tag, c, len);
    node->tag[len] = '\0';
    if (!clab_tag_valid(node->tag))
        return -ENOENT;
    if (seen_find(lab->nb, node, -1))
        return 0;
    int rc = clab_nb_reader_open(lab->nb, r);
    if (rc)
        return rc;
    clab_set_info_t info;
    rc = clab_nb_set_info(*r, node->tag, &info);
    node->set_modified = info.modified;
    clab_set_info_clear(&info);
    return rc;
}

/* Whether the cluster reports an engine of that id now. */
static int engine_exists(clab_lab_t *lab, const char *id)
{
    json_t *e = clab_lab_engine(lab, id);
    json_decref(e);
    return e != NULL;
}

/* Engine ids are printable without '/', but "." and ".." cannot be files. */
static int engine_name_ok(const char *id)
{
    return id && id[0] && strcmp(id, ".") != 0 && strcmp(id, "..") != 0 &&
           strlen(id) <= CLAB_ENGINE_ID_MAX && !strchr(id, '/');
}

static int find_engine(clab_lab_t *lab, clab_node_t *node, const char *c, size_t len)
{
    if (len > CLAB_ENGINE_ID_MAX)
        return -ENOENT;
    memcpy(node->engine, c, len);
    node->engine[len] = '\0';
    return engine_name_ok(node->engine) && engine_exists(lab, node->engine) ? 0 : -ENOENT;
}

/* Moves node to its child named c: a fixed name first, then the pattern. */
static int find_child(clab_lab_t *lab, clab_nb_reader_t **r, clab_node_t *node,
                      const char *c, size_t len)
{
    clab_node_kind_t pattern;
    fixed_children(node->kind, &pattern);
    for (int k = CLAB_NODE_ROOT + 1; k < CLAB_NODE_KINDS; k++) {
        if (nodes[k].parent == node->kind && nodes[k].shape == CLAB_NAME_FIXED &&
            strlen(nodes[k].name) == len && strncmp(c, nodes[k].name, len) == 0) {
            node->kind = (clab_node_kind_t)k;
            return 0;
        }
    }
    if (pattern == CLAB_NODE_KINDS)
        return -ENOENT;
    node->kind = pattern;
    switch (nodes[pattern].shape) {
    case CLAB_NAME_TAG:
        return find_set(lab, r, node, c, len);
    case CLAB_NAME_RESULT:
        return find_result(lab, r, node, c, len);
    case CLAB_NAME_ENGINE:
        return find_engine(lab, node, c, len);
    default:
        return -ENOENT;
    }
}

int clab_tree_lookup(clab_lab_t *lab, const char *path, clab_node_t *node)
{
    clab_nb_reader_t *r = NULL;
    const char *p = path, *c;
    size_t len;
    int rc = 0;
    memset(node, 0, sizeof *node);
    node->kind = CLAB_NODE_ROOT;
    while (rc == 0 && (len = next_component(&p, &c)) > 0)
        rc = clab_node_is_dir(node) ? find_child(lab, &r, node, c, len) : -ENOTDIR;
    clab_nb_reader_close(&r);
    return rc;
}

int clab_node_is_dir(const clab_node_t *node)
{
    return S_ISDIR(clab_node_info(node->kind)->mode);
}

int clab_node_is_live(const clab_node_t *node)
{
    return clab_node_info(node->kind)->live;
}

int clab_node_same(const clab_node_t *a, const clab_node_t *b)
{
    return a->kind == b->kind && a->n == b->n && strcmp(a->tag, b->tag) == 0 &&
           strcmp(a->engine, b->engine) == 0;
}

static void set_time(struct timespec *ts, double t)
{
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
    if (ts->tv_nsec < 0 || ts->tv_nsec > 999999999)
        ts->tv_nsec = 0;
}

void clab_tree_attr(const clab_node_t *node, off_t size, double mtime, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_mode = clab_node_info(node->kind)->mode;
    if (clab_node_is_dir(node)) {
        st->st_nlink = 2;
    } else {
        st->st_nlink = 1;
        st->st_blksize = 4096;
        st->st_size = size;
        /* Whole blocks, so that cp and tar do not take the tables for
         * sparse files and seek for holes. */
        st->st_blocks = (size + 511) / 512;
    }
    set_time(&st->st_mtim, mtime);
    st->st_ctim = st->st_atim = st->st_mtim;
}

typedef struct {
    int (*add)(void *ud, const char *name, int is_dir, off_t next);
    void *ud;
    off_t base;
} list_ctx_t;

static int add_set(void *ud, int64_t id, const char *tag)
{
    list_ctx_t *l = ud;
    return l->add(l->ud, tag, 1, l->base + (off_t)id);
}

/* Lists result files of a snapshot taken at generation gen. */
static int add_results(list_ctx_t *l, clab_nb_reader_t *r, clab_notebook_t *nb,
                       uint64_t gen, const char *tag, int ok, long after)
{
    clab_nb_cursor_t *cur;
    clab_set_info_t info;
    int rc = clab_nb_set_info(r, tag, &info);
    if (rc == 0)
        seen_start(nb, gen, tag, ok, info.modified);
    clab_set_info_clear(&info);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if ((rc = clab_nb_results(r, tag, ok, after, -1, &cur)) < 0)
        return rc;
    clab_nb_row_t row;
    char name[32];
    while ((rc = clab_nb_cursor_next(cur, &row)) == 1) {
        seen_add(nb, gen, tag, ok, &row);
        snprintf(name, sizeof name, "%ld.json", row.key);
        if ((rc = l->add(l->ud, name, 0, l->base + (off_t)row.key)) != 0)
            break;
    }
    clab_nb_cursor_close(&cur);
    return rc < 0 ? rc : 0;
}

/* Lists "." and "..", then the fixed entries of parent, from the entry
 * after the one whose cookie is off. */
static int add_fixed(list_ctx_t *l, off_t off, clab_node_kind_t parent)
{
    static const char *const dots[2] = {".", ".."};
    for (off_t i = off; i < 2; i++)
        if (l->add(l->ud, dots[i], 1, i + 1))
            return 1;
    off_t cookie = COOKIE_FIXED;
    for (int k = CLAB_NODE_ROOT + 1; k < CLAB_NODE_KINDS; k++) {
        if (nodes[k].parent != parent || nodes[k].shape != CLAB_NAME_FIXED ||
            nodes[k].unlisted)
            continue;
        if (cookie > off && l->add(l->ud, nodes[k].name, S_ISDIR(nodes[k].mode), cookie))
            return 1;
        cookie++;
    }
    return 0;
}

static int list_engines(list_ctx_t *l, clab_lab_t *lab, off_t off)
{
    json_t *list = clab_lab_engines(lab), *e;
    size_t i;
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        off_t cookie = l->base + (off_t)i;
        if (cookie <= off || !engine_name_ok(id))
            continue;
        if (l->add(l->ud, id, 0, cookie))
            break;
    }
    json_decref(list);
    return 0;
}

/* Lists the entries named by a pattern, after the fixed ones. */
static int list_pattern(list_ctx_t *l, clab_lab_t *lab, const clab_node_t *node,
                        clab_node_kind_t pattern, off_t off)
{
    clab_nb_reader_t *r = NULL;
    off_t after = off > l->base ? off - l->base : 0;
    int rc;
    if (nodes[pattern].shape == CLAB_NAME_ENGINE)
        return list_engines(l, lab, off);
    uint64_t gen = clab_notebook_generation(lab->nb);
    if ((rc = clab_nb_reader_open(lab->nb, &r)) < 0)
        return rc;
    if (nodes[pattern].shape == CLAB_NAME_TAG)
        rc = clab_nb_sets(r, after, add_set, l);
    else
        rc = add_results(l, r, lab->nb, gen, node->tag, nodes[pattern].arg, (long)after);
    clab_nb_reader_close(&r);
    return rc < 0 ? rc : 0;
}

int clab_tree_readdir(clab_lab_t *lab, const clab_node_t *node, off_t off,
                      int (*add)(void *ud, const char *name, int is_dir, off_t next),
                      void *ud)
{
    list_ctx_t l = {add, ud, 0};
    clab_node_kind_t pattern;
    if (!clab_node_is_dir(node))
        return -ENOTDIR;
    l.base = COOKIE_FIXED + (off_t)fixed_children(node->kind, &pattern);
    if (add_fixed(&l, off, node->kind) || pattern == CLAB_NODE_KINDS)
        return 0;
    return list_pattern(&l, lab, node, pattern, off);
}
