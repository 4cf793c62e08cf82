/* Directories and what the kernel keeps of them (fuse_ops_i.h): opendir
 * says whether a listing is kept in the kernel's cache, readdir and
 * readdirplus fill the kernel's buffer from the tree's listing (with each
 * entry's attributes and timeouts for readdirplus), and the link thread
 * invalidates what the kernel cached of a set that changed. */
#include "fuse_ops_i.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A settled set's directory, and its failed/, are listed into the
 * kernel's cache and kept there across opens: a second listing asks
 * nothing. */
int clab_fusep_opendir(call_t *c, fuse_ino_t ino, struct fuse_file_info *fi)
{
    clab_node_t node;
    int rc = clab_tree_node(lab_of(c), ino, &node);
    if (rc)
        return rc;
    if (!clab_node_is_dir(&node))
        return -ENOTDIR;
    fi->fh = 0;
    fi->cache_readdir = fi->keep_cache = clab_fusep_timeout(c, &node) > 0;
    clab_fusep_answering(c, 1);
    fuse_reply_open(c->req, fi);
    return 0;
}

typedef struct {
    call_t *c;
    char *buf;
    size_t size, used;
    int plus;
} fill_t;

/* One entry of a listing into the kernel's buffer; 1 once it is full. */
static int fill_one(void *ud, const char *name, const clab_node_t *child, off_t next)
{
    fill_t *f = ud;
    char *at = f->buf + f->used;
    size_t room = f->size - f->used, need;
    struct fuse_entry_param e = {0};
    e.attr.st_ino = clab_node_ino(child);
    e.attr.st_mode = clab_node_info(child->kind)->mode;
    if (!f->plus) {
        need = fuse_add_direntry(f->c->req, at, room, name, &e.attr, next);
    } else {
        /* Without attributes (inode 0; the kernel looks them up if it
         * must): "." and "..", a live file (its attributes would not be
         * kept anyway, and they may cost a rendering: `ls` of the root
         * would size notebook.json), and an entry whose attributes cannot
         * be had now. */
        int bare = strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
                   (!clab_node_is_dir(child) && clab_node_timeout(child) == 0);
        if (bare || clab_fusep_entry(f->c, child, &e) < 0)
            e = (struct fuse_entry_param){
                .attr = {.st_ino = e.attr.st_ino, .st_mode = e.attr.st_mode}};
        need = fuse_add_direntry_plus(f->c->req, at, room, name, &e, next);
    }
    if (need > room)
        return 1;
    f->used += need;
    return 0;
}

/* Listings go one kernel buffer at a time from the cookie the kernel
 * passes back, so a directory of 100,000 results is never held whole. */
int clab_fusep_readdir(call_t *c, fuse_ino_t ino, size_t size, off_t off, int plus)
{
    clab_node_t node;
    int rc = clab_tree_node(lab_of(c), ino, &node);
    if (rc)
        return rc;
    fill_t f = {.c = c, .size = size, .plus = plus};
    if (!(f.buf = malloc(size ? size : 1)))
        return -ENOMEM;
    rc = clab_tree_readdir(lab_of(c), &node, off, fill_one, &f);
    if (rc >= 0 || f.used > 0) {
        clab_fusep_answering(c, 1);
        fuse_reply_buf(c->req, f.buf, f.used);
        rc = 0;
    }
    free(f.buf);
    return rc;
}

/* The link thread (lab.h): the kernel forgets what it cached of the sets
 * that changed. ENOENT from the kernel only means it had nothing cached. */
void clab_fusep_send_changes(void *ud, const clab_set_change_t *changes, size_t n)
{
    clab_fuse_t *fs = ud;
    uint64_t inos[CLAB_NODE_KINDS];
    fuse_ino_t results = clab_node_ino(&(clab_node_t){.kind = CLAB_NODE_RESULTS});
    for (size_t i = 0; i < n; i++) {
        const clab_set_change_t *ch = &changes[i];
        int64_t id = ch->id ? ch->id : clab_lab_set_id(fs->lab, ch->tag);
        int rc = 0;
        if (ch->removed)
            rc = fuse_lowlevel_notify_inval_entry(fs->se, results, ch->tag,
                                                  strlen(ch->tag));
        size_t k = id ? clab_tree_set_inos(id, inos) : 0;
        for (size_t j = 0; j < k; j++) {
            int r = fuse_lowlevel_notify_inval_inode(fs->se, inos[j], 0, 0);
            if (r < 0 && r != -ENOENT)
                rc = r;
        }
        if (rc < 0 && rc != -ENOENT)
            clab_debug("invalidating set %s: %s", ch->tag, strerror(-rc));
    }
}
