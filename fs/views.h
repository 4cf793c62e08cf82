/* The contents of every readable file, and their sizes.
 *
 * Each open sees one state of the notebook, and knows its exact size from
 * the moment it is opened:
 *  - small files (status, N.json, experiment, …) are rendered whole at open;
 *  - results.csv, results.tsv and results.jsonl are the rows with N <= K
 *    for the K of the open, rendered with the columns of the open. Rows are
 *    only ever appended, so those bytes can be rendered again from any
 *    later snapshot: no snapshot is held between reads. Their size comes
 *    from byte counts the notebook keeps, without rendering;
 *  - pending and notebook.json hold their snapshot (a read transaction)
 *    for as long as they are open, since rows leave them;
 *  - wait renders the set's status once nothing is pending.
 * Large views stream from SQLite cursors through a window buffer, so
 * memory does not grow with the set; checkpoints every 64 KiB let a read
 * at any offset (tail's backward reads, a seek to the end) start near
 * where it is instead of at the beginning.
 *
 * Sizes as tools see them: a stat from a process that has the file open
 * (fstat in cp, rsync, tail, wc) answers for the snapshot that process
 * reads; anyone else gets the size of the present state. A stat by the
 * reader of an appendable view first moves its open on to the present
 * state when that only appends to what it has (same columns) and once the
 * reader has read all it had: that is how `tail -f` sees new rows, while
 * `cat` reading to the end sees one state, and a reader's fstat before its
 * read (Python's read() does one) agrees with what the read returns. */
#ifndef CLAB_VIEWS_H
#define CLAB_VIEWS_H

#include "tree.h"

#include <sys/stat.h>
#include <sys/types.h>

typedef struct clab_view clab_view_t;

int clab_view_open(clab_lab_t *lab, const clab_node_t *node, clab_view_t **out);
/* Makes stat from process pid answer for this open, until detached. */
void clab_view_attach(clab_view_t *v, int pid);
void clab_view_detach(clab_view_t *v);
/* Copies up to size bytes at offset off; 0 at the end; -errno. A read of
 * wait blocks until the set has nothing pending: -EINTR when the request
 * is interrupted, -EBUSY when the reader's uid has as many blocked as
 * lab->waiters allows. */
ssize_t clab_view_read(clab_view_t *v, char *buf, size_t size, off_t off);
void clab_view_destroy(clab_view_t **v);

/* The file this view shows. */
const clab_node_t *clab_view_node(const clab_view_t *v);
/* Size and modification time of an open file (fstat with a handle). */
int clab_view_stat_open(clab_view_t *v, off_t *size, double *mtime);
/* Attributes of node as the process pid sees them: a process reading the
 * file gets the size of what it reads. */
int clab_view_getattr(clab_lab_t *lab, const clab_node_t *node, int pid, struct stat *st);
/* Size and modification time of node as process pid sees it. */
int clab_view_stat(clab_lab_t *lab, const clab_node_t *node, int pid, off_t *size,
                   double *mtime);

/* A table or results.jsonl of a set that had nothing pending when it was
 * opened: its content changes only if points are added to the set again
 * (retry, a new submission), so the kernel may read it through the page
 * cache, and mmap it, for this open. */
int clab_view_settled(const clab_view_t *v);

#endif
