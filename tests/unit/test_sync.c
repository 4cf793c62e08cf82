/* Unit tests for the link thread (fs/sync.c) with a real notebook and a
 * controller played by the test: a CURVE ROUTER socket on a loopback port
 * that welcomes the link, answers its pings, and answers its submissions
 * as the test says. Submission must be reliable: a batch the controller
 * did not accept (a partial `accepted`, or none at all, as when its commit
 * failed) is sent again, and an accepted one is not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "client.h"
#include "lab.h"
#include "log.h"
#include "submit.h"
#include "sync.h"

typedef struct {
    char dir[64], db[128], conn[128];
    void *zctx, *router;
    clab_conninfo_t ci;
    clab_lab_t lab;
    clab_sync_t *sync;
    char peer[128];
    size_t peer_len;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char last[256];
    size_t len = sizeof last;
    snprintf(f->dir, sizeof f->dir, "/tmp/clabsync.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/notebook.db", f->dir);
    snprintf(f->conn, sizeof f->conn, "%s/cluster.json", f->dir);
    clab_lab_init(&f->lab);
    assert_int_equal(clab_notebook_open(f->db, &f->lab.nb), 0);
    assert_int_equal(clab_conninfo_new_keys(&f->ci), 0);
    f->zctx = zmq_ctx_new();
    f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
    assert_int_equal(clab_proto_socket_setup(f->router, 1), 0);
    assert_int_equal(clab_conninfo_curve_server(f->router, &f->ci), 0);
    assert_int_equal(zmq_bind(f->router, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, last, &len), 0);
    snprintf(f->ci.client_endpoint, sizeof f->ci.client_endpoint, "%s", last);
    snprintf(f->ci.engine_endpoint, sizeof f->ci.engine_endpoint, "%s", last);
    assert_int_equal(clab_conninfo_save(f->conn, &f->ci), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[96];
    clab_sync_stop(&f->sync);
    assert_null(f->sync);
    zmq_close(f->router);
    zmq_ctx_term(f->zctx);
    clab_lab_fini(&f->lab);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Submits /bin/true over x in 0..n-1 to tag t. */
static void submit(fixture_t *f, int n)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    char json[256], tag[CLAB_TAG_MAX + 1];
    snprintf(json, sizeof json,
             "{\"experiment\": \"/bin/true\", \"tag\": \"t\","
             " \"parameters\": {\"x\": {\"range\": [0, %d]}}}",
             n);
    assert_int_equal(clab_submission_parse(json, strlen(json), NULL, &sub, &err), 0);
    assert_int_equal(clab_notebook_submit(f->lab.nb, sub, tag), 0);
    clab_submission_destroy(&sub);
}

static void reply(fixture_t *f, const char *type, json_t *body)
{
    assert_int_equal(clab_proto_send(f->router, f->peer, f->peer_len, type, body), 0);
    json_decref(body);
}

/* The controller's side for up to `seconds`: welcomes and answers pings;
 * returns the body of the next submit (a new reference), or NULL when none
 * came. */
static json_t *next_submit(fixture_t *f, double seconds)
{
    double until = clab_mono() + seconds;
    clab_msg_t m;
    while (clab_mono() < until) {
        zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 50);
        if (clab_proto_recv(f->router, 1, &m) != 0)
            continue;
        f->peer_len = m.peer_len < sizeof f->peer ? m.peer_len : sizeof f->peer;
        memcpy(f->peer, m.peer, f->peer_len);
        json_t *got = NULL;
        if (strcmp(m.type, "hello") == 0)
            reply(f, "welcome", json_pack("{s:s, s:[]}", "epoch", "e1", "engines"));
        else if (strcmp(m.type, "ping") == 0)
            reply(f, "pong", json_pack("{s:s, s:[]}", "epoch", "e1", "engines"));
        else if (strcmp(m.type, "submit") == 0)
            got = json_incref(m.body);
        clab_msg_clear(&m);
        if (got)
            return got;
    }
    return NULL;
}

/* The job ids of a submit's tasks, as an array (new reference). */
static json_t *jobs_of(json_t *submit)
{
    json_t *jobs = json_array(), *t;
    size_t i;
    json_array_foreach(json_object_get(submit, "tasks"), i, t)
        json_array_append(jobs, json_object_get(t, "job"));
    return jobs;
}

static int has_job(json_t *jobs, json_t *job)
{
    json_t *j;
    size_t i;
    json_array_foreach(jobs, i, j) if (json_equal(j, job)) return 1;
    return 0;
}

static void start(fixture_t *f)
{
    assert_int_equal(clab_sync_start(&f->lab, f->conn, 1.0, 3, &f->sync), 0);
}

/* A batch of three of which the controller accepted one: the other two are
 * sent again; once all are accepted, nothing more is sent. */
static void test_partial_accept_is_sent_again(void **state)
{
    fixture_t *f = *state;
    submit(f, 3);
    start(f);
    json_t *first = next_submit(f, 10);
    assert_non_null(first);
    json_t *jobs = jobs_of(first);
    assert_int_equal(json_array_size(jobs), 3);
    reply(f, "accepted", json_pack("{s:[O]}", "jobs", json_array_get(jobs, 0)));

    json_t *again = next_submit(f, 10);
    assert_non_null(again);
    json_t *jobs2 = jobs_of(again);
    assert_true(has_job(jobs2, json_array_get(jobs, 1)));
    assert_true(has_job(jobs2, json_array_get(jobs, 2)));
    reply(f, "accepted", json_pack("{s:O}", "jobs", jobs2));
    json_t *more = next_submit(f, 7);
    assert_null(more);
    json_decref(jobs2);
    json_decref(again);
    json_decref(jobs);
    json_decref(first);
}

/* A batch the controller never answers (its commit failed: replies are
 * withheld) is sent again after a few seconds; a batch sent after it that
 * was accepted meanwhile may be sent again too (idempotent), but once
 * everything is accepted nothing more is sent. */
static void test_unanswered_batch_is_sent_again(void **state)
{
    fixture_t *f = *state;
    submit(f, 2);
    start(f);
    json_t *first = next_submit(f, 10);
    assert_non_null(first);
    json_t *jobs = jobs_of(first);
    assert_int_equal(json_array_size(jobs), 2);

    double sent = clab_mono();
    json_t *again = next_submit(f, 15);
    assert_non_null(again);
    assert_true(clab_mono() - sent >= 1.0); /* not at once: after a timeout */
    json_t *jobs2 = jobs_of(again);
    assert_true(json_equal(jobs, jobs2));
    reply(f, "accepted", json_pack("{s:O}", "jobs", jobs2));
    json_t *more = next_submit(f, 7);
    assert_null(more);
    json_decref(jobs2);
    json_decref(again);
    json_decref(jobs);
    json_decref(first);
}

/* Batches answered in full are never sent again, and a submission made
 * while others are in flight goes out too. */
static void test_accepted_batches_stay_sent(void **state)
{
    fixture_t *f = *state;
    submit(f, 2);
    start(f);
    json_t *first = next_submit(f, 10);
    assert_non_null(first);
    json_t *jobs = jobs_of(first);
    reply(f, "accepted", json_pack("{s:O}", "jobs", jobs));
    submit(f, 1);
    clab_sync_wake(f->sync);
    json_t *second = next_submit(f, 10);
    assert_non_null(second);
    json_t *jobs2 = jobs_of(second);
    assert_int_equal(json_array_size(jobs2), 1);
    assert_false(has_job(jobs, json_array_get(jobs2, 0)));
    reply(f, "accepted", json_pack("{s:O}", "jobs", jobs2));
    json_t *more = next_submit(f, 7);
    assert_null(more);
    json_decref(jobs2);
    json_decref(second);
    json_decref(jobs);
    json_decref(first);
}

int main(void)
{
    clab_log_init("test_sync", CLAB_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_partial_accept_is_sent_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unanswered_batch_is_sent_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_accepted_batches_stay_sent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
