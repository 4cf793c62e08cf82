/* The embedded local cluster: a clab-controller on ipc:// sockets in
 * STATE/cluster and N clab-engines, children of clabfs that live as long
 * as the mount. The controller's queue stays in STATE/cluster, so the next
 * mount resumes it. The supervisor of child.h restarts the children that
 * die. */
#ifndef CLAB_CLUSTER_H
#define CLAB_CLUSTER_H

#include "protocol.h"

#include <stddef.h>

typedef struct clab_cluster clab_cluster_t;

/* The largest --prefetch clab-controller takes, checked by clabfs before it
 * starts anything. */
#define CLAB_CLUSTER_MAX_PREFETCH CLAB_PROTO_MAX_PREFETCH

typedef struct {
    const char *state_dir; /* the cluster's own directory */
    int engines;
    int retries;
    int prefetch;       /* the controller's --prefetch; 0: its default */
    const char *bindir; /* where clab-controller and clab-engine are; NULL: search */
} clab_cluster_opts_t;

/* Starts the controller, waits until it listens, then starts the engines.
 * conn_file gets the connection file's path. */
int clab_cluster_start(const clab_cluster_opts_t *opts, clab_cluster_t **out,
                       char *conn_file, size_t conn_size);
/* SIGTERM to every child, then SIGKILL to those still there after a few
 * seconds; reaps them all. */
void clab_cluster_stop(clab_cluster_t **cluster);

#endif
