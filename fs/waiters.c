/* The bookkeeping of held reads of wait by uid (waiters.h): a count for
 * the owner, one for each other uid that has a read waiting (kept in a
 * small array, since few users wait at once), and their sum. Each limit
 * that refuses a read is logged once, then again only after its count has
 * dropped below it. */
#include "waiters.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct {
    unsigned uid;
    int n;
    int warned; /* refused since n was last below the limit */
} slot_t;

struct clab_waiters {
    clab_waiters_limits_t l;
    pthread_mutex_t lock;
    slot_t owner;
    slot_t *uids; /* other uids with a read waiting */
    size_t nuids, cap;
    int others;        /* their reads, together */
    int others_warned; /* as slot_t's warned, for others_max */
};

clab_waiters_limits_t clab_waiters_default_limits(unsigned owner)
{
    return (clab_waiters_limits_t){
        .owner = owner,
        .owner_max = 0,
        .uid_max = CLAB_WAITERS_PER_UID,
        .others_max = CLAB_WAITERS_OTHERS,
    };
}

int clab_waiters_new(const clab_waiters_limits_t *limits, clab_waiters_t **out)
{
    clab_waiters_t *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->l = *limits;
    w->owner.uid = limits->owner;
    pthread_mutex_init(&w->lock, NULL);
    *out = w;
    return 0;
}

void clab_waiters_destroy(clab_waiters_t **pw)
{
    clab_waiters_t *w = *pw;
    if (!w)
        return;
    pthread_mutex_destroy(&w->lock);
    free(w->uids);
    free(w);
    *pw = NULL;
}

static int full(int n, int max)
{
    return max > 0 && n >= max;
}

static slot_t *find(clab_waiters_t *w, unsigned uid)
{
    if (uid == w->l.owner)
        return &w->owner;
    for (size_t i = 0; i < w->nuids; i++)
        if (w->uids[i].uid == uid)
            return &w->uids[i];
    return NULL;
}

/* The slot of another uid, added with no read yet; NULL without memory. */
static slot_t *add(clab_waiters_t *w, unsigned uid)
{
    if (w->nuids == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        slot_t *u = realloc(w->uids, cap * sizeof *u);
        if (!u)
            return NULL;
        w->uids = u;
        w->cap = cap;
    }
    w->uids[w->nuids] = (slot_t){.uid = uid};
    return &w->uids[w->nuids++];
}

/* Why a read by uid is refused, or NULL when it is not. Logged by the
 * caller once per limit reached (*warned). */
static const char *refusal(clab_waiters_t *w, slot_t *s, unsigned uid, int **warned)
{
    int n = s ? s->n : 0;
    if (uid == w->l.owner) {
        *warned = &w->owner.warned;
        return full(n, w->l.owner_max) ? "the mount owner's limit" : NULL;
    }
    if (s && full(n, w->l.uid_max)) {
        *warned = &s->warned;
        return "its limit per uid";
    }
    *warned = &w->others_warned;
    return full(w->others, w->l.others_max) ? "the limit of all other uids together"
                                            : NULL;
}

int clab_waiters_enter(clab_waiters_t *w, unsigned uid)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    slot_t *s = find(w, uid);
    int *warned, rc = 0;
    const char *why = refusal(w, s, uid, &warned);
    if (why) {
        if (!*warned)
            clab_warn("uid %u: %d read(s) of wait held, %d by other uids; %s is "
                      "reached, so more are refused (EBUSY) until one ends",
                      uid, s ? s->n : 0, w->others, why);
        *warned = 1;
        rc = -EBUSY;
    } else if (!s && !(s = add(w, uid))) {
        rc = -EBUSY;
    } else {
        s->n++;
        w->others += s != &w->owner;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void clab_waiters_leave(clab_waiters_t *w, unsigned uid)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    slot_t *s = find(w, uid);
    if (s && s->n > 0) {
        s->n--;
        if (s == &w->owner) {
            w->owner.warned &= full(s->n, w->l.owner_max);
        } else {
            w->others--;
            w->others_warned &= full(w->others, w->l.others_max);
            s->warned &= full(s->n, w->l.uid_max);
            if (s->n == 0) /* the last one takes its place */
                *s = w->uids[--w->nuids];
        }
    }
    pthread_mutex_unlock(&w->lock);
}

int clab_waiters_count(clab_waiters_t *w, unsigned uid)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    slot_t *s = find(w, uid);
    int n = s ? s->n : 0;
    pthread_mutex_unlock(&w->lock);
    return n;
}
