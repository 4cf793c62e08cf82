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

/* Seconds an engine has to answer a take-back before the task is taken to
 * have started there (a "given" that comes later is still honoured). */
#define TAKEBACK_WAIT 5.0

static engine_t *find_engine(controller_t *c, const char *id)
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
        const engine_t *e = &c->engines[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:I}", "id", e->id,
                                             "host", e->host, "pid", (json_int_t)e->pid,
                                             "state", e->ninflight ? "busy" : "idle",
                                             "tasks", (json_int_t)e->tasks_done));
    }
    return arr;
}

static void send_cancel(controller_t *c, const engine_t *e, json_t *jobs)
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

/* Takes job off engine e's list; returns 1 when it was there. */
static int engine_forget(engine_t *e, const char *job)
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
        rc = clab_write_file_atomic(path, b.data ? b.data : "", b.len, 0644, 0);
    if (rc)
        clab_warn("cannot write %s: %s", path, strerror(-rc));
    clab_buf_free(&b);
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
        const char *job = e->inflight[i].job;
        int tries = clab_store_requeue(c->store, job, count_try, &body);
        if (tries >= 0) {
            c->running--;
            c->queued++;
            if (count_try && tries > c->retries) {
                clab_warn("task %s: engine lost %d times, giving up", job, tries);
                json_t *rec = lost_record(body, e->id, e->host);
                controller_finish_task(c, job, rec);
                json_decref(rec);
            }
        }
        free(body);
        free(e->inflight[i].job);
    }
    size_t idx = (size_t)(e - c->engines);
    memmove(e, e + 1, (c->nengines - idx - 1) * sizeof *e);
    c->nengines--;
    controller_publish_engines(c);
}

/* After a controller restart an engine may still hold tasks we put back
 * in the queue: let it keep them rather than run them twice. */
static void claim_held(controller_t *c, engine_t *e, const json_t *held)
{
    json_t *drop = json_array(), *j;
    size_t i;
    json_array_foreach(held, i, j)
    {
        if (!json_is_string(j))
            continue;
        if (e->ninflight < MAX_PREFETCH &&
            clab_store_claim(c->store, json_string_value(j), e->id) == 1) {
            e->inflight[e->ninflight++] = (held_t){.job = strdup(json_string_value(j))};
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
        send_cancel(c, e, drop);
    }
    json_decref(drop);
}

/* An engine in a Slurm job says when the job ends ("deadline", seconds
 * since the epoch); an engine that does not (older ones too) has none. */
static void set_deadline(engine_t *e, const json_t *body)
{
    const json_t *d = json_object_get(body, "deadline");
    e->deadline =
        json_is_number(d) && json_number_value(d) > 0 ? json_number_value(d) : 0;
}

static engine_t *register_engine(controller_t *c, const char *id, const json_t *body)
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
    const char *inc = json_string_value(json_object_get(body, "incarnation"));
    snprintf(e->incarnation, sizeof e->incarnation, "%s", inc ? inc : "");
    e->tasks_done = (long)json_integer_value(json_object_get(body, "tasks"));
    set_deadline(e, body);
    claim_held(c, e, json_object_get(body, "held"));
    controller_publish_engines(c);
    return e;
}

/* e is NULL for a goodbye from an engine we do not know. */
static void on_bye(controller_t *c, engine_t *e, const clab_msg_t *m)
{
    if (e)
        drop_engine(c, e, 0, "stopped");
}

static int listed(const json_t *held, const char *job)
{
    size_t i;
    json_t *j;
    json_array_foreach(held, i, j) if (json_is_string(j) &&
                                       strcmp(json_string_value(j), job) == 0) return 1;
    return 0;
}

/* What e's heartbeat says it holds (queued, running, finished but not
 * acknowledged) against what we believe it holds: a task it does not list
 * although it had its task message when it made the heartbeat (the
 * heartbeat echoes the last stamp it received, from this epoch) is not
 * there (a message lost on the way): back to the queue, no try counted. */
static void reconcile(controller_t *c, engine_t *e, const json_t *body)
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
        engine_forget(e, job);
    }
}

/* Heartbeats go both ways: the engine learns we are alive. One from a
 * new incarnation of a known engine is a restart: the old process died
 * with its tasks (a try counted), then the new one joins. */
static void on_hb(controller_t *c, engine_t *e, const clab_msg_t *m)
{
    const char *inc = json_string_value(json_object_get(m->body, "incarnation"));
    if (inc && strcmp(inc, e->incarnation) != 0) {
        char id[sizeof e->id];
        snprintf(id, sizeof id, "%s", e->id);
        drop_engine(c, e, 1, "restarted");
        if (!(e = register_engine(c, id, m->body)))
            return;
        e->last_seen = clab_mono();
    } else {
        reconcile(c, e, m->body);
        set_deadline(e, m->body);
    }
    /* The echoed number tells the engine which heartbeat this answers. */
    json_t *b = json_pack("{s:s, s:I}", "epoch", c->epoch, "hb",
                          json_integer_value(json_object_get(m->body, "hb")));
    clab_proto_send(c->engines_sock, e->id, strlen(e->id), "hb", b);
    json_decref(b);
}

/* The engine keeps job's result until this acknowledgement, sent after
 * the commit that stored it. */
static void queue_ack(controller_t *c, const engine_t *e, const char *job)
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

/* A result is accepted only from the engine that holds the task; the
 * store takes each job's first result only, so a copy is acknowledged
 * without effect. */
static void on_result(controller_t *c, engine_t *e, const clab_msg_t *m)
{
    const char *job = json_string_value(json_object_get(m->body, "job"));
    json_t *record = json_object_get(m->body, "record");
    if (!job || !json_is_object(record) ||
        !json_is_boolean(json_object_get(record, "ok"))) {
        clab_warn("malformed result from engine %s dropped", e->id);
        return;
    }
    if (!engine_forget(e, job)) {
        /* Taken from it (it was counted lost, the task went elsewhere or
         * was cancelled) or stored already: the acknowledgement only
         * stops it from sending the result again. */
        clab_info("result for %s from engine %s, which does not hold it, refused", job,
                  e->id);
        queue_ack(c, e, job);
        return;
    }
    int rc = controller_finish_task(c, job, record);
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

/* The holder's answer to a take-back: "given" means it dropped the task
 * and will not start it, so the task goes back to the queue (no try
 * counted) for the next dispatch; otherwise it had started it. An answer
 * for a task it no longer holds here (its result came first, it was
 * cancelled, or the engine was counted lost) changes nothing. */
static void on_takeback(controller_t *c, engine_t *e, const clab_msg_t *m)
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
    clab_info("task %s taken back from engine %s for an idle engine", job, e->id);
    if (clab_store_requeue(c->store, job, 0, NULL) >= 0) {
        c->running--;
        c->queued++;
    }
    engine_forget(e, job);
}

/* Who may send a message: any peer, a peer that joins by sending it, or
 * only an engine that has joined (which the message then shows alive). */
enum sender { ANY_PEER, JOINS, JOINED };

static const struct {
    const char *type;
    enum sender from;
    void (*run)(controller_t *c, engine_t *e, const clab_msg_t *m);
} engine_messages[] = {
    {"bye", ANY_PEER, on_bye},
    {"hb", JOINS, on_hb},
    {"result", JOINED, on_result},
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
    engine_t *e = find_engine(c, id);
    if (k < n && engine_messages[k].from == ANY_PEER) {
        engine_messages[k].run(c, e, m);
        return;
    }
    if (!e && k < n && engine_messages[k].from == JOINS)
        e = register_engine(c, id, m->body);
    if (!e) {
        clab_warn("%s from unknown engine %s dropped", m->type, id);
        return;
    }
    e->last_seen = clab_mono();
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
        engine_t *e = find_engine(c, json_string_value(json_object_get(r, "engine")));
        if (!e || !engine_forget(e, job))
            continue;
        json_t *jobs = json_pack("[s]", job);
        send_cancel(c, e, jobs);
        json_decref(jobs);
    }
}

void controller_check_engines(controller_t *c, double now)
{
    for (size_t i = 0; i < c->nengines;) {
        engine_t *e = &c->engines[i];
        if (now - e->last_seen > c->heartbeat_timeout)
            drop_engine(c, e, 1, "no heartbeat");
        else
            i++;
    }
}

/* Sends a stored task (a JSON object's text) to e, stamped with the next
 * dispatch number and our epoch, which e's heartbeats echo: a task sent
 * after the heartbeat was made is not missing from it, only in flight. */
static int send_task(controller_t *c, engine_t *e, const char *body, int64_t *stamp)
{
    clab_buf_t b = {0};
    *stamp = ++c->dispatch_seq;
    int rc =
        clab_buf_printf(&b, "{\"dispatch\":%lld,\"epoch\":\"%s\"%s%s", (long long)*stamp,
                        c->epoch, body[1] == '}' ? "" : ",", body + 1);
    if (!rc)
        rc = clab_proto_send_text(c->engines_sock, e->id, strlen(e->id), "task", b.data,
                                  b.len);
    clab_buf_free(&b);
    return rc;
}

/* The sets e must not be given, as the text of a JSON array for
 * clab_store_take, or NULL for none: those whose points (90th percentile
 * of their finished ones) take longer than e has left before its
 * deadline. The tasks e holds come first, so the time left is shared out
 * as if each took as long as the new one. Sets with no finished point are
 * not listed: nothing is known, so they are dispatched. */
static char *too_long(controller_t *c, const engine_t *e)
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
static int feed_one(controller_t *c, engine_t *e)
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
    rc = send_task(c, e, body, &stamp);
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
static held_t *spare_task(engine_t *e, int *count)
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
    engine_t *holder = NULL;
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
        engine_t *e = &c->engines[i];
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
        engine_t *e = &c->engines[i];
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
            engine_t *e = &c->engines[i];
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

void controller_free_engines(controller_t *c)
{
    for (size_t i = 0; i < c->nengines; i++)
        for (int k = 0; k < c->engines[i].ninflight; k++)
            free(c->engines[i].inflight[k].job);
    free(c->engines);
    c->engines = NULL;
    c->nengines = 0;
}
