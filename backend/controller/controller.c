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
#include "controller_i.h"

#include "daemon.h"
#include "log.h"
#include "random.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* parse_options: run, or stop at once with exit status 0 (--help). */
#define OPTIONS_DONE 1

typedef struct {
    const char *state_dir;
    const char *client_endpoint, *engine_endpoint; /* NULL: as last time */
    int use_ipc;
    int retries;
    int prefetch;
    int heartbeat_timeout;
    int ready_fd;
    int with_parent;
    int verbose;
} controller_options_t;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: clab-controller --state DIR [options]\n"
        "\n"
        "The hub of a clabfs cluster: keeps the queue of tasks, hands them to\n"
        "engines, and keeps results until the client (clabfs) has them. Writes\n"
        "DIR/cluster.json for clients and DIR/engine.json for engines (mode 0600).\n"
        "Restarted on the same DIR it keeps its endpoints, keys and queue.\n"
        "\n"
        "options:\n"
        "  --state DIR              state directory (required)\n"
        "  --ipc                    listen on ipc:// sockets in DIR/run (local cluster)\n"
        "  --client-endpoint EP     where clients connect (default tcp://127.0.0.1:*)\n"
        "  --engine-endpoint EP     where engines connect (default tcp://127.0.0.1:*)\n"
        "                           use tcp://*:PORT to accept other machines\n"
        "  --retries N              re-runs of a task whose engine was lost (default 3)\n"
        "  --prefetch N             tasks each engine may hold (default 2)\n"
        "  --heartbeat-timeout S    an engine silent this long is lost (default 10)\n"
        "  --ready-fd FD            write a line to FD once listening (for launchers)\n"
        "  --exit-with-parent       stop when the parent process dies (embedded use)\n"
        "  -v, --verbose            log every task\n"
        "  -h, --help               this text\n"
        "  -V, --version            print the version\n");
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

/* Options without a short form: numbered past every character. */
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
static const struct option long_options[] = {
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

/* Leaves *o ready to run, or says why not on stderr: OPTIONS_DONE after
 * --help or --version, -EINVAL for a usage error. */
static int parse_options(int argc, char **argv, controller_options_t *o)
{
    const char *bad = NULL;
    int opt;

    *o = (controller_options_t){
        .retries = 3, .prefetch = 2, .heartbeat_timeout = 10, .ready_fd = -1};
    while (!bad && (opt = getopt_long(argc, argv, "vhV", long_options, NULL)) != -1) {
        switch (opt) {
        case O_STATE:
            o->state_dir = optarg;
            break;
        case O_IPC:
            o->use_ipc = 1;
            break;
        case O_CEP:
            o->client_endpoint = optarg;
            break;
        case O_EEP:
            o->engine_endpoint = optarg;
            break;
        case O_RETRIES:
            if (parse_int(optarg, 0, 1000, &o->retries))
                bad = "--retries wants 0..1000, not %s\n";
            break;
        case O_PREFETCH:
            if (parse_int(optarg, 1, MAX_PREFETCH, &o->prefetch))
                bad = "--prefetch wants 1.." CLAB_STRINGIFY(MAX_PREFETCH) ", not %s\n";
            break;
        case O_HB:
            if (parse_int(optarg, 1, 86400, &o->heartbeat_timeout))
                bad = "--heartbeat-timeout wants 1..86400\n";
            break;
        case O_READY:
            if (parse_int(optarg, 0, 1 << 20, &o->ready_fd))
                bad = "--ready-fd wants a file descriptor\n";
            break;
        case O_PARENT:
            o->with_parent = 1;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return OPTIONS_DONE;
        case 'V':
            printf("clab-controller %s\n", CLAB_VERSION);
            return OPTIONS_DONE;
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (bad) {
        fprintf(stderr, "clab-controller: ");
        fprintf(stderr, bad, optarg);
        return -EINVAL;
    }
    if (!o->state_dir || optind != argc) {
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/* Routing ids are chosen by peers; only printable ones are accepted so they
 * can be logged and used as file names in /engines. */
int controller_peer_id(const clab_msg_t *m, char *out)
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

static int bind_socket(controller_t *c, void *sock, const char *want, char *got,
                       size_t gotlen)
{
    int rc = clab_proto_socket_setup(sock, 1);
    if (!rc)
        rc = clab_conninfo_curve_server(sock, &c->ci);
    /* The domain tells the ZAP handler which role's key may use the socket. */
    const char *domain =
        sock == c->clients_sock ? CLAB_ZAP_DOMAIN_CLIENTS : CLAB_ZAP_DOMAIN_ENGINES;
    if (!rc && zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)))
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
    /* What the connection files say: one address other hosts can use. */
    return clab_conninfo_public_endpoint(last, got, gotlen);
}

/* The state directory is private to this controller: one at a time. */
static int lock_state(controller_t *c)
{
    char path[4096];
    int rc;
    if ((rc = clab_mkdir_p(c->state_dir, 0700)) < 0) {
        clab_err("cannot create %s: %s", c->state_dir, strerror(-rc));
        return rc;
    }
    chmod(c->state_dir, 0700);
    snprintf(path, sizeof path, "%s/controller.lock", c->state_dir);
    c->lock_fd = clab_open_private(path, O_RDWR | O_CREAT);
    if (c->lock_fd < 0) {
        clab_err("cannot open %s: %s", path, strerror(-c->lock_fd));
        return c->lock_fd;
    }
    if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        clab_err("%s is in use by another clab-controller", c->state_dir);
        return -EBUSY;
    }
    return 0;
}

/* The keys of last time: the server's from key, the clients' from conn
 * (cluster.json), the engines' from engine.json beside it; fresh ones when
 * key or conn is missing. A state directory from before the split (one key
 * pair for both roles, no engine.json) keeps its server and client keys,
 * so its clients still get in, and gets a fresh engine key pair. *old gets
 * the old connection file; returns 1 when it is to be reused. */
static int load_keys(controller_t *c, const char *conn, const char *key,
                     clab_conninfo_t *old)
{
    char eng[4096];
    clab_conninfo_t e;
    int rc;
    int have_old = clab_conninfo_load(conn, old) == 0;
    if (clab_conninfo_load_server_key(key, &c->ci) == 0 && have_old) {
        memcpy(c->ci.client_public, old->client_public, CLAB_KEY_LEN);
        memcpy(c->ci.client_secret, old->client_secret, CLAB_KEY_LEN);
        snprintf(eng, sizeof eng, "%s/" CLAB_CONN_ENGINE_FILE, c->state_dir);
        /* An engine file holding the clients' key is no engine key. */
        if (clab_conninfo_load_engine(eng, &e) == 0 &&
            strcmp(e.engine_public, old->client_public) != 0) {
            memcpy(c->ci.engine_public, e.engine_public, CLAB_KEY_LEN);
            memcpy(c->ci.engine_secret, e.engine_secret, CLAB_KEY_LEN);
            clab_info("reusing the keys of %s and %s", conn, eng);
            return 1;
        }
        if ((rc = clab_conninfo_new_engine_keys(&c->ci)) < 0) {
            clab_err("cannot make CURVE keys: %s", strerror(-rc));
            return rc;
        }
        clab_info("reusing the keys of %s; engines get a key pair of their own in %s",
                  conn, eng);
        return 1;
    }
    if ((rc = clab_conninfo_new_keys(&c->ci)) < 0) {
        clab_err("cannot make CURVE keys (libzmq without CURVE?): %s", strerror(-rc));
        return rc;
    }
    if ((rc = clab_conninfo_save_server_key(key, &c->ci)) < 0) {
        clab_err("cannot write %s: %s", key, strerror(-rc));
        return rc;
    }
    return 0;
}

/* The ipc sockets live in run. Otherwise the same endpoints as last time
 * (old, when have_old), so that engines and
 * clients holding the old connection file find us again. */
static int choose_endpoints(controller_t *c, const char *run, const clab_conninfo_t *old,
                            int have_old)
{
    int rc;
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
    if (!c->client_bind[0])
        snprintf(c->client_bind, sizeof c->client_bind, "%s",
                 have_old ? old->client_endpoint : "tcp://127.0.0.1:*");
    if (!c->engine_bind[0])
        snprintf(c->engine_bind, sizeof c->engine_bind, "%s",
                 have_old ? old->engine_endpoint : "tcp://127.0.0.1:*");
    return 0;
}

/* Opens the queue and puts what was running back in it, as at every
 * start: -errno with no store open when either fails. */
static int open_store(controller_t *c)
{
    char path[4096];
    long done;
    int rc;
    snprintf(path, sizeof path, "%s/controller.db", c->state_dir);
    if ((rc = clab_store_open(path, &c->store)) < 0) {
        clab_err("cannot open %s: %s", path, strerror(-rc));
        return rc;
    }
    int back = clab_store_recover(c->store);
    if (back < 0) {
        clab_err("cannot put the running tasks of %s back in the queue: %s", path,
                 strerror(-back));
        clab_store_destroy(&c->store);
        return back;
    }
    if (back > 0) {
        /* Engines that still run those tasks claim them with their next
         * heartbeat; give them two heartbeats before handing them out. */
        c->dispatch_after = clab_mono() + 2.5;
    }
    clab_store_counts(c->store, &c->queued, &c->running, &done);
    clab_info("queue: %ld queued (%d were running), %ld result(s) awaiting delivery",
              c->queued, back, done);
    return 0;
}

static int open_sockets(controller_t *c)
{
    int rc;
    c->zctx = zmq_ctx_new();
    c->clients_sock = c->zctx ? zmq_socket(c->zctx, ZMQ_ROUTER) : NULL;
    c->engines_sock = c->zctx ? zmq_socket(c->zctx, ZMQ_ROUTER) : NULL;
    if (!c->zctx || !c->clients_sock || !c->engines_sock)
        return -ENOMEM;
    /* Before any bind: a CURVE handshake that finds no ZAP handler is
     * admitted whatever its client key. */
    if ((rc = clab_zap_start(c->zctx, c->ci.client_public, c->ci.engine_public,
                             &c->zap)) < 0) {
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
    return 0;
}

/* The key that signs proofs of dispatch, from the secret key that stays
 * in STATE/server.key: the same after a restart (engines claim what they
 * hold with proofs from before it), and unknown to every engine and
 * client. */
static void derive_proof_key(controller_t *c)
{
    static const char purpose[] = "clab/1 proof of dispatch";
    const void *parts[] = {purpose};
    size_t lens[] = {sizeof purpose - 1};
    clab_hmac_sha256(c->ci.server_secret, strlen(c->ci.server_secret), parts, lens, 1,
                     c->proof_key);
}

static int setup(controller_t *c)
{
    char run[400], conn[4096], key[4096];
    clab_conninfo_t old;
    int rc, have_old;
    if (snprintf(run, sizeof run, "%s/run", c->state_dir) >= (int)sizeof run) {
        clab_err("state directory path too long: %s", c->state_dir);
        return -ENAMETOOLONG;
    }
    snprintf(conn, sizeof conn, "%s/cluster.json", c->state_dir);
    snprintf(key, sizeof key, "%s/server.key", c->state_dir);
    if ((rc = lock_state(c)) < 0 || (rc = have_old = load_keys(c, conn, key, &old)) < 0 ||
        (rc = choose_endpoints(c, run, &old, have_old)) < 0 || (rc = open_store(c)) < 0 ||
        (rc = open_sockets(c)) < 0)
        return rc;
    if ((rc = clab_conninfo_save_files(c->state_dir, &c->ci)) < 0) {
        clab_err("cannot write %s: %s", conn, strerror(-rc));
        return rc;
    }
    derive_proof_key(c);
    if (gethostname(c->host, sizeof c->host - 1) < 0)
        snprintf(c->host, sizeof c->host, "localhost");
    clab_random_hex(c->epoch, 16);
    clab_info("listening: clients %s, engines %s; connection file %s",
              c->ci.client_endpoint, c->ci.engine_endpoint, conn);
    return 0;
}

static void teardown(controller_t *c)
{
    controller_free_engines(c);
    controller_free_clients(c);
    json_decref(c->replies);
    json_decref(c->engine_acks);
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
    clab_estimate_destroy(&c->estimate);
    if (c->lock_fd >= 0)
        close(c->lock_fd);
}

#define BACKOFF_FIRST 0.5
#define BACKOFF_MAX 8.0

/* A failed commit (a full disk, say) rolled the store back to the last
 * commit, but engines hold tasks handed out since and results of this
 * window are in no table: our memory is no longer the store's. Recover as
 * a restart would, in process: forget engines and clients, reopen the
 * store (running tasks back in the queue) under a new epoch, so that
 * engines re-register with what they hold (and resend their results) and
 * clients resend what we did not acknowledge. The reopen waits for a
 * back-off that doubles while it keeps failing. */
static void fail_commit(controller_t *c, int rc)
{
    if (c->recover_at == 0 && c->backoff == 0)
        clab_err("commit failed (%s): nothing since the last commit was kept; recovering "
                 "as after a restart, retrying for as long as it fails",
                 strerror(-rc));
    else
        clab_debug("commit failed again: %s", strerror(-rc));
    c->failed_commits++;
    controller_drop_outgoing(c);
    controller_free_engines(c);
    controller_free_clients(c);
    clab_store_destroy(&c->store);
    c->queued = c->running = 0;
    c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_FIRST;
    if (c->backoff > BACKOFF_MAX)
        c->backoff = BACKOFF_MAX;
    c->recover_at = clab_mono() + c->backoff;
}

/* Messages that arrive during a back-off are dropped: a heartbeat read
 * later would register an engine with what it held seconds ago. Engines
 * heartbeat again and resend results, clients resend what we did not
 * acknowledge (both on seeing the new epoch). */
static void discard_waiting(controller_t *c)
{
    void *socks[] = {c->engines_sock, c->clients_sock};
    for (int i = 0; i < 2; i++) {
        clab_msg_t m;
        int rc;
        while ((rc = clab_proto_recv(socks[i], 1, &m)) != -EAGAIN)
            if (rc == 0)
                clab_msg_clear(&m);
    }
}

/* During a back-off messages are dropped; then the store is reopened.
 * 1 while still recovering. */
static int recovering(controller_t *c)
{
    double left = c->recover_at - clab_mono();
    if (c->recover_at == 0)
        return 0;
    discard_waiting(c);
    if (left > 0) {
        usleep((useconds_t)((left < 0.25 ? left : 0.25) * 1e6));
        return 1;
    }
    if (open_store(c) < 0) {
        c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2;
        c->recover_at = clab_mono() + c->backoff;
        return 1;
    }
    c->recover_at = 0;
    clab_random_hex(c->epoch, 16);
    clab_info("store reopened after %d failed commit(s); new epoch %s", c->failed_commits,
              c->epoch);
    return 0;
}

/* Ends the open transaction and only then says what it made durable:
 * acknowledgements of submissions and results for the clients. */
static int commit(controller_t *c)
{
    int rc = clab_store_commit(c->store);
    c->in_txn = 0;
    if (rc) {
        /* Nothing since the last commit is durable: acknowledge none of it. */
        fail_commit(c, rc);
        return 0;
    }
    if (c->failed_commits) {
        clab_info("commits work again after %d failure(s)", c->failed_commits);
        c->failed_commits = 0;
    }
    c->backoff = 0;
    controller_flush_replies(c);
    controller_flush_results(c);
    controller_flush_acks(c);
    return 0;
}

/* Handles up to MAX_BATCH messages from each side; returns how many
 * rounds found one. */
static int handle_waiting(controller_t *c)
{
    int got = 0;
    for (int k = 0; k < MAX_BATCH; k++) {
        clab_msg_t m;
        int any = 0;
        if (clab_proto_recv(c->engines_sock, 1, &m) == 0) {
            controller_handle_engine(c, &m);
            clab_msg_clear(&m);
            any = 1;
        }
        if (clab_proto_recv(c->clients_sock, 1, &m) == 0) {
            controller_handle_client(c, &m);
            clab_msg_clear(&m);
            any = 1;
        }
        if (!any)
            break;
        got++;
    }
    return got;
}

/* When the open transaction is due. While tasks are queued or running,
 * more results are coming: the transaction stays open up to COMMIT_WINDOW
 * so that a stream of results costs the notebook one synced transaction
 * per window rather than one per result. With nothing in flight nothing
 * is worth waiting for: it is due at once, so that a lone point's
 * submission and result are answered without waiting for a timer. */
static double commit_due(const controller_t *c)
{
    return c->queued + c->running > 0 ? c->txn_start + COMMIT_WINDOW : 0;
}

/* One turn of the loop. A transaction stays open across turns while
 * messages keep coming, up to COMMIT_WINDOW (a group commit), and is
 * committed once the sockets are empty and it is due (commit_due). Tasks
 * go to engines at once, before the commit: if we crash, the engine still
 * holds the task and claims it when it re-registers. */
static int turn(controller_t *c)
{
    zmq_pollitem_t items[] = {{c->clients_sock, 0, ZMQ_POLLIN, 0},
                              {c->engines_sock, 0, ZMQ_POLLIN, 0}};
    long timeout = 250;
    if (c->in_txn) {
        double left = commit_due(c) - clab_mono();
        timeout = left > 0 ? (long)(left * 1000) + 1 : 0;
    }
    if (recovering(c))
        return 0;
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
    int got = handle_waiting(c);
    c->txn_msgs += got;
    double now = clab_mono();
    if (now - c->last_periodic >= 1.0) {
        c->last_periodic = now;
        controller_check_engines(c, now);
        controller_check_clients(c, now);
        /* The pages of delivered and cancelled tasks go back to the file
         * system, at most VACUUM_PAGES a second so that a commit window
         * stays short. */
        if (clab_store_vacuum(c->store, VACUUM_PAGES) < 0)
            clab_warn("store: incremental vacuum failed");
    }
    if (now >= c->files_gc_at) {
        /* Job files no unfinished task names: a scan of the queue, so
         * not often. */
        c->files_gc_at = now + FILES_GC_INTERVAL;
        int n = clab_store_files_gc(c->store);
        if (n > 0)
            clab_debug("%d job file(s) no task names any more forgotten", n);
    }
    controller_resend(c);
    controller_dispatch(c);
    if ((got == 0 && now >= commit_due(c)) || c->txn_msgs >= MAX_BATCH ||
        now - c->txn_start >= COMMIT_WINDOW)
        return commit(c);
    return 0;
}

static int run(const controller_options_t *o)
{
    controller_t c = {
        .state_dir = o->state_dir,
        .use_ipc = o->use_ipc,
        .retries = o->retries,
        .prefetch = o->prefetch,
        .heartbeat_timeout = o->heartbeat_timeout,
        .resend_interval = 10,
        .lock_fd = -1,
    };
    snprintf(c.client_bind, sizeof c.client_bind, "%s",
             o->client_endpoint ? o->client_endpoint : "");
    snprintf(c.engine_bind, sizeof c.engine_bind, "%s",
             o->engine_endpoint ? o->engine_endpoint : "");
    clab_log_init("clab-controller", o->verbose ? CLAB_LOG_DEBUG : CLAB_LOG_INFO);
    if (clab_daemon_init(o->with_parent) < 0)
        return -ESRCH;

    c.replies = json_array();
    c.engine_acks = json_object();
    int rc = clab_estimate_new(&c.estimate);
    if (!rc)
        rc = setup(&c);
    if (o->ready_fd >= 0) {
        if (!rc && write(o->ready_fd, "ready\n", 6) != 6)
            clab_warn("--ready-fd: %s", strerror(errno));
        close(o->ready_fd);
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
    return rc;
}

int main(int argc, char **argv)
{
    controller_options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc == OPTIONS_DONE ? 0 : 2;
    return run(&o) ? 1 : 0;
}
