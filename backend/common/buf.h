/* A growable byte buffer: the views, the runner and the controller build
 * text in it. Always NUL-terminated once anything was added, so data can
 * be handed to C string functions; a zeroed clab_buf_t is an empty one. */
#ifndef CLAB_BUF_H
#define CLAB_BUF_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} clab_buf_t;

/* Makes room for extra more bytes (and the NUL). 0 or -ENOMEM. */
int clab_buf_reserve(clab_buf_t *b, size_t extra);
int clab_buf_add(clab_buf_t *b, const void *p, size_t n);
int clab_buf_puts(clab_buf_t *b, const char *s);
int clab_buf_printf(clab_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees the bytes and leaves b empty (reusable). */
void clab_buf_free(clab_buf_t *b);

#endif
