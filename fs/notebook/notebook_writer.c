/* The notebook's one writer: its lock (taken in turn: a long job of many
 * transactions, such as a cancel's pages, makes way between them for any
 * thread that waits, since a mutex is not fair and the link would starve),
 * its transactions, and the generation every commit bumps, which the
 * readers of `wait` sleep on (clab_notebook_wait_change). */
#include "notebook_i.h"
#include "log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* How long a long job waits at most for the writers it makes way for. */
#define MAKE_WAY_MS 200

uint64_t clab_notebook_generation(clab_notebook_t *nb)
{
    pthread_mutex_lock(&nb->gen_lock);
    uint64_t g = nb->gen;
    pthread_mutex_unlock(&nb->gen_lock);
    return g;
}

uint64_t clab_notebook_wait_change(clab_notebook_t *nb, uint64_t seen, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&nb->gen_lock);
    while (nb->gen == seen &&
           pthread_cond_timedwait(&nb->changed, &nb->gen_lock, &until) == 0)
        ;
    uint64_t g = nb->gen;
    pthread_mutex_unlock(&nb->gen_lock);
    return g;
}

void clab_nbp_lock(clab_notebook_t *nb)
{
    atomic_fetch_add(&nb->lock_waiters, 1);
    pthread_mutex_lock(&nb->lock);
    atomic_fetch_sub(&nb->lock_waiters, 1);
}

void clab_nbp_make_way(clab_notebook_t *nb)
{
    for (int ms = 0; ms < MAKE_WAY_MS && atomic_load(&nb->lock_waiters) > 0; ms++)
        usleep(1000);
}

/* The writer: one transaction at a time. */
int clab_nbp_write_begin(clab_notebook_t *nb)
{
    clab_nbp_lock(nb);
    if (sqlite3_exec(nb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = clab_nbp_sql_errno(nb->db, "begin");
        pthread_mutex_unlock(&nb->lock);
        return rc;
    }
    return 0;
}

/* synchronous is read at the commit but may only change outside a
 * transaction: FULL is set before BEGIN and NORMAL again after the end. */
int clab_nbp_write_begin_durable(clab_notebook_t *nb)
{
    clab_nbp_lock(nb);
    int full = nb->sync == CLAB_NB_SYNC_RESULTS;
    if ((full && sqlite3_exec(nb->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) !=
                     SQLITE_OK) ||
        sqlite3_exec(nb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = clab_nbp_sql_errno(nb->db, "begin");
        if (full)
            sqlite3_exec(nb->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        pthread_mutex_unlock(&nb->lock);
        return rc;
    }
    nb->durable = full;
    return 0;
}

int clab_nbp_write_end(clab_notebook_t *nb, int rc)
{
    if (rc >= 0 && sqlite3_exec(nb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = clab_nbp_sql_errno(nb->db, "commit");
    if (rc < 0)
        sqlite3_exec(nb->db, "ROLLBACK", NULL, NULL, NULL);
    if (nb->durable && sqlite3_exec(nb->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
                                    NULL) != SQLITE_OK)
        clab_warn("notebook: synchronous = NORMAL: %s", sqlite3_errmsg(nb->db));
    nb->durable = 0;
    for (size_t k = 0; rc >= 0 && k < nb->in.rate_n; k++)
        clab_rate_add(nb->rate, nb->in.rate_sets[k], nb->in.rate_now, 1);
    nb->in.rate_sets = NULL;
    nb->in.rate_n = 0;
    pthread_mutex_unlock(&nb->lock);
    if (rc >= 0) {
        /* After the commit, so that a woken reader sees the change. */
        pthread_mutex_lock(&nb->gen_lock);
        nb->gen++;
        pthread_cond_broadcast(&nb->changed);
        pthread_mutex_unlock(&nb->gen_lock);
    }
    return rc;
}
