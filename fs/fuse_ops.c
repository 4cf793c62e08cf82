/* FUSE glue. Each open file gets a handle that is either a view (reads) or
 * an inbox (writes to /submit and /ctl); everything else is the tree's
 * business. */
#include "fuse_ops.h"
#include "inbox.h"
#include "log.h"
#include "tree.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Threads kept when idle: enough for ordinary load without churn. */
#define IDLE_THREADS 16

/* The threads the loop may run: libfuse's default unless main runs
 * clab_fuse_loop_mt. Read at init to size lab->waiters. */
static unsigned loop_threads = 10;

typedef struct handle {
    clab_view_t *view;
    clab_inbox_t *inbox;
    struct handle *prev, *next;
} handle_t;

/* Every handle not yet released. A lazy unmount (fusermount3 -uz while
 * `tail -f` holds a table open) ends the session without a release for
 * those files; destroy frees them before the lab they point into. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static handle_t *open_handles;

static void handle_link(handle_t *h)
{
    pthread_mutex_lock(&open_lock);
    h->next = open_handles;
    if (open_handles)
        open_handles->prev = h;
    open_handles = h;
    pthread_mutex_unlock(&open_lock);
}

static void handle_free(handle_t *h)
{
    pthread_mutex_lock(&open_lock);
    if (h->prev)
        h->prev->next = h->next;
    else
        open_handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&open_lock);
    clab_inbox_destroy(&h->inbox);
    clab_view_destroy(&h->view);
    free(h);
}

static clab_lab_t *lab_of_context(void)
{
    return fuse_get_context()->private_data;
}

static handle_t *handle_of(struct fuse_file_info *fi)
{
    return (handle_t *)(uintptr_t)fi->fh;
}

int clab_fuse_loop_mt(struct fuse *fuse, int clone_fd)
{
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    if (!cfg)
        return -1;
    fuse_loop_cfg_set_clone_fd(cfg, (unsigned)clone_fd);
    fuse_loop_cfg_set_max_threads(cfg, CLAB_FUSE_MAX_THREADS);
    fuse_loop_cfg_set_idle_threads(cfg, IDLE_THREADS);
    loop_threads = CLAB_FUSE_MAX_THREADS;
    int rc = fuse_loop_mt(fuse, cfg);
    fuse_loop_cfg_destroy(cfg);
    return rc;
}

static unsigned caller_uid(void)
{
    return (unsigned)fuse_get_context()->uid;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    clab_lab_t *lab = lab_of_context();
    /* No attribute caching: sizes of live files change, and a process
     * reading one must get the size of its own snapshot (views.h). Results
     * never change, so their pages are kept (keep_cache at open). */
    cfg->entry_timeout = 1.0;
    cfg->attr_timeout = 0.0;
    cfg->negative_timeout = 0.0;
    lab->interrupted = fuse_interrupted;
    lab->caller_uid = caller_uid;
    /* Blocked waits hold threads: some are kept out of their reach (one
     * for an interrupt, others for everything else), and the rest shared
     * between the owner and the other uids of an allow_other mount. */
    clab_waiters_limits_t wl =
        clab_waiters_thread_limits((unsigned)getuid(), loop_threads);
    if (clab_waiters_new(&wl, &lab->waiters) < 0)
        clab_err("no memory for the limits on reads of wait; they are not limited");
    return lab;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    clab_lab_t *lab = lab_of_context();
    handle_t *h = fi ? handle_of(fi) : NULL;
    if (h && h->view) {
        /* fstat-like, on the handle: what this open reads. */
        off_t size;
        double mtime;
        clab_view_stat_open(h->view, &size, &mtime);
        clab_tree_attr(clab_view_node(h->view), size, mtime, st);
        return 0;
    }
    clab_node_t node;
    int rc = clab_tree_lookup(lab, path, &node);
    return rc ? rc : clab_view_getattr(lab, &node, (int)fuse_get_context()->pid, st);
}

typedef struct {
    void *buf;
    fuse_fill_dir_t filler;
} fill_ctx_t;

static int fill_one(void *ud, const char *name, int is_dir, off_t next)
{
    fill_ctx_t *f = ud;
    struct stat st = {.st_mode = is_dir ? S_IFDIR | 0755 : S_IFREG | 0444};
    return f->filler(f->buf, name, &st, next, 0);
}

/* Listings go one kernel buffer at a time from the offset the kernel
 * passes back, so a directory of 100,000 results is never held whole in
 * memory (with offset 0 everywhere, libfuse would collect all of it). */
static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)fi;
    (void)flags;
    clab_lab_t *lab = lab_of_context();
    clab_node_t node;
    int rc = clab_tree_lookup(lab, path, &node);
    if (rc)
        return rc;
    fill_ctx_t f = {buf, filler};
    return clab_tree_readdir(lab, &node, off, fill_one, &f);
}

/* /submit and /ctl run code and change the notebook as the mount's owner:
 * with -o allow_other, no one else may open them, whatever the kernel's
 * permission check allowed (CAP_DAC_OVERRIDE passes any mode). */
static int owner_only(void)
{
    return fuse_get_context()->uid == getuid() ? 0 : -EACCES;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    clab_lab_t *lab = lab_of_context();
    clab_node_t node;
    int rc = clab_tree_lookup(lab, path, &node);
    if (rc)
        return rc;
    if (clab_node_is_dir(&node))
        return -EISDIR;
    int writing = (fi->flags & O_ACCMODE) != O_RDONLY;
    handle_t *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    const clab_node_info_t *info = clab_node_info(node.kind);
    if (info->render == CLAB_RENDER_INBOX) {
        rc = owner_only();
        if (!rc)
            rc = clab_inbox_new(lab, (clab_inbox_kind_t)info->arg, &h->inbox);
        fi->direct_io = 1;
    } else if (writing) {
        rc = -EACCES;
    } else if ((rc = clab_view_open(lab, &node, &h->view)) == 0) {
        clab_view_attach(h->view, (int)fuse_get_context()->pid);
        /* Live files bypass the page cache: each open reads its own
         * snapshot. A finished set's tables go through it so that mmap
         * works (pandas memory_map=True), without keep_cache: points added
         * to the set later are seen at the next open. */
        int settled = clab_view_settled(h->view);
        fi->direct_io = clab_node_is_live(&node) && !settled;
        fi->keep_cache = !clab_node_is_live(&node);
    }
    if (rc) {
        free(h);
        return rc;
    }
    handle_link(h);
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    (void)path;
    handle_t *h = handle_of(fi);
    if (h->inbox)
        return (int)clab_inbox_read(h->inbox, buf, size, off);
    return (int)clab_view_read(h->view, buf, size, off);
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    (void)off;
    handle_t *h = handle_of(fi);
    if (!h->inbox)
        return -EBADF;
    return (int)clab_inbox_write(h->inbox, buf, size);
}

/* Every close(2) of a descriptor flushes; the view stays attached to its
 * process until release, since `cmd < file` closes the descriptor the
 * shell opened after duplicating it. */
static int op_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    handle_t *h = handle_of(fi);
    return h->inbox ? clab_inbox_flush(h->inbox) : 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    handle_free(handle_of(fi));
    return 0;
}

static void op_destroy(void *private_data)
{
    clab_lab_t *lab = private_data;
    while (open_handles)
        handle_free(open_handles);
    clab_waiters_destroy(&lab->waiters);
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    (void)fi;
    (void)size;
    clab_node_t node;
    int rc = clab_tree_lookup(lab_of_context(), path, &node);
    if (rc)
        return rc;
    /* `echo job > submit` opens with O_TRUNC: a no-op for the inbox. */
    return clab_node_info(node.kind)->render == CLAB_RENDER_INBOX ? owner_only()
                                                                  : -EACCES;
}

const struct fuse_operations clab_fuse_ops = {
    .init = op_init,
    .destroy = op_destroy,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .truncate = op_truncate,
};
