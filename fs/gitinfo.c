/* Reading a repository's HEAD and its index's stat data, for provenance
 * (gitinfo.h). Only files are read: git's formats as in its
 * Documentation/gitformat-index.txt and gitrepository-layout.txt. */
#include "gitinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The index is read whole; a larger one (millions of files) says unknown
 * rather than hold a submit for seconds. */
#define INDEX_MAX (64u << 20)
#define TEXT_MAX 4096

/* Reads a small file into buf as a string, its last newline cut. 0 or
 * -errno. */
static int read_text(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, size - 1);
    int rc = n < 0 ? -errno : 0;
    close(fd);
    if (rc)
        return rc;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

static int is_hex_id(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return (n == 40 || n == 64) && s[n] == '\0';
}

/* An id is_hex_id accepted (at most 64 digits) into commit. */
static void copy_id(char commit[65], const char *id)
{
    size_t n = strlen(id);
    memcpy(commit, id, n < 64 ? n : 64);
    commit[n < 64 ? n : 64] = '\0';
}

/* dir/rel, or rel when it is absolute. */
static int join(char *out, size_t size, const char *dir, const char *rel)
{
    int n = rel[0] == '/' ? snprintf(out, size, "%s", rel)
                          : snprintf(out, size, "%s/%s", dir, rel);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The repository directory of the work tree root (root/.git, or what a
 * `gitdir:` file there names). 0, or -ENOENT when root has no .git. */
static int git_dir(const char *root, char *out, size_t size)
{
    char path[PATH_MAX], text[TEXT_MAX];
    struct stat st;
    if (join(path, sizeof path, root, ".git") || lstat(path, &st))
        return -ENOENT;
    if (S_ISDIR(st.st_mode))
        return snprintf(out, size, "%s", path) < (int)size ? 0 : -ENAMETOOLONG;
    if (!S_ISREG(st.st_mode) || read_text(path, text, sizeof text) ||
        strncmp(text, "gitdir: ", 8) != 0)
        return -ENOENT;
    return join(out, size, root, text + 8);
}

/* ref's commit, from a loose file of gitdir or common or a line of
 * common/packed-refs; follows symbolic refs a few levels. */
static int resolve_ref(const char *gitdir, const char *common, const char *ref,
                       char commit[65], int depth)
{
    char path[PATH_MAX], text[TEXT_MAX];
    if (depth > 5 || strstr(ref, ".."))
        return -ELOOP;
    const char *dirs[] = {gitdir, common};
    for (int i = 0; i < 2; i++) {
        if (join(path, sizeof path, dirs[i], ref) || read_text(path, text, sizeof text))
            continue;
        if (strncmp(text, "ref: ", 5) == 0)
            return resolve_ref(gitdir, common, text + 5, commit, depth + 1);
        if (!is_hex_id(text))
            return -EINVAL;
        copy_id(commit, text);
        return 0;
    }
    if (join(path, sizeof path, common, "packed-refs"))
        return -ENOENT;
    FILE *f = fopen(path, "re");
    if (!f)
        return -ENOENT;
    char line[TEXT_MAX];
    int rc = -ENOENT;
    while (rc && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *sp = strchr(line, ' ');
        if (line[0] == '#' || line[0] == '^' || !sp || strcmp(sp + 1, ref) != 0)
            continue;
        *sp = '\0';
        if (is_hex_id(line)) {
            copy_id(commit, line);
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

static int head_commit(const char *gitdir, char commit[65])
{
    char path[PATH_MAX], text[TEXT_MAX], common[PATH_MAX];
    /* A worktree's refs are in the repository it shares (commondir). */
    if (join(path, sizeof path, gitdir, "commondir") ||
        read_text(path, text, sizeof text) || join(common, sizeof common, gitdir, text))
        snprintf(common, sizeof common, "%s", gitdir);
    if (join(path, sizeof path, gitdir, "HEAD") || read_text(path, text, sizeof text))
        return -ENOENT;
    if (is_hex_id(text)) { /* detached */
        copy_id(commit, text);
        return 0;
    }
    if (strncmp(text, "ref: ", 5) != 0)
        return -EINVAL;
    return resolve_ref(gitdir, common, text + 5, commit, 0);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Whether the tracked file of one index entry (at e, its fixed part
 * before the path) still has the stat data the index recorded: 0 it has,
 * 1 it changed, 2 cannot tell (git smudged the entry's size to 0 because
 * it was written in the index's own second, "racy git": only its content,
 * which this reader does not hash, would tell). */
static int entry_changed(const char *root, const unsigned char *e, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    uint32_t mode = be32(e + 24);
    if ((mode & 0170000) == 0160000) /* a submodule: its own repository */
        return 0;
    if (join(path, sizeof path, root, name) || lstat(path, &st))
        return 1;
    uint32_t sec = be32(e + 8), nsec = be32(e + 12), size = be32(e + 36);
    if (sec != (uint32_t)st.st_mtim.tv_sec)
        return 1;
    if (size != (uint32_t)st.st_size)
        return size == 0 ? 2 : 1;
    /* A git built without nanoseconds records 0 there. */
    return nsec != 0 && nsec != (uint32_t)st.st_mtim.tv_nsec;
}

/* Walks the entries of an index (version 2 or 3) of data[0..len). */
static clab_git_dirty_t index_dirty(const char *root, const unsigned char *data,
                                    size_t len, size_t hash_len)
{
    if (len < 12 || memcmp(data, "DIRC", 4) != 0)
        return CLAB_GIT_DIRTY_UNKNOWN;
    uint32_t version = be32(data + 4), n = be32(data + 8);
    if (version != 2 && version != 3)
        return CLAB_GIT_DIRTY_UNKNOWN; /* 4 compresses paths: not read here */
    size_t off = 12, fixed = 40 + hash_len + 2;
    clab_git_dirty_t d = CLAB_GIT_CLEAN;
    for (uint32_t i = 0; i < n; i++) {
        if (off + fixed > len)
            return CLAB_GIT_DIRTY_UNKNOWN;
        const unsigned char *e = data + off;
        unsigned flags = (unsigned)e[fixed - 2] << 8 | e[fixed - 1];
        size_t head = fixed + ((flags & 0x4000) ? 2 : 0);
        const char *name = (const char *)e + head;
        const void *nul = head < len - off ? memchr(name, '\0', len - off - head) : NULL;
        if (!nul)
            return CLAB_GIT_DIRTY_UNKNOWN;
        size_t plen = (size_t)((const char *)nul - name);
        int changed = entry_changed(root, e, name);
        if (changed == 1)
            return CLAB_GIT_DIRTY;
        if (changed == 2)
            d = CLAB_GIT_DIRTY_UNKNOWN;
        off += (head + plen + 8) & ~(size_t)7;
    }
    return d;
}

static clab_git_dirty_t work_tree_dirty(const char *root, const char *gitdir,
                                        size_t hash_len)
{
    char path[PATH_MAX];
    struct stat st;
    clab_git_dirty_t d = CLAB_GIT_DIRTY_UNKNOWN;
    if (join(path, sizeof path, gitdir, "index"))
        return d;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return d;
    unsigned char *data = NULL;
    if (fstat(fd, &st) || st.st_size <= 0 || (size_t)st.st_size > INDEX_MAX ||
        !(data = malloc((size_t)st.st_size)))
        goto out;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    d = index_dirty(root, data, got, hash_len);
out:
    free(data);
    close(fd);
    return d;
}

int clab_git_info(const char *path, clab_git_info_t *out)
{
    char dir[PATH_MAX], gitdir[PATH_MAX];
    *out = (clab_git_info_t){.dirty = CLAB_GIT_DIRTY_UNKNOWN};
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir || dir[0] != '/')
        return -ENOENT;
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            return -ENOENT;
        slash[slash == dir ? 1 : 0] = '\0';
        if (git_dir(dir, gitdir, sizeof gitdir) == 0)
            break;
        if (strcmp(dir, "/") == 0)
            return -ENOENT;
    }
    snprintf(out->root, sizeof out->root, "%s", dir);
    if (head_commit(gitdir, out->commit) < 0)
        out->commit[0] = '\0';
    /* The index's object ids are as long as the repository's: 20 bytes
     * for sha1, 32 for sha256 (a commit of 64 hex digits). */
    out->dirty = work_tree_dirty(dir, gitdir, strlen(out->commit) == 64 ? 32 : 20);
    return 0;
}

const char *clab_git_dirty_name(clab_git_dirty_t d)
{
    return d == CLAB_GIT_CLEAN ? "no" : d == CLAB_GIT_DIRTY ? "yes" : "unknown";
}
