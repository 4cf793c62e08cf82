/* Points finished per second over the last minute, per set (rate.h): one
 * counter per second of the window in a ring, per set that finished
 * points in this mount. The ring's slot for a second is reset when it is
 * reused for a later second, so stale counts never need a sweep. Past
 * RATE_SETS sets, one idle for longer than the window gives its entry to
 * the next set that needs one. */
#include "rate.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* How many sets' windows are kept before idle ones are reused: 60 KiB. */
#define RATE_SETS 1024

typedef struct {
    int64_t id;
    int64_t newest; /* the latest second counted */
    int64_t sec[CLAB_RATE_WINDOW];
    long count[CLAB_RATE_WINDOW];
} rate_set_t;

struct clab_rate {
    pthread_mutex_t lock; /* the writer adds, FUSE threads read */
    rate_set_t *sets;
    size_t n, cap;
};

int clab_rate_new(clab_rate_t **out)
{
    clab_rate_t *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return 0;
}

void clab_rate_destroy(clab_rate_t **pr)
{
    clab_rate_t *r = *pr;
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->sets);
    free(r);
    *pr = NULL;
}

static rate_set_t *find(clab_rate_t *r, int64_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->sets[i].id == id)
            return &r->sets[i];
    return NULL;
}

/* The entry of set id, made when it has none, or past RATE_SETS taken over
 * from a set idle for longer than the window; NULL when out of memory. A
 * set's status reads its window up to its last change, however long ago
 * (status.c), so entries are kept while there are few. */
static rate_set_t *entry(clab_rate_t *r, int64_t id, int64_t now_s)
{
    rate_set_t *e = find(r, id);
    if (e)
        return e;
    for (size_t i = 0; r->n >= RATE_SETS && i < r->n && !e; i++)
        if (r->sets[i].newest <= now_s - CLAB_RATE_WINDOW)
            e = &r->sets[i];
    if (!e) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 8;
            rate_set_t *grown = realloc(r->sets, cap * sizeof *grown);
            if (!grown)
                return NULL;
            r->sets = grown;
            r->cap = cap;
        }
        e = &r->sets[r->n++];
    }
    *e = (rate_set_t){.id = id, .newest = now_s};
    for (int i = 0; i < CLAB_RATE_WINDOW; i++)
        e->sec[i] = -1;
    return e;
}

int clab_rate_add(clab_rate_t *r, int64_t id, double now, long n)
{
    int64_t s = (int64_t)now;
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    rate_set_t *e = entry(r, id, s);
    if (!e) {
        rc = -ENOMEM;
        goto out;
    }
    int slot = (int)(s % CLAB_RATE_WINDOW); /* now is after the epoch */
    if (e->sec[slot] != s) {
        e->sec[slot] = s;
        e->count[slot] = 0;
    }
    e->count[slot] += n;
    if (s > e->newest)
        e->newest = s;
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

double clab_rate_get(clab_rate_t *r, int64_t id, double since, double now)
{
    int64_t s = (int64_t)now;
    long sum = 0;
    pthread_mutex_lock(&r->lock);
    rate_set_t *e = find(r, id);
    for (int i = 0; e && i < CLAB_RATE_WINDOW; i++)
        if (e->sec[i] > s - CLAB_RATE_WINDOW && e->sec[i] <= s)
            sum += e->count[i];
    pthread_mutex_unlock(&r->lock);
    /* The window's seconds that the set could have used: a set younger
     * than a minute would otherwise look slower than it is. */
    double span = now - since;
    if (span > CLAB_RATE_WINDOW)
        span = CLAB_RATE_WINDOW;
    if (span < 1)
        span = 1;
    return sum / span;
}
