/* clab-hostile: a test tool that connects to a running controller with the
 * keys of a connection file and misbehaves, to show that the controller
 * (and, through the tasks it forwards, the engines) log and drop whatever
 * does not fit instead of crashing.
 *
 *   clab-hostile keygen
 *       prints a fresh CURVE key pair, "PUBLIC SECRET" (Z85), for tests
 *       that need a connection file with the wrong keys.
 *   Keys: --cluster FILE names the clients' connection file (cluster.json),
 *   --engine-file FILE the engines' (engine.json). The client socket is
 *   approached with the client key pair, the engine socket with the engine
 *   key pair; given one file only, its key pair serves on both sockets, so
 *   a test can knock with one role's key on the other role's socket.
 *
 *   clab-hostile --cluster FILE hello [--timeout S]
 *       connects as a client and says hello: exit 0 when welcomed, 3 when
 *       no welcome came within S seconds (default 3): a client the
 *       controller does not admit never hears anything.
 *   clab-hostile --engine-file FILE take [--timeout S]
 *       connects as an engine with free slots: exit 0 when the controller
 *       handed it a task (given back at once with a goodbye), 3 when no
 *       task came within S seconds.
 *   clab-hostile --engine-file FILE steal --job JOB [--timeout S]
 *       joins as an engine that holds nothing and posts a successful result
 *       for JOB, a task the controller gave to another engine: exit 0 when
 *       the controller acknowledged it (as it must, so that an engine stops
 *       resending), 3 when no acknowledgement came. Whether the result was
 *       taken is for the test to see in the controller's queue.
 *   clab-hostile --cluster FILE submit --experiment PATH --params JSON
 *                [--timeout S]
 *       connects as a client and submits one task; exit 0 when the
 *       controller accepted it, 3 when nothing was heard within S seconds.
 *   clab-hostile fake-controller --out FILE --experiment PATH [--params JSON]
 *       the other way round: listens as a controller (fresh CURVE keys,
 *       written with its endpoint to the engine connection file FILE), waits for
 *       an engine started on FILE, throws malformed frames, unknown
 *       messages, broken and oversized tasks at it, then gives it one good
 *       task for PATH (with JSON as its parameters), sent twice: exit 0
 *       when the engine answers it and still sends heartbeats afterwards.
 *   clab-hostile --cluster FILE [--engine-file FILE] attack [--experiment PATH]
 *       as a client and as an engine (without --engine-file, the
 *       --cluster file must be one from before the split, whose one key
 *       pair serves both): wrong frame counts, bad versions,
 *       types and bodies, unknown messages, out-of-order and replayed
 *       messages, garbage and huge submissions, a frame over the size
 *       limit, bad routing ids. With --experiment, also tasks that are
 *       valid but odd (tag of the wrong type, a timeout that is a string,
 *       long job ids, deep or big parameters) which a real engine must run
 *       and answer. Ends by checking that the controller still answers
 *       and no longer lists the tool's fake engine.
 *
 * Exit status: 0 done, 1 error, 2 usage, 3 not admitted, 4 the controller
 * stopped answering or an odd task never came back. */
#include "conninfo.h"
#include "json.h"
#include "log.h"
#include "protocol.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_PARTS 32
#define OVERSIZED (CLAB_PROTO_MAX_MSG + 1024 * 1024)

typedef struct {
    clab_conninfo_t ci;
    void *zctx;
    void *cli; /* DEALER on the client endpoint */
    void *eng; /* DEALER on the engine endpoint */
    char cli_id[64], eng_id[64];
    const char *experiment;
    const char *params;
    const char *job;    /* steal: the job to post a result for */
    int acked;          /* steal: the controller acknowledged it */
    char probe_job[96]; /* a 64-byte prefix and a suffix */
    int probe_accepted;
    unsigned long sent;
    unsigned long tasks_seen; /* tasks the controller gave the fake engine */
    json_t *pending_odd;      /* job ids of odd tasks not answered yet */
    unsigned long pongs;      /* pongs received */
    int fake_listed;          /* the last pong listed the fake engine */
} hostile_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clab-hostile keygen\n"
            "       clab-hostile --cluster FILE hello [--timeout S]\n"
            "       clab-hostile --cluster FILE submit --experiment PATH --params JSON "
            "[--timeout S]\n"
            "       clab-hostile --cluster FILE|--engine-file FILE take [--timeout S]\n"
            "       clab-hostile --engine-file FILE steal --job JOB [--timeout S]\n"
            "       clab-hostile --cluster FILE [--engine-file FILE] attack "
            "[--experiment PATH]\n"
            "       clab-hostile fake-controller --out FILE --experiment PATH "
            "[--params JSON]\n");
}

/* A DEALER on endpoint with the client key pair of h->ci, or (as_engine)
 * its engine key pair. */
static void *open_socket(hostile_t *h, const char *endpoint, const char *id,
                         int as_engine)
{
    void *s = zmq_socket(h->zctx, ZMQ_DEALER);
    int ivl = 100, sndtimeo = 10000;
    if (!s)
        return NULL;
    /* Blocking sends with a bound: the tool waits for a reconnection after
     * the controller drops it, but never for ever. */
    if (zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id)) ||
        clab_proto_socket_setup(s, 0) ||
        zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo) ||
        zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) ||
        (as_engine ? clab_conninfo_curve_engine(s, &h->ci)
                   : clab_conninfo_curve_client(s, &h->ci)) ||
        zmq_connect(s, endpoint)) {
        fprintf(stderr, "clab-hostile: cannot connect to %s: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Sends n raw frames as one message. */
static int send_parts(hostile_t *h, void *s, size_t n, const char *const *parts,
                      const size_t *lens)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(parts[i]);
        if (zmq_send(s, parts[i], len, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) {
            fprintf(stderr, "clab-hostile: send: %s\n", zmq_strerror(zmq_errno()));
            return -zmq_errno();
        }
    }
    h->sent++;
    return 0;
}

/* A well-framed message with the given type and body text. */
static int send_msg(hostile_t *h, void *s, const char *type, const char *body)
{
    const char *parts[] = {CLAB_PROTO_VERSION, type, body};
    return send_parts(h, s, 3, parts, NULL);
}

static int send_msg_len(hostile_t *h, void *s, const char *type, const char *body,
                        size_t len)
{
    const char *parts[] = {CLAB_PROTO_VERSION, type, body};
    size_t lens[] = {strlen(CLAB_PROTO_VERSION), strlen(type), len};
    return send_parts(h, s, 3, parts, lens);
}

static int send_json(hostile_t *h, void *s, const char *type, json_t *body)
{
    char *text = clab_json_dumps(body);
    json_decref(body);
    if (!text)
        return -ENOMEM;
    int rc = send_msg(h, s, type, text);
    free(text);
    return rc;
}

/* Notes whether a pong lists the fake engine. */
static void observe_pong(hostile_t *h, const clab_msg_t *m)
{
    size_t i;
    json_t *e;
    h->pongs++;
    h->fake_listed = 0;
    json_array_foreach(json_object_get(m->body, "engines"), i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        h->fake_listed |= id && strcmp(id, h->eng_id) == 0;
    }
}

/* Notes whether the probe task of `submit` was accepted. */
static void observe_accepted(hostile_t *h, const clab_msg_t *m)
{
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(m->body, "jobs"), i, j)
    {
        const char *job = json_string_value(j);
        h->probe_accepted |= job && strcmp(job, h->probe_job) == 0;
    }
}

/* Results for the tool's client id: acknowledged (so the controller
 * forgets them), and odd tasks ticked off. */
static void observe_results(hostile_t *h, const clab_msg_t *m)
{
    json_t *ack = json_array(), *r;
    size_t i;
    json_array_foreach(json_object_get(m->body, "results"), i, r)
    {
        json_t *job = json_object_get(r, "job");
        if (!json_is_string(job))
            continue;
        json_array_append(ack, job);
        size_t k;
        json_t *p;
        json_array_foreach(h->pending_odd, k, p)
        {
            if (!json_equal(p, job))
                continue;
            json_t *md = json_object_get(json_object_get(r, "record"), "metadata");
            const char *exc =
                json_string_value(json_object_get(md, "epyc.experiment.exception"));
            char shown[81];
            size_t n = 0;
            for (const char *c = json_string_value(job); *c && n < 80; c++)
                shown[n++] =
                    (unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f ? *c : '?';
            shown[n] = '\0';
            printf("odd task %s: %s\n", shown, exc ? exc : "succeeded");
            json_array_remove(h->pending_odd, k);
            break;
        }
    }
    if (json_array_size(ack))
        send_json(h, h->cli, "ack", json_pack("{s:o}", "jobs", ack));
    else
        json_decref(ack);
}

/* Takes what is waiting on both sockets: replies on the client socket,
 * tasks on the engine socket (counted, never run). Returns 1 when a
 * message of type `want` arrived on the client socket. */
static int drain(hostile_t *h, const char *want)
{
    int got = 0, rc;
    clab_msg_t m;
    while (h->cli && (rc = clab_proto_recv(h->cli, 0, &m)) != -EAGAIN) {
        if (rc == -EPROTO)
            continue;
        if (rc)
            break;
        if (want && strcmp(m.type, want) == 0)
            got = 1;
        if (strcmp(m.type, "pong") == 0)
            observe_pong(h, &m);
        else if (strcmp(m.type, "accepted") == 0)
            observe_accepted(h, &m);
        else if (strcmp(m.type, "results") == 0)
            observe_results(h, &m);
        clab_msg_clear(&m);
    }
    while (h->eng && (rc = clab_proto_recv(h->eng, 0, &m)) != -EAGAIN) {
        if (rc == -EPROTO)
            continue;
        if (rc)
            break;
        if (strcmp(m.type, "task") == 0)
            h->tasks_seen++;
        json_t *j, *jobs = json_object_get(m.body, "jobs");
        size_t i;
        if (h->job && strcmp(m.type, "ack") == 0)
            json_array_foreach(jobs, i, j) if (json_is_string(j) &&
                                               strcmp(json_string_value(j), h->job) == 0)
                h->acked = 1;
        clab_msg_clear(&m);
    }
    return got;
}

/* Sends one message without waiting: before the handshake a DEALER may
 * refuse at once, and the caller tries again later. */
static void try_send(void *s, const char *type, const char *body)
{
    const char *parts[] = {CLAB_PROTO_VERSION, type, body};
    for (int i = 0; i < 3; i++)
        if (zmq_send(s, parts[i], strlen(parts[i]),
                     (i < 2 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            break;
}

/* Sends `type` on the client socket every 200 ms until a reply of type
 * `want` arrives or `timeout` seconds pass. Returns 1 when it arrived. */
static int roundtrip(hostile_t *h, const char *type, const char *want, double timeout)
{
    double end = clab_mono() + timeout, last = 0;
    while (clab_mono() < end) {
        if (clab_mono() - last >= 0.2) {
            last = clab_mono();
            try_send(h->cli, type, "{}");
        }
        zmq_pollitem_t it[] = {{h->cli, 0, ZMQ_POLLIN, 0}, {h->eng, 0, ZMQ_POLLIN, 0}};
        zmq_poll(it, h->eng ? 2 : 1, 50);
        if (drain(h, want))
            return 1;
    }
    return 0;
}

static void scenario(hostile_t *h, const char *name, unsigned long before)
{
    printf("scenario %s: %lu message(s)\n", name, h->sent - before);
    fflush(stdout);
    drain(h, NULL);
}

/* Wrong frame counts, versions, types and bodies, on socket s. */
static void bad_frames(hostile_t *h, void *s)
{
    unsigned long n0 = h->sent;
    const char *v = CLAB_PROTO_VERSION;
    const char *one[] = {v};
    const char *two[] = {v, "hello"};
    const char *four[] = {v, "hello", "{}", "{}"};
    const char *many[MAX_PARTS];
    for (int i = 0; i < MAX_PARTS; i++)
        many[i] = i == 0 ? v : i == 1 ? "hello" : "{}";
    const char *empty3[] = {"", "", ""};
    send_parts(h, s, 1, one, NULL);
    send_parts(h, s, 2, two, NULL);
    send_parts(h, s, 4, four, NULL);
    send_parts(h, s, 9, many, NULL);
    send_parts(h, s, MAX_PARTS, many, NULL);
    send_parts(h, s, 3, empty3, NULL);
    const char *one_empty[] = {""};
    send_parts(h, s, 1, one_empty, NULL);
    scenario(h, "frame-counts", n0);

    n0 = h->sent;
    static const char *const versions[] = {"clab/2", "CLAB/1", "clab/", "clab/10", ""};
    for (size_t i = 0; i < sizeof versions / sizeof *versions; i++) {
        const char *p[] = {versions[i], "hello", "{}"};
        send_parts(h, s, 3, p, NULL);
    }
    const char *nul_version[] = {"clab/1\0", "hello", "{}"};
    size_t nul_lens[] = {7, 5, 2};
    send_parts(h, s, 3, nul_version, nul_lens);
    scenario(h, "versions", n0);

    n0 = h->sent;
    static const char *const types[] = {
        "",           "HELLO",    "hello world",
        "hel-lo",     "\xff\xfe", "a_type_name_that_is_far_too_long",
        "frobnicate", "results",  "task",
        "welcome"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        send_msg(h, s, types[i], "{}");
    scenario(h, "types", n0);

    n0 = h->sent;
    static const char *const bodies[] = {"",
                                         "null",
                                         "[]",
                                         "\"x\"",
                                         "42",
                                         "{",
                                         "{\"a\": 1, \"a\": 2}",
                                         "{}garbage",
                                         "{\"a\": \"\xc3\x28\"}",
                                         "{\"a\": \"\\u0000\"}",
                                         "{\"a\": NaN}",
                                         "{\"a\": 1e999}",
                                         "\xef\xbb\xbf{}"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        send_msg(h, s, "hello", bodies[i]);
    send_msg_len(h, s, "hello", "{\"a\":\0 1}", 9);
    /* Nesting past jansson's depth limit, then just within it. */
    clab_buf_t b = {0};
    for (int depth = 100000, k = 0; k < 2; k++, depth = 1000) {
        b.len = 0;
        clab_buf_puts(&b, "{\"a\":");
        for (int i = 0; i < depth; i++)
            clab_buf_puts(&b, "[");
        for (int i = 0; i < depth; i++)
            clab_buf_puts(&b, "]");
        clab_buf_puts(&b, "}");
        send_msg_len(h, s, "hello", b.data, b.len);
    }
    clab_buf_free(&b);
    scenario(h, "bodies", n0);
}

/* A routing id the controller refuses to use (not printable, or a '/'). */
static void bad_routing_ids(hostile_t *h)
{
    unsigned long n0 = h->sent;
    static const char *const ids[] = {"bad/id", "bad id", "\x01\x02",
                                      "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        for (int which = 0; which < 2; which++) {
            void *s = open_socket(
                h, which ? h->ci.engine_endpoint : h->ci.client_endpoint, ids[i], which);
            if (!s)
                continue;
            send_msg(h, s, which ? "hb" : "hello", "{}");
            send_msg(h, s, which ? "result" : "submit", "{}");
            /* Let the handshake and the sends finish before closing. */
            zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
            zmq_poll(&it, 1, 300);
            zmq_close(s);
        }
    }
    scenario(h, "routing-ids", n0);
}

static json_t *garbage_task(const char *job)
{
    return json_pack("{s:s, s:s, s:{s:i}}", "job", job, "experiment",
                     "/nonexistent/clab-hostile", "params", "x", 1);
}

/* Submissions and acknowledgements that make no sense. */
static void client_garbage(hostile_t *h, const char *prefix)
{
    unsigned long n0 = h->sent;
    char job[128];
    static const char *const texts[] = {
        "{}",
        "{\"tasks\": \"x\"}",
        "{\"tasks\": {}}",
        "{\"tasks\": null}",
        "{\"tasks\": [1, \"x\", null, [], {}, true]}",
        "{\"tasks\": [{\"job\": 1, \"experiment\": \"/bin/true\", \"params\": {}}]}",
        "{\"tasks\": [{\"job\": \"j\", \"experiment\": \"bin/true\", \"params\": {}}]}",
        "{\"tasks\": [{\"job\": \"j\", \"experiment\": 5, \"params\": {}}]}",
        "{\"tasks\": [{\"job\": \"j\", \"experiment\": \"/bin/true\", \"params\": []}]}",
        "{\"tasks\": [{\"job\": \"j\", \"experiment\": \"/bin/true\"}]}",
        "{\"tasks\": [{\"experiment\": \"/bin/true\", \"params\": {}}]}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        send_msg(h, h->cli, "submit", texts[i]);
    scenario(h, "submit-garbage", n0);

    n0 = h->sent;
    static const char *const acks[] = {"{}", "{\"jobs\": \"x\"}",
                                       "{\"jobs\": [1, null, {}, []]}",
                                       "{\"jobs\": [\"never-submitted\", \"\"]}"};
    for (size_t i = 0; i < sizeof acks / sizeof *acks; i++)
        send_msg(h, h->cli, "ack", acks[i]);
    json_t *many = json_array();
    for (int i = 0; i < 5000; i++) {
        snprintf(job, sizeof job, "%s-unknown-%d", prefix, i);
        json_array_append_new(many, json_string(job));
    }
    send_json(h, h->cli, "ack", json_pack("{s:o}", "jobs", many));
    scenario(h, "ack-unknown", n0);

    /* Job files that are not what they are named, not base64 or not
     * strings, and tasks naming files nobody sent or naming them wrong:
     * nothing stored, the tasks refused (and the files said missing). */
    n0 = h->sent;
    static const char *const files[] = {
        "{\"tasks\": [], \"files\": {\"00\": \"Zm9v\"}}",
        "{\"tasks\": [], \"files\": "
        "{\"c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960"
        "714caef0c4f2\": \"YmFy\"}}",
        "{\"tasks\": [], \"files\": {\"x\": \"!!\", \"y\": 5, \"z\": null}}",
        "{\"tasks\": [], \"files\": [\"Zm9v\"]}",
        "{\"tasks\": [{\"job\": \"hostile-f1\", \"experiment\": \"/bin/true\", "
        "\"params\": {}, \"files\": {\"a\": "
        "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
        "934ca495991b7852b856\"}}]}",
        "{\"tasks\": [{\"job\": \"hostile-f2\", \"experiment\": \"/bin/true\", "
        "\"params\": {}, \"files\": {\"a\": 1}}]}",
        "{\"tasks\": [{\"job\": \"hostile-f3\", \"experiment\": \"/bin/true\", "
        "\"params\": {}, \"files\": [\"a\"], \"file_data\": {\"aa\": \"Zm9v\"}}]}"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        send_msg(h, h->cli, "submit", files[i]);
    scenario(h, "submit-files-garbage", n0);

    /* Cancels of single jobs (/ctl cancel TAG JOB...), malformed or of
     * jobs that are not this client's: nothing of anyone's changes. */
    n0 = h->sent;
    static const char *const cancels[] = {
        "{\"tag\": \"t\", \"jobs\": \"x\"}",
        "{\"tag\": \"t\", \"jobs\": [1, null, {}, []]}",
        "{\"tag\": \"t\", \"upto\": \"x\", \"jobs\": [\"never-submitted\"]}",
        "{\"tag\": 5, \"jobs\": [\"never-submitted\"]}",
        "{\"jobs\": [\"never-submitted\"]}"};
    for (size_t i = 0; i < sizeof cancels / sizeof *cancels; i++)
        send_msg(h, h->cli, "cancel", cancels[i]);
    scenario(h, "cancel-jobs-garbage", n0);

    /* Many malformed tasks in one message: each is logged and dropped. */
    n0 = h->sent;
    json_t *tasks = json_array();
    for (int i = 0; i < 2000; i++)
        json_array_append_new(tasks, json_pack("{s:i}", "job", i));
    send_json(h, h->cli, "submit", json_pack("{s:o}", "tasks", tasks));
    /* One well-formed task with 8 MiB of parameters, for an experiment
     * that does not exist: stored, dispatched, failed by the engine. */
    clab_buf_t b = {0};
    snprintf(job, sizeof job, "%s-huge", prefix);
    clab_buf_printf(&b,
                    "{\"tasks\": [{\"job\": \"%s\", \"experiment\": "
                    "\"/nonexistent/clab-hostile\", \"params\": {\"blob\": \"",
                    job);
    size_t head = b.len;
    clab_buf_reserve(&b, 8u << 20);
    memset(b.data + head, 'x', 8u << 20);
    b.len = head + (8u << 20);
    clab_buf_puts(&b, "\"}}]}");
    send_msg_len(h, h->cli, "submit", b.data, b.len);
    clab_buf_free(&b);
    scenario(h, "submit-huge", n0);

    /* The same submission again and again: stored once. */
    n0 = h->sent;
    snprintf(job, sizeof job, "%s-replayed", prefix);
    /* With a real engine behind the controller (--experiment), awaited like
     * the odd tasks: its outcome (a missing experiment fails the point) is
     * printed when it comes back. */
    if (h->experiment) {
        if (!h->pending_odd)
            h->pending_odd = json_array();
        json_array_append_new(h->pending_odd, json_string(job));
    }
    for (int i = 0; i < 5; i++)
        send_json(h, h->cli, "submit", json_pack("{s:[o]}", "tasks", garbage_task(job)));
    for (int i = 0; i < 50; i++)
        send_msg(h, h->cli, "hello", "{}");
    for (int i = 0; i < 500; i++)
        send_msg(h, h->cli, "ping", "{}");
    scenario(h, "replays", n0);
}

/* The engine side, out of order: results and goodbyes before any
 * heartbeat, then nonsense heartbeats and results for jobs never given. */
static void engine_garbage(hostile_t *h, const char *prefix)
{
    unsigned long n0 = h->sent;
    char job[128];
    snprintf(job, sizeof job, "%s-never-given", prefix);
    json_t *rec =
        json_pack("{s:s, s:{s:b, s:{}}}", "job", job, "record", "ok", 1, "metadata");
    send_json(h, h->eng, "result", json_incref(rec));
    send_msg(h, h->eng, "bye", "{}");
    send_msg(h, h->eng, "frobnicate", "{}");
    scenario(h, "engine-before-heartbeat", n0);

    n0 = h->sent;
    send_msg(h, h->eng, "hb",
             "{\"host\": 5, \"pid\": \"x\", \"tasks\": [], \"held\": \"x\"}");
    json_t *held = json_array();
    for (int i = 0; i < 1000; i++) {
        snprintf(job, sizeof job, "%s-held-%d", prefix, i);
        json_array_append_new(held, json_string(job));
    }
    json_array_append_new(held, json_integer(5));
    json_array_append_new(held, json_null());
    send_json(h, h->eng, "hb",
              json_pack("{s:s, s:I, s:I, s:o}", "host", "hostile", "pid",
                        (json_int_t)9223372036854775807LL, "tasks", (json_int_t)-1,
                        "held", held));
    scenario(h, "engine-heartbeats", n0);

    n0 = h->sent;
    for (int i = 0; i < 3; i++)
        send_json(h, h->eng, "result", json_incref(rec));
    static const char *const results[] = {
        "{}",
        "{\"job\": 5, \"record\": {\"ok\": true}}",
        "{\"job\": \"j\", \"record\": []}",
        "{\"job\": \"j\", \"record\": {}}",
        "{\"job\": \"j\", \"record\": {\"ok\": \"yes\"}}",
        "{\"job\": null, \"record\": null}",
    };
    for (size_t i = 0; i < sizeof results / sizeof *results; i++)
        send_msg(h, h->eng, "result", results[i]);
    /* A big record for a job nobody knows. */
    clab_buf_t b = {0};
    clab_buf_printf(&b, "{\"job\": \"%s-big\", \"record\": {\"ok\": true, \"x\": \"",
                    prefix);
    size_t head = b.len;
    clab_buf_reserve(&b, 4u << 20);
    memset(b.data + head, 'y', 4u << 20);
    b.len = head + (4u << 20);
    clab_buf_puts(&b, "\"}}");
    send_msg_len(h, h->eng, "result", b.data, b.len);
    clab_buf_free(&b);
    send_msg(h, h->eng, "submit", "{\"tasks\": []}");
    send_msg(h, h->eng, "ack", "{\"jobs\": []}");
    scenario(h, "engine-results", n0);

    /* Take-back answers nobody asked for, or of the wrong shape: a task the
     * engine never held, ill-typed fields, a given task it never had. */
    n0 = h->sent;
    static const char *const takebacks[] = {
        "{}",
        "{\"job\": 5, \"given\": true}",
        "{\"job\": \"never-given\", \"given\": true}",
        "{\"job\": \"never-given\", \"given\": false}",
        "{\"job\": \"j\", \"given\": \"yes\"}",
        "{\"job\": null, \"given\": null}",
        "[]",
    };
    for (size_t i = 0; i < sizeof takebacks / sizeof *takebacks; i++)
        send_msg(h, h->eng, "takeback", takebacks[i]);
    scenario(h, "engine-takebacks", n0);
    json_decref(rec);
}

/* Tasks a client may send that are well formed but odd: the controller
 * forwards them and a real engine must run each and answer. */
static void odd_tasks(hostile_t *h, const char *prefix)
{
    unsigned long n0 = h->sent;
    const char *x = h->experiment;
    char job[128];
    json_t *tasks = json_array();
    if (!h->pending_odd)
        h->pending_odd = json_array();
#define ODD(name, fmt, ...)                                                              \
    do {                                                                                 \
        snprintf(job, sizeof job, "%s-odd-%s", prefix, name);                            \
        json_array_append_new(h->pending_odd, json_string(job));                         \
        json_array_append_new(                                                           \
            tasks, json_pack(fmt, "job", job, "experiment", x, "params", __VA_ARGS__));  \
    } while (0)
    ODD("tag-number", "{s:s, s:s, s:{s:i}, s:i}", "a", 1, "tag", 123);
    ODD("tag-path", "{s:s, s:s, s:{s:i}, s:s}", "a", 1, "tag", "../../etc");
    ODD("timeout-string", "{s:s, s:s, s:{s:i}, s:s}", "a", 1, "timeout", "soon");
    ODD("timeout-negative", "{s:s, s:s, s:{s:i}, s:i}", "a", 1, "timeout", -5);
    ODD("timeout-huge", "{s:s, s:s, s:{s:i}, s:f}", "a", 1, "timeout", 1e300);
    ODD("extra-fields", "{s:s, s:s, s:{s:i}, s:[i]}", "a", 1, "whatever", 1);
    ODD("unicode-params", "{s:s, s:s, s:{s:s}}", "a",
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    /* CLAB_PARAMS over the kernel's 128 KiB limit for one string. */
    char *big = malloc(300000);
    memset(big, 'z', 299999);
    big[299999] = '\0';
    ODD("params-too-big-for-env", "{s:s, s:s, s:{s:s}}", "a", big);
    free(big);
    json_t *deep = json_integer(1);
    for (int i = 0; i < 500; i++)
        deep = json_pack("[o]", deep);
    ODD("params-deep", "{s:s, s:s, s:{s:o}}", "a", deep);
#undef ODD
    /* A job id of 10 000 characters, with a line break and non-ASCII. */
    char *longid = malloc(10001);
    memset(longid, 'j', 10000);
    memcpy(longid, "\xc3\xa9\n", 3);
    longid[10000] = '\0';
    json_array_append_new(h->pending_odd, json_string(longid));
    json_array_append_new(
        tasks, json_pack("{s:s, s:s, s:{}}", "job", longid, "experiment", x, "params"));
    free(longid);
    send_json(h, h->cli, "submit", json_pack("{s:o}", "tasks", tasks));
    scenario(h, "odd-tasks", n0);
}

/* A submission 1 MiB over ZMQ_MAXMSGSIZE: libzmq must drop the connection
 * before the controller sees it, so its task is never accepted. */
static int oversized(hostile_t *h, const char *prefix)
{
    unsigned long n0 = h->sent;
    clab_buf_t b = {0};
    snprintf(h->probe_job, sizeof h->probe_job, "%s-oversized", prefix);
    clab_buf_printf(&b,
                    "{\"tasks\": [{\"job\": \"%s\", \"experiment\": "
                    "\"/nonexistent/clab-hostile\", \"params\": {\"blob\": \"",
                    h->probe_job);
    size_t head = b.len, fill = OVERSIZED - head - 5;
    if (clab_buf_reserve(&b, fill + 5) < 0)
        return -ENOMEM;
    memset(b.data + head, 'x', fill);
    b.len = head + fill;
    clab_buf_puts(&b, "\"}}]}");
    send_msg_len(h, h->cli, "submit", b.data, b.len);
    clab_buf_free(&b);
    scenario(h, "oversized-frame", n0);
    /* The socket reconnects; a second later the task is still unknown. */
    if (!roundtrip(h, "hello", "welcome", 20)) {
        fprintf(stderr, "clab-hostile: no welcome after the oversized frame\n");
        return -ETIMEDOUT;
    }
    roundtrip(h, "ping", "never", 1);
    if (h->probe_accepted) {
        fprintf(stderr, "clab-hostile: the oversized submission was accepted\n");
        return -EPROTO;
    }
    printf("the oversized frame was dropped; reconnected\n");
    return 0;
}

/* As an engine with free slots: heartbeats every 200 ms until the
 * controller hands over a task or timeout seconds pass. A task that came
 * goes back with a goodbye, without counting a try. */
static int take_probe(hostile_t *h, double timeout)
{
    char hb[160];
    snprintf(hb, sizeof hb,
             "{\"host\": \"hostile\", \"pid\": %d, \"tasks\": 0, \"held\": []}",
             (int)getpid());
    double end = clab_mono() + timeout, last = 0;
    while (!h->tasks_seen && clab_mono() < end) {
        if (clab_mono() - last >= 0.2) {
            last = clab_mono();
            try_send(h->eng, "hb", hb);
        }
        zmq_pollitem_t it = {h->eng, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 50);
        drain(h, NULL);
    }
    if (h->tasks_seen) {
        send_msg(h, h->eng, "bye", "{}");
        usleep(200 * 1000);
    }
    printf("%s\n", h->tasks_seen ? "task" : "no task");
    return h->tasks_seen ? 0 : 3;
}

/* An engine that holds nothing posts a result for another engine's task. */
static int steal_probe(hostile_t *h, double timeout)
{
    char hb[200];
    snprintf(hb, sizeof hb,
             "{\"host\": \"hostile\", \"pid\": %d, \"tasks\": 0, \"held\": [], "
             "\"incarnation\": \"hostile%d\"}",
             (int)getpid(), (int)getpid());
    char inc[32];
    snprintf(inc, sizeof inc, "hostile%d", (int)getpid());
    json_t *res =
        json_pack("{s:s, s:{s:b, s:[{s:i}], s:{}}, s:s}", "job", h->job, "record", "ok",
                  1, "results", "forged", 1, "metadata", "incarnation", inc);
    double end = clab_mono() + timeout, last = 0, sent = 0;
    try_send(h->eng, "hb", hb);
    usleep(300 * 1000); /* registered before the result arrives */
    while (!h->acked && clab_mono() < end) {
        if (clab_mono() - last >= 0.2) {
            last = clab_mono();
            try_send(h->eng, "hb", hb);
        }
        if (clab_mono() - sent >= 1.0) {
            sent = clab_mono();
            send_json(h, h->eng, "result", json_incref(res));
        }
        zmq_pollitem_t it = {h->eng, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 50);
        drain(h, NULL);
    }
    json_decref(res);
    send_msg(h, h->eng, "bye", "{}");
    usleep(200 * 1000);
    printf("%s\n", h->acked ? "acked" : "no ack");
    return h->acked ? 0 : 3;
}

/* The fake engine must be gone from the controller's list after its bye. */
static int engine_gone(hostile_t *h)
{
    double end = clab_mono() + 10;
    while (clab_mono() < end) {
        unsigned long before = h->pongs;
        if (roundtrip(h, "ping", "pong", 2) && h->pongs > before && !h->fake_listed)
            return 0;
        usleep(200 * 1000);
    }
    return -ETIMEDOUT;
}

/* Submits one task, again every 200 ms (the controller takes a job id
 * once), until it is accepted or timeout seconds pass. */
static int submit_probe(hostile_t *h, double timeout)
{
    json_error_t je;
    json_t *params = json_loads(h->params, 0, &je);
    if (!json_is_object(params)) {
        fprintf(stderr, "clab-hostile: --params wants a JSON object: %s\n", je.text);
        json_decref(params);
        return 2;
    }
    snprintf(h->probe_job, sizeof h->probe_job, "probe-%d", (int)getpid());
    json_t *body = json_pack("{s:[{s:s, s:s, s:o}]}", "tasks", "job", h->probe_job,
                             "experiment", h->experiment, "params", params);
    char *text = clab_json_dumps(body);
    json_decref(body);
    double end = clab_mono() + timeout, last = 0;
    while (!h->probe_accepted && clab_mono() < end) {
        if (clab_mono() - last >= 0.2) {
            last = clab_mono();
            const char *parts[] = {CLAB_PROTO_VERSION, "submit", text};
            for (int i = 0; i < 3; i++)
                if (zmq_send(h->cli, parts[i], strlen(parts[i]),
                             (i < 2 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
                    break;
        }
        zmq_pollitem_t it = {h->cli, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 50);
        drain(h, NULL);
    }
    free(text);
    printf("%s\n", h->probe_accepted ? "accepted" : "not accepted");
    return h->probe_accepted ? 0 : 3;
}

static int attack(hostile_t *h)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "hostile-%d", (int)getpid());
    if (!roundtrip(h, "hello", "welcome", 10)) {
        fprintf(stderr, "clab-hostile: not admitted (no welcome)\n");
        return 3;
    }
    printf("welcomed as client %s\n", h->cli_id);
    bad_frames(h, h->cli);
    bad_frames(h, h->eng);
    bad_routing_ids(h);
    client_garbage(h, prefix);
    engine_garbage(h, prefix);
    if (h->experiment)
        odd_tasks(h, prefix);
    if (!roundtrip(h, "ping", "pong", 20)) {
        fprintf(stderr, "clab-hostile: the controller stopped answering\n");
        return 4;
    }
    if (oversized(h, prefix) < 0)
        return 4;
    /* Leave as an engine that says goodbye, so that whatever was handed to
     * the fake engine goes back to the queue without counting a try. */
    unsigned long n0 = h->sent;
    send_msg(h, h->eng, "bye", "{}");
    send_msg(h, h->eng, "bye", "{}");
    scenario(h, "goodbye", n0);
    if (engine_gone(h) < 0) {
        fprintf(stderr, "clab-hostile: the fake engine is still listed\n");
        return 4;
    }
    printf("the controller no longer lists the fake engine\n");
    if (h->pending_odd) {
        double end = clab_mono() + 30;
        while (json_array_size(h->pending_odd) && clab_mono() < end) {
            zmq_pollitem_t it[] = {{h->cli, 0, ZMQ_POLLIN, 0},
                                   {h->eng, 0, ZMQ_POLLIN, 0}};
            zmq_poll(it, 2, 200);
            drain(h, NULL);
        }
        if (json_array_size(h->pending_odd)) {
            fprintf(stderr, "clab-hostile: %zu odd task(s) never came back\n",
                    json_array_size(h->pending_odd));
            return 4;
        }
        printf("every odd task came back\n");
    }
    printf("sent %lu message(s); the fake engine was given %lu task(s)\n", h->sent,
           h->tasks_seen);
    return 0;
}

/* The fake controller's side: one ROUTER, one engine behind it. */
typedef struct {
    void *sock;
    char engine[CLAB_PROTO_MAX_PEER + 1];
    size_t engine_len;
    unsigned long hbs, sent;
    char want_job[96];
    json_t *want_record; /* the record of want_job once it came */
} fake_t;

/* Sends n frames to the engine, its routing id first. */
static int fake_send(fake_t *f, size_t n, const char *const *parts, const size_t *lens)
{
    if (zmq_send(f->sock, f->engine, f->engine_len, ZMQ_SNDMORE) < 0)
        return -zmq_errno();
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(parts[i]);
        if (zmq_send(f->sock, parts[i], len, i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
            return -zmq_errno();
    }
    f->sent++;
    return 0;
}

static int fake_msg(fake_t *f, const char *type, const char *body, size_t len)
{
    const char *parts[] = {CLAB_PROTO_VERSION, type, body};
    size_t lens[] = {strlen(CLAB_PROTO_VERSION), strlen(type), len};
    return fake_send(f, 3, parts, lens);
}

/* One line per result that arrives, so the test can count outcomes per job
 * id; acknowledged as the controller does, so the engine stops resending
 * it (a resend after a dropped ack prints the same line again). */
static void fake_result(fake_t *f, json_t *body)
{
    const char *job = json_string_value(json_object_get(body, "job"));
    json_t *record = json_object_get(body, "record");
    if (!job)
        return;
    int ok = json_is_true(json_object_get(record, "ok"));
    const char *exc = json_string_value(json_object_get(
        json_object_get(record, "metadata"), "epyc.experiment.exception"));
    printf("fake controller: result %s %s%s%s\n", job, ok ? "ok" : "failed",
           exc ? ": " : "", exc ? exc : "");
    fflush(stdout);
    json_t *ack = json_pack("{s:[s]}", "jobs", job);
    char *text = clab_json_dumps(ack);
    if (text)
        fake_msg(f, "ack", text, strlen(text));
    free(text);
    json_decref(ack);
    if (strcmp(job, f->want_job) == 0 && !f->want_record)
        f->want_record = json_incref(record);
}

/* Reads what the engine sent for up to ms milliseconds: heartbeats are
 * counted (and name the engine), the awaited result is kept. */
static void fake_listen(fake_t *f, long ms)
{
    double end = clab_mono() + ms / 1000.0;
    do {
        zmq_pollitem_t it = {f->sock, 0, ZMQ_POLLIN, 0};
        long left = (long)((end - clab_mono()) * 1000);
        zmq_poll(&it, 1, left > 0 ? left : 0);
        clab_msg_t m;
        int rc;
        while ((rc = clab_proto_recv(f->sock, 1, &m)) != -EAGAIN) {
            if (rc == -EPROTO)
                continue;
            if (rc)
                break;
            if (strcmp(m.type, "hb") == 0) {
                f->hbs++;
                memcpy(f->engine, m.peer, m.peer_len);
                f->engine_len = m.peer_len;
                /* As the controller does: the engine learns we are alive. */
                fake_msg(f, "hb", "{\"epoch\": \"fake\"}", 17);
            } else if (strcmp(m.type, "result") == 0) {
                fake_result(f, m.body);
            }
            clab_msg_clear(&m);
        }
    } while (clab_mono() < end);
}

/* Waits for a heartbeat newer than the last one seen. */
static int fake_wait_hb(fake_t *f, double timeout)
{
    unsigned long before = f->hbs;
    double end = clab_mono() + timeout;
    while (f->hbs == before && clab_mono() < end)
        fake_listen(f, 100);
    return f->hbs > before;
}

/* Heartbeats again after the engine dropped the connection: two in a row,
 * each within 5 s, before 40 s are out. A heartbeat already on its way
 * while the oversized task went out may come first, then the silence
 * until the engine connects afresh. */
static int fake_back(fake_t *f)
{
    double end = clab_mono() + 40;
    int streak = 0;
    while (streak < 2 && clab_mono() < end)
        streak = fake_wait_hb(f, 5) ? streak + 1 : 0;
    return streak >= 2;
}

static void fake_garbage(fake_t *f, const char *prefix)
{
    const char *v = CLAB_PROTO_VERSION;
    const char *one[] = {v}, *two[] = {v, "task"}, *four[] = {v, "task", "{}", "{}"};
    const char *many[20];
    for (int i = 0; i < 20; i++)
        many[i] = "{}";
    fake_send(f, 1, one, NULL);
    fake_send(f, 2, two, NULL);
    fake_send(f, 4, four, NULL);
    fake_send(f, 20, many, NULL);
    const char *badv[] = {"clab/2", "task", "{}"};
    fake_send(f, 3, badv, NULL);
    static const char *const types[] = {"", "TASK", "frobnicate", "welcome", "results"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        fake_msg(f, types[i], "{}", 2);
    static const char *const bodies[] = {
        "",
        "[]",
        "{",
        "null",
        "{\"job\": \"\xc3\x28\"}",
        "{\"a\": 1, \"a\": 2}",
        "{\"job\": 5, \"experiment\": \"/bin/true\", \"params\": {}}",
        "{\"job\": \"j\", \"experiment\": 5, \"params\": {}}",
        "{\"job\": \"j\", \"experiment\": \"/bin/true\", \"params\": []}",
        "{\"job\": \"j\", \"experiment\": \"/bin/true\"}"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        fake_msg(f, "task", bodies[i], strlen(bodies[i]));
    fake_msg(f, "task", "{\"job\":\0 1}", 11);
    static const char *const cancels[] = {"{}", "{\"jobs\": \"x\"}",
                                          "{\"jobs\": [1, null, {}]}",
                                          "{\"jobs\": [\"never-given\"]}"};
    for (size_t i = 0; i < sizeof cancels / sizeof *cancels; i++)
        fake_msg(f, "cancel", cancels[i], strlen(cancels[i]));
    clab_buf_t b = {0};
    clab_buf_puts(&b, "{\"job\": ");
    for (int i = 0; i < 100000; i++)
        clab_buf_puts(&b, "[");
    for (int i = 0; i < 100000; i++)
        clab_buf_puts(&b, "]");
    clab_buf_puts(&b, "}");
    fake_msg(f, "task", b.data, b.len);
    /* Well-formed tasks the engine must run and fail cleanly: a relative
     * path, a path that does not exist, a timeout of the wrong type. */
    b.len = 0;
    clab_buf_printf(&b,
                    "{\"job\": \"%s-relative\", \"experiment\": \"bin/true\", "
                    "\"params\": {}, \"timeout\": \"soon\", \"tag\": 5}",
                    prefix);
    fake_msg(f, "task", b.data, b.len);
    b.len = 0;
    clab_buf_printf(&b,
                    "{\"job\": \"%s-missing\", \"experiment\": \"/nonexistent/x\", "
                    "\"params\": {\"a\": [1, {\"b\": null}]}}",
                    prefix);
    fake_msg(f, "task", b.data, b.len);
    clab_buf_free(&b);
    printf("fake controller: %lu malformed or odd message(s) sent\n", f->sent);
}

static int fake_controller(const char *out, const char *experiment, const char *params)
{
    clab_conninfo_t ci = {0};
    fake_t f = {0};
    char prefix[64];
    int rc = 1;
    snprintf(prefix, sizeof prefix, "fake-%d", (int)getpid());
    snprintf(f.want_job, sizeof f.want_job, "%s-valid", prefix);
    void *zctx = zmq_ctx_new();
    f.sock = zctx ? zmq_socket(zctx, ZMQ_ROUTER) : NULL;
    size_t len = sizeof ci.engine_endpoint;
    if (!f.sock || clab_conninfo_new_keys(&ci) || clab_proto_socket_setup(f.sock, 1) ||
        clab_conninfo_curve_server(f.sock, &ci) ||
        zmq_bind(f.sock, "tcp://127.0.0.1:*") ||
        zmq_getsockopt(f.sock, ZMQ_LAST_ENDPOINT, ci.engine_endpoint, &len)) {
        fprintf(stderr, "clab-hostile: cannot listen: %s\n", zmq_strerror(zmq_errno()));
        goto out;
    }
    memcpy(ci.client_endpoint, ci.engine_endpoint, sizeof ci.client_endpoint);
    if (clab_conninfo_save_engine(out, &ci) < 0) {
        fprintf(stderr, "clab-hostile: cannot write %s\n", out);
        goto out;
    }
    printf("fake controller on %s, connection file %s\n", ci.engine_endpoint, out);
    rc = 4;
    if (!fake_wait_hb(&f, 30)) {
        fprintf(stderr, "clab-hostile: no engine came\n");
        goto out;
    }
    fake_garbage(&f, prefix);
    /* Over the engine's ZMQ_MAXMSGSIZE: its socket drops us and reconnects. */
    char *blob = malloc(OVERSIZED);
    if (blob) {
        memset(blob, ' ', OVERSIZED);
        blob[0] = '{';
        blob[OVERSIZED - 1] = '}';
        fake_msg(&f, "task", blob, OVERSIZED);
        free(blob);
    }
    /* libzmq does not reconnect a connection it dropped for a protocol
     * error: the engine must notice the silence and connect afresh. */
    if (!fake_back(&f)) {
        fprintf(stderr, "clab-hostile: the engine stopped sending heartbeats\n");
        goto out;
    }
    printf("fake controller: heartbeats again after the oversized task\n");
    json_t *p =
        params ? json_loads(params, 0, NULL) : json_pack("{s:s}", "probe", "fake");
    json_t *task = json_pack("{s:s, s:s, s:o}", "job", f.want_job, "experiment",
                             experiment, "params", p ? p : json_object());
    char *text = clab_json_dumps(task);
    json_decref(task);
    /* Twice, as a controller that thought it lost with the engine sends it
     * again: the engine runs it once (the test counts its runs). */
    fake_msg(&f, "task", text, strlen(text));
    fake_msg(&f, "task", text, strlen(text));
    free(text);
    double end = clab_mono() + 30;
    while (!f.want_record && clab_mono() < end)
        fake_listen(&f, 200);
    if (!f.want_record) {
        fprintf(stderr, "clab-hostile: the engine never answered the good task\n");
        goto out;
    }
    int ok = json_is_true(json_object_get(f.want_record, "ok"));
    printf("fake controller: the good task came back %s\n", ok ? "ok" : "failed");
    if (ok && fake_wait_hb(&f, 5)) {
        printf("fake controller: the engine is still alive (%lu heartbeats)\n", f.hbs);
        rc = 0;
    }
out:
    json_decref(f.want_record);
    if (f.sock)
        zmq_close(f.sock);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}

/* The key files named: the client socket gets the client key pair
 * (--cluster, cluster.json), the engine socket the engine key pair
 * (--engine-file, engine.json). Given one file only, its key pair serves on
 * both sockets: that is how a test knocks with one role's key on the other
 * role's socket. Returns 0 or the exit status. */
static int load_files(hostile_t *h, const char *conn, const char *engine_file)
{
    clab_conninfo_t e;
    const char *path = conn;
    int rc = conn ? clab_conninfo_load(conn, &h->ci) : 0;
    if (!rc && engine_file) {
        path = engine_file;
        rc = clab_conninfo_load_engine(engine_file, &e);
    }
    if (rc < 0) {
        fprintf(stderr, "clab-hostile: cannot use connection file %s: %s\n", path,
                clab_conninfo_strerror(rc));
        return 1;
    }
    if (!engine_file) {
        memcpy(h->ci.engine_public, h->ci.client_public, CLAB_KEY_LEN);
        memcpy(h->ci.engine_secret, h->ci.client_secret, CLAB_KEY_LEN);
        return 0;
    }
    if (!conn) {
        h->ci = e;
        memcpy(h->ci.client_public, e.engine_public, CLAB_KEY_LEN);
        memcpy(h->ci.client_secret, e.engine_secret, CLAB_KEY_LEN);
        return 0;
    }
    memcpy(h->ci.engine_public, e.engine_public, CLAB_KEY_LEN);
    memcpy(h->ci.engine_secret, e.engine_secret, CLAB_KEY_LEN);
    return 0;
}

/* hello, submit, take or attack, with the keys loaded. */
static int run_command(hostile_t *h, const char *cmd, double timeout)
{
    snprintf(h->cli_id, sizeof h->cli_id, "hostile-cli-%d", (int)getpid());
    snprintf(h->eng_id, sizeof h->eng_id, "hostile-eng-%d", (int)getpid());
    if (!(h->zctx = zmq_ctx_new()))
        return 1;
    if (strcmp(cmd, "take") == 0 || strcmp(cmd, "steal") == 0) {
        if (!(h->eng = open_socket(h, h->ci.engine_endpoint, h->eng_id, 1)))
            return 1;
        return strcmp(cmd, "take") == 0 ? take_probe(h, timeout)
                                        : steal_probe(h, timeout);
    }
    if (!(h->cli = open_socket(h, h->ci.client_endpoint, h->cli_id, 0)))
        return 1;
    if (strcmp(cmd, "hello") == 0) {
        int rc = roundtrip(h, "hello", "welcome", timeout) ? 0 : 3;
        printf("%s\n", rc == 0 ? "welcomed" : "no welcome");
        return rc;
    }
    if (strcmp(cmd, "submit") == 0)
        return submit_probe(h, timeout);
    if (!(h->eng = open_socket(h, h->ci.engine_endpoint, h->eng_id, 1)))
        return 1;
    return attack(h);
}

static int keygen(void)
{
    char pub[41], sec[41];
    if (zmq_curve_keypair(pub, sec)) {
        fprintf(stderr, "clab-hostile: no CURVE in this libzmq\n");
        return 1;
    }
    printf("%s %s\n", pub, sec);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"cluster", required_argument, 0, 'c'},
                                         {"engine-file", required_argument, 0, 'e'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"experiment", required_argument, 0, 'x'},
                                         {"params", required_argument, 0, 'p'},
                                         {"out", required_argument, 0, 'o'},
                                         {"job", required_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    hostile_t h = {0};
    const char *conn = NULL, *engine_file = NULL, *out_file = NULL;
    double timeout = 3;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            conn = optarg;
            break;
        case 'e':
            engine_file = optarg;
            break;
        case 't':
            timeout = atof(optarg);
            break;
        case 'x':
            h.experiment = optarg;
            break;
        case 'p':
            h.params = optarg;
            break;
        case 'o':
            out_file = optarg;
            break;
        case 'j':
            h.job = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    const char *cmd = optind == argc - 1 ? argv[optind] : "";
    clab_log_init("clab-hostile", CLAB_LOG_ERROR);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(cmd, "keygen") == 0)
        return keygen();
    if (strcmp(cmd, "fake-controller") == 0 && out_file && h.experiment)
        return fake_controller(out_file, h.experiment, h.params);
    /* A file from before the split holds the one key pair for both. */
    if (strcmp(cmd, "attack") == 0 && !engine_file)
        engine_file = conn;
    if ((!conn && !engine_file) ||
        (strcmp(cmd, "hello") && strcmp(cmd, "attack") && strcmp(cmd, "submit") &&
         strcmp(cmd, "take") && strcmp(cmd, "steal")) ||
        (strcmp(cmd, "steal") == 0 && !h.job) ||
        (strcmp(cmd, "submit") == 0 && (!h.experiment || !h.params))) {
        usage(stderr);
        return 2;
    }
    if ((rc = load_files(&h, conn, engine_file)) == 0)
        rc = run_command(&h, cmd, timeout);
    if (h.cli)
        zmq_close(h.cli);
    if (h.eng)
        zmq_close(h.eng);
    if (h.zctx)
        zmq_ctx_term(h.zctx);
    json_decref(h.pending_odd);
    return rc;
}
