/* The path of a result through the controller, in the order it takes:
 * the engine's `result` message (controller_on_result: taken only from the
 * process the task was dispatched to, stamped with who ran it), the store
 * (controller_finish_task: recorded once, queued for its client), and,
 * after the turn's commit (controller.c), the results messages to each
 * client and the acknowledgements to each engine (controller_flush_*);
 * results a client has not acknowledged are sent again
 * (controller_resend). */
#include "controller_i.h"

#include "buf.h"
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

/* The engine keeps job's result until this acknowledgement, sent after
 * the commit that stored it. */
static void queue_ack(controller_t *c, const engine_peer_t *e, const char *job)
{
    json_t *jobs = json_object_get(c->engine_acks, e->id);
    if (!jobs) {
        jobs = json_array();
        json_object_set_new(c->engine_acks, e->id, jobs);
    }
    json_array_append_new(jobs, json_string(job));
}

void controller_flush_acks(controller_t *c)
{
    const char *id;
    json_t *jobs;
    json_object_foreach(c->engine_acks, id, jobs)
    {
        json_t *b = json_pack("{s:O}", "jobs", jobs);
        int rc = clab_proto_send(c->engines_sock, id, strlen(id), "ack", b);
        if (rc)
            /* The engine sends the results again; they are acknowledged then. */
            clab_debug("ack to engine %s: %s", id, strerror(-rc));
        json_decref(b);
    }
    json_object_clear(c->engine_acks);
}

/* A result is accepted only from the engine that holds the task, with
 * the task's proof of dispatch (so neither another holder of engine.json
 * posting under its id nor an older process of the same engine can
 * finish it); the store takes each job's first result only, so a copy is
 * acknowledged without effect. The record is stamped with who ran it as
 * the controller knows it. */
void controller_on_result(controller_t *c, engine_peer_t *e, const clab_msg_t *m)
{
    const char *job = json_string_value(json_object_get(m->body, "job"));
    json_t *record = json_object_get(m->body, "record");
    if (!job || !json_is_object(record) ||
        !json_is_boolean(json_object_get(record, "ok"))) {
        clab_warn("malformed result from engine %s dropped", e->id);
        return;
    }
    if (!controller_proof_ok(c, e, job, json_object_get(m->body, "proof"))) {
        clab_warn("result for %s from engine %s (%s) without its proof of dispatch "
                  "refused",
                  job, e->id, m->peer_addr[0] ? m->peer_addr : e->host);
        queue_ack(c, e, job);
        return;
    }
    if (!controller_engine_forget(e, job)) {
        /* Taken from it (it was counted lost, the task went elsewhere or
         * was cancelled) or stored already: the acknowledgement only
         * stops it from sending the result again. */
        clab_info("result for %s from engine %s, which does not hold it, refused", job,
                  e->id);
        queue_ack(c, e, job);
        return;
    }
    int tries = clab_store_tries(c->store, job);
    json_t *stamp = tries < 0 ? NULL : controller_stamp(c, e, m->peer_addr, tries + 1);
    int rc = tries < 0 ? tries
             : stamp   ? controller_finish_task(c, job, record, stamp)
                       : -ENOMEM;
    json_decref(stamp);
    if (rc < 0) {
        /* Not stored: no ack, and the task stays the engine's, whose
         * copy is then accepted. */
        char *again = strdup(job);
        if (again)
            e->inflight[e->ninflight++] = (held_t){.job = again};
        return;
    }
    if (rc == 0)
        clab_debug("duplicate result for %s from %s ignored", job, e->id);
    else
        e->tasks_done++;
    queue_ack(c, e, job);
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
 * astray (it restarted, or the link dropped): send them again. A client
 * that acknowledged nothing for as long lost them, or its acks: its
 * credit starts afresh, or it would never be sent anything again. */
void controller_check_clients(controller_t *c, double now)
{
    for (size_t i = 0; i < c->nclients; i++) {
        client_t *cl = &c->clients[i];
        if (cl->unacked > 0 && now - cl->last_progress >= c->resend_interval)
            cl->unacked = 0;
        if (cl->resending == RESEND_NONE &&
            now - cl->last_seen < 3 * c->resend_interval) {
            cl->resending = RESEND_STALE;
            cl->resend_after = 0;
        }
    }
}

/* One page of undelivered results per client and turn, within its
 * credit: what it has not acknowledged, and what waits in outgoing for
 * the commit (a transaction may span turns, each adding a page). */
void controller_resend(controller_t *c)
{
    double now = clab_now();
    for (size_t i = 0; i < c->nclients; i++) {
        client_t *cl = &c->clients[i];
        long room = RESEND_CREDIT - cl->unacked -
                    (long)(cl->outgoing ? json_array_size(cl->outgoing) : 0);
        if (cl->resending == RESEND_NONE || room <= 0)
            continue;
        size_t max = room < MAX_BATCH ? (size_t)room : MAX_BATCH;
        double before = cl->resending == RESEND_ALL ? now + 1 : now - c->resend_interval;
        if (!cl->outgoing)
            cl->outgoing = json_array();
        int n = clab_store_undelivered(c->store, cl->id, &cl->resend_after, before, now,
                                       max, cl->outgoing);
        if (n < 0 || (size_t)n < max)
            cl->resending = RESEND_NONE;
    }
}

static int send_results(controller_t *c, client_t *cl, clab_buf_t *b, size_t n)
{
    clab_buf_puts(b, "]}");
    int rc = clab_proto_send_text(c->clients_sock, cl->id, strlen(cl->id), "results",
                                  b->data, b->len);
    b->len = 0;
    if (rc == 0) {
        if (cl->unacked == 0)
            cl->last_progress = clab_mono();
        cl->unacked += (long)n;
    }
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
            rc = send_results(c, cl, &b, inbatch);
            inbatch = 0;
        }
        clab_buf_puts(&b, inbatch ? "," : "{\"results\":[");
        clab_buf_add(&b, item.data, item.len);
        inbatch++;
    }
    if (!rc && inbatch)
        rc = send_results(c, cl, &b, inbatch);
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
