/* The state directory as clabfs finds it: what it keeps there must be its
 * own files, so that a directory that exists already (perhaps writable by
 * someone else once) cannot make clabfs write through a link. */
#ifndef CLAB_STATEDIR_H
#define CLAB_STATEDIR_H

#include <stddef.h>

/* What clabfs keeps in its state directory. */
#define CLAB_STATE_NOTEBOOK "notebook.db"
#define CLAB_STATE_LOCK "clabfs.lock"
#define CLAB_STATE_LOG "clabfs.log"  /* a detached clabfs's stderr */
#define CLAB_STATE_CLUSTER "cluster" /* the embedded cluster's state */

/* Checks, before anything is made in dir, what clabfs opens there: the
 * notebook and SQLite's files beside it, the lock and the log, and for an
 * embedded cluster of engines engines (-1: none) its directory and logs.
 * Each may be missing; one that is there must be a regular file (cluster/: a
 * directory), not a symbolic link. 0, or -ELOOP, -EINVAL or -ENOTDIR with
 * a sentence naming the path in why ("PATH is a symbolic link..."). */
int clab_statedir_check(const char *dir, int engines, char *why, size_t size);

#endif
