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
 *  - wait renders the set's status once nothing is pending; until then a
 *    read is held (clab_waits_*), holding no thread.
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
 * wait whose set (for /wait: any set) still has points pending answers
 * -EAGAIN at once: the caller holds it (clab_waits_prepare), to be
 * answered once the set is done. */
ssize_t clab_view_read(clab_view_t *v, char *buf, size_t size, off_t off);
void clab_view_destroy(clab_view_t **v);

/* The file this view shows. */
const clab_node_t *clab_view_node(const clab_view_t *v);
/* Size and modification time of an open file (fstat with a handle). */
int clab_view_stat_open(clab_view_t *v, off_t *size, double *mtime);
/* Attributes of node as the process pid sees them: a process reading the
 * file gets the size of what it reads. 0 for the file as it is now, 1 for
 * the answer of pid's own open (which the kernel must not keep), or
 * -errno. */
int clab_view_getattr(clab_lab_t *lab, const clab_node_t *node, int pid, struct stat *st);
/* Size and modification time of node as process pid sees it; returns as
 * clab_view_getattr. */
int clab_view_stat(clab_lab_t *lab, const clab_node_t *node, int pid, off_t *size,
                   double *mtime);

/* A table or results.jsonl of a set that had nothing pending when it was
 * opened: its content changes only if points are added to the set again
 * (retry, a new submission, which invalidate what the kernel cached), so
 * the kernel may read it through the page cache, mmap it and keep it. */
int clab_view_settled(const clab_view_t *v);
/* A wait: not registered by process (clab_view_attach ignores it), its
 * size being 0 until it is done anyway. */
int clab_view_is_wait(const clab_view_t *v);

/* Reads of wait held until their set is done, answered by one thread of
 * their own however many there are (views_wait.c). */
typedef struct clab_waits clab_waits_t;
typedef struct clab_wait clab_wait_t;

/* How a held read is answered: n bytes at data (n >= 0) or the error n.
 * Called once for each held read, by the waits' thread, by the hold that
 * found its set done meanwhile, or by clab_waits_stop (-ENOTCONN: the
 * mount is gone); never under the waits' lock. */
typedef void (*clab_wait_answer_t)(void *token, const char *data, ssize_t n);

/* Starts the thread that answers held reads: at each notebook commit (and
 * a few times a second) it checks each waited-for set once, however many
 * reads wait on it. The reads of owner (the mount owner's uid) are bounded
 * by memory only, other uids' as waiters.h says. */
int clab_waits_start(clab_lab_t *lab, unsigned owner, clab_wait_answer_t answer,
                     clab_waits_t **out);
/* Stops the thread and answers each read still held -ENOTCONN. */
void clab_waits_stop(clab_waits_t **w);
/* A read by uid of size bytes at off of v, a wait that answered -EAGAIN,
 * to be answered through token: *out, not yet held; -EBUSY when uid has as
 * many held as its limit allows (logged), -ENOMEM. */
int clab_waits_prepare(clab_waits_t *w, clab_view_t *v, unsigned uid, size_t size,
                       off_t off, void *token, clab_wait_t **out);
/* Holds h until its set is done: 0; or -EINTR when clab_waits_interrupt
 * came first (-ENOMEM without memory): h is freed and the caller answers. */
int clab_waits_hold(clab_wait_t *h);
/* The read of h was interrupted (Ctrl-C): 1 when the caller must answer
 * it -EINTR now (h is freed), 0 when it is answered anyway (before its
 * hold, by the hold's caller; once claimed, with its set's status). */
int clab_waits_interrupt(clab_wait_t *h);
/* How many reads are held now. */
int clab_waits_count(clab_waits_t *w);

#endif
