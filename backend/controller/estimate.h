/* How long a point of a set takes, as the controller expects it: for
 * walltime-aware dispatch (an engine whose Slurm job ends soon is given no
 * point expected to outlast it). Kept in memory, per set, from that set's
 * finished points; a controller restart starts from nothing again. */
#ifndef CLAB_ESTIMATE_H
#define CLAB_ESTIMATE_H

#include <jansson.h>

/* The finished points each set's estimate looks at: the newest ones. */
#define CLAB_ESTIMATE_SAMPLE 64

typedef struct clab_estimate clab_estimate_t;

int clab_estimate_new(clab_estimate_t **out);
void clab_estimate_destroy(clab_estimate_t **est);
/* One finished point of set key, elapsed seconds. 0 or -errno. */
int clab_estimate_add(clab_estimate_t *est, const char *key, double elapsed);
/* The 90th percentile of the set's sampled points (nearest rank) in *out:
 * 0, or -ENOENT when none of its points finished. */
int clab_estimate_p90(clab_estimate_t *est, const char *key, double *out);
/* Appends to out (an array) every set whose estimate exceeds seconds:
 * those an engine with that much time left must not be given. Returns
 * how many, or -errno. */
int clab_estimate_longer_than(clab_estimate_t *est, double seconds, json_t *out);
/* The largest estimate of any set (0 with none): an engine with more time
 * left than this needs no list from clab_estimate_longer_than. Recomputed
 * only after a new point, so cheap per dispatch. */
double clab_estimate_longest(clab_estimate_t *est);

#endif
