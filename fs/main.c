/* clabfs: a compute cluster for parameter sweeps behind a FUSE mount.
 *
 *   clabfs [options] MOUNTPOINT
 *
 * Opens the notebook in the state directory, mounts, and links the mount
 * to a cluster: the one named by --cluster, or an embedded local one
 * started here. See --help and README.md. */
#include "child.h"
#include "cluster.h"
#include "conninfo.h"
#include "fuse_ops.h"
#include "lab.h"
#include "log.h"
#include "statedir.h"
#include "sync.h"
#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct {
    char *state;
    char *cluster;
    char *ssh;     /* --ssh [USER@]HOST[:PORT]: the link goes through ssh */
    char *ssh_key; /* --ssh-key FILE */
    int engines;
    int retries;
    int reconnections;
    double waiting_time;
    long max_points;
    char *prefetch; /* as given; checked by check_embedded_only */
    int prefetch_n; /* its value; 0 when not given */
    int help, version, verbose;
    int allow_other, default_permissions; /* seen among the -o mount options */
} mount_options_t;

/* Mount options we look at and pass on to libfuse all the same. */
enum { KEY_ALLOW_OTHER, KEY_DEFAULT_PERMISSIONS };

#define OPT(t, p)                                                                        \
    {                                                                                    \
        t, offsetof(mount_options_t, p), 0                                               \
    }
static const struct fuse_opt option_spec[] = {
    OPT("--state=%s", state),
    OPT("--state %s", state),
    OPT("--cluster=%s", cluster),
    OPT("--cluster %s", cluster),
    OPT("--engines=%d", engines),
    OPT("--engines %d", engines),
    OPT("--retries=%d", retries),
    OPT("--retries %d", retries),
    OPT("--reconnections=%d", reconnections),
    OPT("--reconnections %d", reconnections),
    OPT("--waiting-time=%lf", waiting_time),
    OPT("--waiting-time %lf", waiting_time),
    OPT("--max-points=%ld", max_points),
    OPT("--max-points %ld", max_points),
    OPT("--prefetch=%s", prefetch),
    OPT("--prefetch %s", prefetch),
    {"--verbose", offsetof(mount_options_t, verbose), 1},
    {"-h", offsetof(mount_options_t, help), 1},
    {"--help", offsetof(mount_options_t, help), 1},
    {"-V", offsetof(mount_options_t, version), 1},
    {"--version", offsetof(mount_options_t, version), 1},
    FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
    FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
    FUSE_OPT_END};

/* Notes the mount options of option_spec and keeps every argument (1) for
 * fuse_parse_cmdline and fuse_session_new. */
static int note_option(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    (void)arg;
    (void)outargs;
    mount_options_t *o = data;
    if (key == KEY_ALLOW_OTHER)
        o->allow_other = 1;
    else if (key == KEY_DEFAULT_PERMISSIONS)
        o->default_permissions = 1;
    return 1;
}

/* --ssh and --ssh-key, taken out of argv before fuse_opt_parse: its
 * template "--ssh %s" would also match "--ssh-key" (a prefix). Returns the
 * new argc, or -1 for an option without its value. */
static int take_ssh_options(int argc, char **argv, mount_options_t *o)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {{"--ssh", offsetof(mount_options_t, ssh)},
                {"--ssh-key", offsetof(mount_options_t, ssh_key)}};
    int out = 1;
    for (int i = 1; i < argc; i++) {
        size_t k = 0, n = 0;
        for (; k < 2; k++)
            if (strncmp(argv[i], opts[k].name, n = strlen(opts[k].name)) == 0 &&
                (argv[i][n] == '\0' || argv[i][n] == '='))
                break;
        if (strcmp(argv[i], "--") == 0) { /* the rest is not ours */
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (k == 2) {
            argv[out++] = argv[i];
            continue;
        }
        const char *v = argv[i][n] == '=' ? argv[i] + n + 1 : argv[++i];
        char **field = (char **)((char *)o + opts[k].off);
        if (i >= argc || !v)
            return -1;
        free(*field);
        *field = strdup(v);
    }
    argv[out] = NULL;
    return out;
}

static void usage(const char *prog)
{
    printf(
        "usage: %s [options] MOUNTPOINT\n"
        "\n"
        "Mounts a lab for parameter-sweep experiments. Write a job to "
        "MOUNTPOINT/submit,\n"
        "watch MOUNTPOINT/status, read results under MOUNTPOINT/results/TAG/.\n"
        "\n"
        "options:\n"
        "  --state DIR            notebook (and embedded cluster) directory\n"
        "                         (default $CLABFS_STATE, $XDG_STATE_HOME/clabfs,\n"
        "                         or ~/.local/state/clabfs)\n"
        "  --cluster FILE         join a running cluster through its connection file\n"
        "                         (default: start an embedded local cluster)\n"
        "  --ssh [USER@]HOST[:PORT]  with --cluster: reach the controller through an\n"
        "                         ssh tunnel to HOST, a login node that can reach it\n"
        "                         (FILE's client endpoint as HOST sees it)\n"
        "  --ssh-key FILE         the ssh identity for --ssh (default: ssh's own)\n"
        "  --engines N            engines of the embedded cluster (default: CPUs)\n"
        "  --prefetch N           tasks the embedded controller queues on each engine,\n"
        "                         1..%d (default: the controller's, 2)\n"
        "  --retries N            re-runs of a task whose engine was lost (default 3)\n"
        "  --reconnections N      failed reconnection attempts before the log says the\n"
        "                         controller is unreachable (default 5; attempts go on)\n"
        "  --waiting-time S       longest wait between reconnection attempts (default "
        "30)\n"
        "  --max-points N         largest job accepted, in points (default 1000000)\n"
        "  --verbose              log more\n"
        "  -f                     stay in the foreground (logs on stderr)\n"
        "  -d                     FUSE debug output (implies -f)\n"
        "  -o OPT[,OPT...]        FUSE mount options; allow_other only together with\n"
        "                         default_permissions (/submit and /ctl stay yours)\n"
        "  -h, --help             this text\n"
        "  -V, --version          print the version\n"
        "\n"
        "Unmount with: fusermount3 -u MOUNTPOINT (SIGTERM and SIGINT also unmount).\n",
        prog, CLAB_CLUSTER_MAX_PREFETCH);
}

static int default_state(char *out, size_t size)
{
    const char *env = getenv("CLABFS_STATE");
    if (env && *env)
        return snprintf(out, size, "%s", env) < (int)size ? 0 : -ENAMETOOLONG;
    env = getenv("XDG_STATE_HOME");
    if (env && *env)
        return snprintf(out, size, "%s/clabfs", env) < (int)size ? 0 : -ENAMETOOLONG;
    env = getenv("HOME");
    if (!env || !*env)
        return -ENOENT;
    return snprintf(out, size, "%s/.local/state/clabfs", env) < (int)size ? 0
                                                                          : -ENAMETOOLONG;
}

/* One run of the daemon: its options and everything it holds. */
typedef struct {
    mount_options_t o;
    struct fuse_args args;
    struct fuse_cmdline_opts cmd;
    char state[2048]; /* the state directory, absolute */
    char conn[4096];  /* the connection file of the cluster */
    int lock_fd;
    int log_fd; /* STATE/clabfs.log until a detached clabfs makes it its stderr */
    clab_lab_t lab;
    clab_fuse_t *fs;
    int mounted;
    char taken_over[64]; /* the type of a dead mount detached here, or "" */
    clab_cluster_t *cluster;
    clab_sync_t *sync;
    clab_tunnel_t *tunnel;
} daemon_t;

/* --engines and --prefetch shape the embedded cluster: a bad --prefetch is
 * refused; with --cluster, whose controller and engines were started by
 * someone else, both are ignored and the user is told so. */
static int check_embedded_only(mount_options_t *o)
{
    if (o->prefetch) {
        char *end;
        errno = 0;
        long n = strtol(o->prefetch, &end, 10);
        if (errno || end == o->prefetch || *end || n < 1 ||
            n > CLAB_CLUSTER_MAX_PREFETCH) {
            fprintf(stderr, "clabfs: --prefetch wants 1..%d, not %s\n",
                    CLAB_CLUSTER_MAX_PREFETCH, o->prefetch);
            return -1;
        }
        o->prefetch_n = (int)n;
    }
    if (o->cluster && o->engines != -1)
        fprintf(stderr, "clabfs: --engines is for the embedded cluster; ignored with "
                        "--cluster (start engines with clab-engine)\n");
    if (o->cluster && o->prefetch)
        fprintf(stderr, "clabfs: --prefetch is for the embedded cluster; ignored with "
                        "--cluster (give it to that cluster's clab-controller)\n");
    return 0;
}

/* Returns the exit status when there is nothing to run (help, version, a
 * bad option), else -1. */
static int parse_options(daemon_t *d, int argc, char **argv)
{
    mount_options_t *o = &d->o;
    *o = (mount_options_t){.engines = -1,
                           .retries = 3,
                           .reconnections = 5,
                           .waiting_time = 30,
                           .max_points = CLAB_SUBMIT_MAX_POINTS};
    if ((argc = take_ssh_options(argc, argv, o)) < 0) {
        fprintf(stderr, "clabfs: --ssh and --ssh-key want a value\n");
        return 2;
    }
    d->args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
    if (fuse_opt_parse(&d->args, o, option_spec, note_option) < 0 ||
        fuse_parse_cmdline(&d->args, &d->cmd) < 0)
        return 1;
    if (o->help || d->cmd.show_help) {
        usage(argv[0]);
        return 0;
    }
    if (o->version || d->cmd.show_version) {
        printf("clabfs %s (libfuse %s)\n", CLAB_VERSION, fuse_pkgversion());
        return 0;
    }
    if (!d->cmd.mountpoint) {
        fprintf(stderr, "clabfs: no mount point given (try --help)\n");
        return 2;
    }
    /* Without the kernel's permission checks every local user could
     * write /submit and run code as the mount's owner. */
    if (o->allow_other && !o->default_permissions) {
        fprintf(stderr, "clabfs: -o allow_other is accepted only with "
                        "default_permissions (-o allow_other,default_permissions)\n");
        return 2;
    }
    if (check_embedded_only(o) < 0)
        return 2;
    /* The embedded cluster is local: there is nothing to tunnel to. */
    if ((o->ssh || o->ssh_key) && !o->cluster) {
        fprintf(stderr,
                "clabfs: %s needs --cluster FILE (the connection file of the "
                "cluster behind HOST)\n",
                o->ssh ? "--ssh" : "--ssh-key");
        return 2;
    }
    if (o->ssh_key && !o->ssh) {
        fprintf(stderr, "clabfs: --ssh-key goes with --ssh\n");
        return 2;
    }
    char host[512];
    int port;
    if (o->ssh && clab_tunnel_parse_dest(o->ssh, host, sizeof host, &port) < 0) {
        fprintf(stderr, "clabfs: --ssh wants [USER@]HOST[:PORT], not '%s'\n", o->ssh);
        return 2;
    }
    if (o->engines == -1)
        o->engines = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (o->engines < 0 || o->engines > 1024 || o->retries < 0 || o->reconnections < 0 ||
        !(o->waiting_time > 0) || o->max_points < 1) {
        fprintf(stderr,
                "clabfs: --engines wants 0..1024, --retries and --reconnections a "
                "count, --waiting-time and --max-points a positive number\n");
        return 2;
    }
    return -1;
}

static void free_options(daemon_t *d)
{
    free(d->cmd.mountpoint);
    free(d->o.state);
    free(d->o.cluster);
    free(d->o.ssh);
    free(d->o.ssh_key);
    free(d->o.prefetch);
    fuse_opt_free_args(&d->args);
}

/* The tunnel to remote, the cluster's client endpoint, as the options ask. */
static clab_tunnel_opts_t tunnel_opts(const daemon_t *d, const char *remote)
{
    return (clab_tunnel_opts_t){.dest = d->o.ssh,
                                .key = d->o.ssh_key,
                                .remote = remote,
                                .dir = d->state,
                                .max_backoff = d->o.waiting_time};
}

/* --ssh: HOST, the key and ssh itself, checked while the terminal listens.
 * The key's path is made absolute: the daemon runs in /. */
static int check_tunnel(daemon_t *d, const clab_conninfo_t *ci)
{
    char why[4600];
    if (d->o.ssh_key) {
        char *abs = realpath(d->o.ssh_key, NULL);
        if (!abs) {
            fprintf(stderr, "clabfs: cannot use --ssh-key %s: %s\n", d->o.ssh_key,
                    strerror(errno));
            return -1;
        }
        free(d->o.ssh_key);
        d->o.ssh_key = abs;
    }
    clab_tunnel_opts_t to = tunnel_opts(d, ci->client_endpoint);
    if (clab_tunnel_check(&to, why, sizeof why) < 0) {
        fprintf(stderr, "clabfs: %s\n", why);
        return -1;
    }
    return 0;
}

/* A named cluster needs a usable connection file; an embedded one, our
 * programs. */
static int check_cluster(daemon_t *d)
{
    char path[4096];
    if (d->o.cluster) {
        clab_conninfo_t ci;
        int rc = clab_conninfo_load(d->o.cluster, &ci);
        if (rc < 0) {
            fprintf(stderr, "clabfs: cannot use connection file %s: %s\n", d->o.cluster,
                    clab_conninfo_strerror(rc));
            return -1;
        }
        /* The daemon runs in /: keep absolute paths. */
        if (!realpath(d->o.cluster, d->conn))
            snprintf(d->conn, sizeof d->conn, "%s", d->o.cluster);
        return d->o.ssh ? check_tunnel(d, &ci) : 0;
    } else if (clab_find_program("clab-controller", path, sizeof path) < 0 ||
               clab_find_program("clab-engine", path, sizeof path) < 0) {
        fprintf(stderr,
                "clabfs: clab-controller and clab-engine not found next to clabfs "
                "or on PATH (set CLAB_BINDIR)\n");
        return -1;
    }
    return 0;
}

/* The mount point. A FUSE mount whose daemon died (kill -9) leaves it
 * answering ENOTCONN, and a plain unmount fails with EBUSY while anything
 * still holds one of its files open: such a mount is detached lazily and
 * taken over. A live FUSE mount there is refused: mounting on top of it
 * would hide it. */

/* Copies a mountinfo field, undoing its octal escapes (\040 for a space). */
static void unescape(const char *in, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < size; o++) {
        if (in[i] == '\\' && i + 3 < n && in[i + 1] >= '0' && in[i + 1] <= '3') {
            out[o] = (char)((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 +
                            (in[i + 3] - '0'));
            i += 4;
        } else {
            out[o] = in[i++];
        }
    }
    out[o] = '\0';
}

/* The file-system type of the topmost mount on mp, or "" when mp is not a
 * mount point. */
static void mount_type(const char *mp, char *type, size_t size)
{
    char line[8192], path[4096];
    FILE *f = fopen("/proc/self/mountinfo", "re");
    type[0] = '\0';
    while (f && fgets(line, sizeof line, f)) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - TYPE SOURCE ... */
        char *p = line;
        for (int field = 0; field < 4 && p; field++)
            if ((p = strchr(p, ' ')))
                p++;
        char *sep = p ? strstr(p, " - ") : NULL;
        if (!sep)
            continue;
        unescape(p, strcspn(p, " "), path, sizeof path);
        if (strcmp(path, mp) == 0) /* later lines are mounted on top */
            snprintf(type, size, "%.*s", (int)strcspn(sep + 3, " "), sep + 3);
    }
    if (f)
        fclose(f);
}

/* umount2(MNT_DETACH) as root, else fusermount3 -uz. */
static int detach(const char *mp)
{
    if (umount2(mp, MNT_DETACH) == 0)
        return 0;
    if (errno != EPERM)
        return -errno;
    char *argv[] = {"fusermount3", "-u", "-z", "--", (char *)mp, NULL};
    pid_t pid;
    int status, rc = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);
    if (rc)
        return -rc;
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

static int check_mount_point(daemon_t *d)
{
    const char *mp = d->cmd.mountpoint;
    char type[64];
    struct stat st;
    /* A stale mount may even sit on another one. */
    for (int tries = 0; tries < 8 && stat(mp, &st) < 0 && errno == ENOTCONN; tries++) {
        mount_type(mp, type, sizeof type);
        int rc = detach(mp);
        if (rc < 0) {
            fprintf(stderr,
                    "clabfs: %s was left by a dead file system (%s) and cannot be "
                    "detached: %s; try fusermount3 -uz %s\n",
                    mp, type[0] ? type : "?", strerror(-rc), mp);
            return -1;
        }
        snprintf(d->taken_over, sizeof d->taken_over, "%s", type[0] ? type : "fuse");
    }
    mount_type(mp, type, sizeof type);
    if (strncmp(type, "fuse", 4) == 0) {
        fprintf(stderr,
                "clabfs: %s is already mounted (%s) by a running process; unmount it "
                "first with fusermount3 -u %s\n",
                mp, type, mp);
        return -1;
    }
    return 0;
}

/* The state directory's files: none may be a link planted there (checked
 * before anything is made), the lock, and the log of a detached clabfs,
 * opened while errors still reach the terminal. */
static int state_files(daemon_t *d)
{
    char path[4096], why[4200];
    if (clab_statedir_check(d->state, d->o.cluster ? -1 : d->o.engines, why, sizeof why) <
        0) {
        fprintf(stderr, "clabfs: %s\n", why);
        return -1;
    }
    snprintf(path, sizeof path, "%s/" CLAB_STATE_LOCK, d->state);
    d->lock_fd = clab_open_private(path, O_RDWR | O_CREAT);
    if (d->lock_fd < 0) {
        fprintf(stderr, "clabfs: cannot open %s: %s\n", path, strerror(-d->lock_fd));
        return -1;
    }
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "clabfs: state directory %s is in use by another clabfs\n",
                d->state);
        return -1;
    }
    snprintf(path, sizeof path, "%s/" CLAB_STATE_LOG, d->state);
    if (!d->cmd.foreground &&
        (d->log_fd = clab_open_private(path, O_WRONLY | O_CREAT | O_APPEND)) < 0) {
        fprintf(stderr, "clabfs: cannot open the log %s: %s\n", path,
                strerror(-d->log_fd));
        return -1;
    }
    return 0;
}

/* Makes the state directory, checks and opens its files and checks that
 * the cluster can be reached or started. */
static int prepare(daemon_t *d)
{
    char path[4096];
    if (d->o.state) {
        snprintf(d->state, sizeof d->state, "%s", d->o.state);
    } else if (default_state(d->state, sizeof d->state) < 0) {
        fprintf(stderr, "clabfs: no state directory: give --state DIR\n");
        return -1;
    }
    if (clab_mkdir_p(d->state, 0700) < 0 || !realpath(d->state, path)) {
        fprintf(stderr, "clabfs: cannot use state directory %s: %s\n", d->state,
                strerror(errno));
        return -1;
    }
    if (strlen(path) >= sizeof d->state) {
        fprintf(stderr, "clabfs: state directory path too long: %s\n", path);
        return -1;
    }
    memcpy(d->state, path, strlen(path) + 1);
    if (state_files(d) < 0 || check_cluster(d) < 0)
        return -1;
    return check_mount_point(d);
}

/* Opens the notebook and mounts the lab, detached unless -f. */
static int mount_lab(daemon_t *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/" CLAB_STATE_NOTEBOOK, d->state);
    d->lab.limits.max_points = (size_t)d->o.max_points;
    int rc = clab_notebook_open(path, &d->lab.nb);
    if (rc < 0) {
        fprintf(stderr, "clabfs: cannot open the notebook %s: %s\n", path, strerror(-rc));
        return -1;
    }
    if (clab_fuse_new(&d->lab, &d->args, &d->fs) < 0 ||
        fuse_session_mount(clab_fuse_session(d->fs), d->cmd.mountpoint) != 0)
        return -1;
    d->mounted = 1;
    if (!d->cmd.foreground) {
        /* SQLite's locks are POSIX locks, which the daemon (a child of this
         * process) would not hold: without them another process opening
         * notebook.db (sqlite3, a backup, a test) takes itself for the last
         * connection and deletes the WAL under us. Opened above so that
         * errors reach the terminal; opened again by the daemon. */
        clab_notebook_destroy(&d->lab.nb);
        if (fuse_daemonize(0) != 0)
            return -1;
        /* Detached: keep the story in the state directory. */
        dup2(d->log_fd, 2);
        close(d->log_fd);
        d->log_fd = -1;
        if ((rc = clab_notebook_open(path, &d->lab.nb)) < 0) {
            clab_err("cannot open the notebook %s: %s", path, strerror(-rc));
            return -1;
        }
    }
    clab_info("mounted %s; state in %s", d->cmd.mountpoint, d->state);
    if (d->taken_over[0])
        clab_warn("mount point %s was left by a dead %s (%s); detached it and mounted "
                  "over it. Files still open there fail with ENOTCONN until closed",
                  d->cmd.mountpoint,
                  strcmp(d->taken_over, "fuse.clabfs") == 0 ? "clabfs"
                                                            : "FUSE file system",
                  d->taken_over);
    return 0;
}

/* --ssh: the ssh child, and a connection file of our own (STATE/tunnel.json,
 * the cluster's with the tunnel's local end as the client endpoint) for the
 * link. */
static int start_tunnel(daemon_t *d)
{
    clab_conninfo_t ci;
    char endpoint[sizeof ci.client_endpoint], path[4096];
    int rc = clab_conninfo_load(d->conn, &ci);
    if (rc < 0)
        return rc;
    clab_tunnel_opts_t to = tunnel_opts(d, ci.client_endpoint);
    if ((rc = clab_tunnel_start(&to, &d->tunnel, endpoint, sizeof endpoint)) < 0)
        return rc;
    clab_info("the link to %s goes through ssh to %s, locally %s", ci.client_endpoint,
              d->o.ssh, endpoint);
    memcpy(ci.client_endpoint, endpoint, sizeof endpoint);
    snprintf(path, sizeof path, "%s/tunnel.json", d->state);
    if ((rc = clab_conninfo_save(path, &ci)) < 0)
        return rc;
    snprintf(d->conn, sizeof d->conn, "%s", path);
    return 0;
}

/* Starts the embedded cluster unless one was named, and the link to it.
 * Neither failing stops the mount: jobs wait. */
static void link_cluster(daemon_t *d)
{
    if (!d->o.cluster) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/cluster", d->state);
        clab_cluster_opts_t co = {.state_dir = dir,
                                  .engines = d->o.engines,
                                  .retries = d->o.retries,
                                  .prefetch = d->o.prefetch_n};
        int rc = clab_cluster_start(&co, &d->cluster, d->conn, sizeof d->conn);
        if (rc < 0)
            clab_err("embedded cluster did not start: %s; the mount works, jobs wait",
                     strerror(-rc));
    }
    if (d->o.ssh) {
        int rc = start_tunnel(d);
        if (rc < 0) {
            clab_err("cannot start the ssh tunnel to %s: %s; the mount works, jobs wait",
                     d->o.ssh, strerror(-rc));
            return;
        }
    }
    int rc = clab_sync_start(&d->lab, d->conn, d->o.waiting_time, d->o.reconnections,
                             &d->sync);
    if (rc < 0)
        clab_err("cannot link to the cluster (%s): %s", d->conn, strerror(-rc));
}

static int serve(daemon_t *d)
{
    struct fuse_session *se = clab_fuse_session(d->fs);
    if (fuse_set_signal_handlers(se) != 0)
        return 1;
    int rc = clab_fuse_loop(d->fs, d->cmd.singlethread, d->cmd.clone_fd);
    fuse_remove_signal_handlers(se);
    clab_info("unmounting %s", d->cmd.mountpoint);
    return rc < 0 ? 1 : 0;
}

static int run(daemon_t *d)
{
    int rc = 1;
    d->lock_fd = d->log_fd = -1;
    clab_log_init("clabfs", d->o.verbose ? CLAB_LOG_DEBUG : CLAB_LOG_INFO);
    clab_lab_init(&d->lab);
    if (prepare(d) == 0 && mount_lab(d) == 0) {
        link_cluster(d);
        rc = serve(d);
    }
    if (d->mounted)
        fuse_session_unmount(clab_fuse_session(d->fs));
    /* The link sends the kernel's invalidations through the session:
     * stopped before it. */
    clab_sync_stop(&d->sync);
    clab_tunnel_stop(&d->tunnel);
    clab_cluster_stop(&d->cluster);
    clab_fuse_destroy(&d->fs);
    clab_lab_fini(&d->lab);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    if (d->log_fd >= 0)
        close(d->log_fd);
    return rc;
}

int main(int argc, char **argv)
{
    daemon_t d = {0};
    int rc = parse_options(&d, argc, argv);
    if (rc < 0)
        rc = run(&d);
    free_options(&d);
    return rc;
}
