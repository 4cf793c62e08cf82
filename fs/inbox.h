/* What is written into the lab.
 *
 * /submit: one open collects the job text across writes, checks it as
 * soon as it is complete, records an accepted job in the notebook before
 * the write returns, and keeps the answer ("tag T\npoints N\n") for a read
 * on the same descriptor.
 *
 * /ctl: each line is one command (ctl.h), run when its newline arrives
 * (or at close for a last line without one); the write fails with the
 * command's errno.
 *
 * Every rejection is recorded in /errors with the text and a caret. */
#ifndef CLAB_INBOX_H
#define CLAB_INBOX_H

#include "tree.h"

#include <sys/types.h>

typedef struct clab_inbox clab_inbox_t;

int clab_inbox_new(clab_lab_t *lab, clab_inbox_kind_t kind, clab_inbox_t **out);
/* Returns size, or -errno when the text is wrong (also in /errors). */
ssize_t clab_inbox_write(clab_inbox_t *in, const char *buf, size_t size);
/* At close: -EINVAL when an incomplete job is left over; a last /ctl
 * command without a newline runs here. */
int clab_inbox_flush(clab_inbox_t *in);
/* The answer to the last accepted job, once, whatever the offset. */
ssize_t clab_inbox_read(clab_inbox_t *in, char *buf, size_t size, off_t off);
void clab_inbox_destroy(clab_inbox_t **in);

#endif
