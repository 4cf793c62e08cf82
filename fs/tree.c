/* Path parsing, attributes and directory listings of the mount. */
#include "tree.h"
#include "views.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *name;
    clab_node_kind_t kind;
} root_files[] =
    {
        {"submit", CLAB_NODE_SUBMIT},
        {"status", CLAB_NODE_STATUS},
        {"status.json", CLAB_NODE_STATUS_JSON},
        {"errors", CLAB_NODE_ERRORS},
},
  set_files[] = {
      {"results.csv", CLAB_NODE_CSV},         {"results.tsv", CLAB_NODE_TSV},
      {"results.jsonl", CLAB_NODE_JSONL},     {"status", CLAB_NODE_SET_STATUS},
      {"pending", CLAB_NODE_PENDING},         {"experiment", CLAB_NODE_EXPERIMENT},
      {"description", CLAB_NODE_DESCRIPTION},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* "N.json" with N a positive decimal without leading zeros. */
static long parse_result_name(const char *s, size_t len)
{
    if (len < 6 || strcmp(s + len - 5, ".json") != 0 || s[0] < '1' || s[0] > '9' ||
        len > 24)
        return -1;
    long n = 0;
    for (size_t i = 0; i < len - 5; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    return n;
}

static int set_exists(clab_nb_reader_t *r, const char *tag)
{
    clab_set_info_t info;
    int rc = clab_nb_set_info(r, tag, &info);
    clab_set_info_clear(&info);
    return rc;
}

static int result_exists(clab_nb_reader_t *r, const char *tag, long n, int ok)
{
    char *doc;
    size_t len;
    int rc = clab_nb_result(r, tag, n, ok, &doc, &len);
    if (!rc)
        free(doc);
    return rc;
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

static int lookup_in_set(clab_nb_reader_t *r, const char *p, clab_node_t *node)
{
    const char *c;
    size_t len = next_component(&p, &c);
    if (len == 0) {
        node->kind = CLAB_NODE_SET;
        return 0;
    }
    char name[64];
    if (len >= sizeof name)
        return -ENOENT;
    memcpy(name, c, len);
    name[len] = '\0';
    const char *rest;
    size_t more = next_component(&p, &rest);

    if (strcmp(name, "failed") == 0) {
        if (more == 0) {
            node->kind = CLAB_NODE_FAILED;
            return 0;
        }
        char file[64];
        if (more >= sizeof file || next_component(&p, &c) != 0)
            return -ENOENT;
        memcpy(file, rest, more);
        file[more] = '\0';
        node->n = parse_result_name(file, more);
        node->kind = CLAB_NODE_FAILED_RESULT;
        return node->n > 0 ? result_exists(r, node->tag, node->n, 0) : -ENOENT;
    }
    if (more)
        return -ENOTDIR;
    for (size_t i = 0; i < COUNT(set_files); i++) {
        if (strcmp(name, set_files[i].name) == 0) {
            node->kind = set_files[i].kind;
            return 0;
        }
    }
    node->n = parse_result_name(name, len);
    node->kind = CLAB_NODE_RESULT;
    return node->n > 0 ? result_exists(r, node->tag, node->n, 1) : -ENOENT;
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
    if (len == 7 && strncmp(c, "results", 7) == 0) {
        len = next_component(&p, &c);
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
        rc = set_exists(r, node->tag);
        if (!rc)
            rc = lookup_in_set(r, p, node);
        clab_nb_reader_close(&r);
        return rc;
    }
    for (size_t i = 0; i < COUNT(root_files); i++) {
        if (strlen(root_files[i].name) == len &&
            strncmp(c, root_files[i].name, len) == 0) {
            node->kind = root_files[i].kind;
            return next_component(&p, &c) ? -ENOTDIR : 0;
        }
    }
    return -ENOENT;
}

int clab_node_is_dir(const clab_node_t *node)
{
    switch (node->kind) {
    case CLAB_NODE_ROOT:
    case CLAB_NODE_RESULTS:
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
    case CLAB_NODE_EXPERIMENT:
        return 0;
    default:
        return !clab_node_is_dir(node);
    }
}

int clab_tree_getattr(clab_lab_t *lab, const clab_node_t *node, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_mtime = st->st_ctime = st->st_atime = time(NULL);
    if (clab_node_is_dir(node)) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    }
    st->st_nlink = 1;
    st->st_mode = S_IFREG | (node->kind == CLAB_NODE_SUBMIT ? 0600 : 0444);
    st->st_blksize = 4096;
    switch (node->kind) {
    case CLAB_NODE_SUBMIT:
        return 0;
    case CLAB_NODE_CSV:
    case CLAB_NODE_TSV:
    case CLAB_NODE_JSONL:
    case CLAB_NODE_PENDING:
        /* Sizing these would mean rendering them whole on every stat; they
         * are read with direct I/O, so readers read until EOF. */
        return 0;
    default: {
        off_t size = 0;
        int rc = clab_view_size(lab, node, &size);
        st->st_size = size;
        st->st_blocks = (size + 511) / 512;
        return rc;
    }
    }
}

typedef struct {
    int (*add)(void *ud, const char *name, int is_dir);
    void *ud;
} list_ctx_t;

static int add_set(void *ud, const char *tag)
{
    list_ctx_t *l = ud;
    return l->add(l->ud, tag, 1);
}

static int add_results(list_ctx_t *l, clab_nb_reader_t *r, const char *tag, int ok)
{
    clab_nb_cursor_t *cur;
    int rc = clab_nb_results(r, tag, ok, &cur);
    if (rc)
        return rc;
    long n;
    const char *text;
    size_t len;
    char name[32];
    while ((rc = clab_nb_cursor_next(cur, &n, &text, &len)) == 1) {
        snprintf(name, sizeof name, "%ld.json", n);
        if ((rc = l->add(l->ud, name, 0)) != 0)
            break;
    }
    clab_nb_cursor_close(&cur);
    return rc < 0 ? rc : 0;
}

int clab_tree_readdir(clab_lab_t *lab, const clab_node_t *node,
                      int (*add)(void *ud, const char *name, int is_dir), void *ud)
{
    list_ctx_t l = {add, ud};
    clab_nb_reader_t *r = NULL;
    int rc = 0;
    switch (node->kind) {
    case CLAB_NODE_ROOT:
        for (size_t i = 0; i < COUNT(root_files) && !rc; i++)
            rc = add(ud, root_files[i].name, 0);
        if (!rc)
            add(ud, "results", 1);
        return 0;
    case CLAB_NODE_RESULTS:
        if ((rc = clab_nb_reader_open(lab->nb, &r)) < 0)
            return rc;
        rc = clab_nb_sets(r, add_set, &l);
        break;
    case CLAB_NODE_SET:
        for (size_t i = 0; i < COUNT(set_files) && !rc; i++)
            rc = add(ud, set_files[i].name, 0);
        if (rc || (rc = add(ud, "failed", 1)) != 0)
            return 0;
        if ((rc = clab_nb_reader_open(lab->nb, &r)) < 0)
            return rc;
        rc = add_results(&l, r, node->tag, 1);
        break;
    case CLAB_NODE_FAILED:
        if ((rc = clab_nb_reader_open(lab->nb, &r)) < 0)
            return rc;
        rc = add_results(&l, r, node->tag, 0);
        break;
    default:
        return -ENOTDIR;
    }
    clab_nb_reader_close(&r);
    return rc < 0 ? rc : 0;
}
