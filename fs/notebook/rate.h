/* The recent pace of each set: how many of its points finished in each of
 * the last 60 seconds, kept in memory by the notebook from what it stores
 * (clab_notebook_add_results), so that a status read costs a lookup and a
 * sum of 60 counters, never a scan of the set's results. A remount starts
 * it empty: the rate counts what this mount stored. The window may end at
 * any time up to now: status.c ends it at the set's last change. */
#ifndef CLAB_RATE_H
#define CLAB_RATE_H

#include <stdint.h>

/* The window, in seconds: "points per second over the last minute". */
#define CLAB_RATE_WINDOW 60

typedef struct clab_rate clab_rate_t;

int clab_rate_new(clab_rate_t **out);
void clab_rate_destroy(clab_rate_t **r);
/* n points of the set numbered id finished at now (seconds since the
 * epoch). */
int clab_rate_add(clab_rate_t *r, int64_t id, double now, long n);
/* Points per second of the set id over the window that ends at now; since
 * is when counting could begin (the set's first submit, or the mount if
 * later): a set younger than the window is divided by its age, at least a
 * second, not by the whole minute. 0 when nothing finished in the window. */
double clab_rate_get(clab_rate_t *r, int64_t id, double since, double now);

#endif
