/* Scratch directories: each experiment runs in a fresh one, removed after
 * it whatever the experiment did to it (read-only or unreadable
 * subdirectories included). */
#include "runner_i.h"

#include "log.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int scratch_make(const char *root, char *out, size_t size)
{
    if (!root || !*root)
        root = getenv("TMPDIR");
    if (!root || !*root)
        root = "/tmp";
    int n = snprintf(out, size, "%s/clab-XXXXXX", root);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    if (!mkdtemp(out))
        return -errno;
    return 0;
}

static _Thread_local int unreadable_seen;

static int unlink_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_DNR)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* A directory the experiment made read-only (or unreadable) keeps its
 * entries; nftw only reports an unreadable one without entering it, hence
 * one pass per level of such directories. */
static int open_up_entry(const char *path, const struct stat *st, int flag,
                         struct FTW *ftw)
{
    if (flag != FTW_D && flag != FTW_DNR)
        return 0;
    if ((st->st_mode & S_IRWXU) != S_IRWXU)
        chmod(path, (st->st_mode & 07777) | S_IRWXU);
    if (flag == FTW_DNR)
        unreadable_seen = 1;
    return 0;
}

void scratch_remove(const char *dir)
{
    struct stat st;

    /* Most experiments leave nothing behind: one rmdir is all it takes. */
    if (rmdir(dir) == 0 || errno == ENOENT)
        return;
    nftw(dir, unlink_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (lstat(dir, &st) < 0 && errno == ENOENT)
        return;
    for (int pass = 0; pass < 64; pass++) {
        unreadable_seen = 0;
        nftw(dir, open_up_entry, 16, FTW_PHYS);
        if (!unreadable_seen)
            break;
    }
    nftw(dir, unlink_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (lstat(dir, &st) == 0)
        clab_warn("cannot remove scratch directory %s", dir);
}
