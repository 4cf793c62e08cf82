/* The controller's dispatch: handing queued tasks to engines in rounds
 * (every idle engine first, then up to the prefetch), each task signed
 * with its proof of dispatch; keeping engines with a deadline off points
 * that would outlast it (and draining those left with nothing); and, with
 * the queue empty, taking back a held task that has not started for an
 * idle engine. */
#include "controller_i.h"

#include "base64.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds an engine has to answer a take-back before the task is taken to
 * have started there (a "given" that comes later is still honoured). */
#define TAKEBACK_WAIT 5.0

/* The data of the files the task body names that e has not been sent,
 * as the task's "file_data" ({"SHA256": "BASE64"}) into b, their hashes
 * into sent (marked e's once the task has gone). A task with no files
 * costs a strstr. */
static int file_data(controller_t *c, const engine_peer_t *e, const char *body,
                     clab_buf_t *b, json_t *sent)
{
    if (!strstr(body, "\"files\":"))
        return 0;
    json_t *task = json_loads(body, 0, NULL), *v;
    const char *name;
    int rc = task ? 0 : -ENOMEM;
    json_object_foreach(json_object_get(task, "files"), name, v)
    {
        const char *hash = json_string_value(v);
        char *data = NULL;
        size_t len = 0;
        if (rc || !hash || json_object_get(e->files_sent, hash) ||
            json_object_get(sent, hash))
            continue;
        if ((rc = clab_store_file_get(c->store, hash, &data, &len)) == 0) {
            rc = clab_buf_puts(b, json_object_size(sent) ? "," : ",\"file_data\":{");
            rc = rc ? rc : clab_buf_printf(b, "\"%s\":\"", hash);
            rc = rc ? rc : clab_base64_encode(data, len, b);
            rc = rc ? rc : clab_buf_puts(b, "\"");
            rc = rc ? rc : json_object_set_new(sent, hash, json_true());
        }
        free(data);
    }
    if (!rc && json_object_size(sent))
        rc = clab_buf_puts(b, "}");
    json_decref(task);
    return rc;
}

/* Sends a stored task (a JSON object's text) to e, stamped with the next
 * dispatch number and our epoch, which e's heartbeats echo: a task sent
 * after the heartbeat was made is not missing from it, only in flight.
 * The data of the job's files go with the first task that names them in
 * e's process (file_data). */
static int send_task(controller_t *c, engine_peer_t *e, const char *job, const char *body,
                     int64_t *stamp)
{
    clab_buf_t b = {0};
    char proof[CONTROLLER_PROOF_HEX];
    json_t *sent = json_object();
    *stamp = ++c->dispatch_seq;
    controller_proof(c, e->id, e->incarnation, job, proof);
    int rc = clab_buf_printf(&b, "{\"dispatch\":%lld,\"epoch\":\"%s\",\"proof\":\"%s\"",
                             (long long)*stamp, c->epoch, proof);
    rc = rc ? rc : sent ? file_data(c, e, body, &b, sent) : -ENOMEM;
    rc = rc ? rc : clab_buf_printf(&b, "%s%s", body[1] == '}' ? "" : ",", body + 1);
    if (!rc)
        rc = clab_proto_send_text(c->engines_sock, e->id, strlen(e->id), "task", b.data,
                                  b.len);
    if (!rc) {
        e->last_sent = *stamp;
        if (!e->files_sent && json_object_size(sent))
            e->files_sent = json_object();
        json_object_update(e->files_sent, sent);
    }
    json_decref(sent);
    clab_buf_free(&b);
    return rc;
}

/* The sets e must not be given, as the text of a JSON array for
 * clab_store_take, or NULL for none: those whose points (90th percentile
 * of their finished ones) take longer than e has left before its
 * deadline. The tasks e holds come first, so the time left is shared out
 * as if each took as long as the new one. Sets with no finished point are
 * not listed: nothing is known, so they are dispatched. */
static char *too_long(controller_t *c, const engine_peer_t *e)
{
    if (e->deadline <= 0)
        return NULL;
    double left = (e->deadline - clab_now()) / (e->ninflight + 1);
    /* Called per task handed out: with time enough for every set, build
     * no list (and the store's query then reads no JSON). */
    if (clab_estimate_longest(c->estimate) <= left)
        return NULL;
    json_t *sets = json_array();
    char *text = NULL;
    if (sets && clab_estimate_longer_than(c->estimate, left, sets) > 0)
        text = json_dumps(sets, JSON_COMPACT);
    json_decref(sets);
    return text;
}

/* Gives e the oldest queued task, unless it is of a set too long for its
 * deadline (then e is marked starved): 0 given, passed over or not sent (then it stays
 * queued and e is left alone until the next dispatch), -1 when the queue
 * turned out empty or the store failed. */
static int feed_one(controller_t *c, engine_peer_t *e)
{
    char *job = NULL, *body = NULL, *skip = too_long(c, e);
    int64_t stamp;
    int rc = clab_store_take(c->store, e->id, skip, &job, &body);
    if (rc == 0 && skip) {
        /* Only sets expected to outlast e's deadline are queued. */
        free(skip);
        e->starved = 1;
        return 0;
    }
    free(skip);
    if (rc <= 0) {
        if (rc == 0)
            c->queued = 0; /* the count drifted: the store is the truth */
        return -1;
    }
    rc = send_task(c, e, job, body, &stamp);
    free(body);
    if (rc) {
        /* Not sent: back to the queue without counting a try. */
        clab_warn("task %s to engine %s: %s", job, e->id, strerror(-rc));
        clab_store_requeue(c->store, job, 0, NULL);
        free(job);
        e->unreachable = 1;
        return 0;
    }
    clab_debug("task %s -> engine %s", job, e->id);
    e->inflight[e->ninflight++] = (held_t){.job = job, .dispatch = stamp};
    c->queued--;
    c->running++;
    return 0;
}

/* The task e holds that is least likely to have started and may be asked
 * back: its newest one that was never asked, never its oldest (the one it
 * runs). NULL when there is none. */
static held_t *spare_task(engine_peer_t *e, int *count)
{
    held_t *last = NULL;
    *count = 0;
    for (int k = 1; k < e->ninflight; k++) {
        if (e->inflight[k].takeback == TAKEBACK_NONE) {
            last = &e->inflight[k];
            ++*count;
        }
    }
    return last;
}

/* Asks the engine holding the most unstarted tasks to give one back.
 * Returns 1 when asked, 0 when no engine holds one. */
static int ask_back(controller_t *c, double now)
{
    engine_peer_t *holder = NULL;
    held_t *h = NULL;
    int most = 0, n;
    for (size_t i = 0; i < c->nengines; i++) {
        held_t *t = spare_task(&c->engines[i], &n);
        if (n > most) {
            most = n;
            holder = &c->engines[i];
            h = t;
        }
    }
    if (!h)
        return 0;
    json_t *b = json_pack("{s:s}", "job", h->job);
    int rc =
        clab_proto_send(c->engines_sock, holder->id, strlen(holder->id), "takeback", b);
    json_decref(b);
    /* Unsent, it is not asked again: the holder is unreachable anyway. */
    h->takeback = rc ? TAKEBACK_KEPT : TAKEBACK_ASKED;
    h->asked = now;
    if (!rc)
        clab_debug("asking engine %s to give task %s back", holder->id, h->job);
    return 1;
}

/* With the queue empty, each idle engine gets a task another engine holds
 * but has not started. The holder is asked to give it back, and only its
 * answer "given" (on_takeback) puts the task back in the queue: a task it
 * started meanwhile is neither run twice nor lost. A holder that never
 * answers is handled by the heartbeat paths (reconcile, drop_engine). */
static void take_back(controller_t *c)
{
    double now = clab_mono();
    int idle = 0, asked = 0;
    for (size_t i = 0; i < c->nengines; i++) {
        engine_peer_t *e = &c->engines[i];
        idle += e->ninflight == 0 && !e->drained;
        for (int k = 0; k < e->ninflight; k++) {
            held_t *h = &e->inflight[k];
            if (h->takeback == TAKEBACK_ASKED && now - h->asked > TAKEBACK_WAIT)
                h->takeback = TAKEBACK_KEPT;
            asked += h->takeback == TAKEBACK_ASKED;
        }
    }
    while (asked < idle && ask_back(c, now))
        asked++;
}

/* An engine that holds nothing and was passed over for its deadline will
 * get nothing it can finish: it is told to drain (leave, exit 0, its slot
 * not silently lost). Only once, and it is then given nothing more. */
static void drain_starved(controller_t *c)
{
    for (size_t i = 0; i < c->nengines; i++) {
        engine_peer_t *e = &c->engines[i];
        if (!e->starved || e->ninflight > 0 || e->drained)
            continue;
        char why[200];
        snprintf(why, sizeof why,
                 "%.0f s left before its deadline; every queued set's points are "
                 "expected to take longer",
                 e->deadline - clab_now());
        json_t *b = json_pack("{s:s}", "reason", why);
        if (b &&
            clab_proto_send(c->engines_sock, e->id, strlen(e->id), "drain", b) == 0) {
            clab_info("engine %s told to drain: %s", e->id, why);
            e->drained = 1;
        }
        json_decref(b);
    }
}

/* In rounds: every engine's first task before any engine's second, and so
 * on up to the prefetch, so that no engine sits idle while another holds
 * a queued task; with nothing left in the queue, idle engines take over
 * held tasks that have not started. */
void controller_dispatch(controller_t *c)
{
    if (clab_mono() < c->dispatch_after)
        return;
    for (size_t i = 0; i < c->nengines; i++)
        c->engines[i].unreachable = c->engines[i].starved = 0;
    for (int level = 1; level <= c->prefetch && c->queued > 0; level++) {
        for (size_t i = 0; i < c->nengines && c->queued > 0; i++) {
            engine_peer_t *e = &c->engines[i];
            if (e->ninflight < level && !e->unreachable && !e->starved && !e->drained &&
                feed_one(c, e) < 0)
                goto out;
        }
    }
    if (c->queued == 0)
        take_back(c);
out:
    drain_starved(c);
}
