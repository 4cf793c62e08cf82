/* The experiment contract (SPEC "The experiment contract"): run one point
 * of an experiment as a child process and turn what it did into a result
 * record (record.h). Used by clab-engine only, which alone links the
 * process spawner; knows nothing of zmq.
 *
 * arguments follow the path in argv (execve, no shell).
 *
 * The point always reaches the experiment whole on stdin. CLAB_PARAMS
 * repeats it in the environment only while "CLAB_PARAMS=" and the text fit
 * in one environment string (CLAB_ENV_MAX, Linux's MAX_ARG_STRLEN); a
 * bigger point runs without CLAB_PARAMS rather than fail to exec. */
#ifndef CLAB_RUNNER_H
#define CLAB_RUNNER_H

#include "files.h"
#include "record.h"

#include <jansson.h>
#include <stddef.h>

#define CLAB_MAX_OUTPUT (16u * 1024 * 1024)
/* The longest environment string execve takes, NUL included. */
#define CLAB_ENV_MAX (128u * 1024)

typedef struct {
    const char *experiment;   /* absolute path of the executable */
    const json_t *arguments;  /* argv after the path: strings; NULL: none */
    const char *tag;          /* CLAB_TAG */
    const char *job;          /* CLAB_JOB, clab.job */
    const json_t *params;     /* the point: a JSON object */
    double timeout;           /* seconds; <= 0 means none */
    const char *engine_id;    /* clab.engine */
    const char *host;         /* clab.host */
    const char *scratch_root; /* parent of the scratch dirs; NULL: $TMPDIR or /tmp */
    size_t max_output;        /* stdout limit in bytes; 0: CLAB_MAX_OUTPUT */
    int framed;               /* worker mode (worker.h): the framed protocol */
    /* The job's files ({"NAME": "SHA256"}; NULL: none), copied from
     * files_cache into the point's scratch directory (a worker's: they
     * are part of what the worker is). */
    const json_t *files;
    const clab_files_t *files_cache;
    /* Called at least every 100 ms while the experiment runs (the engine
     * sends heartbeats and notices cancels from it). A non-zero return
     * kills the experiment's process group and makes clab_run_experiment
     * return -EINTR. */
    int (*tick)(void *ud);
    void *tick_ud;
} clab_run_spec_t;

/* Runs one point to completion. On return 0, *out is a new result record
 * (record.h) carrying every metadata key SPEC names (exception/traceback only on
 * failure). Experiment failures (exit status, signal, timeout, bad stdout,
 * output over the limit, exec failure) are ok=false records, not errors.
 * Returns -EINTR when tick asked to stop (no record), -errno when the engine
 * itself could not run anything (no record). */
int clab_run_experiment(const clab_run_spec_t *spec, json_t **out);

#endif
