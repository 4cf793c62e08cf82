/* The FUSE side of clabfs, on libfuse's low-level API: a session whose
 * inode numbers are nodes of the tree (tree.h), and the loop that serves
 * it. The lab must outlive it. */
#ifndef CLAB_FUSE_OPS_H
#define CLAB_FUSE_OPS_H

/* 3.12: fuse_session_loop_mt with a fuse_loop_config. */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>

#include "lab.h"

/* A blocked read of wait holds no thread (its reply is deferred), so the
 * loop needs only a few: enough for requests in parallel. */
#define CLAB_FUSE_MAX_THREADS 16
#define CLAB_FUSE_IDLE_THREADS 8

typedef struct clab_fuse clab_fuse_t;

/* A session for lab with the mount options in args (fuse_session_new's,
 * which says on stderr what it refuses): 0, or -errno. */
int clab_fuse_new(clab_lab_t *lab, struct fuse_args *args, clab_fuse_t **out);
struct fuse_session *clab_fuse_session(clab_fuse_t *fs);
/* Serves requests until the session ends (an unmount, a signal handled by
 * fuse_set_signal_handlers): single, on this thread alone (-s); else on up
 * to CLAB_FUSE_MAX_THREADS threads, each with its own /dev/fuse
 * descriptor when clone_fd. */
int clab_fuse_loop(clab_fuse_t *fs, int single, int clone_fd);
/* Destroys the session (answering the reads still held, freeing the files
 * a lazy unmount left open); logs the requests answered. */
void clab_fuse_destroy(clab_fuse_t **fs);

#endif
