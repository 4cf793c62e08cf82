/* clab-controller: the cluster's hub. Clients (clabfs) submit tasks on one
 * ROUTER socket, engines take them from another. The queue and every
 * undelivered result live in STATE/controller.db, so the controller can be
 * killed and restarted on the same state directory at any time: running
 * tasks go back to the queue, results still reach their client.
 *
 * One thread, one loop: poll both sockets, handle every waiting message in
 * one SQLite transaction, hand tasks to engines with free slots, commit,
 * and only then send the replies, so nothing is acknowledged that a crash
 * could still take back. */
#include "conninfo.h"
#include "daemon.h"
#include "json.h"
#include "log.h"
#include "protocol.h"
#include "random.h"
#include "record.h"
#include "store.h"
#include "zap.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_PREFETCH 16
#define MAX_BATCH 1000
#define MAX_TASK_BYTES (1024 * 1024)
#define COMMIT_WINDOW 0.01 /* seconds a transaction may stay open */

typedef struct {
    char id[CLAB_PROTO_MAX_PEER + 1]; /* routing id, printable */
    char host[256];
    long pid;
    double last_seen;
    long tasks_done;
    int ninflight;
    char *inflight[MAX_PREFETCH]; /* job ids handed to it, oldest first */
} engine_t;

typedef struct {
    char id[CLAB_PROTO_MAX_PEER + 1];
    double last_seen;
    int64_t resend_after; /* cursor while re-sending undelivered results */
    int resending;
    json_t *outgoing; /* results finished this turn, sent after commit */
} client_t;

typedef struct {
    const char *state_dir;
    char client_bind[512], engine_bind[512];
    int use_ipc;
    int retries;
    int prefetch;
    double heartbeat_timeout;
    double resend_interval;

    void *zctx, *clients_sock, *engines_sock;
    clab_zap_t *zap; /* admits only the connection file's client key */
    clab_store_t *store;
    clab_conninfo_t ci;
    char epoch[33];

    engine_t *engines;
    size_t nengines;
    client_t *clients;
    size_t nclients;
    long queued, running;
    double last_periodic;
    double dispatch_after; /* a restarted controller lets engines reclaim first */
    int lock_fd;
    int in_txn;
    double txn_start;
    int txn_msgs;
    json_t *replies; /* replies to clients, sent after the commit */
} controller_t;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: clab-controller --state DIR [options]\n"
        "\n"
        "The hub of a clabfs cluster: keeps the queue of tasks, hands them to\n"
        "engines, and keeps results until the client (clabfs) has them. Writes\n"
        "the connection file DIR/cluster.json (mode 0600) for engines and clients.\n"
        "Restarted on the same DIR it keeps its endpoints, keys and queue.\n"
        "\n"
        "options:\n"
        "  --state DIR              state directory (required)\n"
        "  --ipc                    listen on ipc:// sockets in DIR/run (local cluster)\n"
        "  --client-endpoint EP     where clients connect (default tcp://127.0.0.1:*)\n"
        "  --engine-endpoint EP     where engines connect (default tcp://127.0.0.1:*)\n"
        "                           use tcp://*:PORT to accept other machines\n"
        "  --retries N              re-runs of a task whose engine was lost (default 3)\n"
        "  --prefetch N             tasks queued on each engine (default 2)\n"
        "  --heartbeat-timeout S    an engine silent this long is lost (default 10)\n"
        "  --ready-fd FD            write a line to FD once listening (for launchers)\n"
        "  --exit-with-parent       stop when the parent process dies (embedded use)\n"
        "  -v, --verbose            log every task\n"
        "  -h, --help               this text\n"
        "  -V, --version            print the version\n");
}

static engine_t *find_engine(controller_t *c, const char *id)
{
    for (size_t i = 0; i < c->nengines; i++)
        if (strcmp(c->engines[i].id, id) == 0)
            return &c->engines[i];
    return NULL;
}

static client_t *find_client(controller_t *c, const char *id, int create)
{
    for (size_t i = 0; i < c->nclients; i++)
        if (strcmp(c->clients[i].id, id) == 0)
            return &c->clients[i];
    if (!create)
        return NULL;
    client_t *p = realloc(c->clients, (c->nclients + 1) * sizeof *p);
    if (!p)
        return NULL;
    c->clients = p;
    client_t *cl = &c->clients[c->nclients++];
    memset(cl, 0, sizeof *cl);
    snprintf(cl->id, sizeof cl->id, "%s", id);
    return cl;
}

/* Routing ids are chosen by peers; only printable ones are accepted so they
 * can be logged and used as file names in /engines. */
static int peer_id(const clab_msg_t *m, char *out)
{
    for (size_t i = 0; i < m->peer_len; i++) {
        unsigned char ch = m->peer[i];
        if (ch < 0x21 || ch > 0x7e || ch == '/')
            return -EINVAL;
    }
    memcpy(out, m->peer, m->peer_len);
    out[m->peer_len] = '\0';
    return 0;
}

static json_t *engines_json(controller_t *c)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->nengines; i++) {
        engine_t *e = &c->engines[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:I}", "id", e->id,
                                             "host", e->host, "pid", (json_int_t)e->pid,
                                             "state", e->ninflight ? "busy" : "idle",
                                             "tasks", (json_int_t)e->tasks_done));
    }
    return arr;
}

/* A failed record for a task no engine could finish. */
static json_t *lost_record(const char *body_text, const char *engine, const char *host)
{
    json_t *body = json_loads(body_text, 0, NULL);
    clab_record_info_t who = {
        .experiment = json_string_value(json_object_get(body, "experiment")),
        .job = json_string_value(json_object_get(body, "job")),
        .engine_id = engine,
        .host = host,
    };
    json_t *rec = clab_record_failure(&who, "engine lost");
    json_decref(body);
    return rec;
}

static int finish_task(controller_t *c, const char *job, json_t *record)
{
    char *text = clab_json_dumps(record);
    char *owner = NULL;
    if (!text)
        return -ENOMEM;
    int prev = -1;
    int rc = clab_store_finish(c->store, job, text, clab_now(), &owner, &prev);
    if (rc == 1) {
        if (prev == CLAB_TASK_QUEUED)
            c->queued--;
        else if (prev == CLAB_TASK_RUNNING)
            c->running--;
        client_t *cl = find_client(c, owner, 1);
        if (cl) {
            if (!cl->outgoing)
                cl->outgoing = json_array();
            json_array_append_new(cl->outgoing,
                                  json_pack("{s:s, s:O}", "job", job, "record", record));
        }
    }
    free(owner);
    free(text);
    return rc;
}

/* Takes job off engine e's list; returns 1 when it was there. */
static int engine_forget(engine_t *e, const char *job)
{
    for (int i = 0; i < e->ninflight; i++) {
        if (strcmp(e->inflight[i], job) != 0)
            continue;
        free(e->inflight[i]);
        memmove(&e->inflight[i], &e->inflight[i + 1],
                (size_t)(e->ninflight - i - 1) * sizeof e->inflight[0]);
        e->ninflight--;
        return 1;
    }
    return 0;
}

/* Drops an engine; its tasks go back to the queue, or fail as `engine lost`
 * once they have used up their retries. count_try is 0 for an engine that
 * said goodbye: its tasks were stopped, not lost. */
static void drop_engine(controller_t *c, engine_t *e, int count_try, const char *why)
{
    clab_info("engine %s (%s pid %ld) left: %s; %d task(s) back to the queue", e->id,
              e->host, e->pid, why, e->ninflight);
    for (int i = 0; i < e->ninflight; i++) {
        char *body = NULL;
        int tries = clab_store_requeue(c->store, e->inflight[i], count_try, &body);
        if (tries >= 0) {
            c->running--;
            c->queued++;
            if (count_try && tries > c->retries) {
                clab_warn("task %s: engine lost %d times, giving up", e->inflight[i],
                          tries);
                json_t *rec = lost_record(body, e->id, e->host);
                finish_task(c, e->inflight[i], rec);
                json_decref(rec);
            }
        }
        free(body);
        free(e->inflight[i]);
    }
    size_t idx = (size_t)(e - c->engines);
    memmove(e, e + 1, (c->nengines - idx - 1) * sizeof *e);
    c->nengines--;
}

static engine_t *register_engine(controller_t *c, const char *id, json_t *body)
{
    engine_t *p = realloc(c->engines, (c->nengines + 1) * sizeof *p);
    if (!p)
        return NULL;
    c->engines = p;
    engine_t *e = &c->engines[c->nengines++];
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", id);
    const char *host = json_string_value(json_object_get(body, "host"));
    snprintf(e->host, sizeof e->host, "%s", host ? host : "?");
    e->pid = (long)json_integer_value(json_object_get(body, "pid"));
    e->tasks_done = (long)json_integer_value(json_object_get(body, "tasks"));
    /* After a controller restart an engine may still hold tasks we put back
     * in the queue: let it keep them rather than run them twice. */
    json_t *held = json_object_get(body, "held");
    json_t *drop = json_array(), *j;
    size_t i;
    json_array_foreach(held, i, j)
    {
        if (!json_is_string(j))
            continue;
        if (e->ninflight < MAX_PREFETCH &&
            clab_store_claim(c->store, json_string_value(j), e->id) == 1) {
            e->inflight[e->ninflight++] = strdup(json_string_value(j));
            c->queued--;
            c->running++;
        } else {
            /* Given to another engine meanwhile (this one was silent too
             * long), finished, or cancelled: do not run it twice. */
            json_array_append(drop, j);
        }
    }
    clab_info("engine %s joined (%s pid %ld), holding %d task(s)", e->id, e->host, e->pid,
              e->ninflight);
    if (json_array_size(drop) > 0) {
        clab_info("engine %s: %zu held task(s) cancelled", e->id, json_array_size(drop));
        json_t *b = json_pack("{s:O}", "jobs", drop);
        clab_proto_send(c->engines_sock, e->id, strlen(e->id), "cancel", b);
        json_decref(b);
    }
    json_decref(drop);
    return e;
}

static void handle_engine(controller_t *c, clab_msg_t *m)
{
    char id[CLAB_PROTO_MAX_PEER + 1];
    if (peer_id(m, id) < 0) {
        clab_warn("engine message with a bad routing id dropped");
        return;
    }
    engine_t *e = find_engine(c, id);
    if (strcmp(m->type, "bye") == 0) {
        if (e)
            drop_engine(c, e, 0, "stopped");
        return;
    }
    if (!e && strcmp(m->type, "hb") == 0)
        e = register_engine(c, id, m->body);
    if (!e) {
        clab_warn("%s from unknown engine %s dropped", m->type, id);
        return;
    }
    e->last_seen = clab_mono();
    if (strcmp(m->type, "hb") == 0) {
        /* Heartbeats go both ways: the engine learns we are alive. */
        json_t *b = json_pack("{s:s}", "epoch", c->epoch);
        clab_proto_send(c->engines_sock, e->id, strlen(e->id), "hb", b);
        json_decref(b);
        return;
    }
    if (strcmp(m->type, "result") != 0) {
        clab_warn("unknown message %s from engine %s dropped", m->type, id);
        return;
    }
    const char *job = json_string_value(json_object_get(m->body, "job"));
    json_t *record = json_object_get(m->body, "record");
    if (!job || !json_is_object(record) ||
        !json_is_boolean(json_object_get(record, "ok"))) {
        clab_warn("malformed result from engine %s dropped", id);
        return;
    }
    engine_forget(e, job);
    e->tasks_done++;
    if (finish_task(c, job, record) == 0)
        clab_debug("duplicate result for %s from %s ignored", job, id);
}

/* Forgets a client's unfinished tasks of one tag; engines running them are
 * told to stop (they report nothing for a cancelled task). */
static void cancel_tag(controller_t *c, const char *client, const char *tag)
{
    json_t *running = json_array(), *r;
    long queued = 0, nrunning = 0;
    if (clab_store_cancel(c->store, client, tag, running, &queued, &nrunning) == 0) {
        c->queued -= queued;
        c->running -= nrunning;
        size_t i;
        json_array_foreach(running, i, r)
        {
            const char *job = json_string_value(json_object_get(r, "job"));
            engine_t *e = find_engine(c, json_string_value(json_object_get(r, "engine")));
            if (!e || !engine_forget(e, job))
                continue;
            json_t *b = json_pack("{s:[s]}", "jobs", job);
            clab_proto_send(c->engines_sock, e->id, strlen(e->id), "cancel", b);
            json_decref(b);
        }
        clab_info("client %s cancelled %s: %ld queued, %ld running", client, tag, queued,
                  nrunning);
    }
    json_decref(running);
}

static void reply(controller_t *c, const clab_msg_t *m, const char *type, json_t *body)
{
    int rc = clab_proto_send(c->clients_sock, m->peer, m->peer_len, type, body);
    if (rc)
        clab_warn("reply %s: %s", type, strerror(-rc));
    json_decref(body);
}

static void handle_client(controller_t *c, clab_msg_t *m, json_t *replies)
{
    char id[CLAB_PROTO_MAX_PEER + 1];
    if (peer_id(m, id) < 0) {
        clab_warn("client message with a bad routing id dropped");
        return;
    }
    client_t *cl = find_client(c, id, 1);
    if (!cl)
        return;
    cl->last_seen = clab_mono();
    json_t *out = NULL;
    const char *type = NULL;

    if (strcmp(m->type, "hello") == 0) {
        cl->resending = 1;
        cl->resend_after = 0;
        clab_info("client %s connected", id);
        type = "welcome";
        out = json_pack("{s:s, s:o}", "epoch", c->epoch, "engines", engines_json(c));
    } else if (strcmp(m->type, "ping") == 0) {
        type = "pong";
        out = json_pack("{s:s, s:o, s:I, s:I}", "epoch", c->epoch, "engines",
                        engines_json(c), "queued", (json_int_t)c->queued, "running",
                        (json_int_t)c->running);
    } else if (strcmp(m->type, "submit") == 0) {
        json_t *tasks = json_object_get(m->body, "tasks"), *t;
        json_t *jobs = json_array();
        size_t i, bad = 0;
        json_array_foreach(tasks, i, t)
        {
            const char *job = json_string_value(json_object_get(t, "job"));
            const char *exp = json_string_value(json_object_get(t, "experiment"));
            const char *tag = json_string_value(json_object_get(t, "tag"));
            char *body = NULL;
            /* A task must fit in a message to any engine with room to spare:
             * one that does not would cut off every engine it is given to. */
            if (!job || !exp || exp[0] != '/' ||
                !json_is_object(json_object_get(t, "params")) ||
                !(body = clab_json_dumps(t)) || strlen(body) > MAX_TASK_BYTES) {
                free(body);
                bad++;
                continue;
            }
            int rc = clab_store_add(c->store, id, job, tag ? tag : "", body);
            free(body);
            if (rc < 0)
                break; /* not acknowledged: the client sends it again */
            c->queued += rc;
            json_array_append_new(jobs, json_string(job));
        }
        if (bad)
            clab_warn("%zu malformed task(s) from client %s dropped", bad, id);
        type = "accepted";
        out = json_pack("{s:o}", "jobs", jobs);
    } else if (strcmp(m->type, "cancel") == 0) {
        const char *tag = json_string_value(json_object_get(m->body, "tag"));
        if (tag)
            cancel_tag(c, id, tag);
        type = "cancelled";
        out = json_pack("{s:s?}", "tag", tag);
    } else if (strcmp(m->type, "ack") == 0) {
        json_t *jobs = json_object_get(m->body, "jobs"), *j;
        size_t i;
        json_array_foreach(jobs, i, j) if (json_is_string(j))
            clab_store_delivered(c->store, id, json_string_value(j));
    } else {
        clab_warn("unknown message %s from client %s dropped", m->type, id);
    }
    if (type)
        json_array_append_new(replies, json_pack("{s:s, s:s%, s:o}", "type", type, "peer",
                                                 (const char *)m->peer, m->peer_len,
                                                 "body", out ? out : json_object()));
}

static void dispatch(controller_t *c)
{
    if (clab_mono() < c->dispatch_after)
        return;
    for (size_t i = 0; i < c->nengines && c->queued > 0; i++) {
        engine_t *e = &c->engines[i];
        while (e->ninflight < c->prefetch && c->queued > 0) {
            char *job = NULL, *body = NULL;
            int rc = clab_store_take(c->store, e->id, &job, &body);
            if (rc <= 0) {
                if (rc == 0)
                    c->queued = 0; /* the count drifted: the store is the truth */
                return;
            }
            rc = clab_proto_send_text(c->engines_sock, e->id, strlen(e->id), "task", body,
                                      strlen(body));
            free(body);
            if (rc) {
                /* Not sent: back to the queue without counting a try. */
                clab_warn("task %s to engine %s: %s", job, e->id, strerror(-rc));
                clab_store_requeue(c->store, job, 0, NULL);
                free(job);
                break;
            }
            clab_debug("task %s -> engine %s", job, e->id);
            e->inflight[e->ninflight++] = job;
            c->queued--;
            c->running++;
        }
    }
}

static void periodic(controller_t *c, double now)
{
    for (size_t i = 0; i < c->nengines;) {
        engine_t *e = &c->engines[i];
        if (now - e->last_seen > c->heartbeat_timeout)
            drop_engine(c, e, 1, "no heartbeat");
        else
            i++;
    }
    for (size_t i = 0; i < c->nclients; i++) {
        client_t *cl = &c->clients[i];
        /* Results sent to a client that has not acknowledged them in a while
         * went astray (it restarted, or the link dropped): send them again. */
        if (!cl->resending && now - cl->last_seen < 3 * c->resend_interval) {
            cl->resending = 2;
            cl->resend_after = 0;
        }
    }
}

/* Sends one chunk of undelivered results per client and turn. */
static void resend(controller_t *c)
{
    double now = clab_now();
    for (size_t i = 0; i < c->nclients; i++) {
        client_t *cl = &c->clients[i];
        if (!cl->resending)
            continue;
        double before = cl->resending == 1 ? now + 1 : now - c->resend_interval;
        if (!cl->outgoing)
            cl->outgoing = json_array();
        int n = clab_store_undelivered(c->store, cl->id, &cl->resend_after, before, now,
                                       MAX_BATCH, cl->outgoing);
        if (n < MAX_BATCH)
            cl->resending = 0;
    }
}

/* A "results" message stays well under CLAB_PROTO_MAX_MSG, the client's
 * ZMQ_MAXMSGSIZE: a larger one makes the client drop the connection, and
 * since the same batch is sent again, its results would never arrive. One
 * record is at most 16 MiB of output plus metadata, so it always fits. */
#define RESULTS_MSG_BYTES (CLAB_PROTO_MAX_MSG / 2)

static int send_results(controller_t *c, client_t *cl, clab_buf_t *b)
{
    clab_buf_puts(b, "]}");
    int rc = clab_proto_send_text(c->clients_sock, cl->id, strlen(cl->id), "results",
                                  b->data, b->len);
    b->len = 0;
    return rc;
}

static void flush_results(controller_t *c)
{
    for (size_t i = 0; i < c->nclients; i++) {
        client_t *cl = &c->clients[i];
        if (!cl->outgoing)
            continue;
        clab_buf_t b = {0}, item = {0};
        size_t n = json_array_size(cl->outgoing), inbatch = 0;
        int rc = 0;
        for (size_t k = 0; k < n && !rc; k++) {
            item.len = 0;
            if (clab_json_dump_buf(&item, json_array_get(cl->outgoing, k)))
                continue;
            if (inbatch &&
                (b.len + item.len + 2 > RESULTS_MSG_BYTES || inbatch == MAX_BATCH)) {
                rc = send_results(c, cl, &b);
                inbatch = 0;
            }
            clab_buf_puts(&b, inbatch ? "," : "{\"results\":[");
            clab_buf_add(&b, item.data, item.len);
            inbatch++;
        }
        if (!rc && inbatch)
            rc = send_results(c, cl, &b);
        if (rc)
            /* Kept in the store; resent when the client is back. */
            clab_debug("results to client %s: %s", cl->id, strerror(-rc));
        clab_buf_free(&b);
        clab_buf_free(&item);
        json_decref(cl->outgoing);
        cl->outgoing = NULL;
    }
}

static void flush_replies(controller_t *c, json_t *replies)
{
    size_t i;
    json_t *r;
    json_array_foreach(replies, i, r)
    {
        const char *peer = json_string_value(json_object_get(r, "peer"));
        size_t plen = json_string_length(json_object_get(r, "peer"));
        clab_msg_t m = {0};
        memcpy(m.peer, peer, plen);
        m.peer_len = plen;
        reply(c, &m, json_string_value(json_object_get(r, "type")),
              json_incref(json_object_get(r, "body")));
    }
    json_array_clear(replies);
}

/* Ends the open transaction and only then says what it made durable:
 * acknowledgements of submissions and results for the clients. */
static int commit(controller_t *c)
{
    int rc = clab_store_commit(c->store);
    c->in_txn = 0;
    if (rc) {
        /* Nothing since the last commit is durable: acknowledge none of it.
         * Tasks are still `running` in the store and go back to the queue
         * at the next restart. */
        clab_err("commit failed (%s); replies withheld", strerror(-rc));
        json_array_clear(c->replies);
        for (size_t i = 0; i < c->nclients; i++) {
            json_decref(c->clients[i].outgoing);
            c->clients[i].outgoing = NULL;
        }
        return 0;
    }
    flush_replies(c, c->replies);
    flush_results(c);
    return 0;
}

/* One turn of the loop. A transaction stays open across turns for up to
 * COMMIT_WINDOW seconds while messages keep coming, so that a stream of
 * results costs one commit per window, not one per result. Tasks go to
 * engines at once, before the commit: if we crash, the engine still holds
 * the task and claims it when it re-registers. */
static int turn(controller_t *c)
{
    zmq_pollitem_t items[] = {{c->clients_sock, 0, ZMQ_POLLIN, 0},
                              {c->engines_sock, 0, ZMQ_POLLIN, 0}};
    long timeout = 250;
    if (c->in_txn) {
        double left = c->txn_start + COMMIT_WINDOW - clab_mono();
        timeout = left > 0 ? (long)(left * 1000) + 1 : 0;
    }
    int ready = zmq_poll(items, 2, timeout);
    if (ready < 0 && zmq_errno() != EINTR)
        return -zmq_errno();
    if (!c->in_txn) {
        int rc = clab_store_begin(c->store);
        if (rc)
            return rc;
        c->in_txn = 1;
        c->txn_start = clab_mono();
        c->txn_msgs = 0;
    }
    int got = 0;
    for (int k = 0; k < MAX_BATCH; k++) {
        clab_msg_t m;
        int any = 0;
        if (clab_proto_recv(c->engines_sock, 1, &m) == 0) {
            handle_engine(c, &m);
            clab_msg_clear(&m);
            any = 1;
        }
        if (clab_proto_recv(c->clients_sock, 1, &m) == 0) {
            handle_client(c, &m, c->replies);
            clab_msg_clear(&m);
            any = 1;
        }
        if (!any)
            break;
        got++;
    }
    c->txn_msgs += got;
    double now = clab_mono();
    if (now - c->last_periodic >= 1.0) {
        c->last_periodic = now;
        periodic(c, now);
    }
    resend(c);
    dispatch(c);
    if (got == 0 || c->txn_msgs >= MAX_BATCH || now - c->txn_start >= COMMIT_WINDOW)
        return commit(c);
    return 0;
}

static int bind_socket(controller_t *c, void *sock, const char *want, char *got,
                       size_t gotlen)
{
    int rc = clab_proto_socket_setup(sock, 1);
    if (!rc)
        rc = clab_conninfo_curve_server(sock, &c->ci);
    if (!rc &&
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, CLAB_ZAP_DOMAIN, strlen(CLAB_ZAP_DOMAIN)))
        rc = -zmq_errno();
    if (rc)
        return rc;
    if (zmq_bind(sock, want) < 0) {
        rc = -zmq_errno();
        clab_err("cannot listen on %s: %s", want, zmq_strerror(-rc));
        return rc;
    }
    char last[256];
    size_t len = sizeof last;
    zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, last, &len);
    /* A wildcard address is no use to a peer on another machine. */
    const char *any = "tcp://0.0.0.0:";
    if (strncmp(last, any, strlen(any)) == 0) {
        char host[200] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(got, gotlen, "tcp://%s:%s", host, last + strlen(any));
    } else {
        snprintf(got, gotlen, "%s", last);
    }
    return 0;
}

static int setup(controller_t *c)
{
    char path[4096], run[400], conn[4096], key[4096];
    int rc;
    if (snprintf(run, sizeof run, "%s/run", c->state_dir) >= (int)sizeof run) {
        clab_err("state directory path too long: %s", c->state_dir);
        return -ENAMETOOLONG;
    }
    snprintf(conn, sizeof conn, "%s/cluster.json", c->state_dir);
    snprintf(key, sizeof key, "%s/server.key", c->state_dir);
    if ((rc = clab_mkdir_p(c->state_dir, 0700)) < 0) {
        clab_err("cannot create %s: %s", c->state_dir, strerror(-rc));
        return rc;
    }
    chmod(c->state_dir, 0700);
    snprintf(path, sizeof path, "%s/controller.lock", c->state_dir);
    c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        clab_err("%s is in use by another clab-controller", c->state_dir);
        return -EBUSY;
    }

    clab_conninfo_t old;
    int have_old = clab_conninfo_load(conn, &old) == 0;
    if (clab_conninfo_load_server_key(key, &c->ci) == 0 && have_old) {
        memcpy(c->ci.client_public, old.client_public, CLAB_KEY_LEN);
        memcpy(c->ci.client_secret, old.client_secret, CLAB_KEY_LEN);
        clab_info("reusing the keys of %s", conn);
    } else {
        have_old = 0;
        if ((rc = clab_conninfo_new_keys(&c->ci)) < 0) {
            clab_err("cannot make CURVE keys (libzmq without CURVE?): %s", strerror(-rc));
            return rc;
        }
        if ((rc = clab_conninfo_save_server_key(key, &c->ci)) < 0) {
            clab_err("cannot write %s: %s", key, strerror(-rc));
            return rc;
        }
    }
    if (c->use_ipc) {
        if ((rc = clab_mkdir_p(run, 0700)) < 0)
            return rc;
        chmod(run, 0700);
        snprintf(c->client_bind, sizeof c->client_bind, "ipc://%s/clients.sock", run);
        snprintf(c->engine_bind, sizeof c->engine_bind, "ipc://%s/engines.sock", run);
        if (strlen(c->client_bind) - strlen("ipc://") >= 108) {
            clab_err("state directory path too long for an ipc socket: %s", run);
            return -ENAMETOOLONG;
        }
    }
    /* Same endpoints as last time, so that engines and clients holding the
     * old connection file find us again. */
    if (!c->client_bind[0])
        snprintf(c->client_bind, sizeof c->client_bind, "%s",
                 have_old ? old.client_endpoint : "tcp://127.0.0.1:*");
    if (!c->engine_bind[0])
        snprintf(c->engine_bind, sizeof c->engine_bind, "%s",
                 have_old ? old.engine_endpoint : "tcp://127.0.0.1:*");

    snprintf(path, sizeof path, "%s/controller.db", c->state_dir);
    if ((rc = clab_store_open(path, &c->store)) < 0) {
        clab_err("cannot open %s: %s", path, strerror(-rc));
        return rc;
    }
    int back = clab_store_recover(c->store);
    if (back > 0) {
        /* Engines that still run those tasks claim them with their next
         * heartbeat; give them two heartbeats before handing them out. */
        c->dispatch_after = clab_mono() + 2.5;
    }
    long done;
    clab_store_counts(c->store, &c->queued, &c->running, &done);
    clab_info("queue: %ld queued (%d were running), %ld result(s) awaiting delivery",
              c->queued, back > 0 ? back : 0, done);

    c->zctx = zmq_ctx_new();
    c->clients_sock = zmq_socket(c->zctx, ZMQ_ROUTER);
    c->engines_sock = zmq_socket(c->zctx, ZMQ_ROUTER);
    if (!c->zctx || !c->clients_sock || !c->engines_sock)
        return -ENOMEM;
    /* Before any bind: a CURVE handshake that finds no ZAP handler is
     * admitted whatever its client key. */
    if ((rc = clab_zap_start(c->zctx, c->ci.client_public, &c->zap)) < 0) {
        clab_err("cannot start the access check (ZAP): %s", strerror(-rc));
        return rc;
    }
    if (c->use_ipc) {
        unlink(c->client_bind + 6);
        unlink(c->engine_bind + 6);
    }
    if ((rc = bind_socket(c, c->clients_sock, c->client_bind, c->ci.client_endpoint,
                          sizeof c->ci.client_endpoint)) < 0 ||
        (rc = bind_socket(c, c->engines_sock, c->engine_bind, c->ci.engine_endpoint,
                          sizeof c->ci.engine_endpoint)) < 0)
        return rc;
    if ((rc = clab_conninfo_save(conn, &c->ci)) < 0) {
        clab_err("cannot write %s: %s", conn, strerror(-rc));
        return rc;
    }
    clab_random_hex(c->epoch, 16);
    clab_info("listening: clients %s, engines %s; connection file %s",
              c->ci.client_endpoint, c->ci.engine_endpoint, conn);
    return 0;
}

static void teardown(controller_t *c)
{
    for (size_t i = 0; i < c->nengines; i++)
        for (int k = 0; k < c->engines[i].ninflight; k++)
            free(c->engines[i].inflight[k]);
    free(c->engines);
    for (size_t i = 0; i < c->nclients; i++)
        json_decref(c->clients[i].outgoing);
    free(c->clients);
    json_decref(c->replies);
    if (c->clients_sock)
        zmq_close(c->clients_sock);
    if (c->engines_sock)
        zmq_close(c->engines_sock);
    /* After the server sockets (no handshake may run unchecked), before
     * zmq_ctx_term (which would wait for the handler's socket for ever). */
    clab_zap_destroy(&c->zap);
    if (c->zctx)
        zmq_ctx_term(c->zctx);
    clab_store_destroy(&c->store);
    if (c->lock_fd >= 0)
        close(c->lock_fd);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    controller_t c = {
        .retries = 3, .prefetch = 2, .heartbeat_timeout = 10, .resend_interval = 10};
    int verbose = 0;
    enum {
        O_STATE = 256,
        O_IPC,
        O_CEP,
        O_EEP,
        O_RETRIES,
        O_PREFETCH,
        O_HB,
        O_READY,
        O_PARENT
    };
    static const struct option opts[] = {
        {"state", required_argument, 0, O_STATE},
        {"ipc", no_argument, 0, O_IPC},
        {"client-endpoint", required_argument, 0, O_CEP},
        {"engine-endpoint", required_argument, 0, O_EEP},
        {"retries", required_argument, 0, O_RETRIES},
        {"prefetch", required_argument, 0, O_PREFETCH},
        {"heartbeat-timeout", required_argument, 0, O_HB},
        {"ready-fd", required_argument, 0, O_READY},
        {"exit-with-parent", no_argument, 0, O_PARENT},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    int opt, hb = 10, ready_fd = -1, with_parent = 0;
    while ((opt = getopt_long(argc, argv, "vhV", opts, NULL)) != -1) {
        switch (opt) {
        case O_STATE:
            c.state_dir = optarg;
            break;
        case O_IPC:
            c.use_ipc = 1;
            break;
        case O_CEP:
            snprintf(c.client_bind, sizeof c.client_bind, "%s", optarg);
            break;
        case O_EEP:
            snprintf(c.engine_bind, sizeof c.engine_bind, "%s", optarg);
            break;
        case O_RETRIES:
            if (parse_int(optarg, 0, 1000, &c.retries)) {
                fprintf(stderr, "clab-controller: --retries wants 0..1000, not %s\n",
                        optarg);
                return 2;
            }
            break;
        case O_PREFETCH:
            if (parse_int(optarg, 1, MAX_PREFETCH, &c.prefetch)) {
                fprintf(stderr, "clab-controller: --prefetch wants 1..%d, not %s\n",
                        MAX_PREFETCH, optarg);
                return 2;
            }
            break;
        case O_HB:
            if (parse_int(optarg, 1, 86400, &hb)) {
                fprintf(stderr, "clab-controller: --heartbeat-timeout wants 1..86400\n");
                return 2;
            }
            c.heartbeat_timeout = hb;
            break;
        case O_READY:
            if (parse_int(optarg, 0, 1 << 20, &ready_fd)) {
                fprintf(stderr, "clab-controller: --ready-fd wants a file descriptor\n");
                return 2;
            }
            break;
        case O_PARENT:
            with_parent = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("clab-controller %s\n", CLAB_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!c.state_dir || optind != argc) {
        usage(stderr);
        return 2;
    }
    clab_log_init("clab-controller", verbose ? CLAB_LOG_DEBUG : CLAB_LOG_INFO);

    if (clab_daemon_init(with_parent) < 0)
        return 1;

    c.lock_fd = -1;
    c.replies = json_array();
    int rc = setup(&c);
    if (ready_fd >= 0) {
        if (!rc && write(ready_fd, "ready\n", 6) != 6)
            clab_warn("--ready-fd: %s", strerror(errno));
        close(ready_fd);
    }
    while (!rc && !clab_stop_requested)
        rc = turn(&c);
    if (c.in_txn)
        commit(&c);
    if (rc)
        clab_err("stopping: %s", strerror(-rc));
    else
        clab_info("stopping on signal; the queue stays in %s/controller.db", c.state_dir);
    teardown(&c);
    return rc ? 1 : 0;
}
