/* The check of a state directory before clabfs uses it (statedir.h). The
 * files are also opened without following links (clab_open_private, and
 * SQLITE_OPEN_NOFOLLOW for the notebook): this check comes first so that
 * a planted link stops clabfs before anything is made or mounted, with a
 * sentence that says which. tunnel.json is not here: it is replaced by a
 * rename, which never follows a link. */
#include "statedir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const char *name;
    mode_t type;  /* S_IFREG or S_IFDIR */
    int embedded; /* only with an embedded cluster */
} entry_t;

/* The cluster's logs as fs/cluster.c names them (engine-N.log below). */
static const entry_t entries[] = {
    {.name = CLAB_STATE_LOCK, .type = S_IFREG},
    {.name = CLAB_STATE_LOG, .type = S_IFREG},
    {.name = CLAB_STATE_NOTEBOOK, .type = S_IFREG},
    {.name = CLAB_STATE_NOTEBOOK "-wal", .type = S_IFREG},
    {.name = CLAB_STATE_NOTEBOOK "-shm", .type = S_IFREG},
    {.name = CLAB_STATE_NOTEBOOK "-journal", .type = S_IFREG},
    {.name = CLAB_STATE_CLUSTER, .type = S_IFDIR, .embedded = 1},
    {.name = CLAB_STATE_CLUSTER "/controller.log", .type = S_IFREG, .embedded = 1},
};

/* dir/name: 0 when it is missing or of its type, else -errno and why. */
static int check_one(const char *dir, const char *name, mode_t type, char *why,
                     size_t size)
{
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        snprintf(why, size, "state directory path too long: %s", dir);
        return -ENAMETOOLONG;
    }
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        int rc = -errno;
        snprintf(why, size, "cannot use %s: %s", path, strerror(-rc));
        return rc;
    }
    if (S_ISLNK(st.st_mode)) {
        snprintf(why, size,
                 "%s is a symbolic link; clabfs follows none in its state directory: "
                 "remove it",
                 path);
        return -ELOOP;
    }
    if ((st.st_mode & S_IFMT) != type) {
        snprintf(why, size, "%s is not a %s; remove it", path,
                 type == S_IFDIR ? "directory" : "regular file");
        return type == S_IFDIR ? -ENOTDIR : -EINVAL;
    }
    return 0;
}

int clab_statedir_check(const char *dir, int engines, char *why, size_t size)
{
    int rc = 0;
    for (size_t i = 0; i < sizeof entries / sizeof *entries && !rc; i++)
        if (!entries[i].embedded || engines >= 0)
            rc = check_one(dir, entries[i].name, entries[i].type, why, size);
    for (int i = 1; i <= engines && !rc; i++) {
        char name[64];
        snprintf(name, sizeof name, CLAB_STATE_CLUSTER "/engine-%d.log", i);
        rc = check_one(dir, name, S_IFREG, why, size);
    }
    return rc;
}
