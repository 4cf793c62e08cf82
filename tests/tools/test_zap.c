/* Unit tests for the ZAP handler (backend/zap.c) over real CURVE sockets
 * on loopback TCP: the allowed client key gets through, any other key pair
 * is refused and counted, and the handler starts and stops cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "zap.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    char server_pub[41], server_sec[41];
    char client_pub[41], client_sec[41];
} keys_t;

static void make_keys(keys_t *k)
{
    assert_int_equal(zmq_curve_keypair(k->server_pub, k->server_sec), 0);
    assert_int_equal(zmq_curve_keypair(k->client_pub, k->client_sec), 0);
}

/* A CURVE server ROUTER on an ephemeral loopback port. */
static void *server(void *zctx, const keys_t *k, char *endpoint, size_t cap)
{
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    assert_non_null(s);
    assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k->server_sec, 40), 0);
    assert_int_equal(
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, CLAB_ZAP_DOMAIN, strlen(CLAB_ZAP_DOMAIN)), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &cap), 0);
    return s;
}

/* Connects with the given client key pair, sends one message and returns
 * whether the server received it within wait_ms. */
static int gets_through(void *zctx, void *srv, const char *endpoint,
                        const char *server_pub, const char *pub, const char *sec,
                        int wait_ms)
{
    void *c = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0;
    assert_non_null(c);
    assert_int_equal(zmq_setsockopt(c, ZMQ_CURVE_SERVERKEY, server_pub, 40), 0);
    assert_int_equal(zmq_setsockopt(c, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
    assert_int_equal(zmq_setsockopt(c, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
    assert_int_equal(zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_connect(c, endpoint), 0);
    assert_int_equal(zmq_send(c, "knock", 5, 0), 5);
    zmq_pollitem_t it = {srv, 0, ZMQ_POLLIN, 0};
    int got = zmq_poll(&it, 1, wait_ms) == 1;
    if (got) {
        char buf[64];
        assert_true(zmq_recv(srv, buf, sizeof buf, 0) > 0); /* routing id */
        assert_int_equal(zmq_recv(srv, buf, sizeof buf, 0), 5);
        assert_memory_equal(buf, "knock", 5);
    }
    zmq_close(c);
    return got;
}

static void test_allowed_and_refused(void **state)
{
    (void)state;
    keys_t k, other;
    char endpoint[256];
    make_keys(&k);
    make_keys(&other);
    void *zctx = zmq_ctx_new();
    clab_zap_t *zap = NULL;
    assert_int_equal(clab_zap_start(zctx, k.client_pub, &zap), 0);
    assert_non_null(zap);
    void *srv = server(zctx, &k, endpoint, sizeof endpoint);

    assert_true(gets_through(zctx, srv, endpoint, k.server_pub, k.client_pub,
                             k.client_sec, 5000));
    assert_int_equal(clab_zap_admitted(zap), 1);
    /* A valid CURVE key pair, just not the cluster's. */
    assert_false(gets_through(zctx, srv, endpoint, k.server_pub, other.client_pub,
                              other.client_sec, 700));
    assert_true(clab_zap_refused(zap) >= 1);
    /* The server's own key pair as a client key is not the cluster's either. */
    assert_false(
        gets_through(zctx, srv, endpoint, k.server_pub, k.server_pub, k.server_sec, 700));
    /* And the right key still works after refusals. */
    assert_true(gets_through(zctx, srv, endpoint, k.server_pub, k.client_pub,
                             k.client_sec, 5000));
    assert_int_equal(clab_zap_admitted(zap), 2);

    zmq_close(srv);
    clab_zap_destroy(&zap);
    assert_null(zap);
    assert_int_equal(zmq_ctx_term(zctx), 0); /* returns: nothing left open */
}

/* Without the handler the same wrong key gets in: the test above can fail. */
static void test_without_handler_anyone_gets_in(void **state)
{
    (void)state;
    keys_t k, other;
    char endpoint[256];
    make_keys(&k);
    make_keys(&other);
    void *zctx = zmq_ctx_new();
    void *srv = server(zctx, &k, endpoint, sizeof endpoint);
    assert_true(gets_through(zctx, srv, endpoint, k.server_pub, other.client_pub,
                             other.client_sec, 5000));
    zmq_close(srv);
    assert_int_equal(zmq_ctx_term(zctx), 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    keys_t k;
    make_keys(&k);
    void *zctx = zmq_ctx_new();
    clab_zap_t *zap = (clab_zap_t *)&k, *second = NULL;
    assert_int_equal(clab_zap_start(zctx, "short", &zap), -EINVAL);
    assert_null(zap);
    /* 40 characters, but not Z85. */
    assert_int_equal(
        clab_zap_start(zctx, "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~", &zap), -EINVAL);
    assert_int_equal(clab_zap_start(NULL, k.client_pub, &zap), -EINVAL);
    assert_int_equal(clab_zap_start(zctx, k.client_pub, &zap), 0);
    /* One handler per context. */
    assert_int_equal(clab_zap_start(zctx, k.client_pub, &second), -EADDRINUSE);
    assert_null(second);
    clab_zap_destroy(&zap);
    clab_zap_destroy(&zap); /* a second destroy is a no-op */
    assert_int_equal(zmq_ctx_term(zctx), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_and_refused),
        cmocka_unit_test(test_without_handler_anyone_gets_in),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
