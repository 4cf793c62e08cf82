/* FUSE glue. Each open file gets a handle that is either a view (reads) or
 * an inbox (writes to /submit); everything else is the tree's business. */
#include "fuse_ops.h"
#include "inbox.h"
#include "log.h"
#include "tree.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    clab_view_t *view;
    clab_inbox_t *inbox;
} handle_t;

static clab_lab_t *lab_of_context(void)
{
    return fuse_get_context()->private_data;
}

static handle_t *handle_of(struct fuse_file_info *fi)
{
    return (handle_t *)(uintptr_t)fi->fh;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    /* Live files are direct I/O; results never change, so caching them is safe. */
    cfg->entry_timeout = 1.0;
    cfg->attr_timeout = 0.0;
    cfg->negative_timeout = 0.0;
    return lab_of_context();
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    (void)fi;
    clab_lab_t *lab = lab_of_context();
    clab_node_t node;
    int rc = clab_tree_lookup(lab, path, &node);
    return rc ? rc : clab_tree_getattr(lab, &node, st);
}

typedef struct {
    void *buf;
    fuse_fill_dir_t filler;
} fill_ctx_t;

static int fill_one(void *ud, const char *name, int is_dir)
{
    fill_ctx_t *f = ud;
    struct stat st = {.st_mode = is_dir ? S_IFDIR | 0755 : S_IFREG | 0444};
    return f->filler(f->buf, name, &st, 0, 0);
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off;
    (void)fi;
    (void)flags;
    clab_lab_t *lab = lab_of_context();
    clab_node_t node;
    int rc = clab_tree_lookup(lab, path, &node);
    if (rc)
        return rc;
    if (!clab_node_is_dir(&node))
        return -ENOTDIR;
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    fill_ctx_t f = {buf, filler};
    return clab_tree_readdir(lab, &node, fill_one, &f);
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
    if (node.kind == CLAB_NODE_SUBMIT) {
        rc = clab_inbox_new(lab, "submit", &h->inbox);
        fi->direct_io = 1;
    } else if (writing) {
        rc = -EACCES;
    } else {
        rc = clab_view_open(lab, &node, &h->view);
        fi->direct_io = clab_node_is_live(&node);
        fi->keep_cache = !fi->direct_io;
    }
    if (rc) {
        free(h);
        return rc;
    }
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

static int op_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    handle_t *h = handle_of(fi);
    return h->inbox ? clab_inbox_flush(h->inbox) : 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    handle_t *h = handle_of(fi);
    clab_inbox_destroy(&h->inbox);
    clab_view_destroy(&h->view);
    free(h);
    return 0;
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
    return node.kind == CLAB_NODE_SUBMIT ? 0 : -EACCES;
}

const struct fuse_operations clab_fuse_ops = {
    .init = op_init,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .truncate = op_truncate,
};
