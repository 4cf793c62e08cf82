/* The FUSE glue, on libfuse's low-level API (shaped after its examples
 * hello_ll.c and passthrough_ll.c). An inode number is a node of the tree,
 * not a slot in a table, so each request decodes its node, asks the tree,
 * the views or the inbox, and answers once (call_end). The kernel keeps
 * what a node's timeouts allow: result files and a settled set's files for
 * hours, live ones not at all. Directories are listed with attributes
 * (readdirplus), a settled set's listing is kept in the kernel's cache,
 * and a read of wait that cannot be answered yet is held (views.h), not a
 * thread. What changes a cached set is invalidated from the link thread
 * (fuse_ops_dir.c), never from a request. With no inode table, forget has
 * nothing to do. */
#include "fuse_ops_i.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static call_t call_begin(fuse_req_t req, clab_req_t op)
{
    clab_fuse_t *fs = fuse_req_userdata(req);
    return (call_t){
        .req = req, .fs = fs, .op = op, .gen = clab_notebook_generation(fs->lab->nb)};
}

/* c is answered now (or held: answered later, and counted then). */
int clab_fusep_answering(call_t *c, int counted)
{
    c->answers++;
    if (counted)
        clab_lab_count(c->fs->lab, c->op);
    return 0;
}

static void call_end(call_t *c, int rc)
{
    /* Success answers itself; only an error may reach here unanswered. */
    assert(c->answers == 1 || (c->answers == 0 && rc < 0));
    if (c->answers == 0) {
        if (rc >= 0) {
            clab_err("fuse: request of kind %d left unanswered", (int)c->op);
            rc = -EIO;
        }
        clab_fusep_answering(c, 1);
        fuse_reply_err(c->req, -rc);
    }
}

double clab_fusep_timeout(call_t *c, const clab_node_t *node)
{
    double t = clab_node_timeout(node);
    if (t > 0 && clab_node_info(node->kind)->cache == CLAB_CACHE_SETTLED &&
        clab_notebook_generation(lab_of(c)->nb) != c->gen)
        t = 0;
    return t;
}

int clab_fusep_entry(call_t *c, const clab_node_t *node, struct fuse_entry_param *e)
{
    int own = clab_view_getattr(lab_of(c), node, (int)ctx_of(c)->pid, &e->attr);
    if (own < 0)
        return own;
    if (!(e->ino = clab_node_ino(node)))
        return -EOVERFLOW;
    e->attr_timeout = own ? 0 : clab_fusep_timeout(c, node);
    e->entry_timeout = clab_node_entry_timeout(node);
    return 0;
}

static int do_lookup(call_t *c, fuse_ino_t parent, const char *name)
{
    clab_node_t dir, node;
    struct fuse_entry_param e = {0};
    int rc = clab_tree_node(lab_of(c), parent, &dir);
    rc = rc ? rc : clab_tree_child(lab_of(c), &dir, name, &node);
    rc = rc ? rc : clab_fusep_entry(c, &node, &e);
    if (rc)
        return rc; /* ENOENT is not cached: a result may appear */
    clab_fusep_answering(c, 1);
    fuse_reply_entry(c->req, &e);
    return 0;
}

static handle_t *handle_of(struct fuse_file_info *fi)
{
    return fi ? (handle_t *)(uintptr_t)fi->fh : NULL;
}

static int do_getattr(call_t *c, fuse_ino_t ino, struct fuse_file_info *fi)
{
    handle_t *h = handle_of(fi);
    struct stat st;
    clab_node_t node;
    double timeout = 0;
    if (h && h->view && !h->cached) {
        /* On the handle (a read's size check, lseek): what this open reads. */
        off_t size;
        double mtime;
        clab_view_stat_open(h->view, &size, &mtime);
        clab_tree_attr(clab_view_node(h->view), size, mtime, &st);
    } else {
        int rc = clab_tree_node(lab_of(c), ino, &node);
        int own = rc ? rc : clab_view_getattr(lab_of(c), &node, (int)ctx_of(c)->pid, &st);
        if (own < 0)
            return own;
        timeout = own ? 0 : clab_fusep_timeout(c, &node);
    }
    clab_fusep_answering(c, 1);
    fuse_reply_attr(c->req, &st, timeout);
    return 0;
}

/* /submit and /ctl run code and change the notebook as the mount's owner:
 * with -o allow_other, no one else may open them, whatever the kernel's
 * permission check allowed (CAP_DAC_OVERRIDE passes any mode). */
static int owner_only(call_t *c)
{
    return ctx_of(c)->uid == getuid() ? 0 : -EACCES;
}

/* truncate(2): `echo job > submit` may truncate the inbox, a no-op; other
 * changes of attributes are not supported, as before. */
static int do_setattr(call_t *c, fuse_ino_t ino, int to_set)
{
    clab_node_t node;
    struct stat st;
    int rc = clab_tree_node(lab_of(c), ino, &node);
    if (rc)
        return rc;
    if (!(to_set & FUSE_SET_ATTR_SIZE))
        return -ENOSYS;
    if (clab_node_info(node.kind)->render != CLAB_RENDER_INBOX)
        return -EACCES;
    if ((rc = owner_only(c)) < 0 ||
        (rc = clab_view_getattr(lab_of(c), &node, (int)ctx_of(c)->pid, &st)) < 0)
        return rc;
    clab_fusep_answering(c, 1);
    fuse_reply_attr(c->req, &st, 0);
    return 0;
}

static void handle_link(clab_fuse_t *fs, handle_t *h)
{
    pthread_mutex_lock(&fs->lock);
    h->next = fs->handles;
    if (fs->handles)
        fs->handles->prev = h;
    fs->handles = h;
    pthread_mutex_unlock(&fs->lock);
}

static void handle_drop(handle_t *h)
{
    clab_inbox_destroy(&h->inbox);
    clab_view_destroy(&h->view);
    free(h);
}

static void handle_free(clab_fuse_t *fs, handle_t *h)
{
    pthread_mutex_lock(&fs->lock);
    if (h->prev)
        h->prev->next = h->next;
    else
        fs->handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&fs->lock);
    handle_drop(h);
}

/* A view of node for reading, and how the kernel may cache it: live files
 * bypass the page cache, each open reading its own snapshot, which its
 * process's stat answers for; result files and a settled set's tables go
 * through it, so that mmap works (pandas memory_map=True), and are kept
 * across opens (what reopens the set invalidates them): the page cache
 * holds one state for all opens, the present one, and so do their stats. */
static int open_view(call_t *c, const clab_node_t *node, handle_t *h,
                     struct fuse_file_info *fi)
{
    int rc = clab_view_open(lab_of(c), node, &h->view);
    if (rc)
        return rc;
    h->cached = !clab_node_is_live(node) || clab_view_settled(h->view);
    if (!h->cached)
        clab_view_attach(h->view, (int)ctx_of(c)->pid);
    fi->direct_io = !h->cached;
    fi->keep_cache = h->cached;
    return 0;
}

static int do_open(call_t *c, fuse_ino_t ino, struct fuse_file_info *fi)
{
    clab_node_t node;
    int rc = clab_tree_node(lab_of(c), ino, &node);
    if (rc)
        return rc;
    if (clab_node_is_dir(&node))
        return -EISDIR;
    handle_t *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    const clab_node_info_t *info = clab_node_info(node.kind);
    if (info->render == CLAB_RENDER_INBOX) {
        rc = owner_only(c);
        rc = rc ? rc : clab_inbox_new(lab_of(c), (clab_inbox_kind_t)info->arg, &h->inbox);
        fi->direct_io = 1;
    } else if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        rc = -EACCES;
    } else {
        rc = open_view(c, &node, h, fi);
    }
    if (rc) {
        handle_drop(h);
        return rc;
    }
    handle_link(c->fs, h);
    fi->fh = (uint64_t)(uintptr_t)h;
    clab_fusep_answering(c, 1);
    /* An open interrupted meanwhile gets no release: free it here. */
    if (fuse_reply_open(c->req, fi) != 0)
        handle_free(c->fs, h);
    return 0;
}

/* Libfuse, on an INTERRUPT for a held read (Ctrl-C, timeout): answered at
 * once, unless the waits' thread has it already. */
static void interrupted(fuse_req_t req, void *data)
{
    clab_fuse_t *fs = fuse_req_userdata(req);
    if (clab_waits_interrupt(data)) {
        clab_lab_count(fs->lab, CLAB_REQ_READ);
        fuse_reply_err(req, EINTR);
    }
}

/* The waits' answer to a held read (views.h). */
static void answer_wait(void *token, const char *data, ssize_t n)
{
    fuse_req_t req = token;
    clab_fuse_t *fs = fuse_req_userdata(req);
    /* Waits out an interrupt being handled now (it finds the read taken),
     * and keeps a later one off the request we free by answering. */
    fuse_req_interrupt_func(req, NULL, NULL);
    clab_lab_count(fs->lab, CLAB_REQ_READ);
    if (n == -ENOTCONN)
        fuse_reply_none(req); /* unmounted: nobody to tell, only freed */
    else if (n < 0)
        fuse_reply_err(req, (int)-n);
    else
        fuse_reply_buf(req, data, (size_t)n);
}

/* A read of wait before its set is done: held, answered by the waits. */
static int hold(call_t *c, clab_view_t *v, size_t size, off_t off)
{
    clab_wait_t *h;
    int rc = clab_waits_prepare(c->fs->waits, v, (unsigned)ctx_of(c)->uid, size, off,
                                c->req, &h);
    if (rc < 0)
        return rc;
    /* Before the hold: once held, the request may be answered (and freed)
     * at any moment. An interrupt already there comes back at once. */
    fuse_req_interrupt_func(c->req, interrupted, h);
    if ((rc = clab_waits_hold(h)) < 0) {
        fuse_req_interrupt_func(c->req, NULL, NULL);
        return rc;
    }
    return clab_fusep_answering(c, 0);
}

static int do_read(call_t *c, size_t size, off_t off, struct fuse_file_info *fi)
{
    handle_t *h = handle_of(fi);
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return -ENOMEM;
    ssize_t n = h->inbox ? clab_inbox_read(h->inbox, buf, size, off)
                         : clab_view_read(h->view, buf, size, off);
    if (n == -EAGAIN && h->view && clab_view_is_wait(h->view)) {
        free(buf);
        return hold(c, h->view, size, off);
    }
    if (n >= 0) {
        clab_fusep_answering(c, 1);
        fuse_reply_buf(c->req, buf, (size_t)n);
    }
    free(buf);
    return n < 0 ? (int)n : 0;
}

static int do_write(call_t *c, const char *buf, size_t size, struct fuse_file_info *fi)
{
    handle_t *h = handle_of(fi);
    ssize_t n = h->inbox ? clab_inbox_write(h->inbox, buf, size) : -EBADF;
    if (n < 0)
        return (int)n;
    clab_fusep_answering(c, 1);
    fuse_reply_write(c->req, (size_t)n);
    return 0;
}

/* Every close(2) of a descriptor flushes; the view stays attached to its
 * process until release, since `cmd < file` closes the descriptor the
 * shell opened after duplicating it. */
static int do_flush(call_t *c, struct fuse_file_info *fi)
{
    handle_t *h = handle_of(fi);
    int rc = h->inbox ? clab_inbox_flush(h->inbox) : 0;
    if (rc < 0)
        return rc;
    clab_fusep_answering(c, 1);
    fuse_reply_err(c->req, 0);
    return 0;
}

static int do_release(call_t *c, struct fuse_file_info *fi)
{
    handle_free(c->fs, handle_of(fi));
    clab_fusep_answering(c, 1);
    fuse_reply_err(c->req, 0);
    return 0;
}

/* The ops: each a call_t around its do_ function. */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    call_t c = call_begin(req, CLAB_REQ_LOOKUP);
    call_end(&c, do_lookup(&c, parent, name));
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    (void)ino;
    (void)nlookup;
    call_t c = call_begin(req, CLAB_REQ_FORGET);
    clab_fusep_answering(&c, 1);
    fuse_reply_none(req);
    call_end(&c, 0);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
    (void)count;
    (void)f;
    op_forget(req, 0, 0);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    call_t c = call_begin(req, CLAB_REQ_GETATTR);
    call_end(&c, do_getattr(&c, ino, fi));
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    (void)attr;
    (void)fi;
    call_t c = call_begin(req, CLAB_REQ_SETATTR);
    call_end(&c, do_setattr(&c, ino, to_set));
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    call_t c = call_begin(req, CLAB_REQ_OPEN);
    call_end(&c, do_open(&c, ino, fi));
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)ino;
    call_t c = call_begin(req, CLAB_REQ_READ);
    call_end(&c, do_read(&c, size, off, fi));
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
                     off_t off, struct fuse_file_info *fi)
{
    (void)ino;
    (void)off;
    call_t c = call_begin(req, CLAB_REQ_WRITE);
    call_end(&c, do_write(&c, buf, size, fi));
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    call_t c = call_begin(req, CLAB_REQ_FLUSH);
    call_end(&c, do_flush(&c, fi));
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    call_t c = call_begin(req, CLAB_REQ_RELEASE);
    call_end(&c, do_release(&c, fi));
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    call_t c = call_begin(req, CLAB_REQ_OPENDIR);
    call_end(&c, clab_fusep_opendir(&c, ino, fi));
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    (void)fi;
    call_t c = call_begin(req, CLAB_REQ_READDIR);
    call_end(&c, clab_fusep_readdir(&c, ino, size, off, 0));
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    (void)fi;
    call_t c = call_begin(req, CLAB_REQ_READDIRPLUS);
    call_end(&c, clab_fusep_readdir(&c, ino, size, off, 1));
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    (void)fi;
    call_t c = call_begin(req, CLAB_REQ_RELEASEDIR);
    clab_fusep_answering(&c, 1);
    fuse_reply_err(req, 0);
    call_end(&c, 0);
}

/* The notebook's ingest: a result brought set tag a new column. */
static void new_column(void *ud, const char *tag)
{
    clab_lab_set_changed(ud, tag, 0, 0);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    clab_fuse_t *fs = userdata;
    /* Listings with attributes, always (not only when the kernel guesses
     * a stat will follow): `ls -l` then needs no lookups. */
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    if (clab_waits_start(fs->lab, (unsigned)getuid(), answer_wait, &fs->waits) < 0)
        clab_err("cannot start the thread that answers reads of wait: they fail");
    pthread_mutex_lock(&fs->lab->lock);
    fs->lab->send_changes = clab_fusep_send_changes;
    fs->lab->send_ud = fs;
    pthread_mutex_unlock(&fs->lab->lock);
    clab_notebook_on_new_column(fs->lab->nb, new_column, fs->lab);
}

static void op_destroy(void *userdata)
{
    clab_fuse_t *fs = userdata;
    clab_notebook_on_new_column(fs->lab->nb, NULL, NULL);
    pthread_mutex_lock(&fs->lab->lock);
    fs->lab->send_changes = NULL;
    pthread_mutex_unlock(&fs->lab->lock);
    clab_waits_stop(&fs->waits);
    while (fs->handles)
        handle_free(fs, fs->handles);
}

/* Extended attributes are not among them: libfuse answers ENOSYS, and the
 * kernel asks no more (ls -l would ask two per file otherwise). */
static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .destroy = op_destroy,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
};

int clab_fuse_new(clab_lab_t *lab, struct fuse_args *args, clab_fuse_t **out)
{
    clab_fuse_t *fs = calloc(1, sizeof *fs);
    if (!fs)
        return -ENOMEM;
    fs->lab = lab;
    pthread_mutex_init(&fs->lock, NULL);
    if (!(fs->se = fuse_session_new(args, &ops, sizeof ops, fs))) {
        pthread_mutex_destroy(&fs->lock);
        free(fs);
        return -EINVAL;
    }
    *out = fs;
    return 0;
}

struct fuse_session *clab_fuse_session(clab_fuse_t *fs)
{
    return fs->se;
}

int clab_fuse_loop(clab_fuse_t *fs, int single, int clone_fd)
{
    if (single)
        return fuse_session_loop(fs->se);
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    if (!cfg)
        return -ENOMEM;
    fuse_loop_cfg_set_clone_fd(cfg, (unsigned)clone_fd);
    fuse_loop_cfg_set_max_threads(cfg, CLAB_FUSE_MAX_THREADS);
    fuse_loop_cfg_set_idle_threads(cfg, CLAB_FUSE_IDLE_THREADS);
    int rc = fuse_session_loop_mt(fs->se, cfg);
    fuse_loop_cfg_destroy(cfg);
    return rc;
}

void clab_fuse_destroy(clab_fuse_t **pfs)
{
    clab_fuse_t *fs = *pfs;
    if (!fs)
        return;
    /* Calls op_destroy when the session had begun. */
    fuse_session_destroy(fs->se);
    json_t *req = clab_lab_requests(fs->lab, NULL);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    clab_info("FUSE requests answered: %s", text ? text : "?");
    free(text);
    json_decref(req);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
    *pfs = NULL;
}
