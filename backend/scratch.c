/* Scratch directories: each experiment runs in a fresh one, removed after
 * it whatever the experiment did to it (read-only or unreadable
 * subdirectories included). Removal must not stall the engine: one that
 * takes longer than SYNC_BUDGET goes on in a background thread, under a
 * name moved aside, while the engine heartbeats and reports the result
 * (a silent engine is counted lost). */
#include "runner_i.h"

#include "log.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Seconds of removal in the caller's thread before the rest is handed to
 * the background: well under a heartbeat interval. */
#define SYNC_BUDGET 0.2
/* nftw callbacks' "stop the walk" (any non-zero value). */
#define STOPPED 1

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
/* clab_mono() past which this thread's walks stop (STOPPED). */
static _Thread_local double deadline = INFINITY;

static int unlink_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    if (clab_mono() > deadline)
        return STOPPED;
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
    if (clab_mono() > deadline)
        return STOPPED;
    if (flag != FTW_D && flag != FTW_DNR)
        return 0;
    if ((st->st_mode & S_IRWXU) != S_IRWXU)
        chmod(path, (st->st_mode & 07777) | S_IRWXU);
    if (flag == FTW_DNR)
        unreadable_seen = 1;
    return 0;
}

/* Removes dir and all in it: 1 done (or logged as impossible), 0 when the
 * thread's deadline stopped it first. */
static int remove_tree(const char *dir)
{
    struct stat st;
    if (nftw(dir, unlink_entry, 16, FTW_DEPTH | FTW_PHYS) == STOPPED)
        return 0;
    if (lstat(dir, &st) < 0 && errno == ENOENT)
        return 1;
    for (int pass = 0; pass < 64; pass++) {
        unreadable_seen = 0;
        if (nftw(dir, open_up_entry, 16, FTW_PHYS) == STOPPED)
            return 0;
        if (!unreadable_seen)
            break;
    }
    if (nftw(dir, unlink_entry, 16, FTW_DEPTH | FTW_PHYS) == STOPPED)
        return 0;
    if (lstat(dir, &st) == 0)
        clab_warn("cannot remove scratch directory %s", dir);
    return 1;
}

/* The background removals: a list of paths and one thread working it
 * off, started at the first. Process exit waits for the list to empty,
 * so that a stopping engine leaves nothing behind. */
struct doomed {
    struct doomed *next;
    char path[];
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct doomed *doomed_head;
static int remover_busy, remover_started;

static void *remover(void *arg)
{
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!doomed_head)
            pthread_cond_wait(&changed, &lock);
        struct doomed *d = doomed_head;
        doomed_head = d->next;
        remover_busy = 1;
        pthread_mutex_unlock(&lock);
        remove_tree(d->path);
        free(d);
        pthread_mutex_lock(&lock);
        remover_busy = 0;
        pthread_cond_broadcast(&changed);
    }
    return arg;
}

static void wait_removals(void)
{
    pthread_mutex_lock(&lock);
    while (doomed_head || remover_busy)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

/* The remover runs with every signal blocked: they are the engine's. */
static int start_remover(void)
{
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&t, NULL, remover, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return -rc;
    pthread_detach(t);
    atexit(wait_removals);
    remover_started = 1;
    return 0;
}

/* Moves dir aside (a name scratch_make never gives) and queues it for the
 * remover; without a thread, removes it here after all. */
static void hand_off(const char *dir)
{
    size_t len = strlen(dir) + sizeof ".gone";
    struct doomed *d = malloc(sizeof *d + len);
    int rc = d ? 0 : -ENOMEM;
    if (d) {
        snprintf(d->path, len, "%s.gone", dir);
        if (rename(dir, d->path) < 0)
            snprintf(d->path, len, "%s", dir);
    }
    pthread_mutex_lock(&lock);
    if (!rc && !remover_started)
        rc = start_remover();
    if (!rc) {
        d->next = doomed_head;
        doomed_head = d;
        pthread_cond_broadcast(&changed);
    }
    pthread_mutex_unlock(&lock);
    if (rc) {
        clab_warn("scratch directory %s removed in the foreground: %s", dir,
                  strerror(-rc));
        deadline = INFINITY;
        remove_tree(d ? d->path : dir);
        free(d);
    }
}

void scratch_remove(const char *dir)
{
    /* Most experiments leave nothing behind: one rmdir is all it takes. */
    if (rmdir(dir) == 0 || errno == ENOENT)
        return;
    deadline = clab_mono() + SYNC_BUDGET;
    int done = remove_tree(dir);
    deadline = INFINITY;
    if (!done)
        hand_off(dir);
}
