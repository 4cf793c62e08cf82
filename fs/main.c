/* clabfs: a compute cluster for parameter sweeps behind a FUSE mount.
 *
 *   clabfs [options] MOUNTPOINT
 *
 * Opens the notebook in the state directory, mounts, and links the mount
 * to a cluster: the one named by --cluster, or an embedded local one
 * started here. See --help and README.md. */
#include "cluster.h"
#include "conninfo.h"
#include "fuse_ops.h"
#include "lab.h"
#include "log.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct {
    char *state;
    char *cluster;
    int engines;
    int retries;
    int reconnections;
    double waiting_time;
    long max_points;
    int help, version, verbose;
} options_t;

#define OPT(t, p)                                                                        \
    {                                                                                    \
        t, offsetof(options_t, p), 0                                                     \
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
    {"--verbose", offsetof(options_t, verbose), 1},
    {"-h", offsetof(options_t, help), 1},
    {"--help", offsetof(options_t, help), 1},
    {"-V", offsetof(options_t, version), 1},
    {"--version", offsetof(options_t, version), 1},
    FUSE_OPT_END};

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
        "  --engines N            engines of the embedded cluster (default: CPUs)\n"
        "  --retries N            re-runs of a task whose engine was lost (default 3)\n"
        "  --reconnections N      failed reconnection attempts before the log says the\n"
        "                         controller is unreachable (default 5; attempts go on)\n"
        "  --waiting-time S       longest wait between reconnection attempts (default "
        "30)\n"
        "  --max-points N         largest job accepted, in points (default 1000000)\n"
        "  --verbose              log more\n"
        "  -f                     stay in the foreground (logs on stderr)\n"
        "  -d                     FUSE debug output (implies -f)\n"
        "  -o OPT[,OPT...]        FUSE mount options\n"
        "  -h, --help             this text\n"
        "  -V, --version          print the version\n"
        "\n"
        "Unmount with: fusermount3 -u MOUNTPOINT (SIGTERM and SIGINT also unmount).\n",
        prog);
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

int main(int argc, char **argv)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_cmdline_opts cmd = {0};
    options_t o = {.engines = -1,
                   .retries = 3,
                   .reconnections = 5,
                   .waiting_time = 30,
                   .max_points = CLAB_SUBMIT_MAX_POINTS};
    clab_lab_t lab;
    struct fuse *fuse = NULL;
    clab_cluster_t *cluster = NULL;
    clab_sync_t *sync = NULL;
    char state[2048], conn[4096], path[4096];
    int rc = 1, lock_fd = -1, mounted = 0;

    clab_lab_init(&lab);
    if (fuse_opt_parse(&args, &o, option_spec, NULL) < 0 ||
        fuse_parse_cmdline(&args, &cmd) < 0)
        goto out;
    if (o.help || cmd.show_help) {
        usage(argv[0]);
        rc = 0;
        goto out;
    }
    if (o.version || cmd.show_version) {
        printf("clabfs %s (libfuse %s)\n", CLAB_VERSION, fuse_pkgversion());
        rc = 0;
        goto out;
    }
    if (!cmd.mountpoint) {
        fprintf(stderr, "clabfs: no mount point given (try --help)\n");
        rc = 2;
        goto out;
    }
    if (o.engines == -1)
        o.engines = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (o.engines < 0 || o.engines > 1024 || o.retries < 0 || o.reconnections < 0 ||
        !(o.waiting_time > 0) || o.max_points < 1) {
        fprintf(stderr,
                "clabfs: --engines wants 0..1024, --retries and --reconnections a "
                "count, --waiting-time and --max-points a positive number\n");
        rc = 2;
        goto out;
    }
    clab_log_init("clabfs", o.verbose ? CLAB_LOG_DEBUG : CLAB_LOG_INFO);

    if (o.state) {
        snprintf(state, sizeof state, "%s", o.state);
    } else if (default_state(state, sizeof state) < 0) {
        fprintf(stderr, "clabfs: no state directory: give --state DIR\n");
        goto out;
    }
    if (clab_mkdir_p(state, 0700) < 0 || !realpath(state, path)) {
        fprintf(stderr, "clabfs: cannot use state directory %s: %s\n", state,
                strerror(errno));
        goto out;
    }
    if (strlen(path) >= sizeof state) {
        fprintf(stderr, "clabfs: state directory path too long: %s\n", path);
        goto out;
    }
    memcpy(state, path, strlen(path) + 1);
    snprintf(path, sizeof path, "%s/clabfs.lock", state);
    lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "clabfs: state directory %s is in use by another clabfs\n",
                state);
        goto out;
    }
    if (o.cluster) {
        clab_conninfo_t ci;
        int lrc = clab_conninfo_load(o.cluster, &ci);
        if (lrc < 0) {
            fprintf(stderr, "clabfs: cannot use connection file %s: %s\n", o.cluster,
                    lrc == -EPERM    ? "group or others can read it (chmod 600 it)"
                    : lrc == -EINVAL ? "not a clabfs connection file"
                                     : strerror(-lrc));
            goto out;
        }
        snprintf(conn, sizeof conn, "%s", o.cluster);
    } else if (clab_find_program("clab-controller", path, sizeof path) < 0 ||
               clab_find_program("clab-engine", path, sizeof path) < 0) {
        fprintf(stderr,
                "clabfs: clab-controller and clab-engine not found next to clabfs "
                "or on PATH (set CLAB_BINDIR)\n");
        goto out;
    }

    snprintf(path, sizeof path, "%s/notebook.db", state);
    lab.limits.max_points = (size_t)o.max_points;
    int nrc = clab_notebook_open(path, &lab.nb);
    if (nrc < 0) {
        fprintf(stderr, "clabfs: cannot open the notebook %s: %s\n", path,
                strerror(-nrc));
        goto out;
    }

    fuse = fuse_new(&args, &clab_fuse_ops, sizeof clab_fuse_ops, &lab);
    if (!fuse)
        goto out;
    if (fuse_mount(fuse, cmd.mountpoint) != 0)
        goto out;
    mounted = 1;
    if (fuse_daemonize(cmd.foreground) != 0)
        goto out;
    if (!cmd.foreground) {
        /* Detached: keep the story in the state directory. */
        snprintf(path, sizeof path, "%s/clabfs.log", state);
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
    }
    clab_info("mounted %s; state in %s", cmd.mountpoint, state);

    if (!o.cluster) {
        snprintf(path, sizeof path, "%s/cluster", state);
        clab_cluster_opts_t co = {
            .state_dir = path, .engines = o.engines, .retries = o.retries};
        int crc = clab_cluster_start(&co, &cluster, conn, sizeof conn);
        if (crc < 0)
            clab_err("embedded cluster did not start: %s; the mount works, jobs wait",
                     strerror(-crc));
    }
    int src = clab_sync_start(&lab, conn, o.waiting_time, o.reconnections, &sync);
    if (src < 0)
        clab_err("cannot link to the cluster (%s): %s", conn, strerror(-src));

    struct fuse_session *se = fuse_get_session(fuse);
    if (fuse_set_signal_handlers(se) != 0)
        goto out;
    rc = cmd.singlethread ? fuse_loop(fuse) : clab_fuse_loop_mt(fuse, cmd.clone_fd);
    rc = rc < 0 ? 1 : 0;
    fuse_remove_signal_handlers(se);
    clab_info("unmounting %s", cmd.mountpoint);
out:
    if (mounted)
        fuse_unmount(fuse);
    clab_sync_stop(&sync);
    clab_cluster_stop(&cluster);
    if (fuse)
        fuse_destroy(fuse);
    clab_lab_fini(&lab);
    if (lock_fd >= 0)
        close(lock_fd);
    free(cmd.mountpoint);
    free(o.state);
    free(o.cluster);
    fuse_opt_free_args(&args);
    return rc;
}
