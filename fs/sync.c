/* The notebook <-> controller link thread. Submission streams: the cursor
 * (sent_upto) moves past each batch as it is sent, and the batch waits in
 * a window until the controller's `accepted` covers it. A batch answered
 * with fewer jobs than it had (an insert failed) or not answered at all
 * (the commit failed: the controller withholds its replies) makes the
 * cursor go back, so that those jobs are sent again; submission is
 * idempotent by job id at the controller, so sending too much is safe and
 * sending too little never is. A job's files go once per session, with the
 * first batch whose tasks name them; the controller says which it lacks
 * ("missing"), and those go again with the batch sent again. */
#include "sync.h"
#include "base64.h"
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
#define SUBMIT_WINDOW 40         /* batches sent and not yet answered */
#define SUBMIT_REPLY_TIMEOUT 5.0 /* s without `accepted`: the batch goes again */
#define SUBMIT_REWIND_GAP 1.0    /* s between two rewinds at least */
/* Results stored (and acknowledged) per turn at most: one controller page,
 * so that a backlog streams in page by page, each acknowledged as soon as
 * it is stored, which is what the controller's credit waits for. */
#define STORE_BATCH 1000

/* A batch in flight. */
typedef struct {
    int64_t after; /* the cursor before it: its jobs have larger ids */
    json_t *jobs;  /* its job ids, in the order sent */
    double sent;
    int stale; /* sent before the last rewind: its jobs go again anyway */
} batch_t;

struct clab_sync {
    clab_lab_t *lab;
    clab_conninfo_t ci;
    double waiting_time;
    int reconnections;
    int wake_fd;
    atomic_int stop;
    pthread_t thread;
    int64_t sent_upto;             /* jobs with a larger notebook id are not sent yet */
    batch_t window[SUBMIT_WINDOW]; /* a ring, oldest at head */
    int head, count;
    int64_t rewind_to; /* where the cursor must go back to, or -1 */
    double last_rewind;
    /* The job files (sha256 -> true) sent to the controller in this
     * session: a batch carries only the data of the others. */
    json_t *files_sent;
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

static batch_t *batch_at(clab_sync_t *s, int i)
{
    return &s->window[(s->head + i) % SUBMIT_WINDOW];
}

static void window_pop(clab_sync_t *s)
{
    json_decref(batch_at(s, 0)->jobs);
    s->head = (s->head + 1) % SUBMIT_WINDOW;
    s->count--;
}

/* A new session: the controller may have none of it; all goes again. */
static void window_reset(clab_sync_t *s)
{
    while (s->count > 0)
        window_pop(s);
    s->sent_upto = 0;
    s->rewind_to = -1;
    json_object_clear(s->files_sent);
}

static void must_rewind(clab_sync_t *s, const batch_t *b)
{
    if (!b->stale && (s->rewind_to < 0 || b->after < s->rewind_to))
        s->rewind_to = b->after;
}

/* 1 when the accepted ids are the batch's, some left out (the controller
 * keeps the order and skips or stops, never adds). */
static int covers(const batch_t *b, json_t *accepted)
{
    size_t p = 0, i, n = json_array_size(accepted);
    json_t *job;
    json_array_foreach(
        b->jobs, i, job) if (p < n && json_equal(job, json_array_get(accepted, p))) p++;
    return p == n;
}

/* The controller's answer to one submit: the oldest batch in flight that it
 * covers (an empty answer: the oldest). Older ones lost their answer, and
 * jobs it leaves out were not queued: the cursor goes back for them. */
static void on_accepted(clab_sync_t *s, json_t *body)
{
    json_t *jobs = json_object_get(body, "jobs"), *h;
    size_t m;
    /* Files the controller lacks (it forgot them, or their batch was
     * lost) go again with their tasks, which it did not take. */
    json_array_foreach(json_object_get(body, "missing"), m, h) if (json_is_string(h))
        json_object_del(s->files_sent, json_string_value(h));
    if (!json_is_array(jobs))
        return;
    int k = 0;
    while (k < s->count && !covers(batch_at(s, k), jobs))
        k++;
    if (k == s->count)
        return; /* for a batch already given up on */
    for (int i = 0; i < k; i++) {
        must_rewind(s, batch_at(s, 0));
        window_pop(s);
    }
    if (json_array_size(jobs) < json_array_size(batch_at(s, 0)->jobs))
        must_rewind(s, batch_at(s, 0));
    window_pop(s);
}

/* Sends again from the oldest batch that needs it: one unanswered for too
 * long, or one the controller did not take whole. Every batch in flight
 * then goes again too (so none is left untracked), at most once a
 * SUBMIT_REWIND_GAP, so that a batch refused for good costs little. */
static void check_window(clab_sync_t *s, double now)
{
    while (s->count > 0 && now - batch_at(s, 0)->sent > SUBMIT_REPLY_TIMEOUT) {
        must_rewind(s, batch_at(s, 0));
        window_pop(s);
    }
    if (s->rewind_to < 0 || now - s->last_rewind < SUBMIT_REWIND_GAP)
        return;
    for (int i = 0; i < s->count; i++) {
        must_rewind(s, batch_at(s, i));
        batch_at(s, i)->stale = 1;
    }
    clab_info("controller did not accept every job sent: sending again from id %lld",
              (long long)s->rewind_to);
    if (s->rewind_to < s->sent_upto)
        s->sent_upto = s->rewind_to;
    s->rewind_to = -1;
    s->last_rewind = now;
}

/* The data of the files the tasks name that this session has not sent
 * yet, as the submit's "files" ({"SHA256": "BASE64"}) into body; their
 * hashes into sent, to count as sent once the batch has gone. */
static int attach_files(clab_sync_t *s, const json_t *tasks, json_t *body, json_t *sent)
{
    size_t i;
    json_t *t, *v;
    const char *name;
    int rc = 0;
    json_array_foreach(tasks, i, t)
        json_object_foreach(json_object_get(t, "files"), name, v)
    {
        const char *hash = json_string_value(v);
        char *data = NULL;
        size_t len = 0;
        clab_buf_t b = {0};
        if (rc || !hash || json_object_get(s->files_sent, hash) ||
            json_object_get(sent, hash))
            continue;
        if ((rc = clab_notebook_file(s->lab->nb, hash, &data, &len)) == 0 &&
            (rc = clab_base64_encode(data, len, &b)) == 0) {
            json_t *files = json_object_get(body, "files");
            if (!files)
                json_object_set_new(body, "files", files = json_object());
            rc = json_object_set_new(files, hash,
                                     json_stringn(b.data ? b.data : "", b.len)) ||
                         json_object_set_new(sent, hash, json_true())
                     ? -ENOMEM
                     : 0;
        }
        free(data);
        clab_buf_free(&b);
    }
    return rc;
}

/* Sends one batch after the cursor: 1 sent (a full batch), 0 nothing left
 * or a short one, -errno. */
static int send_batch(clab_sync_t *s, clab_client_t *c)
{
    json_t *tasks = json_array(), *t, *sent = json_object();
    int64_t upto = s->sent_upto;
    int n = clab_notebook_pending_tasks(s->lab->nb, &upto, SUBMIT_BATCH, tasks);
    int rc = n > 0 ? 0 : n;
    if (n > 0) {
        json_t *body = json_pack("{s:O}", "tasks", tasks);
        rc = body ? attach_files(s, tasks, body, sent) : -ENOMEM;
        rc = rc ? rc : clab_client_send(c, "submit", body);
        json_decref(body);
        if (rc == 0)
            json_object_update(s->files_sent, sent);
    }
    json_decref(sent);
    if (n > 0 && rc == 0) {
        batch_t *b = &s->window[(s->head + s->count++) % SUBMIT_WINDOW];
        size_t i;
        *b = (batch_t){.after = s->sent_upto, .jobs = json_array(), .sent = clab_mono()};
        json_array_foreach(tasks, i, t)
            json_array_append(b->jobs, json_object_get(t, "job"));
        s->sent_upto = upto;
    }
    json_decref(tasks);
    return rc < 0 ? rc : n == SUBMIT_BATCH;
}

static void send_pending(clab_sync_t *s, clab_client_t *c)
{
    check_window(s, clab_mono());
    for (int k = 0; k < SUBMIT_BATCHES_PER_TURN; k++) {
        if (s->count == SUBMIT_WINDOW)
            return; /* the answers wake the loop */
        int rc = send_batch(s, c);
        if (rc < 0)
            clab_debug("submit: %s (will retry)", strerror(-rc));
        if (rc <= 0)
            return;
    }
    clab_sync_wake(s); /* more to send: come back after serving replies */
}

/* Tells the controller about sets cancelled with /ctl, each with the
 * newest job id it covers (so that the order of this message and the
 * submits around it does not matter). One that cannot be sent is kept for
 * the next turn. */
static void send_cancels(clab_sync_t *s, clab_client_t *c)
{
    json_t *cancels = clab_lab_cancel_take(s->lab);
    size_t i;
    json_t *body;
    json_array_foreach(cancels, i, body)
    {
        if (clab_client_send(c, "cancel", body) < 0)
            clab_lab_cancel_keep(s->lab, body);
    }
    json_decref(cancels);
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
        for (int k = 0; k < 1000 && json_array_size(results) < STORE_BATCH &&
                        (rc = clab_client_recv(c, &m)) != -EAGAIN;
             k++) {
            if (rc < 0)
                continue;
            if (clab_client_observe(c, &m))
                window_reset(s); /* new session: send every pending job again */
            json_t *got = json_object_get(m.body, "results");
            if (strcmp(m.type, "results") == 0 && json_is_array(got))
                json_array_extend(results, got);
            else if (strcmp(m.type, "accepted") == 0)
                on_accepted(s, m.body);
            else if (strcmp(m.type, "welcome") == 0 || strcmp(m.type, "pong") == 0)
                clab_lab_publish(s->lab, 1, json_object_get(m.body, "engines"));
            clab_msg_clear(&m);
        }
        store_results(s, c, results);
        json_decref(results);
        /* What the kernel cached of sets that changed (a new column, a
         * submit, /ctl) is invalidated from here, never from a request. */
        clab_lab_send_changes(s->lab);
        clab_client_tick(c);
        if (!clab_client_connected(c)) {
            clab_lab_publish(s->lab, 0, NULL);
        } else {
            send_cancels(s, c);
            send_pending(s, c);
        }
    }
    window_reset(s);
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
    s->rewind_to = -1;
    if (!(s->files_sent = json_object())) {
        rc = -ENOMEM;
        goto fail;
    }
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
    json_decref(s->files_sent);
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
    json_decref(s->files_sent);
    free(s);
    *ps = NULL;
}
