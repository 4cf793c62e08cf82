/* The git commit of the repository holding a file, and whether its work
 * tree was dirty, read from `.git` alone: never by running git, which the
 * mount must not do at a submit (it is the user's PATH, the user's hooks,
 * and a FUSE request waits for it). */
#ifndef CLAB_GITINFO_H
#define CLAB_GITINFO_H

#include <limits.h>

typedef enum {
    CLAB_GIT_DIRTY_UNKNOWN = 0, /* no index, or one this reader cannot read */
    CLAB_GIT_CLEAN,
    CLAB_GIT_DIRTY,
} clab_git_dirty_t;

typedef struct {
    char root[PATH_MAX]; /* the work tree (the directory holding .git) */
    char commit[65];     /* HEAD's commit as hex (40, or 64 for sha256); "" unknown */
    clab_git_dirty_t dirty;
} clab_git_info_t;

/* The repository holding path (a file; its directory and every parent up
 * to / are searched for .git, a directory or a `gitdir:` file as in
 * worktrees and submodules). HEAD is followed to its ref, a loose file
 * under refs/ (in the common directory of a worktree) or a line of
 * packed-refs; a detached HEAD is its commit. Dirty: a tracked file whose
 * size or mtime differs from what the index (version 2 or 3) recorded, or
 * that is gone; changes staged but not committed, and untracked files,
 * are not seen. 0, or -ENOENT when no repository holds path. */
int clab_git_info(const char *path, clab_git_info_t *out);

/* What provenance shows for dirty: "no", "yes" or "unknown". */
const char *clab_git_dirty_name(clab_git_dirty_t d);

#endif
