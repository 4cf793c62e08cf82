/* The engine's cache of job files (files.h). The directory is made at
 * the first file, so that an engine whose jobs have none leaves nothing
 * in the scratch root; a file is written to a name of its own, checked,
 * then renamed to its hash, so that a name there is always a whole file. */
#include "files.h"

#include "base64.h"
#include "buf.h"
#include "log.h"
#include "scratch.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct clab_files {
    char root[PATH_MAX];
    char dir[PATH_MAX]; /* "" until the first file */
};

int clab_files_new(const char *root, clab_files_t **out)
{
    clab_files_t *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    snprintf(f->root, sizeof f->root, "%s", root ? root : "");
    *out = f;
    return 0;
}

void clab_files_destroy(clab_files_t **pf)
{
    clab_files_t *f = *pf;
    if (!f)
        return;
    if (f->dir[0])
        clab_scratch_remove(f->dir);
    free(f);
    *pf = NULL;
}

/* The path of hash in the cache; 0 or -ENAMETOOLONG. */
static int path_of(const clab_files_t *f, const char *hash, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", f->dir, hash);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int has(const clab_files_t *f, const char *hash)
{
    char path[PATH_MAX];
    return f->dir[0] && strlen(hash) == CLAB_SHA256_HEX - 1 &&
           strspn(hash, "0123456789abcdef") == CLAB_SHA256_HEX - 1 &&
           path_of(f, hash, path, sizeof path) == 0 && access(path, R_OK) == 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes data (checked to be hash's) into the cache. */
static int keep(clab_files_t *f, const char *hash, const clab_buf_t *data)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    if (!f->dir[0]) {
        char made[PATH_MAX];
        int rc = clab_scratch_make_as(f->root, "clab-files", made, sizeof made);
        if (rc)
            return rc;
        snprintf(f->dir, sizeof f->dir, "%s", made);
    }
    if (path_of(f, hash, path, sizeof path) ||
        snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0400);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, data->data ? data->data : "", data->len);
    if (close(fd) && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

int clab_files_take(clab_files_t *f, const json_t *data)
{
    const char *hash;
    json_t *v;
    int bad = 0;
    json_object_foreach((json_t *)data, hash, v)
    {
        clab_buf_t b = {0};
        unsigned char digest[CLAB_SHA256_LEN];
        char hex[CLAB_SHA256_HEX];
        if (has(f, hash))
            continue;
        int rc = json_is_string(v)
                     ? clab_base64_decode(json_string_value(v), json_string_length(v), &b)
                     : -EINVAL;
        if (!rc) {
            clab_sha256(b.data ? b.data : "", b.len, digest);
            clab_hex(digest, CLAB_SHA256_LEN, hex);
            rc = strcmp(hex, hash) ? -EINVAL : keep(f, hash, &b);
        }
        clab_buf_free(&b);
        if (rc == -EINVAL) {
            clab_warn("job file %.16s... is not what it is named: dropped", hash);
            bad = 1;
        } else if (rc) {
            return rc;
        }
    }
    return bad ? -EINVAL : 0;
}

int clab_files_missing(const clab_files_t *f, const json_t *files, json_t *missing)
{
    const char *name;
    json_t *v;
    int n = 0;
    json_object_foreach((json_t *)files, name, v)
    {
        const char *hash = json_string_value(v);
        if (!hash || !has(f, hash)) {
            json_array_append(missing, v);
            n++;
        }
    }
    return n;
}

/* Copies the cached hash to dir/name, a file of the point's own. */
static int copy_in(const clab_files_t *f, const char *hash, const char *dir,
                   const char *name)
{
    char from[PATH_MAX], to[PATH_MAX], buf[65536];
    if (path_of(f, hash, from, sizeof from) ||
        snprintf(to, sizeof to, "%s/%s", dir, name) >= (int)sizeof to)
        return -ENAMETOOLONG;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = out < 0 ? -errno : 0;
    ssize_t n;
    while (!rc && (n = read(in, buf, sizeof buf)) != 0)
        rc = n < 0 ? (errno == EINTR ? 0 : -errno) : write_all(out, buf, (size_t)n);
    if (out >= 0 && close(out) && !rc)
        rc = -errno;
    close(in);
    return rc;
}

int clab_files_install(const clab_files_t *f, const json_t *files, const char *dir,
                       char *why, size_t size)
{
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)files, name, v)
    {
        const char *hash = json_string_value(v);
        int rc = hash && has(f, hash) ? copy_in(f, hash, dir, name) : -ENOENT;
        if (rc == -ENOENT && !(hash && has(f, hash))) {
            snprintf(why, size, "the job's file %s did not reach this engine", name);
            return rc;
        }
        if (rc) {
            snprintf(why, size,
                     "cannot put the job's file %s in the scratch directory: %s", name,
                     strerror(-rc));
            return rc;
        }
    }
    return 0;
}
