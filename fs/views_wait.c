/* Reads of wait files: /results/TAG/wait blocks until its set has nothing
 * pending, /wait until no set has. Each blocked read holds a FUSE thread,
 * so lab->waiters bounds them by uid; a commit to the notebook wakes them,
 * and a poll notices interrupts (Ctrl-C). */
#include "views_i.h"
#include "log.h"
#include "status.h"

#include <errno.h>
#include <unistd.h>

#define WAIT_POLL_MS 100

static int interrupted(clab_lab_t *lab)
{
    return lab->interrupted && lab->interrupted();
}

typedef struct {
    clab_nb_reader_t *r;
    long pending;
    double modified;
    int rc;
} lab_sum_t;

static int add_set(void *ud, int64_t id, const char *tag)
{
    lab_sum_t *p = ud;
    clab_set_info_t info;
    (void)id;
    if ((p->rc = clab_nb_set_info(p->r, tag, &info)) < 0)
        return 1;
    p->pending += info.pending;
    if (info.modified > p->modified)
        p->modified = info.modified;
    clab_set_info_clear(&info);
    return 0;
}

/* What a wait waits for: the pending points of its set, or (/wait) of
 * every set, and when that last changed. */
static int waited(clab_view_t *v, clab_nb_reader_t *r, long *pending, double *modified)
{
    if (v->info->arg & CLAB_STATUS_SET) {
        clab_set_info_t info;
        int rc = clab_nb_set_info(r, v->node.tag, &info);
        *pending = info.pending;
        *modified = info.modified;
        clab_set_info_clear(&info);
        return rc;
    }
    lab_sum_t p = {r, 0, 0, 0};
    int rc = clab_nb_sets(r, 0, add_set, &p);
    *pending = p.pending;
    *modified = p.modified;
    return rc < 0 ? rc : p.rc;
}

int clab_viewp_wait_open(clab_view_t *v)
{
    long pending;
    v->size = -1;
    return waited(v, v->reader, &pending, &v->mtime);
}

/* Blocks until the set (or the whole lab) has nothing pending and renders
 * its status then, from the snapshot that saw it done. Called without
 * v->lock, which stat and the other readers of the handle need meanwhile. */
static int wait_done(clab_view_t *v, clab_buf_t *out, double *mtime)
{
    clab_lab_t *lab = v->lab;
    unsigned uid = lab->caller_uid ? lab->caller_uid() : (unsigned)getuid();
    int rc = clab_waiters_enter(lab->waiters, uid);
    if (rc < 0)
        return rc;
    for (;;) {
        uint64_t gen = clab_notebook_generation(lab->nb);
        clab_nb_reader_t *r;
        long pending = 0;
        double modified;
        if ((rc = clab_nb_reader_open(lab->nb, &r)) < 0)
            break;
        rc = waited(v, r, &pending, &modified);
        if (rc == 0 && pending == 0)
            rc = clab_status_render(lab, r, v->node.tag, v->info->arg, out, mtime);
        clab_nb_reader_close(&r);
        if (rc < 0 || pending == 0)
            break;
        if (interrupted(lab)) {
            rc = -EINTR;
            break;
        }
        /* A commit wakes us at once; the timeout is for interrupts. */
        clab_notebook_wait_change(lab->nb, gen, WAIT_POLL_MS);
    }
    clab_waiters_leave(lab->waiters, uid);
    return rc;
}

int clab_viewp_wait_read(clab_view_t *v)
{
    clab_buf_t b = {0};
    double mtime = 0;
    int rc = wait_done(v, &b, &mtime);
    pthread_mutex_lock(&v->lock);
    if (rc == 0 && v->shape == SHAPE_WAIT) {
        clab_buf_free(&v->buf);
        v->buf = b;
        b = (clab_buf_t){0};
        v->size = (off_t)v->buf.len;
        v->mtime = mtime;
        v->shape = SHAPE_WHOLE;
    }
    pthread_mutex_unlock(&v->lock);
    clab_buf_free(&b);
    return rc;
}
