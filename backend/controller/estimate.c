/* Per-set duration estimates for walltime-aware dispatch (estimate.h).
 * Each set keeps a ring of its newest finished points' elapsed times, so
 * memory and the cost of an estimate stay bounded whatever the set's size;
 * the percentile is recomputed only after a new point, not per dispatch. */
#include "estimate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;
    double sample[CLAB_ESTIMATE_SAMPLE];
    int n;    /* points in the sample */
    int next; /* where the next one goes once it is full */
    double p90;
    int stale; /* p90 not recomputed since the last point */
} set_t;

struct clab_estimate {
    set_t *sets;
    size_t nsets;
    double longest;
    int longest_stale; /* longest not recomputed since the last point */
};

int clab_estimate_new(clab_estimate_t **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

void clab_estimate_destroy(clab_estimate_t **est)
{
    clab_estimate_t *e = *est;
    if (!e)
        return;
    for (size_t i = 0; i < e->nsets; i++)
        free(e->sets[i].key);
    free(e->sets);
    free(e);
    *est = NULL;
}

static set_t *find(clab_estimate_t *e, const char *key)
{
    for (size_t i = 0; i < e->nsets; i++)
        if (strcmp(e->sets[i].key, key) == 0)
            return &e->sets[i];
    return NULL;
}

int clab_estimate_add(clab_estimate_t *e, const char *key, double elapsed)
{
    if (!key || !isfinite(elapsed) || elapsed < 0)
        return -EINVAL;
    set_t *s = find(e, key);
    if (!s) {
        set_t *p = realloc(e->sets, (e->nsets + 1) * sizeof *p);
        if (!p)
            return -ENOMEM;
        e->sets = p;
        s = &e->sets[e->nsets];
        memset(s, 0, sizeof *s);
        if (!(s->key = strdup(key)))
            return -ENOMEM;
        e->nsets++;
    }
    if (s->n < CLAB_ESTIMATE_SAMPLE) {
        s->sample[s->n++] = elapsed;
    } else {
        s->sample[s->next] = elapsed;
        s->next = (s->next + 1) % CLAB_ESTIMATE_SAMPLE;
    }
    s->stale = e->longest_stale = 1;
    return 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double p90_of(set_t *s)
{
    if (s->stale) {
        double sorted[CLAB_ESTIMATE_SAMPLE];
        memcpy(sorted, s->sample, (size_t)s->n * sizeof sorted[0]);
        qsort(sorted, (size_t)s->n, sizeof sorted[0], by_value);
        /* Nearest rank: the smallest value at or above 90 % of the points. */
        int rank = (int)ceil(0.9 * s->n);
        s->p90 = sorted[rank > 0 ? rank - 1 : 0];
        s->stale = 0;
    }
    return s->p90;
}

int clab_estimate_p90(clab_estimate_t *e, const char *key, double *out)
{
    set_t *s = key ? find(e, key) : NULL;
    if (!s)
        return -ENOENT;
    *out = p90_of(s);
    return 0;
}

int clab_estimate_longer_than(clab_estimate_t *e, double seconds, json_t *out)
{
    int n = 0;
    for (size_t i = 0; i < e->nsets; i++) {
        if (p90_of(&e->sets[i]) <= seconds)
            continue;
        if (json_array_append_new(out, json_string(e->sets[i].key)))
            return -ENOMEM;
        n++;
    }
    return n;
}

double clab_estimate_longest(clab_estimate_t *e)
{
    if (e->longest_stale) {
        e->longest = 0;
        for (size_t i = 0; i < e->nsets; i++)
            if (p90_of(&e->sets[i]) > e->longest)
                e->longest = p90_of(&e->sets[i]);
        e->longest_stale = 0;
    }
    return e->longest;
}
