/* The node table, inode numbers, child search, attributes and directory
 * listings of the mount (tree.h). */
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

/* The node table: one row per kind, in clab_node_kind_t order. Fields not
 * named are 0: a fixed name, not live, no renderer, listed, not cached. */
static const clab_node_info_t nodes[CLAB_NODE_KINDS] = {
    [CLAB_NODE_ROOT] = {.name = "/", .parent = CLAB_NODE_ROOT, .mode = DIR_MODE},
    [CLAB_NODE_SUBMIT] = {.name = "submit",
                          .parent = CLAB_NODE_ROOT,
                          .mode = S_IFREG | 0600,
                          .live = 1,
                          .render = CLAB_RENDER_INBOX,
                          .arg = CLAB_INBOX_SUBMIT,
                          .cache = CLAB_CACHE_ALWAYS},
    [CLAB_NODE_CTL] = {.name = "ctl",
                       .parent = CLAB_NODE_ROOT,
                       .mode = S_IFREG | 0200,
                       .live = 1,
                       .render = CLAB_RENDER_INBOX,
                       .arg = CLAB_INBOX_CTL,
                       .cache = CLAB_CACHE_ALWAYS},
    [CLAB_NODE_STATUS] = {.name = "status",
                          .parent = CLAB_NODE_ROOT,
                          .mode = RO_MODE,
                          .live = 1,
                          .render = CLAB_RENDER_STATUS},
    [CLAB_NODE_STATUS_JSON] = {.name = "status.json",
                               .parent = CLAB_NODE_ROOT,
                               .mode = RO_MODE,
                               .live = 1,
                               .render = CLAB_RENDER_STATUS,
                               .arg = CLAB_STATUS_JSON},
    [CLAB_NODE_ERRORS] = {.name = "errors",
                          .parent = CLAB_NODE_ROOT,
                          .mode = RO_MODE,
                          .live = 1,
                          .render = CLAB_RENDER_ERRORS},
    [CLAB_NODE_NOTEBOOK_JSON] = {.name = "notebook.json",
                                 .parent = CLAB_NODE_ROOT,
                                 .mode = RO_MODE,
                                 .live = 1,
                                 .render = CLAB_RENDER_NOTEBOOK},
    [CLAB_NODE_LAB_WAIT] = {.name = "wait",
                            .parent = CLAB_NODE_ROOT,
                            .mode = RO_MODE,
                            .live = 1,
                            .render = CLAB_RENDER_WAIT,
                            .unlisted = 1},
    [CLAB_NODE_ENGINES] = {.name = "engines", .parent = CLAB_NODE_ROOT, .mode = DIR_MODE},
    [CLAB_NODE_RESULTS] = {.name = "results", .parent = CLAB_NODE_ROOT, .mode = DIR_MODE},
    [CLAB_NODE_ENGINE] = {.name = "ID",
                          .parent = CLAB_NODE_ENGINES,
                          .shape = CLAB_NAME_ENGINE,
                          .mode = RO_MODE,
                          .live = 1,
                          .render = CLAB_RENDER_ENGINE},
    [CLAB_NODE_SET] = {.name = "TAG",
                       .parent = CLAB_NODE_RESULTS,
                       .shape = CLAB_NAME_TAG,
                       .mode = DIR_MODE,
                       .cache = CLAB_CACHE_SETTLED},
    [CLAB_NODE_CSV] = {.name = "results.csv",
                       .parent = CLAB_NODE_SET,
                       .mode = RO_MODE,
                       .live = 1,
                       .render = CLAB_RENDER_TABLE,
                       .arg = CLAB_TABLE_CSV,
                       .cache = CLAB_CACHE_SETTLED},
    [CLAB_NODE_TSV] = {.name = "results.tsv",
                       .parent = CLAB_NODE_SET,
                       .mode = RO_MODE,
                       .live = 1,
                       .render = CLAB_RENDER_TABLE,
                       .arg = CLAB_TABLE_TSV,
                       .cache = CLAB_CACHE_SETTLED},
    [CLAB_NODE_JSONL] = {.name = "results.jsonl",
                         .parent = CLAB_NODE_SET,
                         .mode = RO_MODE,
                         .live = 1,
                         .render = CLAB_RENDER_JSONL,
                         .cache = CLAB_CACHE_SETTLED},
    [CLAB_NODE_SET_STATUS] = {.name = "status",
                              .parent = CLAB_NODE_SET,
                              .mode = RO_MODE,
                              .live = 1,
                              .render = CLAB_RENDER_STATUS,
                              .arg = CLAB_STATUS_SET},
    [CLAB_NODE_WAIT] = {.name = "wait",
                        .parent = CLAB_NODE_SET,
                        .mode = RO_MODE,
                        .live = 1,
                        .render = CLAB_RENDER_WAIT,
                        .arg = CLAB_STATUS_SET,
                        .unlisted = 1},
    [CLAB_NODE_PENDING] = {.name = "pending",
                           .parent = CLAB_NODE_SET,
                           .mode = RO_MODE,
                           .live = 1,
                           .render = CLAB_RENDER_PENDING},
    [CLAB_NODE_EXPERIMENT] = {.name = "experiment",
                              .parent = CLAB_NODE_SET,
                              .mode = RO_MODE,
                              .live = 1,
                              .render = CLAB_RENDER_SET_TEXT,
                              .arg = CLAB_SET_EXPERIMENT},
    [CLAB_NODE_DESCRIPTION] = {.name = "description",
                               .parent = CLAB_NODE_SET,
                               .mode = RO_MODE,
                               .live = 1,
                               .render = CLAB_RENDER_SET_TEXT,
                               .arg = CLAB_SET_DESCRIPTION},
    [CLAB_NODE_PROVENANCE] = {.name = "provenance",
                              .parent = CLAB_NODE_SET,
                              .mode = RO_MODE,
                              .live = 1,
                              .render = CLAB_RENDER_SET_TEXT,
                              .arg = CLAB_SET_PROVENANCE},
    [CLAB_NODE_SET_NOTEBOOK_JSON] = {.name = "notebook.json",
                                     .parent = CLAB_NODE_SET,
                                     .mode = RO_MODE,
                                     .live = 1,
                                     .render = CLAB_RENDER_NOTEBOOK,
                                     .arg = 1},
    [CLAB_NODE_FAILED] = {.name = "failed",
                          .parent = CLAB_NODE_SET,
                          .mode = DIR_MODE,
                          .cache = CLAB_CACHE_SETTLED},
    [CLAB_NODE_RESULT] = {.name = "N.json",
                          .parent = CLAB_NODE_SET,
                          .shape = CLAB_NAME_RESULT,
                          .mode = RO_MODE,
                          .render = CLAB_RENDER_RESULT,
                          .arg = 1,
                          .cache = CLAB_CACHE_ALWAYS},
    [CLAB_NODE_FAILED_RESULT] = {.name = "N.json",
                                 .parent = CLAB_NODE_FAILED,
                                 .shape = CLAB_NAME_RESULT,
                                 .mode = RO_MODE,
                                 .render = CLAB_RENDER_RESULT,
                                 .arg = 0,
                                 .cache = CLAB_CACHE_ALWAYS},
};

const clab_node_info_t *clab_node_info(clab_node_kind_t kind)
{
    return &nodes[kind < CLAB_NODE_KINDS ? kind : CLAB_NODE_ROOT];
}

/* Inode numbers: the kind in the top bits; below, for result files, the
 * set's id over N. */
#define KIND_SHIFT 58
#define PAYLOAD_MASK ((UINT64_C(1) << KIND_SHIFT) - 1)
#define SET_SHIFT 32
#define N_MASK ((UINT64_C(1) << SET_SHIFT) - 1)
#define RESULT_SET_MAX ((INT64_C(1) << (KIND_SHIFT - SET_SHIFT)) - 1)
_Static_assert(CLAB_NODE_KINDS <= 32, "kinds must fit below bit 63 of an inode number");

/* Directory cookies: "." is 1, ".." is 2, fixed entries follow in table
 * order; result files, sets and engines come after those, numbered by N,
 * by the set's id (both only grow) or by place in the engine list. */
#define COOKIE_FIXED 3

/* A set's directory or anything below it. */
static int in_set(clab_node_kind_t k)
{
    for (; k != CLAB_NODE_ROOT; k = nodes[k].parent)
        if (k == CLAB_NODE_SET)
            return 1;
    return 0;
}

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

/* The node's set as info tells it. */
static void take_set(clab_node_t *node, const clab_set_info_t *info)
{
    node->set = info->id;
    snprintf(node->tag, sizeof node->tag, "%s", info->tag);
    node->pending = info->pending;
    node->set_modified = info->modified;
}

/* A reader for the nodes of one request, opened at its first use. */
static int reader(clab_lab_t *lab, clab_nb_reader_t **r)
{
    return *r ? 0 : clab_nb_reader_open(lab->nb, r);
}

/* Fills a result file's size and stored time; -ENOENT without the result. */
static int stat_result(clab_lab_t *lab, clab_nb_reader_t **r, clab_node_t *node)
{
    size_t len = 0;
    int rc = reader(lab, r);
    rc = rc ? rc
            : clab_nb_result_stat(*r, node->tag, node->n, nodes[node->kind].arg, &len,
                                  &node->stored);
    node->size = (off_t)len + 1; /* N.json ends in a newline */
    return rc;
}

/* Enters a set: the tag must be one the notebook knows. */
static int find_set(clab_lab_t *lab, clab_nb_reader_t **r, clab_node_t *node,
                    const char *c, size_t len)
{
    char tag[CLAB_TAG_MAX + 1];
    clab_set_info_t info;
    if (len > CLAB_TAG_MAX)
        return -ENOENT;
    memcpy(tag, c, len);
    tag[len] = '\0';
    if (!clab_tag_valid(tag))
        return -ENOENT;
    int rc = reader(lab, r);
    if (rc || (rc = clab_nb_set_info(*r, tag, &info)) < 0)
        return rc;
    take_set(node, &info);
    clab_set_info_clear(&info);
    return 0;
}

/* Engine ids are printable without '/', but "." and ".." cannot be files. */
static int engine_name_ok(const char *id)
{
    return id && id[0] && strcmp(id, ".") != 0 && strcmp(id, "..") != 0 &&
           strlen(id) <= CLAB_ENGINE_ID_MAX && !strchr(id, '/');
}

/* node->engine must be reported by the cluster now; interns its index. */
static int find_engine(clab_lab_t *lab, clab_node_t *node)
{
    json_t *e = engine_name_ok(node->engine) ? clab_lab_engine(lab, node->engine) : NULL;
    json_decref(e);
    if (!e)
        return -ENOENT;
    node->engine_index = clab_lab_engine_index(lab, node->engine);
    return node->engine_index ? 0 : -ENOMEM;
}

/* Moves node to its child named c: a fixed name first, then the pattern. */
static int find_child(clab_lab_t *lab, clab_nb_reader_t **r, clab_node_t *node,
                      const char *c, size_t len)
{
    clab_node_kind_t pattern;
    if (!clab_node_is_dir(node))
        return -ENOTDIR;
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
        node->n = parse_result_name(c, len);
        return node->n > 0 ? stat_result(lab, r, node) : -ENOENT;
    case CLAB_NAME_ENGINE:
        if (len > CLAB_ENGINE_ID_MAX)
            return -ENOENT;
        memcpy(node->engine, c, len);
        node->engine[len] = '\0';
        return find_engine(lab, node);
    default:
        return -ENOENT;
    }
}

int clab_tree_child(clab_lab_t *lab, const clab_node_t *parent, const char *name,
                    clab_node_t *child)
{
    clab_nb_reader_t *r = NULL;
    *child = *parent;
    int rc = find_child(lab, &r, child, name, strlen(name));
    clab_nb_reader_close(&r);
    return rc;
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
        rc = find_child(lab, &r, node, c, len);
    clab_nb_reader_close(&r);
    return rc;
}

uint64_t clab_node_ino(const clab_node_t *node)
{
    uint64_t payload = 0;
    if (node->kind == CLAB_NODE_ROOT)
        return CLAB_INO_ROOT;
    if (nodes[node->kind].shape == CLAB_NAME_RESULT) {
        if (node->set < 1 || node->set > RESULT_SET_MAX || node->n < 1 ||
            (uint64_t)node->n > N_MASK)
            return 0;
        payload = (uint64_t)node->set << SET_SHIFT | (uint64_t)node->n;
    } else if (in_set(node->kind)) {
        payload = (uint64_t)node->set;
    } else if (nodes[node->kind].shape == CLAB_NAME_ENGINE) {
        payload = node->engine_index;
    }
    return (uint64_t)node->kind << KIND_SHIFT | (payload & PAYLOAD_MASK);
}

/* The node of a set's kind whose set id (and N) are in payload. */
static int set_node(clab_lab_t *lab, uint64_t payload, clab_node_t *node)
{
    clab_nb_reader_t *r = NULL;
    clab_set_info_t info;
    int result = nodes[node->kind].shape == CLAB_NAME_RESULT;
    int64_t set = (int64_t)(result ? payload >> SET_SHIFT : payload);
    node->n = result ? (long)(payload & N_MASK) : 0;
    if (set < 1 || (result && node->n < 1))
        return -ENOENT;
    int rc = reader(lab, &r);
    if (rc == 0 && (rc = clab_nb_set_by_id(r, set, &info)) == 0) {
        take_set(node, &info);
        clab_set_info_clear(&info);
        rc = result ? stat_result(lab, &r, node) : 0;
    }
    clab_nb_reader_close(&r);
    return rc;
}

int clab_tree_node(clab_lab_t *lab, uint64_t ino, clab_node_t *node)
{
    memset(node, 0, sizeof *node);
    node->kind = CLAB_NODE_ROOT;
    if (ino == CLAB_INO_ROOT)
        return 0;
    uint64_t kind = ino >> KIND_SHIFT, payload = ino & PAYLOAD_MASK;
    if (kind == CLAB_NODE_ROOT || kind >= CLAB_NODE_KINDS)
        return -ENOENT;
    node->kind = (clab_node_kind_t)kind;
    if (in_set(node->kind))
        return set_node(lab, payload, node);
    if (nodes[kind].shape == CLAB_NAME_ENGINE) {
        if (clab_lab_engine_name(lab, payload, node->engine, sizeof node->engine) < 0)
            return -ENOENT;
        return find_engine(lab, node);
    }
    return payload == 0 ? 0 : -ENOENT;
}

double clab_node_timeout(const clab_node_t *node)
{
    switch (clab_node_info(node->kind)->cache) {
    case CLAB_CACHE_ALWAYS:
        return CLAB_TREE_CACHE_SECONDS;
    case CLAB_CACHE_SETTLED:
        return node->pending == 0 ? CLAB_TREE_CACHE_SECONDS : 0;
    default:
        return 0;
    }
}

double clab_node_entry_timeout(const clab_node_t *node)
{
    /* A fixed name, a result's and a tag's always name the same inode
     * (a deleted set's entry is invalidated); engines come and go. */
    return clab_node_info(node->kind)->shape == CLAB_NAME_ENGINE
               ? 0
               : CLAB_TREE_CACHE_SECONDS;
}

size_t clab_tree_set_inos(int64_t set, uint64_t inos[CLAB_NODE_KINDS])
{
    size_t n = 0;
    for (int k = CLAB_NODE_ROOT + 1; k < CLAB_NODE_KINDS; k++)
        if (nodes[k].cache == CLAB_CACHE_SETTLED)
            inos[n++] =
                clab_node_ino(&(clab_node_t){.kind = (clab_node_kind_t)k, .set = set});
    return n;
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
    return a->kind == b->kind && a->n == b->n && a->set == b->set &&
           strcmp(a->engine, b->engine) == 0;
}

static void set_time(struct timespec *ts, double t)
{
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
    if (ts->tv_nsec < 0 || ts->tv_nsec > 999999999)
        ts->tv_nsec = 0;
}

/* glibc's opendir reads at most 1 MiB at a time, whatever st_blksize says. */
#define DIR_BLKSIZE (1 << 20)

/* Every file is the mount owner's: asked once, not for each of the
 * 100,000 entries of a listing. */
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;
static uid_t owner_uid;
static gid_t owner_gid;

static void owner_init(void)
{
    owner_uid = getuid();
    owner_gid = getgid();
}

void clab_tree_attr(const clab_node_t *node, off_t size, double mtime, struct stat *st)
{
    pthread_once(&owner_once, owner_init);
    memset(st, 0, sizeof *st);
    st->st_ino = (ino_t)clab_node_ino(node);
    st->st_uid = owner_uid;
    st->st_gid = owner_gid;
    st->st_mode = clab_node_info(node->kind)->mode;
    if (clab_node_is_dir(node)) {
        st->st_nlink = 2;
        /* readdir(3) sizes its buffer by the directory's block size: one
         * getdents64 then takes thousands of entries, so a listing of
         * 10^5 results costs a few FUSE requests instead of hundreds. */
        st->st_blksize = DIR_BLKSIZE;
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

/* A listing: the directory, the caller's add, and where the pattern's
 * cookies start. */
typedef struct {
    clab_lab_t *lab;
    const clab_node_t *dir;
    int (*add)(void *ud, const char *name, const clab_node_t *child, off_t next);
    void *ud;
    off_t base;
    clab_nb_reader_t *r;
    int rc;
} list_ctx_t;

/* The node of kind k in l's directory (its set's, when it has one). */
static clab_node_t child_of(const list_ctx_t *l, clab_node_kind_t k)
{
    clab_node_t c = {.kind = k};
    if (in_set(k)) {
        c.set = l->dir->set;
        c.pending = l->dir->pending;
        c.set_modified = l->dir->set_modified;
        memcpy(c.tag, l->dir->tag, sizeof c.tag);
    }
    return c;
}

static int add_set(void *ud, int64_t id, const char *tag)
{
    list_ctx_t *l = ud;
    clab_set_info_t info;
    clab_node_t c = {.kind = CLAB_NODE_SET};
    if ((l->rc = clab_nb_set_info(l->r, tag, &info)) < 0)
        return l->rc == -ENOENT ? (l->rc = 0) : 1;
    take_set(&c, &info);
    clab_set_info_clear(&info);
    return l->add(l->ud, tag, &c, l->base + (off_t)id);
}

/* Lists the result files of the directory after N = after. */
static int add_results(list_ctx_t *l, clab_node_kind_t k, long after)
{
    clab_nb_cursor_t *cur;
    clab_node_t c = child_of(l, k);
    int rc = clab_nb_sizes(l->r, l->dir->tag, nodes[k].arg, after, &cur);
    if (rc < 0)
        return rc;
    clab_nb_row_t row;
    char name[32];
    while ((rc = clab_nb_cursor_next(cur, &row)) == 1) {
        c.n = row.key;
        c.size = (off_t)row.len + 1;
        c.stored = row.stored;
        snprintf(name, sizeof name, "%ld.json", row.key);
        if ((rc = l->add(l->ud, name, &c, l->base + (off_t)row.key)) != 0)
            break;
    }
    clab_nb_cursor_close(&cur);
    return rc < 0 ? rc : 0;
}

/* Lists "." and "..", then the fixed entries of the directory, from the
 * entry after the one whose cookie is off. */
static int add_fixed(list_ctx_t *l, off_t off)
{
    clab_node_kind_t kind = l->dir->kind, up = nodes[kind].parent;
    clab_node_t dots[2] = {*l->dir, child_of(l, up)};
    static const char *const names[2] = {".", ".."};
    for (off_t i = off; i < 2; i++)
        if (l->add(l->ud, names[i], &dots[i], i + 1))
            return 1;
    off_t cookie = COOKIE_FIXED;
    for (int k = CLAB_NODE_ROOT + 1; k < CLAB_NODE_KINDS; k++) {
        if (nodes[k].parent != kind || nodes[k].shape != CLAB_NAME_FIXED ||
            nodes[k].unlisted)
            continue;
        clab_node_t c = child_of(l, (clab_node_kind_t)k);
        if (cookie > off && l->add(l->ud, nodes[k].name, &c, cookie))
            return 1;
        cookie++;
    }
    return 0;
}

static int list_engines(list_ctx_t *l, off_t off)
{
    json_t *list = clab_lab_engines(l->lab), *e;
    size_t i;
    clab_node_t c = {.kind = CLAB_NODE_ENGINE};
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        off_t cookie = l->base + (off_t)i;
        if (cookie <= off || !engine_name_ok(id))
            continue;
        snprintf(c.engine, sizeof c.engine, "%s", id);
        if (!(c.engine_index = clab_lab_engine_index(l->lab, id)))
            continue;
        if (l->add(l->ud, id, &c, cookie))
            break;
    }
    json_decref(list);
    return 0;
}

/* Lists the entries named by a pattern, after the fixed ones. */
static int list_pattern(list_ctx_t *l, clab_node_kind_t pattern, off_t off)
{
    off_t after = off > l->base ? off - l->base : 0;
    int rc;
    if (nodes[pattern].shape == CLAB_NAME_ENGINE)
        return list_engines(l, off);
    if ((rc = clab_nb_reader_open(l->lab->nb, &l->r)) < 0)
        return rc;
    if (nodes[pattern].shape == CLAB_NAME_TAG) {
        rc = clab_nb_sets(l->r, after, add_set, l);
        rc = rc > 0 ? l->rc : rc;
    } else {
        rc = add_results(l, pattern, (long)after);
    }
    clab_nb_reader_close(&l->r);
    return rc < 0 ? rc : 0;
}

int clab_tree_readdir(clab_lab_t *lab, const clab_node_t *node, off_t off,
                      int (*add)(void *ud, const char *name, const clab_node_t *child,
                                 off_t next),
                      void *ud)
{
    list_ctx_t l = {.lab = lab, .dir = node, .add = add, .ud = ud};
    clab_node_kind_t pattern;
    if (!clab_node_is_dir(node))
        return -ENOTDIR;
    l.base = COOKIE_FIXED + (off_t)fixed_children(node->kind, &pattern);
    if (add_fixed(&l, off) || pattern == CLAB_NODE_KINDS)
        return 0;
    return list_pattern(&l, pattern, off);
}
