/* A submit's provenance (provenance.h), made in the FUSE request that
 * accepts it: getpwuid_r, gethostname, a hash of at most one more file
 * (clab-python's module) and a read of `.git` (gitinfo.c). */
#include "provenance.h"
#include "gitinfo.h"
#include "sha256.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What clab-python runs: its module's file (or the pickle's name among
 * the submit's files) and that file's sha256. */
typedef struct {
    char path[PATH_MAX]; /* "" when not found */
    char sha256[CLAB_SHA256_HEX];
    int shipped; /* path names one of the submit's files (a pickle) */
} module_t;

static int is_clab_python(const char *experiment)
{
    const char *base = strrchr(experiment, '/');
    return strcmp(base ? base + 1 : experiment, "clab-python") == 0;
}

static int regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* MODULE of MODULE:NAME, as clab-python imports it: a .py path, or a
 * dotted name under one of the --path directories (the interpreter's own
 * sys.path is not searched: that would be running Python). */
static void find_module(const char *spec, const json_t *paths, module_t *m)
{
    char name[PATH_MAX];
    const char *colon = strrchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len >= sizeof name)
        return;
    memcpy(name, spec, len);
    name[len] = '\0';
    int is_path = strchr(name, '/') || (len > 3 && strcmp(name + len - 3, ".py") == 0);
    if (is_path && name[0] == '/') {
        if (regular_file(name))
            snprintf(m->path, sizeof m->path, "%s", name);
        return;
    }
    for (char *p = name; !is_path && *p; p++)
        if (*p == '.')
            *p = '/';
    size_t i;
    json_t *dir;
    json_array_foreach(paths, i, dir)
    {
        const char *forms[] = {is_path ? "%s/%s" : "%s/%s.py", "%s/%s/__init__.py"};
        for (int f = 0; f < (is_path ? 1 : 2); f++) {
            int n =
                snprintf(m->path, sizeof m->path, forms[f], json_string_value(dir), name);
            if (n > 0 && (size_t)n < sizeof m->path && m->path[0] == '/' &&
                regular_file(m->path))
                return;
        }
    }
    m->path[0] = '\0';
}

/* clab-python's MODULE:NAME (or --pickle FILE) and --path DIR arguments. */
static void python_module(const clab_submission_t *sub, module_t *m)
{
    const char *spec = NULL, *pickle = NULL;
    json_t *paths = json_array();
    size_t n = json_array_size(sub->arguments);
    for (size_t i = 0; paths && i < n; i++) {
        const char *a = json_string_value(json_array_get(sub->arguments, i));
        const char *next = json_string_value(json_array_get(sub->arguments, i + 1));
        if (!a)
            continue;
        if (strcmp(a, "--path") == 0 && next)
            json_array_append_new(paths, json_string(next));
        else if (strcmp(a, "--pickle") == 0 && next)
            pickle = next;
        else if (a[0] != '-' && !spec)
            spec = a;
        else
            continue;
        i += a[0] == '-'; /* an option's value is not the module */
    }
    if (pickle) {
        for (size_t i = 0; i < sub->nfiles; i++)
            if (strcmp(sub->files[i].name, pickle) == 0) {
                snprintf(m->path, sizeof m->path, "%s", pickle);
                snprintf(m->sha256, sizeof m->sha256, "%s", sub->files[i].sha256);
                m->shipped = 1;
            }
    } else if (spec) {
        find_module(spec, paths, m);
        if (m->path[0] && clab_sha256_file(m->path, m->sha256) < 0)
            m->sha256[0] = '\0';
    }
    json_decref(paths);
}

static void user_name(char *out, size_t size)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    /* Only the mount's owner may write /submit (fuse_ops.c, owner_only):
     * the writer is this uid. */
    uid_t uid = getuid();
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
        snprintf(out, size, "%s", found->pw_name);
    else
        snprintf(out, size, "%u", (unsigned)uid);
}

static const char *or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

json_t *clab_provenance_new(const clab_submission_t *sub)
{
    char user[256], host[256] = "", uid[32];
    module_t m = {.path = ""};
    clab_git_info_t git;
    user_name(user, sizeof user);
    snprintf(uid, sizeof uid, "%u", (unsigned)getuid());
    if (gethostname(host, sizeof host - 1) < 0)
        host[0] = '\0';
    if (is_clab_python(sub->experiment))
        python_module(sub, &m);
    /* The repository of the module when there is one: clab-python itself
     * is the package's, not the user's work. */
    int has_git =
        clab_git_info(m.path[0] && !m.shipped ? m.path : sub->experiment, &git) == 0;
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "user", user, "uid",
        uid, "host", or_dash(host), "experiment", sub->experiment, "experiment_sha256",
        or_dash(sub->sha256), "module", or_dash(m.path), "module_sha256",
        or_dash(m.sha256), "git_repository", has_git ? git.root : "-", "git_commit",
        has_git ? or_dash(git.commit) : "-", "git_dirty",
        has_git ? clab_git_dirty_name(git.dirty) : "-", "clabfs_version", CLAB_VERSION);
}

int clab_provenance_render(const json_t *doc, clab_buf_t *out)
{
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)doc, k, v)
    {
        const char *s = json_is_string(v) ? json_string_value(v) : "-";
        rc = rc ? rc : clab_buf_printf(out, "%s ", k);
        /* One line per key, whatever a path holds. */
        for (const char *p = s; !rc && *p; p++)
            rc = clab_buf_add(out, (unsigned char)*p < 0x20 ? "?" : p, 1);
        rc = rc ? rc : clab_buf_add(out, "\n", 1);
    }
    return rc;
}
