/* The link between the notebook and the cluster, on a thread of its own so
 * that no FUSE request ever waits on the network: it sends pending jobs to
 * the controller (all of them again whenever a session starts, since
 * submission is idempotent by job id), stores arriving results in the
 * notebook before acknowledging them, and publishes the cluster's state
 * (engines, connected) for /status. */
#ifndef CLAB_SYNC_H
#define CLAB_SYNC_H

#include "lab.h"

typedef struct clab_sync clab_sync_t;

/* conn_file: the controller's connection file; waiting_time and
 * reconnections tune reconnection (see clab_client_new). */
int clab_sync_start(clab_lab_t *lab, const char *conn_file, double waiting_time,
                    int reconnections, clab_sync_t **out);
void clab_sync_stop(clab_sync_t **sync);
/* Makes the thread look at the notebook now (lab->wake). */
void clab_sync_wake(void *sync);

#endif
