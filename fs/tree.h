/* The shape of the mount: which files exist, what they are, what a
 * directory lists, and the inode number that names each of them. Names
 * are parsed into nodes here and nowhere else; existence of sets and
 * results is checked against the notebook, of engines against the cluster
 * state the link publishes. No FUSE types, so unit tests walk the tree
 * without a mount.
 *
 * An inode number is a node, not a slot in a table: 1 is the root, any
 * other is (kind << 58) | payload, the payload 0 for the fixed nodes
 * outside sets, the set's id for a set's directories and files (ids are
 * never handed out again, so a deleted set's numbers stay dead),
 * (set id << 32) | N for N.json and failed/N.json, and for /engines/ID an
 * index that the lab interns for the id. Decoding one checks that its node
 * still exists, so a stale number answers ENOENT. */
#ifndef CLAB_TREE_H
#define CLAB_TREE_H

#include "lab.h"

#include <stdint.h>
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
    CLAB_NODE_PROVENANCE,        /* /results/TAG/provenance */
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

typedef enum {
    CLAB_SET_EXPERIMENT,
    CLAB_SET_DESCRIPTION,
    CLAB_SET_PROVENANCE,
} clab_set_text_t;

/* What a file written to collects (inbox.h). */
typedef enum { CLAB_INBOX_SUBMIT, CLAB_INBOX_CTL } clab_inbox_kind_t;

/* How long the kernel may keep what it learnt of a node, its name and its
 * attributes (clab_node_timeout). */
typedef enum {
    CLAB_CACHE_NONE,    /* asked again each time: live content, or a set that runs */
    CLAB_CACHE_ALWAYS,  /* never changes while it exists: N.json, submit, ctl */
    CLAB_CACHE_SETTLED, /* while its set has nothing pending: the set's directories
                           and tables; what reopens the set invalidates it */
} clab_cache_t;

/* The kernel's timeout for what it may cache: hours. */
#define CLAB_TREE_CACHE_SECONDS (4 * 3600.0)
/* The root's inode number (FUSE_ROOT_ID). */
#define CLAB_INO_ROOT 1

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
    clab_cache_t cache;
} clab_node_info_t;

/* The row of kind. */
const clab_node_info_t *clab_node_info(clab_node_kind_t kind);

typedef struct {
    clab_node_kind_t kind;
    /* Nodes of a set (/results/TAG and below): its id and tag, and what
     * was learnt of it with the node: its points pending (0: the set is
     * settled) and when it last changed. */
    int64_t set;
    char tag[CLAB_TAG_MAX + 1];
    long pending;
    double set_modified;
    long n;                              /* N of N.json */
    char engine[CLAB_ENGINE_ID_MAX + 1]; /* /engines/ID */
    uint64_t engine_index;               /* its interned index (clab_lab_engine_index) */
    /* Result files: the size and the time the result was stored. */
    off_t size;
    double stored;
} clab_node_t;

/* The inode number of node; 0 when it has none (a result file of a set id
 * past 2^26 or an N past 2^32, which the mount answers EOVERFLOW for). */
uint64_t clab_node_ino(const clab_node_t *node);
/* The node of inode number ino: -ENOENT when it no longer exists. */
int clab_tree_node(clab_lab_t *lab, uint64_t ino, clab_node_t *node);
/* The child of parent named name: -ENOENT when there is none, -ENOTDIR
 * when parent is a file. */
int clab_tree_child(clab_lab_t *lab, const clab_node_t *parent, const char *name,
                    clab_node_t *child);
/* A walk of child searches from the root, the whole path in one notebook
 * snapshot: -ENOENT when nothing is there, -ENOTDIR for a path through a
 * file. */
int clab_tree_lookup(clab_lab_t *lab, const char *path, clab_node_t *node);
/* The seconds the kernel may keep node's attributes. */
double clab_node_timeout(const clab_node_t *node);
/* The seconds it may keep node's name (which inode its name is): long but
 * for engines, since a name always names the same node (every path walk,
 * as `ls -l` makes one per file, would ask again otherwise), and a
 * deleted set's entry is invalidated. */
double clab_node_entry_timeout(const clab_node_t *node);
/* The inode numbers of set id's nodes that the kernel may cache while the
 * set is settled (CLAB_CACHE_SETTLED), to invalidate when it changes;
 * returns how many (at most CLAB_NODE_KINDS). */
size_t clab_tree_set_inos(int64_t set, uint64_t inos[CLAB_NODE_KINDS]);
/* The attributes of node for a known size and modification time. */
void clab_tree_attr(const clab_node_t *node, off_t size, double mtime, struct stat *st);
/* Lists a directory from the entry after the one whose cookie is off (0:
 * from the start, "." and ".." included). add gets each entry's name, its
 * node (for "." the directory, for ".." its parent) and its cookie, the off
 * to pass to resume after it; listing stops when add returns non-zero.
 * Cookies survive changes: entries that appear while a directory is read
 * are listed at most once, and N.json entries are listed in N order, so a
 * listing resumes with a query, not a rescan. */
int clab_tree_readdir(clab_lab_t *lab, const clab_node_t *node, off_t off,
                      int (*add)(void *ud, const char *name, const clab_node_t *child,
                                 off_t next),
                      void *ud);
int clab_node_is_dir(const clab_node_t *node);
/* Files whose content changes (clab_node_info_t.live). */
int clab_node_is_live(const clab_node_t *node);
/* 1 when a and b name the same file. */
int clab_node_same(const clab_node_t *a, const clab_node_t *b);

#endif
