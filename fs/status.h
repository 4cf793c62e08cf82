/* The status record: the cluster (engines, connected), the current set or
 * a given one (results, failed, pending, the ready fraction) and, for one
 * set, its total and whether it is done; then the set's progress (rate,
 * eta, started); as `key value` lines or as one JSON object, which for the
 * lab also counts the FUSE requests answered. /status,
 * /status.json, /results/TAG/status and, once the set is done, /results/TAG/wait render
 * it. */
#ifndef CLAB_STATUS_H
#define CLAB_STATUS_H

#include "tree.h"
#include "buf.h"

/* Appends the lab's status (the current set's), or with CLAB_STATUS_SET
 * the status of the set tag, in the snapshot r; *mtime is now, since the
 * cluster part changes on its own. */
int clab_status_render(clab_lab_t *lab, clab_nb_reader_t *r, const char *tag,
                       clab_status_flags_t flags, clab_buf_t *out, double *mtime);

#endif
