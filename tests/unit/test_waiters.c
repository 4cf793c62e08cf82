/* The per-uid limits on held reads of wait (fs/waiters.c): the owner's
 * limit and the other uids' are independent, each other uid has its own
 * and all of them together one more; slots come back on leave; the limits
 * of a mount (the owner's reads unlimited). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>

#include "waiters.h"

#define OWNER 1000u

static clab_waiters_t *make(int owner_max, int uid_max, int others_max)
{
    clab_waiters_t *w = NULL;
    clab_waiters_limits_t l = {.owner = OWNER,
                               .owner_max = owner_max,
                               .uid_max = uid_max,
                               .others_max = others_max};
    assert_int_equal(clab_waiters_new(&l, &w), 0);
    assert_non_null(w);
    return w;
}

/* enters n times as uid; how many were let in. */
static int enter_n(clab_waiters_t *w, unsigned uid, int n)
{
    int in = 0;
    for (int i = 0; i < n; i++) {
        int rc = clab_waiters_enter(w, uid);
        assert_true(rc == 0 || rc == -EBUSY);
        in += rc == 0;
    }
    return in;
}

static void leave_n(clab_waiters_t *w, unsigned uid, int n)
{
    for (int i = 0; i < n; i++)
        clab_waiters_leave(w, uid);
}

/* Issue 21: another uid filling its slots does not touch the owner's. */
static void test_owner_apart(void **state)
{
    (void)state;
    clab_waiters_t *w = make(4, 3, 5);
    assert_int_equal(enter_n(w, 65534, 230), 3);
    assert_int_equal(clab_waiters_count(w, 65534), 3);
    assert_int_equal(enter_n(w, OWNER, 10), 4);
    assert_int_equal(clab_waiters_count(w, OWNER), 4);
    assert_int_equal(clab_waiters_enter(w, OWNER), -EBUSY);
    /* The owner at its limit does not touch the others' slots either. */
    assert_int_equal(enter_n(w, 7, 10), 2);
    leave_n(w, OWNER, 1);
    assert_int_equal(clab_waiters_enter(w, OWNER), 0);
    leave_n(w, OWNER, 4);
    leave_n(w, 65534, 3);
    leave_n(w, 7, 2);
    assert_int_equal(clab_waiters_count(w, OWNER), 0);
    assert_int_equal(clab_waiters_count(w, 65534), 0);
    clab_waiters_destroy(&w);
    assert_null(w);
    clab_waiters_destroy(&w);
}

/* Each other uid has its own limit, and all of them together one more;
 * a slot given back is free again, for anyone under their own limit. */
static void test_per_uid_and_together(void **state)
{
    (void)state;
    clab_waiters_t *w = make(0, 3, 7);
    assert_int_equal(enter_n(w, 1, 5), 3);
    assert_int_equal(enter_n(w, 2, 5), 3);
    assert_int_equal(enter_n(w, 3, 5), 1); /* 7 in all */
    assert_int_equal(clab_waiters_enter(w, 4), -EBUSY);
    assert_int_equal(clab_waiters_count(w, 4), 0);
    leave_n(w, 1, 1);
    assert_int_equal(clab_waiters_enter(w, 2), -EBUSY); /* its own limit */
    assert_int_equal(clab_waiters_enter(w, 4), 0);
    assert_int_equal(clab_waiters_enter(w, 1), -EBUSY); /* all taken */
    leave_n(w, 2, 3);
    assert_int_equal(enter_n(w, 1, 5), 1);
    assert_int_equal(enter_n(w, 4, 5), 2);
    assert_int_equal(clab_waiters_count(w, 1), 3);
    assert_int_equal(clab_waiters_count(w, 4), 3);
    /* The owner, unlimited, is never refused. */
    assert_int_equal(enter_n(w, OWNER, 10000), 10000);
    leave_n(w, OWNER, 10000);
    leave_n(w, 1, 3);
    leave_n(w, 3, 1);
    leave_n(w, 4, 3);
    /* Everything back: the limits again, from nothing. */
    assert_int_equal(enter_n(w, 9, 5), 3);
    leave_n(w, 9, 3);
    /* A leave with nothing entered changes nothing. */
    clab_waiters_leave(w, 9);
    clab_waiters_leave(w, OWNER);
    assert_int_equal(clab_waiters_count(w, 9), 0);
    assert_int_equal(enter_n(w, 9, 5), 3);
    clab_waiters_destroy(&w);
}

/* Many uids at once, fewer than the limit together: all in. */
static void test_many_uids(void **state)
{
    (void)state;
    clab_waiters_t *w = make(0, 16, 112);
    for (unsigned uid = 2000; uid < 2100; uid++)
        assert_int_equal(clab_waiters_enter(w, uid), 0);
    assert_int_equal(enter_n(w, 2000, 100), 12); /* 112 in all */
    for (unsigned uid = 2000; uid < 2100; uid++)
        clab_waiters_leave(w, uid);
    assert_int_equal(clab_waiters_count(w, 2000), 12);
    assert_int_equal(clab_waiters_count(w, 2050), 0);
    leave_n(w, 2000, 12);
    for (unsigned uid = 3000; uid < 3112; uid++)
        assert_int_equal(clab_waiters_enter(w, uid), 0);
    assert_int_equal(clab_waiters_enter(w, 4000), -EBUSY);
    for (unsigned uid = 3000; uid < 3112; uid++)
        clab_waiters_leave(w, uid);
    clab_waiters_destroy(&w);
}

/* No bookkeeping (unit tests of the views, a lab without FUSE): no limit. */
static void test_none(void **state)
{
    (void)state;
    assert_int_equal(clab_waiters_enter(NULL, 5), 0);
    clab_waiters_leave(NULL, 5);
    assert_int_equal(clab_waiters_count(NULL, 5), 0);
}

/* The mount's limits: none for the owner (a held read costs memory, not a
 * thread), 16 for each other uid and 112 for all of them together. */
static void test_default_limits(void **state)
{
    (void)state;
    clab_waiters_limits_t l = clab_waiters_default_limits(OWNER);
    assert_int_equal(l.owner, OWNER);
    assert_int_equal(l.owner_max, 0);
    assert_int_equal(l.uid_max, CLAB_WAITERS_PER_UID);
    assert_int_equal(l.others_max, CLAB_WAITERS_OTHERS);
    assert_int_equal(CLAB_WAITERS_PER_UID, 16);
    assert_int_equal(CLAB_WAITERS_OTHERS, 112);
    clab_waiters_t *w = NULL;
    assert_int_equal(clab_waiters_new(&l, &w), 0);
    assert_int_equal(enter_n(w, OWNER, 20000), 20000);
    assert_int_equal(enter_n(w, 5, 20), 16);
    leave_n(w, OWNER, 20000);
    leave_n(w, 5, 16);
    clab_waiters_destroy(&w);
}

typedef struct {
    clab_waiters_t *w;
    unsigned uid;
} worker_t;

static void *churn(void *p)
{
    worker_t *wk = p;
    for (int i = 0; i < 20000; i++)
        if (clab_waiters_enter(wk->w, wk->uid) == 0)
            clab_waiters_leave(wk->w, wk->uid);
    return NULL;
}

/* Threads entering and leaving at once leave every count at 0. */
static void test_threads(void **state)
{
    (void)state;
    clab_waiters_t *w = make(2, 2, 3);
    pthread_t th[8];
    worker_t wk[8];
    for (int i = 0; i < 8; i++) {
        wk[i] = (worker_t){w, i < 2 ? OWNER : 10 + (unsigned)i % 3};
        pthread_create(&th[i], NULL, churn, &wk[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    for (unsigned uid = 10; uid < 13; uid++)
        assert_int_equal(clab_waiters_count(w, uid), 0);
    assert_int_equal(clab_waiters_count(w, OWNER), 0);
    assert_int_equal(enter_n(w, OWNER, 5), 2);
    assert_int_equal(enter_n(w, 10, 5), 2);
    assert_int_equal(enter_n(w, 11, 5), 1);
    clab_waiters_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_apart),
        cmocka_unit_test(test_per_uid_and_together),
        cmocka_unit_test(test_many_uids),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_default_limits),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
