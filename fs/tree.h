/* The shape of the mount: which paths exist, what they are and what a
 * directory lists. Paths are parsed into nodes here and nowhere else;
 * existence of sets and results is checked against the notebook, of
 * engines against the cluster state the sync thread publishes. No FUSE
 * types, so unit tests walk the tree without a mount. */
#ifndef CLAB_TREE_H
#define CLAB_TREE_H

#include "lab.h"

#include <sys/stat.h>
#include <sys/types.h>

#define CLAB_ENGINE_ID_MAX 255

/* Every kind of file in the mount, in listing order within a directory
 * (their cookies follow this order). Each is described once, by its row
 * in the node table (clab_node_info). */
typedef enum {
    CLAB_NODE_ROOT,
    CLAB_NODE_SUBMIT,
    CLAB_NODE_CTL,
    CLAB_NODE_STATUS,
    CLAB_NODE_STATUS_JSON,
    CLAB_NODE_ERRORS,
    CLAB_NODE_NOTEBOOK_JSON,
    CLAB_NODE_LAB_WAIT, /* /wait */
    CLAB_NODE_ENGINES,  /* /engines */
    CLAB_NODE_RESULTS,  /* /results */
    CLAB_NODE_ENGINE,   /* /engines/ID */
    CLAB_NODE_SET,      /* /results/TAG */
    CLAB_NODE_CSV,
    CLAB_NODE_TSV,
    CLAB_NODE_JSONL,
    CLAB_NODE_SET_STATUS,
    CLAB_NODE_WAIT,
    CLAB_NODE_PENDING,
    CLAB_NODE_EXPERIMENT,
    CLAB_NODE_DESCRIPTION,
    CLAB_NODE_SET_NOTEBOOK_JSON, /* /results/TAG/notebook.json */
    CLAB_NODE_FAILED,            /* /results/TAG/failed */
    CLAB_NODE_RESULT,            /* /results/TAG/N.json */
    CLAB_NODE_FAILED_RESULT,     /* /results/TAG/failed/N.json */
    CLAB_NODE_KINDS
} clab_node_kind_t;

/* How a node is named in its directory. */
typedef enum {
    CLAB_NAME_FIXED,  /* the row's name */
    CLAB_NAME_TAG,    /* a result set's tag that the notebook knows */
    CLAB_NAME_RESULT, /* N.json: a stored result, N without leading zeros */
    CLAB_NAME_ENGINE, /* an engine id the cluster reports now */
} clab_name_shape_t;

/* What makes a node's content: a renderer of views.c (epyc.c for the
 * notebook), or the inbox for the files written to. */
typedef enum {
    CLAB_RENDER_NONE,     /* a directory */
    CLAB_RENDER_INBOX,    /* written; arg: clab_inbox_kind_t */
    CLAB_RENDER_STATUS,   /* arg: clab_status_flags_t */
    CLAB_RENDER_ERRORS,   /* the last rejected writes */
    CLAB_RENDER_ENGINE,   /* one engine's record */
    CLAB_RENDER_RESULT,   /* arg: 1 a result, 0 a failure */
    CLAB_RENDER_SET_TEXT, /* arg: clab_set_text_t */
    CLAB_RENDER_TABLE,    /* arg: clab_table_format_t */
    CLAB_RENDER_JSONL,    /* every result document, one a line */
    CLAB_RENDER_PENDING,  /* the pending points, one a line */
    CLAB_RENDER_NOTEBOOK, /* notebook.json (epyc.h); arg 1: the set's own */
    CLAB_RENDER_WAIT,     /* arg: clab_status_flags_t, once the set (or, without
                             CLAB_STATUS_SET, every set) has nothing pending */
} clab_render_t;

/* The status renderer's flags: of the node's set with its total and
 * whether it is done (else of the current set), as JSON (else text). */
typedef enum { CLAB_STATUS_SET = 1, CLAB_STATUS_JSON = 2 } clab_status_flags_t;

typedef enum { CLAB_SET_EXPERIMENT, CLAB_SET_DESCRIPTION } clab_set_text_t;

/* What a file written to collects (inbox.h). */
typedef enum { CLAB_INBOX_SUBMIT, CLAB_INBOX_CTL } clab_inbox_kind_t;

typedef struct {
    const char *name; /* CLAB_NAME_FIXED: the name; else what stands for it */
    clab_node_kind_t parent;
    clab_name_shape_t shape;
    mode_t mode; /* file type and permissions */
    /* Content that changes: served with direct I/O and a snapshot per
     * open. The others never change once visible and are cached. */
    int live;
    clab_render_t render;
    int arg; /* the renderer's argument (see clab_render_t) */
    /* Not listed by readdir, opened by name only: reads that block until
     * work is done must not sit where cp -r, grep -r, tar or find open
     * every file they see. */
    int unlisted;
} clab_node_info_t;

/* The row of kind. */
const clab_node_info_t *clab_node_info(clab_node_kind_t kind);

typedef struct {
    clab_node_kind_t kind;
    char tag[CLAB_TAG_MAX + 1];          /* nodes under /results/TAG */
    long n;                              /* N of N.json */
    char engine[CLAB_ENGINE_ID_MAX + 1]; /* /engines/ID */
    /* Learnt while looking the path up, for stat: the size and the time a
     * result was stored (result files), and when the set last changed. */
    off_t size;
    double stored;
    double set_modified;
} clab_node_t;

/* -ENOENT when nothing is there, -ENOTDIR for a path through a file. */
int clab_tree_lookup(clab_lab_t *lab, const char *path, clab_node_t *node);
/* The attributes of node for a known size and modification time. */
void clab_tree_attr(const clab_node_t *node, off_t size, double mtime, struct stat *st);
/* Lists a directory from the entry after the one whose cookie is off (0:
 * from the start, "." and ".." included). add gets each entry's name and
 * its cookie, the off to pass to resume after it; listing stops when add
 * returns non-zero. Cookies survive changes: entries that appear while a
 * directory is read are listed at most once, and N.json entries are listed
 * in N order, so a listing resumes with a query, not a rescan. */
int clab_tree_readdir(clab_lab_t *lab, const clab_node_t *node, off_t off,
                      int (*add)(void *ud, const char *name, int is_dir, off_t next),
                      void *ud);
int clab_node_is_dir(const clab_node_t *node);
/* Files whose content changes (clab_node_info_t.live). */
int clab_node_is_live(const clab_node_t *node);
/* 1 when a and b name the same file. */
int clab_node_same(const clab_node_t *a, const clab_node_t *b);

#endif
