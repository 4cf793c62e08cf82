/* Path parsing, attributes and directory listings of the mount. */
#include "tree.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *name;
    clab_node_kind_t kind;
} entry_t;

static const entry_t root_files[] = {
    {"submit", CLAB_NODE_SUBMIT},   {"ctl", CLAB_NODE_CTL},
    {"status", CLAB_NODE_STATUS},   {"status.json", CLAB_NODE_STATUS_JSON},
    {"errors", CLAB_NODE_ERRORS},   {"notebook.json", CLAB_NODE_NOTEBOOK_JSON},
    {"engines", CLAB_NODE_ENGINES}, {"results", CLAB_NODE_RESULTS},
};

static const entry_t set_files[] = {
    {"results.csv", CLAB_NODE_CSV},
    {"results.tsv", CLAB_NODE_TSV},
    {"results.jsonl", CLAB_NODE_JSONL},
    {"status", CLAB_NODE_SET_STATUS},
    {"wait", CLAB_NODE_WAIT},
    {"pending", CLAB_NODE_PENDING},
    {"experiment", CLAB_NODE_EXPERIMENT},
    {"description", CLAB_NODE_DESCRIPTION},
    {"failed", CLAB_NODE_FAILED},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Directory cookies: "." is 1, ".." is 2, fixed entries follow; result
 * files and sets come after those, numbered by N or by the set's row id,
 * which only grow. */
#define COOKIE_FIXED 3
#define SET_COOKIE_RESULTS ((off_t)(COOKIE_FIXED + COUNT(set_files)))

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

static int result_exists(clab_nb_reader_t *r, clab_node_t *node, int ok)
{
    size_t len;
    int rc = clab_nb_result_stat(r, node->tag, node->n, ok, &len, &node->stored);
    node->size = (off_t)len + 1; /* N.json ends in a newline */
    return rc;
}

static int lookup_in_set(clab_nb_reader_t *r, const char *p, clab_node_t *node)
{
    const char *c;
    size_t len = next_component(&p, &c);
    if (len == 0) {
        node->kind = CLAB_NODE_SET;
        return 0;
    }
    const char *rest;
    size_t more = next_component(&p, &rest);
    if (len == 6 && strncmp(c, "failed", 6) == 0) {
        if (more == 0) {
            node->kind = CLAB_NODE_FAILED;
            return 0;
        }
        if (next_component(&p, &c) != 0)
            return -ENOTDIR;
        node->kind = CLAB_NODE_FAILED_RESULT;
        node->n = parse_result_name(rest, more);
        return node->n > 0 ? result_exists(r, node, 0) : -ENOENT;
    }
    for (size_t i = 0; i < COUNT(set_files); i++) {
        if (strlen(set_files[i].name) == len && strncmp(c, set_files[i].name, len) == 0) {
            node->kind = set_files[i].kind;
            return more ? -ENOTDIR : 0;
        }
    }
    node->kind = CLAB_NODE_RESULT;
    node->n = parse_result_name(c, len);
    if (node->n <= 0)
        return -ENOENT;
    int rc = result_exists(r, node, 1);
    return rc == 0 && more ? -ENOTDIR : rc;
}

static int lookup_set(clab_lab_t *lab, const char *p, clab_node_t *node)
{
    const char *c;
    size_t len = next_component(&p, &c);
    if (len == 0) {
        node->kind = CLAB_NODE_RESULTS;
        return 0;
    }
    if (len > CLAB_TAG_MAX)
        return -ENOENT;
    memcpy(node->tag, c, len);
    node->tag[len] = '\0';
    if (!clab_tag_valid(node->tag))
        return -ENOENT;
    clab_nb_reader_t *r;
    int rc = clab_nb_reader_open(lab->nb, &r);
    if (rc)
        return rc;
    clab_set_info_t info;
    rc = clab_nb_set_info(r, node->tag, &info);
    node->set_modified = info.modified;
    clab_set_info_clear(&info);
    if (!rc)
        rc = lookup_in_set(r, p, node);
    clab_nb_reader_close(&r);
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

int clab_tree_lookup(clab_lab_t *lab, const char *path, clab_node_t *node)
{
    const char *p = path, *c;
    memset(node, 0, sizeof *node);
    size_t len = next_component(&p, &c);
    if (len == 0) {
        node->kind = CLAB_NODE_ROOT;
        return 0;
    }
    for (size_t i = 0; i < COUNT(root_files); i++) {
        if (strlen(root_files[i].name) != len || strncmp(c, root_files[i].name, len))
            continue;
        node->kind = root_files[i].kind;
        if (node->kind == CLAB_NODE_RESULTS)
            return lookup_set(lab, p, node);
        len = next_component(&p, &c);
        if (node->kind != CLAB_NODE_ENGINES)
            return len ? -ENOTDIR : 0;
        if (len == 0)
            return 0;
        if (len > CLAB_ENGINE_ID_MAX)
            return -ENOENT;
        memcpy(node->engine, c, len);
        node->engine[len] = '\0';
        node->kind = CLAB_NODE_ENGINE;
        if (!engine_name_ok(node->engine) || !engine_exists(lab, node->engine))
            return -ENOENT;
        return next_component(&p, &c) ? -ENOTDIR : 0;
    }
    return -ENOENT;
}

int clab_node_is_dir(const clab_node_t *node)
{
    switch (node->kind) {
    case CLAB_NODE_ROOT:
    case CLAB_NODE_RESULTS:
    case CLAB_NODE_ENGINES:
    case CLAB_NODE_SET:
    case CLAB_NODE_FAILED:
        return 1;
    default:
        return 0;
    }
}

int clab_node_is_live(const clab_node_t *node)
{
    switch (node->kind) {
    case CLAB_NODE_RESULT:
    case CLAB_NODE_FAILED_RESULT:
        return 0;
    default:
        return !clab_node_is_dir(node);
    }
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
    if (clab_node_is_dir(node)) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
    } else {
        st->st_nlink = 1;
        st->st_mode = S_IFREG | (node->kind == CLAB_NODE_SUBMIT ? 0600
                                 : node->kind == CLAB_NODE_CTL  ? 0200
                                                                : 0444);
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

static int add_results(list_ctx_t *l, clab_nb_reader_t *r, const char *tag, int ok,
                       long after)
{
    clab_nb_cursor_t *cur;
    int rc = clab_nb_results(r, tag, ok, after, -1, &cur);
    if (rc)
        return rc;
    clab_nb_row_t row;
    char name[32];
    while ((rc = clab_nb_cursor_next(cur, &row)) == 1) {
        snprintf(name, sizeof name, "%ld.json", row.key);
        if ((rc = l->add(l->ud, name, 0, l->base + (off_t)row.key)) != 0)
            break;
    }
    clab_nb_cursor_close(&cur);
    return rc < 0 ? rc : 0;
}

/* Lists fixed entries (after "." and "..") whose cookies follow off. */
static int add_fixed(list_ctx_t *l, off_t off, const entry_t *e, size_t n)
{
    static const char *const dots[2] = {".", ".."};
    for (off_t i = off; i < 2; i++)
        if (l->add(l->ud, dots[i], 1, i + 1))
            return 1;
    for (size_t i = off >= COOKIE_FIXED ? (size_t)(off - COOKIE_FIXED + 1) : 0; i < n;
         i++) {
        int dir = e[i].kind == CLAB_NODE_RESULTS || e[i].kind == CLAB_NODE_ENGINES ||
                  e[i].kind == CLAB_NODE_FAILED;
        if (l->add(l->ud, e[i].name, dir, COOKIE_FIXED + (off_t)i))
            return 1;
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
        off_t cookie = COOKIE_FIXED + (off_t)i;
        if (cookie <= off || !engine_name_ok(id))
            continue;
        if (l->add(l->ud, id, 0, cookie))
            break;
    }
    json_decref(list);
    return 0;
}

int clab_tree_readdir(clab_lab_t *lab, const clab_node_t *node, off_t off,
                      int (*add)(void *ud, const char *name, int is_dir, off_t next),
                      void *ud)
{
    list_ctx_t l = {add, ud, 0};
    clab_nb_reader_t *r = NULL;
    int rc = 0;
    if (!clab_node_is_dir(node))
        return -ENOTDIR;
    switch (node->kind) {
    case CLAB_NODE_ROOT:
        add_fixed(&l, off, root_files, COUNT(root_files));
        return 0;
    case CLAB_NODE_ENGINES:
        if (add_fixed(&l, off, NULL, 0))
            return 0;
        return list_engines(&l, lab, off);
    case CLAB_NODE_RESULTS:
        if (add_fixed(&l, off, NULL, 0))
            return 0;
        if ((rc = clab_nb_reader_open(lab->nb, &r)) < 0)
            return rc;
        l.base = COOKIE_FIXED;
        rc = clab_nb_sets(r, off > l.base ? off - l.base : 0, add_set, &l);
        break;
    case CLAB_NODE_SET:
        if (add_fixed(&l, off, set_files, COUNT(set_files)))
            return 0;
        if ((rc = clab_nb_reader_open(lab->nb, &r)) < 0)
            return rc;
        l.base = SET_COOKIE_RESULTS;
        rc = add_results(&l, r, node->tag, 1, off > l.base ? (long)(off - l.base) : 0);
        break;
    default: /* CLAB_NODE_FAILED */
        if (add_fixed(&l, off, NULL, 0))
            return 0;
        if ((rc = clab_nb_reader_open(lab->nb, &r)) < 0)
            return rc;
        l.base = COOKIE_FIXED;
        rc = add_results(&l, r, node->tag, 0, off > l.base ? (long)(off - l.base) : 0);
        break;
    }
    clab_nb_reader_close(&r);
    return rc < 0 ? rc : 0;
}
