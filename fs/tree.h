/* The shape of the mount: which paths exist, what they are and what a
 * directory lists. Paths are parsed into nodes here and nowhere else;
 * existence of sets and results is checked against the notebook. No FUSE
 * types, so unit tests walk the tree without a mount. */
#ifndef CLAB_TREE_H
#define CLAB_TREE_H

#include "lab.h"

#include <sys/stat.h>

typedef enum {
    CLAB_NODE_ROOT,
    CLAB_NODE_SUBMIT,
    CLAB_NODE_STATUS,
    CLAB_NODE_STATUS_JSON,
    CLAB_NODE_ERRORS,
    CLAB_NODE_RESULTS,       /* /results */
    CLAB_NODE_SET,           /* /results/TAG */
    CLAB_NODE_FAILED,        /* /results/TAG/failed */
    CLAB_NODE_RESULT,        /* /results/TAG/N.json */
    CLAB_NODE_FAILED_RESULT, /* /results/TAG/failed/N.json */
    CLAB_NODE_CSV,
    CLAB_NODE_TSV,
    CLAB_NODE_JSONL,
    CLAB_NODE_SET_STATUS,
    CLAB_NODE_PENDING,
    CLAB_NODE_EXPERIMENT,
    CLAB_NODE_DESCRIPTION,
} clab_node_kind_t;

typedef struct {
    clab_node_kind_t kind;
    char tag[CLAB_TAG_MAX + 1];
    long n;
} clab_node_t;

/* -ENOENT when nothing is there, -ENOTDIR for a path through a file. */
int clab_tree_lookup(clab_lab_t *lab, const char *path, clab_node_t *node);
int clab_tree_getattr(clab_lab_t *lab, const clab_node_t *node, struct stat *st);
/* Calls add for every entry (not . and ..); stops when add returns non-zero. */
int clab_tree_readdir(clab_lab_t *lab, const clab_node_t *node,
                      int (*add)(void *ud, const char *name, int is_dir), void *ud);
int clab_node_is_dir(const clab_node_t *node);
/* Files whose content changes while they are open: served with direct I/O
 * and a snapshot per open. The others never change once visible. */
int clab_node_is_live(const clab_node_t *node);

#endif
