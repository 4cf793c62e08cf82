/* The contents of every readable file, rendered on demand from a notebook
 * snapshot taken when the file is opened. Large views stream from SQLite
 * cursors through a window buffer, so memory does not grow with the set;
 * reading backwards re-renders from the start of the same snapshot. */
#ifndef CLAB_VIEWS_H
#define CLAB_VIEWS_H

#include "tree.h"

#include <sys/types.h>

typedef struct clab_view clab_view_t;

int clab_view_open(clab_lab_t *lab, const clab_node_t *node, clab_view_t **out);
/* Copies up to size bytes at offset off; 0 at the end; -errno. */
ssize_t clab_view_read(clab_view_t *v, char *buf, size_t size, off_t off);
void clab_view_destroy(clab_view_t **v);
/* Renders a whole view to learn its size (for small files only). */
int clab_view_size(clab_lab_t *lab, const clab_node_t *node, off_t *size);

#endif
