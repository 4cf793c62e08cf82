/* The last rejected writes, for /errors: when, which file, the errno, the
 * message, and the offending text with a caret under the position that is
 * wrong (in the manner of ftrace's error_log). */
#ifndef CLAB_ERRORS_H
#define CLAB_ERRORS_H

#include "json.h"
#include "buf.h"
#include "space.h"

#include <pthread.h>
#include <stddef.h>

#define CLAB_ERRORS_KEEP 32

typedef struct {
    pthread_mutex_t lock;
    char *entries[CLAB_ERRORS_KEEP]; /* rendered records, oldest first */
    size_t count;
    double changed; /* when the last record was added (clab_now), for mtime */
} clab_errors_t;

void clab_errors_init(clab_errors_t *e);
void clab_errors_free(clab_errors_t *e);
/* Records a rejection of text written to file. */
void clab_errors_add(clab_errors_t *e, const char *file, const char *text, size_t len,
                     const clab_submit_error_t *err);
/* When the last record was added, or when the list was made. */
double clab_errors_changed(clab_errors_t *e);
/* Appends every record, oldest first. */
int clab_errors_render(clab_errors_t *e, clab_buf_t *out);
/* "EINVAL" for EINVAL, and so on. */
const char *clab_errno_name(int code);

#endif
