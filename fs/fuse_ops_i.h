/* Private to the FUSE glue (fuse_ops.c: the calls, files, held reads and
 * the session; fuse_ops_dir.c: directories and invalidations). */
#ifndef CLAB_FUSE_OPS_I_H
#define CLAB_FUSE_OPS_I_H

#include "fuse_ops.h"
#include "tree.h"
#include "views.h"
#include "inbox.h"

#include <pthread.h>
#include <stdint.h>

typedef struct handle {
    clab_view_t *view;
    clab_inbox_t *inbox;
    int cached; /* read through the page cache: one state for every open */
    struct handle *prev, *next;
} handle_t;

struct clab_fuse {
    clab_lab_t *lab;
    struct fuse_session *se;
    clab_waits_t *waits;
    /* Every handle not yet released. A lazy unmount (fusermount3 -uz while
     * `tail -f` holds a table open) ends the session without a release
     * for those files; destroy frees them before the lab they point into. */
    pthread_mutex_t lock;
    handle_t *handles;
};

/* One request being served. Every op ends in call_end with what it
 * returns: an error not answered yet is answered there, and a debug build
 * checks that the request was answered (or held) exactly once. */
typedef struct {
    fuse_req_t req;
    clab_fuse_t *fs;
    clab_req_t op;
    uint64_t gen; /* the notebook's generation when the request began */
    int answers;
} call_t;

static inline clab_lab_t *lab_of(call_t *c)
{
    return c->fs->lab;
}

static inline const struct fuse_ctx *ctx_of(call_t *c)
{
    return fuse_req_ctx(c->req);
}

/* c is answered now (counted as one of its kind), or held (counted, not
 * here, once answered). Returns 0. */
int clab_fusep_answering(call_t *c, int counted);
/* What the kernel may keep of node's attributes: its table's timeout, but
 * nothing of a settled set's files when the notebook changed since the
 * request began (a submit may have reopened the set, and its invalidation
 * may have been sent before this answer arrives). */
double clab_fusep_timeout(call_t *c, const clab_node_t *node);
/* node's entry: its attributes as the caller sees them (its own open's are
 * not kept), its inode number and timeouts. */
int clab_fusep_entry(call_t *c, const clab_node_t *node, struct fuse_entry_param *e);

/* fuse_ops_dir.c */
int clab_fusep_opendir(call_t *c, fuse_ino_t ino, struct fuse_file_info *fi);
int clab_fusep_readdir(call_t *c, fuse_ino_t ino, size_t size, off_t off, int plus);
/* lab->send_changes: called by the link thread, never in a request. */
void clab_fusep_send_changes(void *ud, const clab_set_change_t *changes, size_t n);

#endif
