/* Unit tests for the ZAP handler (backend/common/zap.c) over real CURVE sockets
 * on loopback TCP: the client key gets through on the client socket only,
 * the engine key on the engine socket only, any other key pair or socket
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
    char engine_pub[41], engine_sec[41];
} keys_t;

static void make_keys(keys_t *k)
{
    assert_int_equal(zmq_curve_keypair(k->server_pub, k->server_sec), 0);
    assert_int_equal(zmq_curve_keypair(k->client_pub, k->client_sec), 0);
    assert_int_equal(zmq_curve_keypair(k->engine_pub, k->engine_sec), 0);
}

/* A CURVE server ROUTER on an ephemeral loopback port, in ZAP domain
 * `domain` (NULL: none). */
static void *server(void *zctx, const keys_t *k, const char *domain, char *endpoint,
                    size_t cap)
{
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    assert_non_null(s);
    assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k->server_sec, 40), 0);
    if (domain)
        assert_int_equal(zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain)), 0);
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
    assert_int_equal(clab_zap_start(zctx, k.client_pub, k.engine_pub, &zap), 0);
    assert_non_null(zap);
    void *srv = server(zctx, &k, CLAB_ZAP_DOMAIN_CLIENTS, endpoint, sizeof endpoint);

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
    void *srv = server(zctx, &k, CLAB_ZAP_DOMAIN_CLIENTS, endpoint, sizeof endpoint);
    assert_true(gets_through(zctx, srv, endpoint, k.server_pub, other.client_pub,
                             other.client_sec, 5000));
    zmq_close(srv);
    assert_int_equal(zmq_ctx_term(zctx), 0);
}

/* Each key on each socket: a key is admitted only where its role belongs. */
static void test_each_key_on_each_socket(void **state)
{
    (void)state;
    keys_t k, other;
    char cep[256], eep[256];
    make_keys(&k);
    make_keys(&other);
    void *zctx = zmq_ctx_new();
    clab_zap_t *zap = NULL;
    assert_int_equal(clab_zap_start(zctx, k.client_pub, k.engine_pub, &zap), 0);
    void *clients = server(zctx, &k, CLAB_ZAP_DOMAIN_CLIENTS, cep, sizeof cep);
    void *engines = server(zctx, &k, CLAB_ZAP_DOMAIN_ENGINES, eep, sizeof eep);
    const char *pub = k.server_pub;

    /* Refusals first: a refused key must not be counted as admitted. */
    assert_false(gets_through(zctx, engines, eep, pub, k.client_pub, k.client_sec, 700));
    assert_int_equal(clab_zap_admitted(zap), 0);
    assert_int_equal(clab_zap_refused(zap), 1);
    assert_false(gets_through(zctx, clients, cep, pub, k.engine_pub, k.engine_sec, 700));
    assert_int_equal(clab_zap_admitted(zap), 0);
    assert_int_equal(clab_zap_refused(zap), 2);
    assert_false(
        gets_through(zctx, clients, cep, pub, other.client_pub, other.client_sec, 700));
    assert_false(
        gets_through(zctx, engines, eep, pub, other.engine_pub, other.engine_sec, 700));
    assert_false(gets_through(zctx, engines, eep, pub, k.server_pub, k.server_sec, 700));
    assert_int_equal(clab_zap_admitted(zap), 0);

    assert_true(gets_through(zctx, clients, cep, pub, k.client_pub, k.client_sec, 5000));
    assert_true(gets_through(zctx, engines, eep, pub, k.engine_pub, k.engine_sec, 5000));
    assert_int_equal(clab_zap_admitted(zap), 2);
    /* And still refused after the right keys got in. */
    assert_false(gets_through(zctx, engines, eep, pub, k.client_pub, k.client_sec, 700));
    assert_false(gets_through(zctx, clients, cep, pub, k.engine_pub, k.engine_sec, 700));
    assert_int_equal(clab_zap_admitted(zap), 2);

    zmq_close(clients);
    zmq_close(engines);
    clab_zap_destroy(&zap);
    assert_int_equal(zmq_ctx_term(zctx), 0);
}

/* A server socket outside the two domains (none, or another name) admits
 * no key at all: a socket someone forgot to label must not be open. */
static void test_other_domains_admit_nobody(void **state)
{
    (void)state;
    keys_t k;
    char ep1[256], ep2[256];
    make_keys(&k);
    void *zctx = zmq_ctx_new();
    clab_zap_t *zap = NULL;
    assert_int_equal(clab_zap_start(zctx, k.client_pub, k.engine_pub, &zap), 0);
    void *none = server(zctx, &k, NULL, ep1, sizeof ep1);
    void *clab = server(zctx, &k, "clab", ep2, sizeof ep2);
    const char *pub = k.server_pub;
    assert_false(gets_through(zctx, none, ep1, pub, k.client_pub, k.client_sec, 700));
    assert_false(gets_through(zctx, none, ep1, pub, k.engine_pub, k.engine_sec, 700));
    assert_false(gets_through(zctx, clab, ep2, pub, k.client_pub, k.client_sec, 700));
    assert_false(gets_through(zctx, clab, ep2, pub, k.engine_pub, k.engine_sec, 700));
    assert_int_equal(clab_zap_admitted(zap), 0);
    assert_int_equal(clab_zap_refused(zap), 4);
    zmq_close(none);
    zmq_close(clab);
    clab_zap_destroy(&zap);
    assert_int_equal(zmq_ctx_term(zctx), 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    keys_t k;
    make_keys(&k);
    void *zctx = zmq_ctx_new();
    clab_zap_t *zap = (clab_zap_t *)&k, *second = NULL;
    const char *bad_z85 = "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~";
    assert_int_equal(clab_zap_start(zctx, "short", k.engine_pub, &zap), -EINVAL);
    assert_null(zap);
    assert_int_equal(clab_zap_start(zctx, k.client_pub, "short", &zap), -EINVAL);
    /* 40 characters, but not Z85. */
    assert_int_equal(clab_zap_start(zctx, bad_z85, k.engine_pub, &zap), -EINVAL);
    assert_int_equal(clab_zap_start(zctx, k.client_pub, bad_z85, &zap), -EINVAL);
    assert_int_equal(clab_zap_start(zctx, k.client_pub, NULL, &zap), -EINVAL);
    /* One key for both roles is what the split does away with. */
    assert_int_equal(clab_zap_start(zctx, k.client_pub, k.client_pub, &zap), -EINVAL);
    assert_int_equal(clab_zap_start(NULL, k.client_pub, k.engine_pub, &zap), -EINVAL);
    assert_null(zap);
    assert_int_equal(clab_zap_start(zctx, k.client_pub, k.engine_pub, &zap), 0);
    /* One handler per context. */
    assert_int_equal(clab_zap_start(zctx, k.client_pub, k.engine_pub, &second),
                     -EADDRINUSE);
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
        cmocka_unit_test(test_each_key_on_each_socket),
        cmocka_unit_test(test_other_domains_admit_nobody),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
