/* Worker mode (SPEC "Warm experiments", "Trust every result"): an engine
 * keeps one long-lived process per (experiment, arguments, protocol) and
 * hands it points one line at a time, instead of a process per point.
 * Linked only into clab-engine, with the runner; knows nothing of zmq.
 *
 * A worker starts with CLAB_WORKER=1 (plain) or CLAB_WORKER=framed and
 * the CLAB_TAG of the point that started it, in a scratch directory that
 * lives as long as it does. A plain worker gets each point as its
 * parameters on one JSON line on stdin and answers with exactly one line
 * on stdout, read as one-shot output is (results, or the result
 * envelope); nothing tells a late line from the next answer, so a line
 * with no point outstanding, or several lines for one point, cost the
 * worker its life (and the point, in the second case). A framed worker
 * gets {"clab.seq": N, "clab.parameters": P} and answers with "clab.seq":
 * N at the top level of its line; any other line is stray output, in the
 * point's traceback, and too much of it retires the worker. A point that
 * times out, a worker that dies or closes stdout or stdin, a line that is
 * not valid output or is over the output limit fails that point with the
 * one-shot reason, and the worker is replaced at the next point. stderr
 * is read all along; its tail is a failed point's traceback. */
#ifndef CLAB_WORKER_H
#define CLAB_WORKER_H

#include "runner.h"

#include <jansson.h>
#include <stddef.h>

/* Workers alive at once per engine, and seconds a worker may sit idle,
 * unless clab_workers_new is told otherwise. */
#define CLAB_WORKERS_MAX 4
#define CLAB_WORKERS_IDLE 60.0

typedef struct clab_workers clab_workers_t;

/* An engine's set of workers: at most max alive (0: CLAB_WORKERS_MAX; the
 * least recently used is stopped to make room), each stopped after idle
 * seconds without a point (<= 0: CLAB_WORKERS_IDLE). 0 or -ENOMEM. */
int clab_workers_new(unsigned max, double idle, clab_workers_t **out);

/* Runs one point on the worker for (spec->experiment, spec->arguments,
 * spec->framed), starting it if need be; same contract as
 * clab_run_experiment: 0 with a
 * record in *out (failures included), -EINTR when spec->tick asked to stop
 * (the worker is killed, no record), -errno when nothing could run. */
int clab_workers_run(clab_workers_t *w, const clab_run_spec_t *spec, json_t **out);

/* Between points: reads what workers wrote to stderr (and framed ones to
 * stdout: stray output, for their next point) so that none blocks on a
 * full pipe, retires workers that died or printed what no point asked
 * for (plain ones), stops those idle too long. */
void clab_workers_idle(clab_workers_t *w);

/* Workers alive now, and the pid of each (n at most). */
size_t clab_workers_pids(const clab_workers_t *w, int *pids, size_t n);

/* Closes every worker's stdin (asking it to exit), waits up to a second,
 * kills what is left, removes their scratch directories; NULLs *w. */
void clab_workers_destroy(clab_workers_t **w);

#endif
