/* Who may block in a read of wait, by uid. A blocked read holds a FUSE
 * thread today, so their number is bounded; on an allow_other mount the
 * bound is kept per uid, so that one user cannot take the slots the
 * mount's owner (or anyone else) needs. The owner's limit and the other
 * uids' are independent parameters: when a waiting read no longer holds a
 * thread, the owner's becomes unlimited and the others' stay as they are. */
#ifndef CLAB_WAITERS_H
#define CLAB_WAITERS_H

typedef struct clab_waiters clab_waiters_t;

/* Each uid but the owner's may have at most this many reads waiting. */
#define CLAB_WAITERS_PER_UID 16

/* Limits on blocked reads at once; 0 is no limit. */
typedef struct {
    unsigned owner; /* the mount owner's uid */
    int owner_max;  /* the owner's reads */
    int uid_max;    /* the reads of each other uid */
    int others_max; /* the reads of every other uid together */
} clab_waiters_limits_t;

/* The limits for a mount whose reads may use threads threads: an eighth
 * of them (at least two) are kept from waits for everything else; of the
 * rest, half are the owner's and half every other uid's together, at most
 * CLAB_WAITERS_PER_UID each (at least one read for anyone). */
clab_waiters_limits_t clab_waiters_thread_limits(unsigned owner, unsigned threads);

int clab_waiters_new(const clab_waiters_limits_t *limits, clab_waiters_t **out);
void clab_waiters_destroy(clab_waiters_t **w);

/* A read by uid is about to block: 0, or -EBUSY when uid (or every other
 * uid together) has as many waiting as its limit allows, logged once each
 * time a limit is reached. w NULL: no limit. */
int clab_waiters_enter(clab_waiters_t *w, unsigned uid);
/* That read has ended. */
void clab_waiters_leave(clab_waiters_t *w, unsigned uid);
/* How many reads uid has waiting. */
int clab_waiters_count(clab_waiters_t *w, unsigned uid);

#endif
