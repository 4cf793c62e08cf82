/* The FUSE operations of clabfs: thin glue from libfuse's high-level API
 * to the tree, the views and the inbox. */
#ifndef CLAB_FUSE_OPS_H
#define CLAB_FUSE_OPS_H

/* 3.12: fuse_loop_mt with a fuse_loop_config, declared by libfuse. */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse.h>

extern const struct fuse_operations clab_fuse_ops;

/* fuse_loop_mt with room for readers that block: every read of
 * /results/TAG/wait holds a FUSE thread until its set is done, so the loop
 * may grow to CLAB_FUSE_MAX_THREADS threads (libfuse's default is 10), and
 * lab->waiters keeps some of them for everyone else and shares the rest
 * between the mount owner and the other uids. */
#define CLAB_FUSE_MAX_THREADS 256
int clab_fuse_loop_mt(struct fuse *fuse, int clone_fd);

#endif
