/* A ring of the last rejections, rendered when recorded. */
#include "errors.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXCERPT_MAX 160

void clab_errors_init(clab_errors_t *e)
{
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->lock, NULL);
    e->changed = clab_now();
}

void clab_errors_free(clab_errors_t *e)
{
    for (size_t i = 0; i < e->count; i++)
        free(e->entries[i]);
    e->count = 0;
    pthread_mutex_destroy(&e->lock);
}

const char *clab_errno_name(int code)
{
    switch (code) {
    case EINVAL:
        return "EINVAL";
    case ENOENT:
        return "ENOENT";
    case EACCES:
        return "EACCES";
    case E2BIG:
        return "E2BIG";
    case EEXIST:
        return "EEXIST";
    case ENOSPC:
        return "ENOSPC";
    case EIO:
        return "EIO";
    case ENOMEM:
        return "ENOMEM";
    case EBUSY:
        return "EBUSY";
    case ENOSYS:
        return "ENOSYS";
    default:
        return "EIO";
    }
}

/* The line holding pos, cut to a window around it, printable, with the
 * caret's column in that window. */
static void excerpt(const char *text, size_t len, long pos, char *line, size_t *caret)
{
    size_t p = pos >= 0 && (size_t)pos <= len ? (size_t)pos : 0;
    size_t start = p, end = p;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    while (end < len && text[end] != '\n')
        end++;
    if (p - start > EXCERPT_MAX / 2)
        start = p - EXCERPT_MAX / 2;
    if (end - start > EXCERPT_MAX)
        end = start + EXCERPT_MAX;
    size_t k = 0;
    for (size_t i = start; i < end; i++) {
        unsigned char c = (unsigned char)text[i];
        line[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    line[k] = '\0';
    *caret = p - start;
}

void clab_errors_add(clab_errors_t *e, const char *file, const char *text, size_t len,
                     const clab_submit_error_t *err)
{
    char when[40], line[EXCERPT_MAX + 1];
    size_t caret = 0;
    clab_buf_t b = {0};
    clab_iso8601(when, clab_now());
    excerpt(text, len, err->position, line, &caret);
    clab_buf_printf(&b, "[%s] %s: %s: %s\n", when, file, clab_errno_name(err->code),
                    err->message);
    if (err->line > 0)
        clab_buf_printf(&b, "  at line %d, column %d\n", err->line, err->column);
    clab_buf_printf(&b, "  Command: %s\n", line);
    if (err->position >= 0)
        clab_buf_printf(&b, "           %*s^\n", (int)caret, "");
    if (!b.data)
        return;
    pthread_mutex_lock(&e->lock);
    if (e->count == CLAB_ERRORS_KEEP) {
        free(e->entries[0]);
        memmove(e->entries, e->entries + 1,
                (CLAB_ERRORS_KEEP - 1) * sizeof e->entries[0]);
        e->count--;
    }
    e->entries[e->count++] = b.data;
    e->changed = clab_now();
    pthread_mutex_unlock(&e->lock);
}

double clab_errors_changed(clab_errors_t *e)
{
    pthread_mutex_lock(&e->lock);
    double t = e->changed;
    pthread_mutex_unlock(&e->lock);
    return t;
}

int clab_errors_render(clab_errors_t *e, clab_buf_t *out)
{
    int rc = 0;
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; i < e->count && !rc; i++)
        rc = clab_buf_puts(out, e->entries[i]);
    pthread_mutex_unlock(&e->lock);
    return rc;
}
