/* The controller's engine side: engines join with a heartbeat (claiming
 * what they still hold after a controller restart), take tasks up to the
 * prefetch, send results, and are dropped when they say goodbye or fall
 * silent, their tasks going back to the queue or failing as `engine lost`. */
#include "controller_i.h"

#include "buf.h"
#include "log.h"
#include "record.h"

#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void controller_proof(const controller_t *c, const char *id, const char *incarnation,
                      const char *job, char out[CONTROLLER_PROOF_HEX])
{
    unsigned char mac[CLAB_SHA256_LEN];
    /* NUL-separated: no two (id, incarnation, job) give the same text. */
    const void *parts[] = {id, incarnation, job};
    size_t lens[] = {strlen(id) + 1, strlen(incarnation) + 1, strlen(job)};
    clab_hmac_sha256(c->proof_key, sizeof c->proof_key, parts, lens, 3, mac);
    clab_hex(mac, (CONTROLLER_PROOF_HEX - 1) / 2, out);
}

/* Whether proof (a JSON value from an engine) is job's for engine e. */
int controller_proof_ok(const controller_t *c, const engine_peer_t *e, const char *job,
                        const json_t *proof)
{
    char want[CONTROLLER_PROOF_HEX];
    const char *got = json_string_value(proof);
    if (!got || strlen(got) != CONTROLLER_PROOF_HEX - 1)
        return 0;
    controller_proof(c, e->id, e->incarnation, job, want);
    /* Constant time: no early exit that would tell how much was right. */
    unsigned char diff = 0;
    for (size_t i = 0; i < CONTROLLER_PROOF_HEX - 1; i++)
        diff |= (unsigned char)(want[i] ^ got[i]);
    return diff == 0;
}

/* What the controller vouches for about who ran a task, delivered beside
 * its record: the engine id the task was dispatched to, the address its
 * connection comes from (this host on ipc://, where every engine runs
 * here) and which dispatch of the point this was (the store's count of
 * lost engines, which no engine can see or change). The engine's own word
 * on its host stays in the record. */
json_t *controller_stamp(const controller_t *c, const engine_peer_t *e, const char *addr,
                         int attempt)
{
    /* On ipc:// ZeroMQ's Peer-Address is the peer's credentials, not a
     * host: every engine there runs on this one. */
    int local = strncmp(c->engine_bind, "ipc://", 6) == 0 || !addr || !*addr;
    return json_pack("{s:s, s:s, s:i}", "clab.engine", e->id, "clab.host",
                     local ? c->host : addr, "clab.attempt", attempt < 1 ? 1 : attempt);
}

static engine_peer_t *find_engine(controller_t *c, const char *id)
{
    for (size_t i = 0; id && i < c->nengines; i++)
        if (strcmp(c->engines[i].id, id) == 0)
            return &c->engines[i];
    return NULL;
}

json_t *controller_engines_json(const controller_t *c)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->nengines; i++) {
        const engine_peer_t *e = &c->engines[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:I}", "id", e->id,
                                             "host", e->host, "pid", (json_int_t)e->pid,
                                             "state", e->ninflight ? "busy" : "idle",
                                             "tasks", (json_int_t)e->tasks_done));
    }
    return arr;
}

static void send_cancel(controller_t *c, const engine_peer_t *e, json_t *jobs)
{
    json_t *b = json_pack("{s:O}", "jobs", jobs);
    clab_proto_send(c->engines_sock, e->id, strlen(e->id), "cancel", b);
    json_decref(b);
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

static int engine_holds(const engine_peer_t *e, const char *job)
{
    for (int i = 0; i < e->ninflight; i++)
        if (strcmp(e->inflight[i].job, job) == 0)
            return 1;
    return 0;
}

/* Takes job off engine e's list; returns 1 when it was there. */
int controller_engine_forget(engine_peer_t *e, const char *job)
{
    for (int i = 0; i < e->ninflight; i++) {
        if (strcmp(e->inflight[i].job, job) != 0)
            continue;
        free(e->inflight[i].job);
        memmove(&e->inflight[i], &e->inflight[i + 1],
                (size_t)(e->ninflight - i - 1) * sizeof e->inflight[0]);
        e->ninflight--;
        return 1;
    }
    return 0;
}

/* STATE/engines: one line "ID HOST PID" per engine that has joined, for
 * launchers (clab-cluster status counts each Slurm job's and ssh host's
 * engines) without a mount or a protocol client. Rewritten whole on each
 * join and leave; not fsynced, it is a view, not state. */
void controller_publish_engines(const controller_t *c)
{
    char path[4096];
    clab_buf_t b = {0};
    int rc = 0;
    if (snprintf(path, sizeof path, "%s/engines", c->state_dir) >= (int)sizeof path)
        return;
    for (size_t i = 0; i < c->nengines && !rc; i++)
        rc = clab_buf_printf(&b, "%s %s %ld\n", c->engines[i].id, c->engines[i].host,
                             c->engines[i].pid);
    if (!rc)
        rc = clab_write_file_atomic(path, b.data ? b.data : "", b.len, 0600, 0);
    if (rc)
        clab_warn("cannot write %s: %s", path, strerror(-rc));
    clab_buf_free(&b);
}

/* Drops an engine; its tasks go back to the queue, or fail as `engine lost`
 * once they have used up their retries. count_try is 0 for an engine that
 * said goodbye: its tasks were stopped, not lost. */
static void drop_engine(controller_t *c, engine_peer_t *e, int count_try, const char *why)
{
    clab_info("engine %s (%s pid %ld) left: %s; %d task(s) back to the queue", e->id,
              e->host, e->pid, why, e->ninflight);
    for (int i = 0; i < e->ninflight; i++) {
        char *body = NULL;
        const char *job = e->inflight[i].job;
        int tries = clab_store_requeue(c->store, job, count_try, &body);
        if (tries >= 0) {
            c->running--;
            c->queued++;
            if (count_try && tries > c->retries) {
                clab_warn("task %s: engine lost %d times, giving up", job, tries);
                json_t *rec = lost_record(body, e->id, e->host);
                /* The dispatch that was lost last: tries counts it already. */
                json_t *stamp = controller_stamp(c, e, e->addr, tries);
                controller_finish_task(c, job, rec, stamp);
                json_decref(stamp);
                json_decref(rec);
            }
        }
        free(body);
        free(e->inflight[i].job);
    }
    json_decref(e->files_sent);
    size_t idx = (size_t)(e - c->engines);
    memmove(e, e + 1, (c->nengines - idx - 1) * sizeof *e);
    c->nengines--;
    controller_publish_engines(c);
}

/* The job id of an entry of a heartbeat's held list: {"job", "proof"}
 * (a string from engines before proofs of dispatch). */
static const char *held_job(const json_t *h)
{
    return json_is_string(h) ? json_string_value(h)
                             : json_string_value(json_object_get(h, "job"));
}

/* After a controller restart an engine may still hold tasks we put back
 * in the queue: let it keep them rather than run them twice. Only a task
 * it shows the proof of dispatch for (one we gave this engine in this
 * incarnation) is its to keep: any holder of engine.json can list job
 * ids, none can sign them. */
static void claim_held(controller_t *c, engine_peer_t *e, const json_t *held)
{
    json_t *drop = json_array(), *j;
    size_t i, forged = 0;
    json_array_foreach(held, i, j)
    {
        const char *job = held_job(j);
        if (!job)
            continue;
        if (engine_holds(e, job))
            continue; /* listed twice: one claim */
        int proven = controller_proof_ok(c, e, job, json_object_get(j, "proof"));
        forged += !proven;
        if (proven && e->ninflight < MAX_PREFETCH &&
            clab_store_claim(c->store, job, e->id) == 1) {
            e->inflight[e->ninflight++] = (held_t){.job = strdup(job)};
            c->queued--;
            c->running++;
        } else {
            /* Given to another engine meanwhile (this one was silent too
             * long), finished, cancelled, or never given to it: do not
             * run it twice. */
            json_array_append_new(drop, json_string(job));
        }
    }
    if (forged)
        clab_warn("engine %s (%s) claimed %zu task(s) without a proof of dispatch: "
                  "refused",
                  e->id, e->addr[0] ? e->addr : e->host, forged);
    clab_info("engine %s joined (%s pid %ld), holding %d task(s)", e->id, e->host, e->pid,
              e->ninflight);
    if (json_array_size(drop) > 0) {
        clab_info("engine %s: %zu held task(s) cancelled", e->id, json_array_size(drop));
        send_cancel(c, e, drop);
    }
    json_decref(drop);
}

/* An engine in a Slurm job says when the job ends ("deadline", seconds
 * since the epoch); an engine that does not (older ones too) has none. */
static void set_deadline(engine_peer_t *e, const json_t *body)
{
    const json_t *d = json_object_get(body, "deadline");
    e->deadline =
        json_is_number(d) && json_number_value(d) > 0 ? json_number_value(d) : 0;
}

static engine_peer_t *register_engine(controller_t *c, const char *id,
                                      const clab_msg_t *m)
{
    const json_t *body = m->body;
    engine_peer_t *p = realloc(c->engines, (c->nengines + 1) * sizeof *p);
    if (!p)
        return NULL;
    c->engines = p;
    engine_peer_t *e = &c->engines[c->nengines++];
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", id);
    const char *host = json_string_value(json_object_get(body, "host"));
    snprintf(e->host, sizeof e->host, "%s", host ? host : "?");
    e->pid = (long)json_integer_value(json_object_get(body, "pid"));
    const char *inc = json_string_value(json_object_get(body, "incarnation"));
    snprintf(e->incarnation, sizeof e->incarnation, "%s", inc ? inc : "");
    e->tasks_done = (long)json_integer_value(json_object_get(body, "tasks"));
    snprintf(e->addr, sizeof e->addr, "%s", m->peer_addr);
    set_deadline(e, body);
    claim_held(c, e, json_object_get(body, "held"));
    controller_publish_engines(c);
    return e;
}

/* e is NULL for a goodbye from an engine we do not know. */
static void on_bye(controller_t *c, engine_peer_t *e, const clab_msg_t *m)
{
    if (e)
        drop_engine(c, e, 0, "stopped");
}

/* Whether m comes from e's process: every message but a heartbeat (which
 * may announce a new one) carries the incarnation e joined with, which
 * the controller never tells anyone. Another holder of engine.json that
 * takes e's id over (ZeroMQ hands an id to its newest connection) cannot
 * speak for it, even with the tasks and proofs it is sent meanwhile. */
static int same_process(const engine_peer_t *e, const clab_msg_t *m)
{
    const char *inc = json_string_value(json_object_get(m->body, "incarnation"));
    /* An engine that joined without one (none of ours) is taken at its id. */
    if (strcmp(inc ? inc : "", e->incarnation) == 0)
        return 1;
    clab_warn("%s for engine %s from %s, not the process that joined under that id: "
              "dropped",
              m->type, e->id, m->peer_addr[0] ? m->peer_addr : "this host");
    return 0;
}

static int listed(const json_t *held, const char *job)
{
    size_t i;
    json_t *j;
    json_array_foreach(held, i, j)
    {
        const char *h = held_job(j);
        if (h && strcmp(h, job) == 0)
            return 1;
    }
    return 0;
}

/* What e's heartbeat says it holds (queued, running, finished but not
 * acknowledged) against what we believe it holds: a task it does not list
 * although it had its task message when it made the heartbeat (the
 * heartbeat echoes the last stamp it received, from this epoch) is not
 * there (a message lost on the way): back to the queue, no try counted. */
static void reconcile(controller_t *c, engine_peer_t *e, const json_t *body)
{
    const json_t *held = json_object_get(body, "held");
    const json_t *seen = json_object_get(body, "dispatch");
    const char *epoch = json_string_value(json_object_get(body, "dispatch_epoch"));
    if (!json_is_array(held) || !json_is_integer(seen))
        return;
    int64_t upto = epoch && strcmp(epoch, c->epoch) == 0 ? json_integer_value(seen) : 0;
    for (int i = 0; i < e->ninflight;) {
        char *job = e->inflight[i].job;
        if (e->inflight[i].dispatch > upto || listed(held, job)) {
            i++;
            continue;
        }
        clab_warn("engine %s does not hold task %s: back to the queue", e->id, job);
        if (clab_store_requeue(c->store, job, 0, NULL) >= 0) {
            c->running--;
            c->queued++;
        }
        controller_engine_forget(e, job);
    }
}

/* Heartbeats go both ways: the engine learns we are alive. One from a
 * new incarnation of a known engine is a restart: the old process died
 * with its tasks (a try counted), then the new one joins. */
static void on_hb(controller_t *c, engine_peer_t *e, const clab_msg_t *m)
{
    const char *inc = json_string_value(json_object_get(m->body, "incarnation"));
    if (inc && strcmp(inc, e->incarnation) != 0) {
        char id[sizeof e->id];
        snprintf(id, sizeof id, "%s", e->id);
        drop_engine(c, e, 1, "restarted");
        if (!(e = register_engine(c, id, m)))
            return;
        e->last_seen = clab_mono();
    } else {
        reconcile(c, e, m->body);
        set_deadline(e, m->body);
    }
    /* The echoed number tells the engine which heartbeat this answers;
     * sent, the last task message it should have had before this one. */
    json_t *b = json_pack("{s:s, s:I, s:I}", "epoch", c->epoch, "hb",
                          json_integer_value(json_object_get(m->body, "hb")), "sent",
                          (json_int_t)e->last_sent);
    clab_proto_send(c->engines_sock, e->id, strlen(e->id), "hb", b);
    json_decref(b);
}

/* The holder's answer to a take-back: "given" means it dropped the task
 * and will not start it, so the task goes back to the queue (no try
 * counted) for the next dispatch; otherwise it had started it. An answer
 * for a task it no longer holds here (its result came first, it was
 * cancelled, or the engine was counted lost) changes nothing. */
static void on_takeback(controller_t *c, engine_peer_t *e, const clab_msg_t *m)
{
    const char *job = json_string_value(json_object_get(m->body, "job"));
    const json_t *given = json_object_get(m->body, "given");
    held_t *h = NULL;
    for (int k = 0; job && k < e->ninflight && !h; k++)
        if (strcmp(e->inflight[k].job, job) == 0)
            h = &e->inflight[k];
    if (!h || !json_is_boolean(given)) {
        clab_debug("take-back answer from engine %s for a task it does not hold", e->id);
        return;
    }
    if (!json_is_true(given)) {
        h->takeback = TAKEBACK_KEPT;
        return;
    }
    /* Given back unasked because its files did not reach the engine (a
     * task message lost with its data): they go with its next task. */
    const json_t *need = json_object_get(m->body, "need"), *n;
    size_t i;
    json_array_foreach(need, i, n) if (json_is_string(n))
        json_object_del(e->files_sent, json_string_value(n));
    if (json_array_size(need))
        clab_info("task %s given back by engine %s, which lacks %zu of its files", job,
                  e->id, json_array_size(need));
    else
        clab_info("task %s taken back from engine %s for an idle engine", job, e->id);
    if (clab_store_requeue(c->store, job, 0, NULL) >= 0) {
        c->running--;
        c->queued++;
    }
    controller_engine_forget(e, job);
}

/* Who may send a message: any peer, a peer that joins by sending it, or
 * only an engine that has joined (which the message then shows alive). */
enum sender { ANY_PEER, JOINS, JOINED };

static const struct {
    const char *type;
    enum sender from;
    void (*run)(controller_t *c, engine_peer_t *e, const clab_msg_t *m);
} engine_messages[] = {
    {"bye", ANY_PEER, on_bye},
    {"hb", JOINS, on_hb},
    {"result", JOINED, controller_on_result},
    {"takeback", JOINED, on_takeback},
};

void controller_handle_engine(controller_t *c, clab_msg_t *m)
{
    char id[CLAB_PROTO_MAX_PEER + 1];
    size_t n = sizeof engine_messages / sizeof engine_messages[0], k = 0;
    if (controller_peer_id(m, id) < 0) {
        clab_warn("engine message with a bad routing id dropped");
        return;
    }
    while (k < n && strcmp(engine_messages[k].type, m->type) != 0)
        k++;
    engine_peer_t *e = find_engine(c, id);
    if (e && k < n && engine_messages[k].from != JOINS && !same_process(e, m))
        return;
    if (k < n && engine_messages[k].from == ANY_PEER) {
        engine_messages[k].run(c, e, m);
        return;
    }
    if (!e && k < n && engine_messages[k].from == JOINS)
        e = register_engine(c, id, m);
    if (!e) {
        clab_warn("%s from unknown engine %s dropped", m->type, id);
        return;
    }
    e->last_seen = clab_mono();
    snprintf(e->addr, sizeof e->addr, "%s", m->peer_addr);
    if (k == n) {
        clab_warn("unknown message %s from engine %s dropped", m->type, id);
        return;
    }
    engine_messages[k].run(c, e, m);
}

void controller_stop_running(controller_t *c, const json_t *running)
{
    size_t i;
    json_t *r;
    json_array_foreach(running, i, r)
    {
        const char *job = json_string_value(json_object_get(r, "job"));
        engine_peer_t *e =
            find_engine(c, json_string_value(json_object_get(r, "engine")));
        if (!e || !controller_engine_forget(e, job))
            continue;
        json_t *jobs = json_pack("[s]", job);
        send_cancel(c, e, jobs);
        json_decref(jobs);
    }
}

void controller_check_engines(controller_t *c, double now)
{
    for (size_t i = 0; i < c->nengines;) {
        engine_peer_t *e = &c->engines[i];
        if (now - e->last_seen > c->heartbeat_timeout)
            drop_engine(c, e, 1, "no heartbeat");
        else
            i++;
    }
}

void controller_free_engines(controller_t *c)
{
    for (size_t i = 0; i < c->nengines; i++) {
        for (int k = 0; k < c->engines[i].ninflight; k++)
            free(c->engines[i].inflight[k].job);
        json_decref(c->engines[i].files_sent);
    }
    free(c->engines);
    c->engines = NULL;
    c->nengines = 0;
}
