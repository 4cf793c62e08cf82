/* The wire protocol: frame checks of the decoder, and a round trip over
 * real zmq sockets (inproc ROUTER/DEALER). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "protocol.h"
#include "random.h"

static int decode(const char *const *parts, size_t n, int has_peer, clab_msg_t *m)
{
    const void *frames[8];
    size_t lens[8];
    for (size_t i = 0; i < n; i++) {
        frames[i] = parts[i];
        lens[i] = strlen(parts[i]);
    }
    const char *why = NULL;
    int rc = clab_proto_decode(frames, lens, n, has_peer, m, &why);
    if (rc)
        assert_non_null(why);
    return rc;
}

static void test_decode_good(void **state)
{
    (void)state;
    clab_msg_t m;
    const char *dealer[] = {"clab/1", "task", "{\"job\": \"j1\"}"};
    assert_int_equal(decode(dealer, 3, 0, &m), 0);
    assert_string_equal(m.type, "task");
    assert_string_equal(json_string_value(json_object_get(m.body, "job")), "j1");
    assert_int_equal(m.peer_len, 0);
    clab_msg_clear(&m);

    const char *router[] = {"eng1", "clab/1", "hb", "{}"};
    assert_int_equal(decode(router, 4, 1, &m), 0);
    assert_int_equal(m.peer_len, 4);
    assert_memory_equal(m.peer, "eng1", 4);
    clab_msg_clear(&m);
}

static void test_decode_bad(void **state)
{
    (void)state;
    clab_msg_t m;
    const char *cases[][4] = {
        {"clab/2", "task", "{}", NULL},                /* version */
        {"clab/1", "", "{}", NULL},                    /* empty type */
        {"clab/1", "Task", "{}", NULL},                /* type charset */
        {"clab/1", "task", "[]", NULL},                /* body not an object */
        {"clab/1", "task", "{\"a\":", NULL},           /* broken JSON */
        {"clab/1", "task", "{\"a\":1,\"a\":2}", NULL}, /* duplicate keys */
        {"clab/1", "a_type_name_that_is_far_too_long", "{}", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(decode(cases[i], 3, 0, &m), -EPROTO);
        assert_null(m.body);
    }
    const char *two[] = {"clab/1", "task"};
    assert_int_equal(decode(two, 2, 0, &m), -EPROTO);
    const char *four[] = {"clab/1", "task", "{}", "{}"};
    assert_int_equal(decode(four, 4, 0, &m), -EPROTO);
    const char *nopeer[] = {"", "clab/1", "hb", "{}"};
    assert_int_equal(decode(nopeer, 4, 1, &m), -EPROTO);
}

static void test_round_trip(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER), *dealer = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(clab_proto_socket_setup(router, 1), 0);
    assert_int_equal(clab_proto_socket_setup(dealer, 0), 0);
    assert_int_equal(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "d1", 2), 0);
    assert_int_equal(zmq_bind(router, "inproc://t"), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://t"), 0);

    clab_msg_t m;
    assert_int_equal(clab_proto_recv(router, 1, &m), -EAGAIN);
    json_t *body = json_pack("{s:s, s:f}", "job", "j9", "x", 0.1);
    assert_int_equal(clab_proto_send(dealer, NULL, 0, "result", body), 0);
    json_decref(body);
    zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(clab_proto_recv(router, 1, &m), 0);
    assert_string_equal(m.type, "result");
    assert_memory_equal(m.peer, "d1", 2);
    assert_true(json_real_value(json_object_get(m.body, "x")) == 0.1);

    /* And back, addressed by the routing id. */
    assert_int_equal(
        clab_proto_send_text(router, m.peer, m.peer_len, "task", "{\"n\":1}", 7), 0);
    clab_msg_clear(&m);
    it.socket = dealer;
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(clab_proto_recv(dealer, 0, &m), 0);
    assert_string_equal(m.type, "task");
    assert_int_equal(json_integer_value(json_object_get(m.body, "n")), 1);
    clab_msg_clear(&m);

    /* To an unknown peer: an error, not a silent drop. */
    assert_int_equal(clab_proto_send(router, "nobody", 6, "task", NULL), -EHOSTUNREACH);

    /* A malformed message is consumed whole and reported, and the next
     * one is read cleanly. */
    zmq_send(dealer, "garbage", 7, ZMQ_SNDMORE);
    zmq_send(dealer, "more", 4, 0);
    assert_int_equal(clab_proto_send(dealer, NULL, 0, "hb", NULL), 0);
    it.socket = router;
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(clab_proto_recv(router, 1, &m), -EPROTO);
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(clab_proto_recv(router, 1, &m), 0);
    assert_string_equal(m.type, "hb");
    clab_msg_clear(&m);

    zmq_close(router);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
}

/* The controller's epoch: 2n lowercase hex digits, different each time;
 * longer than one read chunk works too. */
static void test_random_hex(void **state)
{
    (void)state;
    char a[33], b[33], big[2 * 100 + 1];
    memset(a, 'x', sizeof a);
    clab_random_hex(a, 16);
    clab_random_hex(b, 16);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
    clab_random_hex(big, 100);
    assert_int_equal(strlen(big), 200);
    assert_int_equal(strspn(big, "0123456789abcdef"), 200);
    clab_random_hex(a, 0);
    assert_string_equal(a, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_good),
        cmocka_unit_test(test_decode_bad),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_random_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
