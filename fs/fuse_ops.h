/* The FUSE operations of clabfs: thin glue from libfuse's high-level API
 * to the tree, the views and the inbox. */
#ifndef CLAB_FUSE_OPS_H
#define CLAB_FUSE_OPS_H

#define FUSE_USE_VERSION 31
#include <fuse.h>

extern const struct fuse_operations clab_fuse_ops;

#endif
