/* What a one-shot run (runner.c) and a worker (worker.c) share: the
 * experiment's scratch directory and its child process (posix_spawn in a
 * process group of its own, non-blocking pipes, the group kill, the exit
 * read as the experiment contract's reason). Private to the clab_runner
 * library, which alone links the process spawner. */
#ifndef CLAB_SCRATCH_H
#define CLAB_SCRATCH_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* Makes a fresh scratch directory under root (NULL or "": $TMPDIR, else
 * /tmp) and writes its path to out. 0 or -errno. */
int clab_scratch_make(const char *root, char *out, size_t size);
/* The same, its name starting with prefix instead of "clab". */
int clab_scratch_make_as(const char *root, const char *prefix, char *out, size_t size);
/* Removes dir and all in it within a fraction of a second; the rest goes
 * on in a background thread that process exit waits for. */
void clab_scratch_remove(const char *dir);

/* How to start an experiment. */
typedef struct {
    const char *path;        /* absolute path of the executable */
    const json_t *arguments; /* argv after the path: an array of strings, or NULL */
    const char *dir;         /* its working directory */
    /* "NAME=value" strings, NULL-terminated, added to the engine's
     * environment, from which CLAB_TAG, CLAB_JOB, CLAB_PARAMS and
     * CLAB_WORKER are always taken out first. */
    char *const *env;
} clab_child_how_t;

/* A running experiment. Its descriptors are non-blocking, -1 once closed. */
typedef struct {
    pid_t pid; /* 0: none */
    int pidfd; /* readable at its exit; -1 where the kernel has none */
    int in_fd, out_fd, err_fd;
    double t_spawn; /* clab_mono() */
} clab_child_t;

#define CLAB_CHILD_INIT                                                                  \
    {                                                                                    \
        0, -1, -1, -1, -1, 0.0                                                           \
    }
#define CLAB_TAIL_SIZE 4096

/* The last CLAB_TAIL_SIZE bytes of a stream (stderr: the traceback). */
typedef struct {
    char data[CLAB_TAIL_SIZE];
    size_t len;
} clab_tail_t;

/* 0 when path can be run, else -1 with "cannot execute PATH: why" in why,
 * or "experiment not found on HOST" when it does not exist (checked first because
 * posix_spawn cannot report exec errors everywhere); -1 too when arguments holds anything
 * but strings. */
int clab_child_check(const char *path, const json_t *arguments, char *why, size_t size);
/* 0 with the child running, 1 when it could not be started (why says so,
 * as clab_child_check does), or -errno. */
int clab_child_spawn(const clab_child_how_t *how, clab_child_t *c, char *why,
                     size_t size);
/* SIGKILL to the child's whole process group. */
void clab_child_kill(const clab_child_t *c);
/* 1 once the child has exited (left a zombie), 0 while it runs, -errno. */
int clab_child_exited(const clab_child_t *c);
/* Kills the group (the leader not yet reaped, so its id cannot have been
 * reused), waits for the leader, closes its pidfd and stdin; *status gets
 * the wait status. */
void clab_child_reap(clab_child_t *c, int *status);
/* Closes every descriptor still open. */
void clab_child_close(clab_child_t *c);
/* Writes p[*off..len) to fd without ever raising SIGPIPE in the engine:
 * 1 once all is written, 0 when the pipe is full, -EPIPE when the reader
 * is gone, -errno. */
int clab_child_write(int fd, const char *p, size_t len, size_t *off);
/* The one-line reason for a wait status: "exit status N" (N may be 0),
 * "killed by signal N (Name)". */
void clab_child_reason(int status, char *why, size_t size);
void clab_tail_add(clab_tail_t *t, const char *p, size_t n);
/* Reads some of what fd holds into t: the bytes read, 0 at end of file
 * (fd is then closed), -EAGAIN when there is nothing now, -errno. */
int clab_tail_read(clab_tail_t *t, int *fd);

#endif
