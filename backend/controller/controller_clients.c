/* The controller's client side: what clients (clabfs) send, dispatched
 * through one table, and the replies, collected during a turn and sent
 * only after the commit that made them true (controller.c), so nothing is
 * acknowledged that a crash could still take back. Results go to clients
 * by controller_results.c. */
#include "controller_i.h"

#include "base64.h"
#include "json.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    cl->unacked = 0; /* a new session: nothing of the last one is on its way */
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

/* The files a submit carries ("files": {"SHA256": "BASE64"}), each kept
 * in the store once its content is checked against its name. */
static void take_files(controller_t *c, const clab_msg_t *m, const char *client)
{
    const char *hash;
    json_t *v;
    json_object_foreach(json_object_get(m->body, "files"), hash, v)
    {
        clab_buf_t data = {0};
        unsigned char digest[CLAB_SHA256_LEN];
        char hex[CLAB_SHA256_HEX];
        int rc = json_is_string(v) ? clab_base64_decode(json_string_value(v),
                                                        json_string_length(v), &data)
                                   : -EINVAL;
        if (!rc) {
            clab_sha256(data.data ? data.data : "", data.len, digest);
            clab_hex(digest, CLAB_SHA256_LEN, hex);
            rc = strcmp(hex, hash) ? -EINVAL : 0;
        }
        if (!rc && clab_store_file_put(c->store, hash, data.data, data.len) < 0)
            clab_warn("file %.16s... of client %s not stored", hash, client);
        if (rc)
            clab_warn("file %.16s... of client %s is not what it is named: dropped", hash,
                      client);
        clab_buf_free(&data);
    }
}

/* Whether every file the task names is in the store: 1, 0 (the hashes it
 * lacks added to missing), or -1 for a "files" that is not
 * {"NAME": "SHA256"}. */
static int files_known(controller_t *c, const json_t *t, json_t *missing)
{
    json_t *files = json_object_get(t, "files"), *v;
    const char *name;
    int known = 1;
    if (!files)
        return 1;
    if (!json_is_object(files))
        return -1;
    json_object_foreach(files, name, v)
    {
        if (!json_is_string(v) || json_string_length(v) != CLAB_SHA256_HEX - 1)
            return -1;
        if (clab_store_file_has(c->store, json_string_value(v)) != 1) {
            json_object_set_new(missing, json_string_value(v), json_true());
            known = 0;
        }
    }
    return known;
}

/* Accepts the tasks the store now holds (new or known); a task the store
 * failed on and those after it are not acknowledged: the client sends
 * them again. So is a task that names a file the store does not have:
 * the answer says which ("missing"), for the client to send them. */
static json_t *on_submit(controller_t *c, client_t *cl, const clab_msg_t *m)
{
    json_t *tasks = json_object_get(m->body, "tasks"), *t;
    json_t *jobs = json_array(), *missing = json_object();
    size_t i, bad = 0;
    take_files(c, m, cl->id);
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
        json_object_del(t, "file_data");
        int known = files_known(c, t, missing);
        if (known == 0)
            continue;
        char *body = known > 0 ? task_body(t) : NULL;
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
    json_t *reply = json_pack("{s:o}", "jobs", jobs);
    if (reply && json_object_size(missing) > 0) {
        json_t *list = json_array(), *v;
        const char *hash;
        json_object_foreach(missing, hash, v)
            json_array_append_new(list, json_string(hash));
        json_object_set_new(reply, "missing", list);
    }
    json_decref(missing);
    return reply;
}

/* Forgets a client's unfinished tasks of one tag submitted up to its
 * number upto (all of them when upto < 0), or only the jobs listed when
 * jobs is not NULL; engines running them are told to stop (they report
 * nothing for a cancelled task). Tasks the client submitted after it
 * began the cancel stay: it holds them as pending, whichever of the two
 * messages came first. */
static void cancel_tag(controller_t *c, const char *client, const char *tag, int64_t upto,
                       const json_t *jobs)
{
    json_t *running = json_array();
    long queued = 0, nrunning = 0;
    int rc = jobs ? clab_store_cancel_jobs(c->store, client, tag, upto, jobs, running,
                                           &queued, &nrunning)
                  : clab_store_cancel(c->store, client, tag, upto, running, &queued,
                                      &nrunning);
    if (rc == 0) {
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
    const json_t *jobs = json_object_get(m->body, "jobs");
    if (tag)
        cancel_tag(c, cl->id, tag, json_is_integer(upto) ? json_integer_value(upto) : -1,
                   json_is_array(jobs) ? jobs : NULL);
    return json_pack("{s:s?}", "tag", tag);
}

static json_t *on_ack(controller_t *c, client_t *cl, const clab_msg_t *m)
{
    json_t *jobs = json_object_get(m->body, "jobs"), *j;
    size_t i;
    long n = 0;
    json_array_foreach(jobs, i, j) if (json_is_string(j))
    {
        clab_store_delivered(c->store, cl->id, json_string_value(j));
        n++;
    }
    /* Credit back (never below none: acks of a session before ours). */
    cl->unacked = n < cl->unacked ? cl->unacked - n : 0;
    cl->last_progress = clab_mono();
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
