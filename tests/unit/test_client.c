/* Unit tests for the client side of the protocol (backend/common/client.c),
 * against a controller played by the test: a CURVE ROUTER socket on a
 * loopback port, speaking clab/1 through backend/common/protocol.c. Checks the
 * messages both ways: hello until welcomed, submit, results, ack, pings,
 * a new epoch, and "disconnected" after a silence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client.h"
#include "log.h"

#define CLIENT_ID "test-client"

typedef struct {
    void *zctx, *router;
    clab_conninfo_t ci;
    clab_client_t *c;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char last[256];
    size_t len = sizeof last;
    if (!f || clab_conninfo_new_keys(&f->ci))
        return -1;
    f->zctx = zmq_ctx_new();
    f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
    if (clab_proto_socket_setup(f->router, 1) ||
        clab_conninfo_curve_server(f->router, &f->ci) ||
        zmq_bind(f->router, "tcp://127.0.0.1:*") ||
        zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, last, &len))
        return -1;
    snprintf(f->ci.client_endpoint, sizeof f->ci.client_endpoint, "%s", last);
    if (clab_client_new(&f->ci, CLIENT_ID, 1.0, 3, &f->c))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    clab_client_destroy(&f->c);
    assert_null(f->c);
    zmq_close(f->router);
    zmq_ctx_term(f->zctx);
    free(f);
    return 0;
}

/* The controller's side: waits (ticking the client meanwhile) for a
 * message of type from our client, skipping the hellos and pings the
 * client keeps sending unless one of those is what we wait for. */
static void expect(fixture_t *f, const char *type, clab_msg_t *m)
{
    double until = clab_mono() + 10;
    while (clab_mono() < until) {
        clab_client_tick(f->c);
        zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 20);
        if (clab_proto_recv(f->router, 1, m) != 0)
            continue;
        assert_int_equal(m->peer_len, strlen(CLIENT_ID));
        assert_memory_equal(m->peer, CLIENT_ID, m->peer_len);
        if (strcmp(m->type, type) == 0)
            return;
        if (strcmp(m->type, "hello") && strcmp(m->type, "ping"))
            fail_msg("wanted %s, got %s", type, m->type);
        clab_msg_clear(m);
    }
    fail_msg("no %s from the client", type);
}

static void send_to_client(fixture_t *f, const char *type, json_t *body)
{
    assert_int_equal(clab_proto_send(f->router, CLIENT_ID, strlen(CLIENT_ID), type, body),
                     0);
    json_decref(body);
}

/* The client's side: the next message from the controller, observed. */
static int receive(fixture_t *f, const char *type, clab_msg_t *m)
{
    double until = clab_mono() + 10;
    while (clab_mono() < until) {
        zmq_pollitem_t it = {clab_client_socket(f->c), 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 20);
        if (clab_client_recv(f->c, m) != 0)
            continue;
        assert_string_equal(m->type, type);
        return clab_client_observe(f->c, m);
    }
    fail_msg("no %s from the controller", type);
    return -1;
}

static void welcome(fixture_t *f, const char *epoch, int want_fresh)
{
    clab_msg_t m;
    expect(f, "hello", &m);
    clab_msg_clear(&m);
    send_to_client(f, "welcome", json_pack("{s:s, s:[]}", "epoch", epoch, "engines"));
    assert_int_equal(receive(f, "welcome", &m), want_fresh);
    clab_msg_clear(&m);
    assert_true(clab_client_connected(f->c));
}

static void test_session(void **state)
{
    fixture_t *f = *state;
    clab_msg_t m;
    assert_false(clab_client_connected(f->c));
    welcome(f, "epoch-1", 1);

    json_t *tasks = json_pack("{s:[{s:s, s:s, s:s, s:{s:i}}]}", "tasks", "job", "j1",
                              "experiment", "/bin/true", "tag", "t", "params", "x", 1);
    assert_int_equal(clab_client_send(f->c, "submit", tasks), 0);
    expect(f, "submit", &m);
    assert_true(json_equal(m.body, tasks));
    clab_msg_clear(&m);
    json_decref(tasks);
    send_to_client(f, "accepted", json_pack("{s:[s]}", "jobs", "j1"));
    assert_int_equal(receive(f, "accepted", &m), 0);
    clab_msg_clear(&m);

    json_t *results = json_pack("{s:[{s:s, s:{s:b, s:[], s:{}}}]}", "results", "job",
                                "j1", "record", "ok", 1, "results", "metadata");
    send_to_client(f, "results", json_incref(results));
    assert_int_equal(receive(f, "results", &m), 0);
    assert_true(json_equal(m.body, results));
    clab_msg_clear(&m);
    json_decref(results);

    json_t *ack = json_pack("{s:[s]}", "jobs", "j1");
    assert_int_equal(clab_client_send(f->c, "ack", ack), 0);
    expect(f, "ack", &m);
    assert_true(json_equal(m.body, ack));
    clab_msg_clear(&m);
    json_decref(ack);
}

/* Once welcomed the client pings; a reply from a controller with another
 * epoch (restarted) starts a new session. */
static void test_ping_and_new_epoch(void **state)
{
    fixture_t *f = *state;
    clab_msg_t m;
    welcome(f, "epoch-1", 1);
    expect(f, "ping", &m);
    clab_msg_clear(&m);
    send_to_client(f, "pong", json_pack("{s:s}", "epoch", "epoch-1"));
    assert_int_equal(receive(f, "pong", &m), 0);
    clab_msg_clear(&m);
    send_to_client(f, "pong", json_pack("{s:s}", "epoch", "epoch-2"));
    assert_int_equal(receive(f, "pong", &m), 1);
    clab_msg_clear(&m);
    assert_true(clab_client_connected(f->c));
}

/* A controller that stops answering is noticed by silence alone (the link
 * stays up), and the client goes back to saying hello. */
static void test_silence_disconnects(void **state)
{
    fixture_t *f = *state;
    clab_msg_t m;
    welcome(f, "epoch-1", 1);
    double until = clab_mono() + 10;
    while (clab_client_connected(f->c) && clab_mono() < until) {
        clab_client_tick(f->c);
        if (clab_proto_recv(f->router, 1, &m) == 0)
            clab_msg_clear(&m);
        zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 50);
    }
    assert_false(clab_client_connected(f->c));
    expect(f, "hello", &m);
    clab_msg_clear(&m);
    /* Same controller, same epoch: welcomed again, a new session all the
     * same (whatever was in flight may be lost). */
    send_to_client(f, "welcome", json_pack("{s:s, s:[]}", "epoch", "epoch-1", "engines"));
    assert_int_equal(receive(f, "welcome", &m), 1);
    clab_msg_clear(&m);
}

/* ZMQ_IMMEDIATE: with nobody listening a send fails at once. */
static void test_send_without_controller(void **state)
{
    (void)state;
    clab_conninfo_t ci;
    clab_client_t *c = NULL;
    assert_int_equal(clab_conninfo_new_keys(&ci), 0);
    snprintf(ci.client_endpoint, sizeof ci.client_endpoint,
             "ipc:///nonexistent/clab.sock");
    assert_int_equal(clab_client_new(&ci, "lonely", 1.0, 1, &c), 0);
    assert_int_equal(clab_client_send(c, "hello", NULL), -EAGAIN);
    clab_client_tick(c);
    assert_false(clab_client_connected(c));
    clab_client_destroy(&c);
    assert_null(c);
}

int main(void)
{
    clab_log_init("test_client", CLAB_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_and_new_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_disconnects, setup, teardown),
        cmocka_unit_test(test_send_without_controller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
