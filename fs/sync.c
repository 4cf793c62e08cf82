/* The notebook <-> controller link thread. */
#include "sync.h"
#include "client.h"
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#define SUBMIT_BATCH 500
#define SUBMIT_BATCHES_PER_TURN 20

struct clab_sync {
    clab_lab_t *lab;
    clab_conninfo_t ci;
    double waiting_time;
    int reconnections;
    int wake_fd;
    atomic_int stop;
    pthread_t thread;
    int64_t sent_upto; /* jobs with a larger notebook id are not sent yet */
};

void clab_sync_wake(void *ud)
{
    clab_sync_t *s = ud;
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        clab_warn("wake: %s", strerror(errno));
}

/* Stores the results gathered in one turn in one transaction, then
 * acknowledges them; unacknowledged ones the controller sends again. */
static void store_results(clab_sync_t *s, clab_client_t *c, json_t *results)
{
    if (json_array_size(results) == 0)
        return;
    int rc = clab_notebook_add_results(s->lab->nb, results);
    if (rc < 0) {
        /* Nothing lost: the controller keeps them until acknowledged. */
        clab_err("cannot store %zu result(s): %s", json_array_size(results),
                 strerror(-rc));
        return;
    }
    json_t *jobs = json_array(), *item;
    size_t i;
    json_array_foreach(results, i, item)
        json_array_append(jobs, json_object_get(item, "job"));
    json_t *body = json_pack("{s:o}", "jobs", jobs);
    clab_client_send(c, "ack", body);
    json_decref(body);
}

static void send_pending(clab_sync_t *s, clab_client_t *c)
{
    for (int k = 0; k < SUBMIT_BATCHES_PER_TURN; k++) {
        json_t *tasks = json_array();
        int64_t upto = s->sent_upto;
        int n = clab_notebook_pending_tasks(s->lab->nb, &upto, SUBMIT_BATCH, tasks);
        int rc = n > 0 ? 0 : n;
        if (n > 0) {
            json_t *body = json_pack("{s:O}", "tasks", tasks);
            rc = clab_client_send(c, "submit", body);
            json_decref(body);
            if (rc == 0)
                s->sent_upto = upto;
        }
        json_decref(tasks);
        if (rc < 0)
            clab_debug("submit: %s (will retry)", strerror(-rc));
        if (n < SUBMIT_BATCH || rc < 0)
            return;
    }
    clab_sync_wake(s); /* more to send: come back after serving replies */
}

/* Tells the controller about sets cancelled with /ctl. One that cannot be
 * sent is kept for the next turn. */
static void send_cancels(clab_sync_t *s, clab_client_t *c)
{
    json_t *tags = clab_lab_cancel_take(s->lab);
    size_t i;
    json_t *tag;
    json_array_foreach(tags, i, tag)
    {
        json_t *body = json_pack("{s:O}", "tag", tag);
        int rc = clab_client_send(c, "cancel", body);
        json_decref(body);
        if (rc < 0)
            clab_lab_cancel_push(s->lab, json_string_value(tag));
    }
    json_decref(tags);
}

static void *run(void *ud)
{
    clab_sync_t *s = ud;
    clab_client_t *c = NULL;
    int rc = clab_client_new(&s->ci, clab_notebook_client_id(s->lab->nb), s->waiting_time,
                             s->reconnections, &c);
    if (rc < 0) {
        clab_err("cannot reach the controller at %s: %s", s->ci.client_endpoint,
                 strerror(-rc));
        return NULL;
    }
    while (!s->stop) {
        zmq_pollitem_t items[] = {{clab_client_socket(c), 0, ZMQ_POLLIN, 0},
                                  {NULL, s->wake_fd, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, 200);
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                clab_warn("wake: %s", strerror(errno));
        }
        clab_msg_t m;
        json_t *results = json_array();
        for (int k = 0; k < 1000 && (rc = clab_client_recv(c, &m)) != -EAGAIN; k++) {
            if (rc < 0)
                continue;
            if (clab_client_observe(c, &m))
                s->sent_upto = 0; /* new session: send every pending job again */
            json_t *got = json_object_get(m.body, "results");
            if (strcmp(m.type, "results") == 0 && json_is_array(got))
                json_array_extend(results, got);
            else if (strcmp(m.type, "welcome") == 0 || strcmp(m.type, "pong") == 0)
                clab_lab_publish(s->lab, 1, json_object_get(m.body, "engines"));
            clab_msg_clear(&m);
        }
        store_results(s, c, results);
        json_decref(results);
        clab_client_tick(c);
        if (!clab_client_connected(c)) {
            clab_lab_publish(s->lab, 0, NULL);
        } else {
            send_cancels(s, c);
            send_pending(s, c);
        }
    }
    clab_client_destroy(&c);
    return NULL;
}

int clab_sync_start(clab_lab_t *lab, const char *conn_file, double waiting_time,
                    int reconnections, clab_sync_t **out)
{
    clab_sync_t *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return -ENOMEM;
    s->lab = lab;
    s->waiting_time = waiting_time;
    s->reconnections = reconnections;
    s->wake_fd = -1;
    if ((rc = clab_conninfo_load(conn_file, &s->ci)) < 0)
        goto fail;
    if ((s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = -pthread_create(&s->thread, NULL, run, s)) < 0)
        goto fail;
    lab->wake = clab_sync_wake;
    lab->wake_ud = s;
    *out = s;
    return 0;
fail:
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s);
    return rc;
}

void clab_sync_stop(clab_sync_t **ps)
{
    clab_sync_t *s = *ps;
    if (!s)
        return;
    s->lab->wake = NULL;
    s->stop = 1;
    clab_sync_wake(s);
    pthread_join(s->thread, NULL);
    close(s->wake_fd);
    free(s);
    *ps = NULL;
}
