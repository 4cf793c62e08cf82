/* Reads of wait files: /results/TAG/wait answers once its set has nothing
 * pending, /wait once no set has. A read that cannot be answered yet holds
 * no thread: the FUSE glue keeps its request here, and one thread of our
 * own answers every held read. It wakes on each notebook commit, checks
 * each waited-for set once however many reads wait on it (the reads are
 * grouped by set), renders the status once and answers the group. The
 * mount owner's reads are bounded by memory only; other uids' by
 * waiters.h. */
#include "views_i.h"
#include "log.h"
#include "status.h"
#include "waiters.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The thread looks at the notebook at least this often, and notices a
 * stop within it. */
#define TICK_MS 200

typedef enum { WAIT_NEW, WAIT_HELD, WAIT_CLAIMED, WAIT_INTERRUPTED } wait_state_t;

struct clab_wait {
    clab_waits_t *w;
    clab_view_t *v;
    unsigned uid;
    size_t size;
    off_t off;
    void *token;
    wait_state_t state;
    int64_t set;  /* the group: the set's id, 0 for /wait */
    uint64_t gen; /* the notebook's generation when the read found it not done */
    clab_wait_t *next;
};

/* The reads held on one set (or, set 0, on the whole lab). */
typedef struct {
    int64_t set;
    clab_wait_t *head;
} group_t;

struct clab_waits {
    clab_lab_t *lab;
    clab_waiters_t *limits;
    clab_wait_answer_t answer;
    pthread_mutex_t lock;
    group_t *groups;
    size_t ngroups, cap;
    int held;
    pthread_t thread;
    atomic_int stop;
};

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

/* What a wait waits for: the pending points of set (its tag in tag), or,
 * set 0, of every set, and when that last changed. */
static int waited(clab_nb_reader_t *r, int64_t set, char tag[CLAB_TAG_MAX + 1],
                  long *pending, double *modified)
{
    if (set) {
        clab_set_info_t info;
        int rc = clab_nb_set_by_id(r, set, &info);
        *pending = info.pending;
        *modified = info.modified;
        memcpy(tag, info.tag, CLAB_TAG_MAX + 1);
        clab_set_info_clear(&info);
        return rc;
    }
    lab_sum_t p = {r, 0, 0, 0};
    int rc = clab_nb_sets(r, 0, add_set, &p);
    *pending = p.pending;
    *modified = p.modified;
    tag[0] = '\0';
    return rc < 0 ? rc : p.rc;
}

static int64_t waited_set(const clab_view_t *v)
{
    return v->info->arg & CLAB_STATUS_SET ? v->node.set : 0;
}

int clab_viewp_wait_open(clab_view_t *v)
{
    long pending;
    char tag[CLAB_TAG_MAX + 1];
    v->size = -1;
    return waited(v->reader, waited_set(v), tag, &pending, &v->mtime);
}

/* Makes a wait's view whole with the status text: 0, or -ENOMEM. */
static int wait_done(clab_view_t *v, const clab_buf_t *text, double mtime)
{
    int rc = 0;
    pthread_mutex_lock(&v->lock);
    if (v->shape == SHAPE_WAIT &&
        (rc = clab_buf_add(&v->buf, text->data, text->len)) == 0) {
        v->size = (off_t)v->buf.len;
        v->mtime = mtime;
        v->shape = SHAPE_WHOLE;
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* Whether what set waits for is done: 1 with its status in text, 0 when
 * not, or -errno (the set was deleted: -ENOENT). */
static int check(clab_lab_t *lab, clab_nb_reader_t *r, int64_t set, int flags,
                 clab_buf_t *text, double *mtime)
{
    char tag[CLAB_TAG_MAX + 1];
    long pending = 0;
    double modified;
    int rc = waited(r, set, tag, &pending, &modified);
    if (rc < 0 || pending > 0)
        return rc;
    rc = clab_status_render(lab, r, tag, flags, text, mtime);
    return rc < 0 ? rc : 1;
}

int clab_viewp_wait_read(clab_view_t *v)
{
    clab_nb_reader_t *r;
    clab_buf_t text = {0};
    double mtime = 0;
    v->gen = clab_notebook_generation(v->lab->nb);
    int rc = clab_nb_reader_open(v->lab->nb, &r);
    if (rc < 0)
        return rc;
    rc = check(v->lab, r, waited_set(v), v->info->arg, &text, &mtime);
    clab_nb_reader_close(&r);
    if (rc > 0)
        rc = wait_done(v, &text, mtime) < 0 ? -ENOMEM : 1;
    clab_buf_free(&text);
    return rc < 0 ? rc : rc ? 0 : -EAGAIN;
}

/* Answers a held read claimed off its group (rc < 0: the error) and frees
 * it. Without w->lock. */
static void finish(clab_wait_t *h, int rc, const clab_buf_t *text, double mtime)
{
    clab_waits_t *w = h->w;
    clab_view_t *v = h->v;
    if (rc >= 0)
        rc = wait_done(v, text, mtime);
    char *copy = NULL;
    if (rc >= 0) {
        /* Whole now: its bytes no longer change. The answer is sent from a
         * copy: once the kernel has the reply, the reader may close the
         * file and its release free the view before writev(2) returns
         * here (and ASan reads the iovec after the call). */
        off_t end = h->off + (off_t)h->size;
        if (end > v->size)
            end = v->size;
        ssize_t n = h->off < end ? (ssize_t)(end - h->off) : 0;
        if (n && !(copy = malloc((size_t)n)))
            rc = -ENOMEM;
        else if (n)
            memcpy(copy, v->buf.data + h->off, (size_t)n);
        rc = rc < 0 ? rc : (int)n;
    }
    w->answer(h->token, copy, rc);
    free(copy);
    clab_waiters_leave(w->limits, h->uid);
    pthread_mutex_lock(&w->lock);
    w->held--;
    pthread_mutex_unlock(&w->lock);
    free(h);
}

/* With w->lock: the group of set, added when add; NULL when none. */
static group_t *group_of(clab_waits_t *w, int64_t set, int add)
{
    for (size_t i = 0; i < w->ngroups; i++)
        if (w->groups[i].set == set)
            return &w->groups[i];
    if (!add)
        return NULL;
    if (w->ngroups == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        group_t *g = realloc(w->groups, cap * sizeof *g);
        if (!g)
            return NULL;
        w->groups = g;
        w->cap = cap;
    }
    w->groups[w->ngroups] = (group_t){.set = set};
    return &w->groups[w->ngroups++];
}

/* With w->lock: takes every read of set's group off it (claimed: only the
 * caller answers them now) and drops the group. */
static clab_wait_t *claim(clab_waits_t *w, int64_t set)
{
    group_t *g = group_of(w, set, 0);
    if (!g)
        return NULL;
    clab_wait_t *list = g->head;
    for (clab_wait_t *h = list; h; h = h->next)
        h->state = WAIT_CLAIMED;
    *g = w->groups[--w->ngroups];
    return list;
}

/* With w->lock: takes h off its group; 0 when it is not there. */
static int unlink_wait(clab_waits_t *w, clab_wait_t *h)
{
    group_t *g = group_of(w, h->set, 0);
    clab_wait_t **p = g ? &g->head : NULL;
    while (p && *p && *p != h)
        p = &(*p)->next;
    if (!p || !*p)
        return 0;
    *p = h->next;
    if (!g->head)
        *g = w->groups[--w->ngroups];
    return 1;
}

/* Answers every read of set's group (claimed off it) with rc and text. */
static void answer_group(clab_waits_t *w, int64_t set, int rc, const clab_buf_t *text,
                         double mtime)
{
    pthread_mutex_lock(&w->lock);
    clab_wait_t *h = claim(w, set), *next;
    pthread_mutex_unlock(&w->lock);
    for (; h; h = next) {
        next = h->next;
        finish(h, rc, text, mtime);
    }
}

/* One look at every group: each set checked once, in one snapshot, and
 * every read of a set that is done (or gone) answered. */
static void round_once(clab_waits_t *w)
{
    group_t *groups = NULL;
    int *flags = NULL;
    size_t n = 0;
    pthread_mutex_lock(&w->lock);
    if (w->ngroups && (groups = malloc(w->ngroups * sizeof *groups)) &&
        (flags = malloc(w->ngroups * sizeof *flags))) {
        n = w->ngroups;
        memcpy(groups, w->groups, n * sizeof *groups);
        for (size_t i = 0; i < n; i++)
            flags[i] = groups[i].head->v->info->arg;
    }
    pthread_mutex_unlock(&w->lock);
    clab_nb_reader_t *r;
    if (n > 0 && clab_nb_reader_open(w->lab->nb, &r) == 0) {
        for (size_t i = 0; i < n; i++) {
            clab_buf_t text = {0};
            double mtime = 0;
            int rc = check(w->lab, r, groups[i].set, flags[i], &text, &mtime);
            if (rc != 0)
                answer_group(w, groups[i].set, rc, &text, mtime);
            clab_buf_free(&text);
        }
        clab_nb_reader_close(&r);
    }
    free(groups);
    free(flags);
}

static void *run(void *ud)
{
    clab_waits_t *w = ud;
    uint64_t seen = clab_notebook_generation(w->lab->nb);
    while (!atomic_load(&w->stop)) {
        round_once(w);
        /* Without a link to the cluster, nobody else sends the kernel the
         * invalidations a submit or /ctl queued. */
        if (!w->lab->wake)
            clab_lab_send_changes(w->lab);
        seen = clab_notebook_wait_change(w->lab->nb, seen, TICK_MS);
    }
    return NULL;
}

int clab_waits_start(clab_lab_t *lab, unsigned owner, clab_wait_answer_t answer,
                     clab_waits_t **out)
{
    clab_waits_t *w = calloc(1, sizeof *w);
    clab_waiters_limits_t limits = clab_waiters_default_limits(owner);
    int rc = w ? clab_waiters_new(&limits, &w->limits) : -ENOMEM;
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->lab = lab;
    w->answer = answer;
    pthread_mutex_init(&w->lock, NULL);
    if ((rc = -pthread_create(&w->thread, NULL, run, w)) < 0) {
        clab_waiters_destroy(&w->limits);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void clab_waits_stop(clab_waits_t **pw)
{
    clab_waits_t *w = *pw;
    if (!w)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    for (;;) {
        pthread_mutex_lock(&w->lock);
        clab_wait_t *h = w->ngroups ? claim(w, w->groups[0].set) : NULL, *next;
        pthread_mutex_unlock(&w->lock);
        if (!h)
            break;
        for (; h; h = next) {
            next = h->next;
            finish(h, -ENOTCONN, NULL, 0);
        }
    }
    clab_waiters_destroy(&w->limits);
    pthread_mutex_destroy(&w->lock);
    free(w->groups);
    free(w);
    *pw = NULL;
}

int clab_waits_prepare(clab_waits_t *w, clab_view_t *v, unsigned uid, size_t size,
                       off_t off, void *token, clab_wait_t **out)
{
    clab_wait_t *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    int rc = clab_waiters_enter(w->limits, uid);
    if (rc < 0) {
        free(h);
        return rc;
    }
    *h = (clab_wait_t){.w = w,
                       .v = v,
                       .uid = uid,
                       .size = size,
                       .off = off,
                       .token = token,
                       .set = waited_set(v),
                       .gen = v->gen};
    *out = h;
    return 0;
}

int clab_waits_hold(clab_wait_t *h)
{
    clab_waits_t *w = h->w;
    pthread_mutex_lock(&w->lock);
    group_t *g = h->state == WAIT_NEW ? group_of(w, h->set, 1) : NULL;
    if (g) {
        h->state = WAIT_HELD;
        h->next = g->head;
        g->head = h;
        w->held++;
    }
    uint64_t gen = h->gen;
    pthread_mutex_unlock(&w->lock);
    if (!g) {
        /* Interrupted before it was held, or no memory for its group. */
        int rc = h->state == WAIT_INTERRUPTED ? -EINTR : -ENOMEM;
        clab_waiters_leave(w->limits, h->uid);
        free(h);
        return rc;
    }
    /* A commit since the read looked may have finished the set before the
     * read was held, and the thread may have looked already: look again
     * now rather than at the next commit. */
    if (clab_notebook_generation(w->lab->nb) != gen)
        round_once(w);
    return 0;
}

int clab_waits_interrupt(clab_wait_t *h)
{
    clab_waits_t *w = h->w;
    int mine = 0;
    pthread_mutex_lock(&w->lock);
    if (h->state == WAIT_NEW)
        h->state = WAIT_INTERRUPTED;
    else if (h->state == WAIT_HELD && (mine = unlink_wait(w, h)))
        w->held--;
    pthread_mutex_unlock(&w->lock);
    if (mine) {
        clab_waiters_leave(w->limits, h->uid);
        free(h);
    }
    return mine;
}

int clab_waits_count(clab_waits_t *w)
{
    pthread_mutex_lock(&w->lock);
    int n = w->held;
    pthread_mutex_unlock(&w->lock);
    return n;
}
