/* Who may have a read of wait held, by uid. A held read costs memory, not
 * a thread, so the mount owner's are not limited; on an allow_other mount
 * the other uids are, each and all together, so that one user cannot fill
 * the daemon's memory, or keep another from waiting. */
#ifndef CLAB_WAITERS_H
#define CLAB_WAITERS_H

typedef struct clab_waiters clab_waiters_t;

/* Each uid but the owner's may have at most this many reads held, and
 * all of them together CLAB_WAITERS_OTHERS. */
#define CLAB_WAITERS_PER_UID 16
#define CLAB_WAITERS_OTHERS 112

/* Limits on held reads at once; 0 is no limit. */
typedef struct {
    unsigned owner; /* the mount owner's uid */
    int owner_max;  /* the owner's reads */
    int uid_max;    /* the reads of each other uid */
    int others_max; /* the reads of every other uid together */
} clab_waiters_limits_t;

/* The mount's limits: none for owner, CLAB_WAITERS_PER_UID for each other
 * uid and CLAB_WAITERS_OTHERS for all of them. */
clab_waiters_limits_t clab_waiters_default_limits(unsigned owner);

int clab_waiters_new(const clab_waiters_limits_t *limits, clab_waiters_t **out);
void clab_waiters_destroy(clab_waiters_t **w);

/* A read by uid is about to be held: 0, or -EBUSY when uid (or every other
 * uid together) has as many waiting as its limit allows, logged once each
 * time a limit is reached. w NULL: no limit. */
int clab_waiters_enter(clab_waiters_t *w, unsigned uid);
/* That read has ended. */
void clab_waiters_leave(clab_waiters_t *w, unsigned uid);
/* How many reads uid has waiting. */
int clab_waiters_count(clab_waiters_t *w, unsigned uid);

#endif
