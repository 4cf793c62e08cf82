/* The controller's client side: what clients (clabfs) send, dispatched
 * through one table, and what goes back to them. Replies and results are
 * collected during a turn and sent only after the commit that made them
 * true (controller.c), so nothing is acknowledged that a crash could
 * still take back. */
#include "controller_i.h"

#include "json.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A "results" message stays well under CLAB_PROTO_MAX_MSG, the client's
 * ZMQ_MAXMSGSIZE: a larger one makes the client drop the connection, and
 * since the same batch is sent again, its results would never arrive. One
 * record is at most 16 MiB of output plus metadata, so it always fits. */
#define RESULTS_MSG_BYTES (CLAB_PROTO_MAX_MSG / 2)

client_t *controller_find_client(controller_t *c, const char *id, int create)
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
    /* A client we meet without its hello (we restarted in process after a
     * failed commit) may lack any result not acknowledged. */
    cl->resending = RESEND_ALL;
    return cl;
}

void controller_queue_reply(controller_t *c, const clab_msg_t *m, const char *type,
                            json_t *body)
{
    json_array_append_new(c->replies, json_pack("{s:s, s:s%, s:o}", "type", type, "peer",
                                                (const char *)m->peer, m->peer_len,
                                                "body", body ? body : json_object()));
}

static json_t *on_hello(controller_t *c, client_t *cl, const clab_msg_t *m)
{
    cl->resending = RESEND_ALL;
    cl->resend_after = 0;
    clab_info("client %s connected", cl->id);
    return json_pack("{s:s, s:o}", "epoch", c->epoch, "engines",
                     controller_engines_json(c));
}

static json_t *on_ping(controller_t *c, client_t *cl, const clab_msg_t *m)
{
    return json_pack("{s:s, s:o, s:I, s:I}", "epoch", c->epoch, "engines",
                     controller_engines_json(c), "queued", (json_int_t)c->queued,
                     "running", (json_int_t)c->running);
}

/* The task as stored and sent to engines, or NULL for a malformed one. A
 * task must fit in a message to any engine with room to spare: one that
 * does not would cut off every engine it is given to. */
static char *task_body(const json_t *t)
{
    const char *job = json_string_value(json_object_get(t, "job"));
    const char *exp = json_string_value(json_object_get(t, "experiment"));
    char *body = NULL;
    if (!job || !exp || exp[0] != '/' || !json_is_object(json_object_get(t, "params")) ||
        !(body = clab_json_dumps(t)) || strlen(body) > MAX_TASK_BYTES) {
        free(body);
        return NULL;
    }
    return body;
}

/* Accepts the tasks the store now holds (new or known); a task the store
 * failed on and those after it are not acknowledged: the client sends
 * them again. */
static json_t *on_submit(controller_t *c, client_t *cl, const clab_msg_t *m)
{
    json_t *tasks = json_object_get(m->body, "tasks"), *t;
    json_t *jobs = json_array();
    size_t i, bad = 0;
    json_array_foreach(tasks, i, t)
    {
        const char *job = json_string_value(json_object_get(t, "job"));
        const char *tag = json_string_value(json_object_get(t, "tag"));
        /* The client's number for the job orders it against its cancels;
         * engines have no use for it. */
        json_t *seq = json_object_get(t, "seq");
        int64_t cseq = json_is_integer(seq) ? json_integer_value(seq) : 0;
        json_object_del(t, "seq");
        /* Ours to add when the task goes to an engine (send_task). */
        json_object_del(t, "dispatch");
        json_object_del(t, "epoch");
        json_object_del(t, "proof");
        char *body = task_body(t);
        if (!body) {
            bad++;
            continue;
        }
        clab_store_task_t task = {
            .client = cl->id, .job = job, .tag = tag, .body = body, .cseq = cseq};
        int rc = clab_store_add(c->store, &task);
        free(body);
        if (rc < 0)
            break;
        c->queued += rc;
        json_array_append_new(jobs, json_string(job));
    }
    if (bad)
        clab_warn("%zu malformed task(s) from client %s dropped", bad, cl->id);
    return json_pack("{s:o}", "jobs", jobs);
}

/* Forgets a client's unfinished tasks of one tag submitted up to its
 * number upto (all of them when upto < 0); engines running them are told
 * to stop (they report nothing for a cancelled task). Tasks the client
 * submitted after it began the cancel stay: it holds them as pending,
 * whichever of the two messages came first. */
static void cancel_tag(controller_t *c, const char *client, const char *tag, int64_t upto)
{
    json_t *running = json_array();
    long queued = 0, nrunning = 0;
    if (clab_store_cancel(c->store, client, tag, upto, running, &queued, &nrunning) ==
        0) {
        c->queued -= queued;
        c->running -= nrunning;
        controller_stop_running(c, running);
        clab_info("client %s cancelled %s: %ld queued, %ld running", client, tag, queued,
                  nrunning);
    }
    json_decref(running);
}

static json_t *on_cancel(controller_t *c, client_t *cl, const clab_msg_t *m)
{
    const char *tag = json_string_value(json_object_get(m->body, "tag"));
    const json_t *upto = json_object_get(m->body, "upto");
    if (tag)
        cancel_tag(c, cl->id, tag, json_is_integer(upto) ? json_integer_value(upto) : -1);
    return json_pack("{s:s?}", "tag", tag);
}

static json_t *on_ack(controller_t *c, client_t *cl, const clab_msg_t *m)
{
    json_t *jobs = json_object_get(m->body, "jobs"), *j;
    size_t i;
    json_array_foreach(jobs, i, j) if (json_is_string(j))
        clab_store_delivered(c->store, cl->id, json_string_value(j));
    return NULL;
}

/* Each message a client may send, and the reply it gets after the commit
 * (none for an ack). */
static const struct {
    const char *type;
    const char *reply;
    json_t *(*run)(controller_t *c, client_t *cl, const clab_msg_t *m);
} client_messages[] = {
    {"hello", "welcome", on_hello},
    {"ping", "pong", on_ping},
    {"submit", "accepted", on_submit},
    {"cancel", "cancelled", on_cancel},
    {"ack", NULL, on_ack},
};

void controller_handle_client(controller_t *c, clab_msg_t *m)
{
    char id[CLAB_PROTO_MAX_PEER + 1];
    size_t n = sizeof client_messages / sizeof client_messages[0], k = 0;
    if (controller_peer_id(m, id) < 0) {
        clab_warn("client message with a bad routing id dropped");
        return;
    }
    client_t *cl = controller_find_client(c, id, 1);
    if (!cl)
        return;
    cl->last_seen = clab_mono();
    while (k < n && strcmp(client_messages[k].type, m->type) != 0)
        k++;
    if (k == n) {
        clab_warn("unknown message %s from client %s dropped", m->type, id);
        return;
    }
    json_t *out = client_messages[k].run(c, cl, m);
    if (client_messages[k].reply)
        controller_queue_reply(c, m, client_messages[k].reply, out);
}

/* A point that ran to its end tells how long the set's points take, for
 * walltime-aware dispatch; failures (often quick) do not. */
static void note_elapsed(controller_t *c, const char *set, const json_t *record)
{
    const json_t *t = json_object_get(json_object_get(record, "metadata"),
                                      "epyc.experiment.elapsed_time");
    if (c->estimate && set && json_is_true(json_object_get(record, "ok")) &&
        json_is_number(t))
        clab_estimate_add(c->estimate, set, json_number_value(t));
}

int controller_finish_task(controller_t *c, const char *job, json_t *record,
                           const json_t *stamp)
{
    char *text = clab_json_dumps(record);
    char *who = stamp ? json_dumps(stamp, JSON_COMPACT) : NULL;
    char *owner = NULL, *set = NULL;
    int prev = -1, rc = -ENOMEM;
    if (!text || (stamp && !who))
        goto out;
    clab_store_result_t r = {.job = job, .record = text, .stamp = who, .now = clab_now()};
    rc = clab_store_finish(c->store, &r, &owner, &set, &prev);
    if (rc == 1) {
        note_elapsed(c, set, record);
        if (prev == CLAB_TASK_QUEUED)
            c->queued--;
        else if (prev == CLAB_TASK_RUNNING)
            c->running--;
        client_t *cl = controller_find_client(c, owner, 1);
        if (cl) {
            if (!cl->outgoing)
                cl->outgoing = json_array();
            json_array_append_new(cl->outgoing,
                                  json_pack("{s:s, s:O, s:O*}", "job", job, "record",
                                            record, "stamp", stamp));
        }
    }
out:
    free(owner);
    free(set);
    free(text);
    free(who);
    return rc;
}

/* Results sent to a client that has not acknowledged them in a while went
 * astray (it restarted, or the link dropped): send them again. */
void controller_check_clients(controller_t *c, double now)
{
    for (size_t i = 0; i < c->nclients; i++) {
        client_t *cl = &c->clients[i];
        if (cl->resending == RESEND_NONE &&
            now - cl->last_seen < 3 * c->resend_interval) {
            cl->resending = RESEND_STALE;
            cl->resend_after = 0;
        }
    }
}

/* One page of undelivered results per client and turn. */
void controller_resend(controller_t *c)
{
    double now = clab_now();
    for (size_t i = 0; i < c->nclients; i++) {
        client_t *cl = &c->clients[i];
        if (cl->resending == RESEND_NONE)
            continue;
        double before = cl->resending == RESEND_ALL ? now + 1 : now - c->resend_interval;
        if (!cl->outgoing)
            cl->outgoing = json_array();
        int n = clab_store_undelivered(c->store, cl->id, &cl->resend_after, before, now,
                                       MAX_BATCH, cl->outgoing);
        if (n < MAX_BATCH)
            cl->resending = RESEND_NONE;
    }
}

static int send_results(controller_t *c, client_t *cl, clab_buf_t *b)
{
    clab_buf_puts(b, "]}");
    int rc = clab_proto_send_text(c->clients_sock, cl->id, strlen(cl->id), "results",
                                  b->data, b->len);
    b->len = 0;
    return rc;
}

/* Sends cl's outgoing results in messages of at most MAX_BATCH results
 * and RESULTS_MSG_BYTES. */
static void flush_client(controller_t *c, client_t *cl)
{
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
}

void controller_flush_results(controller_t *c)
{
    for (size_t i = 0; i < c->nclients; i++) {
        client_t *cl = &c->clients[i];
        if (!cl->outgoing)
            continue;
        flush_client(c, cl);
        json_decref(cl->outgoing);
        cl->outgoing = NULL;
    }
}

void controller_flush_replies(controller_t *c)
{
    size_t i;
    json_t *r;
    json_array_foreach(c->replies, i, r)
    {
        const char *peer = json_string_value(json_object_get(r, "peer"));
        size_t plen = json_string_length(json_object_get(r, "peer"));
        const char *type = json_string_value(json_object_get(r, "type"));
        int rc = clab_proto_send(c->clients_sock, peer, plen, type,
                                 json_object_get(r, "body"));
        if (rc)
            clab_warn("reply %s: %s", type, strerror(-rc));
    }
    json_array_clear(c->replies);
}

void controller_drop_outgoing(controller_t *c)
{
    json_array_clear(c->replies);
    json_object_clear(c->engine_acks);
    for (size_t i = 0; i < c->nclients; i++) {
        json_decref(c->clients[i].outgoing);
        c->clients[i].outgoing = NULL;
    }
}

void controller_free_clients(controller_t *c)
{
    controller_drop_outgoing(c);
    free(c->clients);
    c->clients = NULL;
    c->nclients = 0;
}
