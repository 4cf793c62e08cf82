/* clab-engine: a worker. Connects to the controller named in a connection
 * file, announces itself with heartbeats, and runs the tasks it is given
 * one at a time (the controller keeps a small prefetch queued here so the
 * next task never waits for a round trip). Heartbeats carry the tasks held
 * (results not yet acknowledged included) and this process's incarnation,
 * so a restarted controller knows what is already in hand, and a restart
 * of this engine under the same id is told from a live one. Every result
 * is kept and sent again until the controller acknowledges it. */
#include "conninfo.h"
#include "daemon.h"
#include "json.h"
#include "log.h"
#include "protocol.h"
#include "random.h"
#include "reach.h"
#include "record.h"
#include "runner.h"
#include "worker.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define HEARTBEAT_INTERVAL 1.0
#define SILENCE_LIMIT 10.0
/* Seconds before a result the controller has not acknowledged is sent
 * again (a controller that is only slow acknowledges the copy too). */
#define RESULT_RESEND 5.0
/* Results kept for the controller to acknowledge: the controller gives an
 * engine at most its prefetch (<= 16) at a time, so this is only reached
 * when acknowledgements stop; then no new task starts until they resume. */
#define MAX_UNACKED 24
/* Seconds between two heartbeats that mean this engine was stopped (or
 * starved): the controller may have counted it lost and given its tasks
 * to others. It then starts nothing before the controller answered (its
 * answer comes after the cancels of what went elsewhere), or STALL_WAIT
 * passed without one. */
#define STALL_GAP 3.0
#define STALL_WAIT 5.0

typedef struct {
    void *zctx, *sock;
    char id[CLAB_PROTO_MAX_PEER + 1];
    char host[200];
    const char *scratch;
    json_t *queue; /* tasks received, not yet finished; [0] is the running one */
    /* Results sent, kept until the controller acknowledges them:
     * {"job", "record", "sent" (clab_mono of the last send)}. */
    json_t *unacked;
    char epoch[64];    /* the controller's, from its heartbeats */
    double stalled_at; /* clab_mono() of a stall not yet answered, or 0 */
    /* Heartbeats sent; the controller's answer echoes the number, so that
     * an answer to one sent before a stall is not taken for an answer to
     * one after it. stall_hb is the first sent after the stall. */
    json_int_t hbs, stall_hb;
    /* This process, for the controller: its messages carry it, and no
     * other holder of engine.json knows it, so none can speak for us
     * even under our id. */
    char incarnation[33];
    /* The stamp of the last task message received and the controller
     * epoch it came from, echoed by heartbeats. */
    json_int_t dispatch;
    char dispatch_epoch[64];
    long tasks_done;
    double last_hb;
    double last_heard;       /* from the controller */
    int silent;              /* said so in the log already */
    int cancel_running;      /* the controller cancelled the task in hand */
    clab_workers_t *workers; /* worker mode's long-lived experiments */
    clab_files_t *files;     /* the job files tasks brought (files.h) */
    char endpoint[512];
    clab_reach_t *reach; /* why the controller cannot be reached, logged */
    /* When this engine's Slurm job ends (seconds since the epoch; 0: no
     * end), sent with every heartbeat for walltime-aware dispatch. */
    double deadline;
    /* The controller told us to drain (why): leave once we hold nothing. */
    char drain_why[256];
} engine_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clab-engine --cluster FILE [options]\n"
            "\n"
            "A clabfs worker: takes tasks from the controller described by the\n"
            "connection file FILE (the controller's STATE/engine.json) and runs\n"
            "each experiment as SPEC's experiment contract says, one at a time.\n"
            "\n"
            "options:\n"
            "  --cluster FILE     the engines' connection file, engine.json (required)\n"
            "  --id ID            engine name (default HOST-PID)\n"
            "  --scratch DIR      where scratch directories are made (default $TMPDIR "
            "or /tmp)\n"
            "  --deadline EPOCH   when this engine's Slurm job ends, in seconds since\n"
            "                     the epoch: the controller gives it no point not\n"
            "                     expected to finish before then; with none left it\n"
            "                     drains and exits 0\n"
            "  --exit-with-parent stop when the parent process dies (embedded use)\n"
            "  -v, --verbose      log every task\n"
            "  -h, --help         this text\n"
            "  -V, --version      print the version\n");
}

/* What a heartbeat lists of a task or kept result: its job and the proof
 * of dispatch the controller gave with it, which a restarted controller
 * asks for before it lets us keep the task. */
static json_t *held_entry(const json_t *t)
{
    return json_pack("{s:O, s:O*}", "job", json_object_get(t, "job"), "proof",
                     json_object_get(t, "proof"));
}

static void heartbeat(engine_t *e, int force)
{
    double now = clab_mono();
    if (!force && now - e->last_hb < HEARTBEAT_INTERVAL)
        return;
    if (e->last_hb > 0 && now - e->last_hb > STALL_GAP) {
        clab_warn("no heartbeat for %.0f s; the next task waits for the controller",
                  now - e->last_hb);
        e->stalled_at = now;
        e->stall_hb = e->hbs + 1;
    }
    e->last_hb = now;
    e->hbs++;
    json_t *held = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(e->queue, i, t) json_array_append_new(held, held_entry(t));
    json_array_foreach(e->unacked, i, t) json_array_append_new(held, held_entry(t));
    json_t *body =
        json_pack("{s:s, s:I, s:I, s:o, s:s, s:I, s:s}", "host", e->host, "pid",
                  (json_int_t)getpid(), "tasks", (json_int_t)e->tasks_done, "held", held,
                  "incarnation", e->incarnation, "dispatch", e->dispatch,
                  "dispatch_epoch", e->dispatch_epoch);
    if (body && e->deadline > 0)
        json_object_set_new(body, "deadline", json_integer((json_int_t)e->deadline));
    int rc = clab_proto_send(e->sock, NULL, 0, "hb", body);
    if (rc && rc != -EAGAIN)
        clab_warn("heartbeat: %s", strerror(-rc));
    json_decref(body);
}

/* Where job is in a list of tasks or kept results, or -1. */
static long index_of(const json_t *list, const json_t *job)
{
    for (size_t k = 0; k < json_array_size(list); k++)
        if (json_equal(json_object_get(json_array_get(list, k), "job"), job))
            return (long)k;
    return -1;
}

/* Takes job's result off the unacknowledged list; 1 when it was there. */
static int forget_result(engine_t *e, const json_t *job)
{
    long k = index_of(e->unacked, job);
    if (k >= 0)
        json_array_remove(e->unacked, (size_t)k);
    return k >= 0;
}

/* Drops cancelled tasks from the local queue; the running one (index 0
 * while running) is killed through tick(). A cancelled task we already
 * finished is forgotten too: the controller has its result from us, or
 * has it run elsewhere. */
static void cancel_jobs(engine_t *e, json_t *jobs, int running)
{
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        forget_result(e, j);
        for (size_t k = 0; k < json_array_size(e->queue); k++) {
            json_t *t = json_array_get(e->queue, k);
            if (!json_equal(json_object_get(t, "job"), j))
                continue;
            if (k == 0 && running) {
                e->cancel_running = 1;
            } else {
                clab_info("task %s cancelled", json_string_value(j));
                json_array_remove(e->queue, k);
            }
            break;
        }
    }
}

/* The controller takes back a task we hold but have not started, for an
 * engine that is idle. The answer says whether we gave it up; the task
 * leaves our queue only once "given" is on its way, so it can neither run
 * twice nor be lost (a "given" lost with the connection leaves the task
 * out of our heartbeats, and the controller queues it again from those). */
static void give_back(engine_t *e, const json_t *job, int running)
{
    long k = index_of(e->queue, job);
    int given = k >= 0 && (k > 0 || !running);
    json_t *b = json_pack("{s:O, s:b, s:s}", "job", job, "given", given, "incarnation",
                          e->incarnation);
    int rc = b ? clab_proto_send(e->sock, NULL, 0, "takeback", b) : -ENOMEM;
    json_decref(b);
    if (given && rc == 0) {
        clab_info("task %s given back to the controller", json_string_value(job));
        json_array_remove(e->queue, (size_t)k);
    }
}

/* Sends one kept result (again). */
static void send_result(engine_t *e, json_t *kept)
{
    json_t *body =
        json_pack("{s:O, s:O, s:O*, s:s}", "job", json_object_get(kept, "job"), "record",
                  json_object_get(kept, "record"), "proof",
                  json_object_get(kept, "proof"), "incarnation", e->incarnation);
    int rc = body ? clab_proto_send(e->sock, NULL, 0, "result", body) : -ENOMEM;
    if (rc && rc != -EAGAIN)
        clab_warn("task %s: result not sent: %s",
                  json_string_value(json_object_get(kept, "job")), strerror(-rc));
    json_decref(body);
    json_object_set_new(kept, "sent", json_real(clab_mono()));
}

/* Sends again the results not acknowledged within RESULT_RESEND, or all
 * of them (all 1: a new controller, or a new connection, may not have
 * seen any). */
static void resend_results(engine_t *e, int all)
{
    double now = clab_mono();
    size_t i;
    json_t *kept;
    json_array_foreach(e->unacked, i, kept)
    {
        if (all || now - json_real_value(json_object_get(kept, "sent")) >= RESULT_RESEND)
            send_result(e, kept);
    }
}

/* The controller's heartbeat: a new epoch is a controller that restarted
 * (or recovered from a failed commit) and knows nothing of what we sent. */
static void on_controller_hb(engine_t *e, const json_t *b)
{
    const char *epoch = json_string_value(json_object_get(b, "epoch"));
    const json_t *sent = json_object_get(b, "sent");
    if (json_integer_value(json_object_get(b, "hb")) >= e->stall_hb)
        e->stalled_at = 0;
    /* The stamp of the last task the controller sent us. Messages of one
     * connection arrive in order, so a task sent before this answer that
     * did not come first was lost with an older connection (a network
     * that dropped, or another holder of engine.json that took our id for
     * a while): our next heartbeat says we have seen up to it, and the
     * controller queues the lost ones again. */
    if (epoch && json_is_integer(sent) &&
        (strcmp(epoch, e->dispatch_epoch) != 0 ||
         json_integer_value(sent) > e->dispatch)) {
        e->dispatch = json_integer_value(sent);
        snprintf(e->dispatch_epoch, sizeof e->dispatch_epoch, "%s", epoch);
    }
    if (!epoch || strcmp(epoch, e->epoch) == 0)
        return;
    int known = e->epoch[0] != '\0';
    snprintf(e->epoch, sizeof e->epoch, "%s", epoch);
    if (known && json_array_size(e->unacked) > 0) {
        clab_info("controller restarted; sending %zu result(s) again",
                  json_array_size(e->unacked));
        resend_results(e, 1);
    }
}

/* A task's files: the data that came with it are kept (files.h) and not
 * carried in the queue; 1 when every file it names is here. One that is
 * not (its data went with a task message lost on the way) is handed back
 * at once, saying which ("need"): the controller sends it again, with
 * them. */
static int task_files(engine_t *e, json_t *task)
{
    json_t *data = json_object_get(task, "file_data"), *need = json_array();
    int rc = data ? clab_files_take(e->files, data) : 0;
    if (rc && rc != -EINVAL)
        clab_err("job files of task %s not kept: %s",
                 json_string_value(json_object_get(task, "job")), strerror(-rc));
    json_object_del(task, "file_data");
    int ok = clab_files_missing(e->files, json_object_get(task, "files"), need) == 0;
    if (!ok) {
        json_t *b = json_pack("{s:O, s:b, s:s, s:O}", "job", json_object_get(task, "job"),
                              "given", 1, "incarnation", e->incarnation, "need", need);
        clab_warn("task %s lacks %zu of its files: handed back",
                  json_string_value(json_object_get(task, "job")), json_array_size(need));
        if (b)
            clab_proto_send(e->sock, NULL, 0, "takeback", b);
        json_decref(b);
    }
    json_decref(need);
    return ok;
}

static void on_message(engine_t *e, const clab_msg_t *m, int running)
{
    json_t *b = m->body;
    if (strcmp(m->type, "task") == 0 && json_is_string(json_object_get(b, "job")) &&
        json_is_string(json_object_get(b, "experiment")) &&
        json_is_object(json_object_get(b, "params"))) {
        const char *epoch = json_string_value(json_object_get(b, "epoch"));
        e->dispatch = json_integer_value(json_object_get(b, "dispatch"));
        snprintf(e->dispatch_epoch, sizeof e->dispatch_epoch, "%s", epoch ? epoch : "");
        /* A task we hold already (the controller sent it again: it
         * thought it lost with us) runs once: queued, it is there; done,
         * its result goes again instead of a second run. */
        const json_t *job = json_object_get(b, "job");
        long done = index_of(e->unacked, job);
        if (done >= 0)
            send_result(e, json_array_get(e->unacked, (size_t)done));
        else if (index_of(e->queue, job) < 0 && task_files(e, b))
            json_array_append(e->queue, b);
    } else if (strcmp(m->type, "cancel") == 0 &&
               json_is_array(json_object_get(b, "jobs"))) {
        cancel_jobs(e, json_object_get(b, "jobs"), running);
    } else if (strcmp(m->type, "takeback") == 0 &&
               json_is_string(json_object_get(b, "job"))) {
        give_back(e, json_object_get(b, "job"), running);
    } else if (strcmp(m->type, "ack") == 0 && json_is_array(json_object_get(b, "jobs"))) {
        size_t i;
        json_t *j;
        json_array_foreach(json_object_get(b, "jobs"), i, j) forget_result(e, j);
    } else if (strcmp(m->type, "hb") == 0) {
        on_controller_hb(e, b);
    } else if (strcmp(m->type, "drain") == 0) {
        /* Nothing queued here could finish before our deadline. */
        const char *why = json_string_value(json_object_get(b, "reason"));
        snprintf(e->drain_why, sizeof e->drain_why, "%s",
                 why && *why ? why : "the controller asked");
    } else {
        clab_warn("unexpected %s message dropped", m->type);
    }
}

/* Takes every waiting message off the socket. */
static void drain(engine_t *e, int running)
{
    clab_msg_t m;
    int rc;
    clab_reach_poll(e->reach);
    while ((rc = clab_proto_recv(e->sock, 0, &m)) != -EAGAIN) {
        if (rc)
            continue;
        e->last_heard = clab_mono();
        if (e->silent) {
            clab_info("controller back");
            e->silent = 0;
        }
        on_message(e, &m, running);
        clab_msg_clear(&m);
    }
    if (clab_mono() - e->last_heard > SILENCE_LIMIT) {
        /* zmq reconnects after a lost link, but not after a connection it
         * dropped for a protocol error (a message over ZMQ_MAXMSGSIZE): so
         * connect afresh, every SILENCE_LIMIT while the silence lasts. Our
         * heartbeats then tell the controller which tasks we hold, and
         * results we sent before may have gone with the old connection. */
        if (!e->silent)
            clab_warn("controller silent for %.0f s; connecting afresh", SILENCE_LIMIT);
        e->silent = 1;
        e->last_heard = clab_mono();
        zmq_disconnect(e->sock, e->endpoint);
        if (zmq_connect(e->sock, e->endpoint))
            clab_warn("cannot connect to %s: %s", e->endpoint, zmq_strerror(zmq_errno()));
        heartbeat(e, 1);
        resend_results(e, 1);
    }
}

/* Called between tasks (running 0) and at least once a second while an
 * experiment runs (running 1): a non-zero return kills the experiment. */
static int tick_state(engine_t *e, int running)
{
    heartbeat(e, 0);
    drain(e, running);
    resend_results(e, 0);
    return clab_stop_requested || (running && e->cancel_running);
}

static int tick(void *ud)
{
    return tick_state(ud, 1);
}

/* Slurm signals every process of a job step at once (scancel, --signal):
 * an experiment killed by SIGTERM may be reaped before our own SIGTERM is
 * seen. Such a point was interrupted with its engine, not failed: wait a
 * moment for our signal, and if it comes the task is handed back. */
static int stopping_with_us(const json_t *record)
{
    const json_t *md = json_object_get(record, "metadata");
    if (json_integer_value(json_object_get(md, "clab.exit_status")) != 128 + SIGTERM)
        return 0;
    for (int i = 0; i < 20 && !clab_stop_requested; i++)
        usleep(50 * 1000);
    return clab_stop_requested != 0;
}

static int run_one(engine_t *e)
{
    json_t *task = json_array_get(e->queue, 0);
    const char *job = json_string_value(json_object_get(task, "job"));
    clab_run_spec_t spec = {
        .experiment = json_string_value(json_object_get(task, "experiment")),
        .arguments = json_object_get(task, "arguments"),
        .tag = json_string_value(json_object_get(task, "tag")),
        .job = job,
        .params = json_object_get(task, "params"),
        .timeout = json_number_value(json_object_get(task, "timeout")),
        .engine_id = e->id,
        .host = e->host,
        .scratch_root = e->scratch,
        .files = json_object_get(task, "files"),
        .files_cache = e->files,
        .tick = tick,
        .tick_ud = e,
    };
    json_t *record = NULL, *worker = json_object_get(task, "worker");
    clab_debug("task %s: %s", job, spec.experiment);
    e->cancel_running = 0;
    /* "worker": true is a plain worker, "framed" a framed one (worker.h). */
    spec.framed = json_is_string(worker) && !strcmp(json_string_value(worker), "framed");
    int rc = json_is_true(worker) || spec.framed
                 ? clab_workers_run(e->workers, &spec, &record)
                 : clab_run_experiment(&spec, &record);
    if (rc == -EINTR && e->cancel_running && !clab_stop_requested) {
        clab_info("task %s cancelled while running", job);
        json_array_remove(e->queue, 0);
        return 0;
    }
    if (rc == -EINTR || (rc == 0 && stopping_with_us(record))) {
        json_decref(record);
        return -EINTR;
    }
    if (rc < 0) {
        /* The engine itself is broken (no scratch space, no fork): the
         * point fails with the reason, where `ctl retry` can find it. */
        char why[256];
        snprintf(why, sizeof why, "engine could not run it: %s", strerror(-rc));
        clab_err("task %s: %s", job, why);
        clab_record_info_t who = {.experiment = spec.experiment,
                                  .job = job,
                                  .engine_id = e->id,
                                  .host = e->host};
        record = clab_record_failure(&who, why);
        if (!record)
            return rc;
    }
    /* Kept until the controller acknowledges it: a result sent while the
     * controller is away, or counts us lost, is sent again. */
    json_t *kept = json_pack("{s:s, s:o, s:O*}", "job", job, "record", record, "proof",
                             json_object_get(task, "proof"));
    if (!kept)
        return -ENOMEM;
    json_array_append_new(e->unacked, kept);
    send_result(e, kept);
    e->tasks_done++;
    json_array_remove(e->queue, 0);
    return 0;
}

/* parse_options: run, or stop at once with exit status 0 (--help). */
#define OPTIONS_DONE 1

typedef struct {
    const char *cluster; /* the connection file */
    const char *id;      /* NULL: HOST-PID */
    const char *scratch;
    double deadline; /* 0: none */
    int with_parent;
    int verbose;
} engine_options_t;

static const struct option long_options[] = {{"cluster", required_argument, 0, 'c'},
                                             {"id", required_argument, 0, 'i'},
                                             {"scratch", required_argument, 0, 's'},
                                             {"exit-with-parent", no_argument, 0, 'P'},
                                             {"deadline", required_argument, 0, 'D'},
                                             {"verbose", no_argument, 0, 'v'},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};

/* Leaves *o ready to run, or says why not: OPTIONS_DONE after --help or
 * --version, -EINVAL for a usage error. */
static int parse_options(int argc, char **argv, engine_options_t *o)
{
    int opt;
    *o = (engine_options_t){0};
    while ((opt = getopt_long(argc, argv, "vhV", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o->cluster = optarg;
            break;
        case 'i':
            o->id = optarg;
            break;
        case 's':
            o->scratch = optarg;
            break;
        case 'P':
            o->with_parent = 1;
            break;
        case 'D': {
            char *end;
            o->deadline = strtod(optarg, &end);
            if (*end || end == optarg || !(o->deadline > 0 && o->deadline < 1e11)) {
                fprintf(stderr,
                        "clab-engine: --deadline wants seconds since the epoch, "
                        "not %s\n",
                        optarg);
                return -EINVAL;
            }
            break;
        }
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return OPTIONS_DONE;
        case 'V':
            printf("clab-engine %s\n", CLAB_VERSION);
            return OPTIONS_DONE;
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (!o->cluster || optind != argc) {
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/* The engine's name is its routing id, which the controller takes only
 * printable (it names a file in /engines). */
static void set_identity(engine_t *e, const char *id)
{
    gethostname(e->host, sizeof e->host - 1);
    if (id)
        snprintf(e->id, sizeof e->id, "%s", id);
    else
        snprintf(e->id, sizeof e->id, "%s-%d", e->host, (int)getpid());
    for (char *p = e->id; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '/')
            *p = '_';
}

static int connect_controller(engine_t *e, const char *conn)
{
    clab_conninfo_t ci;
    int rc = clab_conninfo_load_engine(conn, &ci);
    if (rc < 0) {
        clab_err("cannot use connection file %s: %s", conn, clab_conninfo_strerror(rc));
        return rc;
    }
    e->zctx = zmq_ctx_new();
    e->sock = e->zctx ? zmq_socket(e->zctx, ZMQ_DEALER) : NULL;
    if (!e->sock)
        return -ENOMEM;
    if (zmq_setsockopt(e->sock, ZMQ_ROUTING_ID, e->id, strlen(e->id)) ||
        clab_proto_socket_setup(e->sock, 0) || clab_conninfo_curve_engine(e->sock, &ci) ||
        clab_reach_new(e->zctx, e->sock, ci.engine_endpoint, &e->reach) ||
        zmq_connect(e->sock, ci.engine_endpoint)) {
        clab_err("cannot connect to %s: %s", ci.engine_endpoint,
                 zmq_strerror(zmq_errno()));
        return -EIO;
    }
    snprintf(e->endpoint, sizeof e->endpoint, "%s", ci.engine_endpoint);
    clab_info("engine %s serving %s", e->id, ci.engine_endpoint);
    return 0;
}

/* Whether the next task may start now. */
static int may_start(engine_t *e)
{
    if (json_array_size(e->queue) == 0 || json_array_size(e->unacked) >= MAX_UNACKED)
        return 0;
    if (e->stalled_at > 0 && clab_mono() - e->stalled_at < STALL_WAIT)
        return 0;
    e->stalled_at = 0;
    return 1;
}

/* Whether to leave now, holding nothing: the controller said drain, or
 * our deadline passed (the controller may be out of reach to say it). */
static int drained(engine_t *e)
{
    if (json_array_size(e->queue) > 0 || json_array_size(e->unacked) > 0)
        return 0;
    if (!e->drain_why[0] && e->deadline > 0 && clab_now() >= e->deadline)
        snprintf(e->drain_why, sizeof e->drain_why, "deadline passed");
    return e->drain_why[0] != '\0';
}

/* Runs tasks until a signal asks us to stop or we are drained, then hands
 * back what we hold (SIGTERM: Slurm's --signal at walltime, or scancel).
 * The running experiment was stopped by tick(); the controller puts every
 * task we held back in its queue with no try spent. */
static void serve(engine_t *e)
{
    e->last_heard = clab_mono();
    heartbeat(e, 1);
    while (!clab_stop_requested && !drained(e)) {
        /* Before each task too: a stall shows here first. */
        tick_state(e, 0);
        clab_workers_idle(e->workers);
        if (!may_start(e)) {
            zmq_pollitem_t it = {e->sock, 0, ZMQ_POLLIN, 0};
            zmq_poll(&it, 1, (long)(HEARTBEAT_INTERVAL * 1000));
            continue;
        }
        if (run_one(e) < 0 && !clab_stop_requested)
            sleep(1); /* do not spin on a broken machine */
    }
    if (clab_stop_requested)
        clab_info("stopping on signal; %zu task(s) handed back",
                  json_array_size(e->queue));
    else
        clab_info("draining: %s; exiting", e->drain_why);
    json_t *bye = json_pack("{s:s}", "incarnation", e->incarnation);
    clab_proto_send(e->sock, NULL, 0, "bye", bye);
    json_decref(bye);
    /* Give the goodbye a moment to leave: linger is 0 on our sockets. */
    usleep(100 * 1000);
}

static int run(const engine_options_t *o)
{
    engine_t e = {.scratch = o->scratch, .deadline = o->deadline};
    int rc;
    clab_log_init("clab-engine", o->verbose ? CLAB_LOG_DEBUG : CLAB_LOG_INFO);
    set_identity(&e, o->id);
    clab_random_hex(e.incarnation, 16);
    if ((rc = clab_daemon_init(o->with_parent)) < 0)
        return rc;
    e.queue = json_array();
    e.unacked = json_array();
    if ((rc = clab_workers_new(0, 0, &e.workers)) == 0 &&
        (rc = clab_files_new(o->scratch, &e.files)) == 0 &&
        (rc = connect_controller(&e, o->cluster)) == 0)
        serve(&e);
    clab_workers_destroy(&e.workers);
    clab_files_destroy(&e.files);
    clab_reach_destroy(&e.reach);
    if (e.sock)
        zmq_close(e.sock);
    if (e.zctx)
        zmq_ctx_term(e.zctx);
    json_decref(e.queue);
    json_decref(e.unacked);
    return rc;
}

int main(int argc, char **argv)
{
    engine_options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == OPTIONS_DONE ? 0 : 2;
    return run(&o) ? 1 : 0;
}
