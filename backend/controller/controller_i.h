/* clab-controller's private header: the state its three files share.
 *   controller.c          options, state directory, sockets, the loop and
 *                         the persistence window (commit, then reply);
 *   controller_clients.c  messages from clients, results on their way out;
 *   controller_engines.c  messages from engines, proofs of dispatch;
 *   controller_dispatch.c handing tasks out, taking them back;
 *   controller_results.c  a result's path: from its engine, into the
 *                         store, out to its client after the commit.
 * Not part of libclab: only clab-controller compiles these. */
#ifndef CLAB_CONTROLLER_I_H
#define CLAB_CONTROLLER_I_H

#include "conninfo.h"
#include "estimate.h"
#include "protocol.h"
#include "sha256.h"
#include "store.h"
#include "zap.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_PREFETCH CLAB_PROTO_MAX_PREFETCH
#define MAX_BATCH 1000
/* Undelivered results a client may have been sent again and not yet
 * acknowledged: two pages, so that one is stored while the next travels. */
#define RESEND_CREDIT (2 * MAX_BATCH)
#define MAX_TASK_BYTES (1024 * 1024)
#define COMMIT_WINDOW 0.01     /* seconds a transaction may stay open */
#define FILES_GC_INTERVAL 60.0 /* seconds between two forgettings of job files */
#define VACUUM_PAGES 2048      /* free pages given back per second, at most */

/* Where taking a held task back for an idle engine stands. */
enum takeback {
    TAKEBACK_NONE = 0, /* never asked */
    TAKEBACK_ASKED,    /* asked at held_t's asked; the answer decides */
    TAKEBACK_KEPT,     /* the engine had started it (or did not answer) */
};

/* A task an engine holds, as the controller believes. */
typedef struct {
    char *job;
    /* The stamp of the task message that gave it (controller_t's
     * dispatch_seq); 0 for one the engine claimed in a heartbeat. */
    int64_t dispatch;
    enum takeback takeback;
    double asked; /* clab_mono() of the take-back request */
} held_t;

typedef struct {
    char id[CLAB_PROTO_MAX_PEER + 1]; /* routing id, printable */
    char host[256];                   /* as the engine reports it (clab.host_reported) */
    /* The network address its latest message came from ("" on ipc://):
     * what a record it ran is stamped with, whatever the engine says. */
    char addr[64];
    long pid;
    /* Names the engine's process: another one under the same id is a
     * restart, and what the old one held is gone. */
    char incarnation[65];
    double last_seen;
    long tasks_done;
    int ninflight;
    held_t inflight[MAX_PREFETCH]; /* tasks handed to it, oldest first */
    /* The stamp of the last task message sent to it, told with every
     * heartbeat answer: one the engine never got was lost on the way. */
    int64_t last_sent;
    int unreachable; /* a task message to it failed in this dispatch */
    /* When its Slurm job ends (clab_now() seconds; 0: never said), from its
     * heartbeats; starved: a dispatch found nothing it could finish in
     * time; drained: told to leave, so given nothing more. */
    double deadline;
    int starved, drained;
    /* The job files (sha256 -> true) sent to this process with a task: it
     * keeps them, so a task naming one goes without its data. */
    json_t *files_sent;
} engine_peer_t;

/* Which undelivered results a client is being sent again. */
enum resend_mode {
    RESEND_NONE = 0,
    RESEND_ALL,   /* it said hello: everything it has not acknowledged */
    RESEND_STALE, /* those sent over resend_interval ago and still not acked */
};

typedef struct {
    char id[CLAB_PROTO_MAX_PEER + 1];
    double last_seen;
    int64_t resend_after; /* cursor while re-sending undelivered results */
    enum resend_mode resending;
    json_t *outgoing; /* results finished this turn, sent after commit */
    /* Credit: results sent and not acknowledged yet. Undelivered results
     * are paged out again only while fewer than RESEND_CREDIT are, so that
     * a client back from a long absence takes them at its own pace. */
    long unacked;
    double last_progress; /* the last ack, or the first send with none out */
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
    clab_zap_t *zap; /* admits each role's key on its own socket only */
    clab_store_t *store;
    clab_estimate_t *estimate; /* per-set point durations, for deadlines */
    clab_conninfo_t ci;
    char epoch[33];
    int64_t dispatch_seq; /* the last task message's stamp, for any engine */
    /* Signs proofs of dispatch: derived from the controller's secret key,
     * so that a restarted controller still recognises what it gave out,
     * and no holder of engine.json can make one. */
    unsigned char proof_key[CLAB_SHA256_LEN];
    char host[256]; /* this host: where engines on ipc:// run */

    engine_peer_t *engines;
    size_t nengines;
    client_t *clients;
    size_t nclients;
    long queued, running;
    double last_periodic;
    double files_gc_at;    /* clab_mono() of the next forgetting of unused files */
    double dispatch_after; /* a restarted controller lets engines reclaim first */
    int lock_fd;
    /* After a failed commit: clab_mono() of the next attempt to reopen
     * the store (0: it is open), and the back-off before the one after. */
    double recover_at, backoff;
    int failed_commits;
    int in_txn;
    double txn_start;
    int txn_msgs;
    json_t *replies;     /* replies to clients, sent after the commit */
    json_t *engine_acks; /* engine id -> [job ids] whose results this turn took */
} controller_t;

/* controller.c */
/* The routing id of m as a printable string (ids name files in /engines);
 * -EINVAL for one with other bytes. */
int controller_peer_id(const clab_msg_t *m, char *out);

/* controller_clients.c */
client_t *controller_find_client(controller_t *c, const char *id, int create);
/* Queues a reply to m's sender for after the commit; takes body. */
void controller_queue_reply(controller_t *c, const clab_msg_t *m, const char *type,
                            json_t *body);
void controller_handle_client(controller_t *c, clab_msg_t *m);
/* After a commit: the replies (results go after them, controller_results.c). */
void controller_flush_replies(controller_t *c);
/* After a failed commit: nothing of this turn may be said. */
void controller_drop_outgoing(controller_t *c);
void controller_free_clients(controller_t *c);

/* controller_engines.c */
#define CONTROLLER_PROOF_HEX 33 /* 128 bits as hex, and a NUL */
/* The proof that job was dispatched to the engine id in its incarnation:
 * an HMAC under c->proof_key, sent with the task, shown back with its
 * result and in claims after a restart. */
void controller_proof(const controller_t *c, const char *id, const char *incarnation,
                      const char *job, char out[CONTROLLER_PROOF_HEX]);
void controller_handle_engine(controller_t *c, clab_msg_t *m);
/* The engines as /engines shows them. */
void controller_publish_engines(const controller_t *c);
json_t *controller_engines_json(const controller_t *c);
/* Tells the engines running the cancelled tasks in running (from
 * clab_store_cancel) to stop them. */
void controller_stop_running(controller_t *c, const json_t *running);
/* Drops engines silent for longer than the heartbeat timeout. */
void controller_check_engines(controller_t *c, double now);

/* What the controller vouches for about who ran a task of e, delivered
 * beside its record: {"clab.engine", "clab.host", "clab.attempt"} (addr:
 * the message's peer address; attempt: which dispatch of the point, from
 * 1). A new reference, NULL when out of memory. */
json_t *controller_stamp(const controller_t *c, const engine_peer_t *e, const char *addr,
                         int attempt);
/* Whether proof (a JSON value from an engine) is job's for engine e. */
int controller_proof_ok(const controller_t *c, const engine_peer_t *e, const char *job,
                        const json_t *proof);
/* Takes job off e's list of held tasks; 1 when it was there. */
int controller_engine_forget(engine_peer_t *e, const char *job);

/* controller_results.c */
/* An engine's result message: the table row of "result". */
void controller_on_result(controller_t *c, engine_peer_t *e, const clab_msg_t *m);
/* Records job's result; its owner gets it after the commit, with stamp
 * (what the controller knows of who ran it: {"clab.engine", "clab.host"};
 * borrowed, NULL for none) beside it. 1 recorded, 0 already done or
 * unknown, -errno. */
int controller_finish_task(controller_t *c, const char *job, json_t *record,
                           const json_t *stamp);
/* Starts resending to clients that went quiet. */
void controller_check_clients(controller_t *c, double now);
/* Pages undelivered results into the clients' outgoing lists. */
void controller_resend(controller_t *c);
/* After a commit: results to their clients, then acknowledgements to the
 * engines whose results this turn stored (or had stored before), so that
 * they stop keeping them. */
void controller_flush_results(controller_t *c);
void controller_flush_acks(controller_t *c);

/* controller_dispatch.c */
/* Hands queued tasks to engines with free slots, idle engines first; with
 * the queue empty, asks engines to give back tasks they have not started
 * for the idle ones. */
void controller_dispatch(controller_t *c);
void controller_free_engines(controller_t *c);

#endif
