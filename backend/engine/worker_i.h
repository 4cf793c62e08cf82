/* worker mode's private parts (worker.h), shared by its three files:
 * worker.c keeps the set of workers (start, find, idle, stop);
 * worker_point.c runs one point on one worker (the line out, the answer
 * back, the record); worker_frame.c holds the framed protocol's text
 * (SPEC "Trust every result") and the stray output a framed worker prints
 * beside its answers. Linked into clab-engine only; the unit test reaches
 * the framing through this header. */
#ifndef CLAB_WORKER_I_H
#define CLAB_WORKER_I_H

#include "buf.h"
#include "record.h"
#include "runner.h"
#include "scratch.h"

#include <jansson.h>
#include <limits.h>
#include <stddef.h>

/* A framed worker that prints more stray lines than this, or more bytes
 * of them, in one point is retired and that point fails. */
#define WORKER_STRAY_LINES 100
#define WORKER_STRAY_BYTES (64u * 1024)

/* Stdout lines of a framed worker that answered no point, since its last
 * point ended: counted, their tail kept for the traceback. */
typedef struct {
    clab_tail_t tail;
    size_t lines, bytes;
} worker_stray_t;

struct worker {
    char *key; /* experiment, arguments as JSON, and "framed" for a framed one */
    clab_child_t c;
    char scratch[PATH_MAX];
    int framed;
    unsigned long long seq; /* framed: the clab.seq of the last point sent */
    clab_buf_t out;         /* stdout not yet taken as an answer or set aside */
    clab_tail_t tail;       /* stderr: since the current point began */
    worker_stray_t stray;   /* framed: stray lines since the last point ended */
    double last_used;       /* clab_mono() */
};

/* How a point's exchange ended: an answer, or why there is none (the
 * worker died, the timeout, an over-long line, a worker that closed
 * stdout or stdin, a plain worker's several lines, a framed worker's
 * stray output over the limits). */
enum worker_answer {
    ANS_LINE,
    ANS_DIED,
    ANS_TIMEOUT,
    ANS_OUTPUT,
    ANS_CLOSED,
    ANS_LINES,
    ANS_STRAY
};

/* One point on its way through a worker. */
struct worker_point {
    const clab_run_spec_t *spec;
    struct worker *wk;
    size_t max_output;
    clab_buf_t line; /* what the worker is sent: the point and a newline */
    size_t off;
    double t_sent, t_done;
    double eof_at;      /* clab_mono() when stdout or stdin closed; 0 */
    const char *closed; /* "stdout" or "stdin", whichever closed first */
    size_t answer_len;  /* the answer's length, newline (and clab.seq) excluded */
    size_t consumed;    /* the stdout bytes its line took, newline included */
    size_t lines;       /* plain: the lines stdout held for the point */
    int status;         /* wait status, ANS_DIED */
    char exception[PATH_MAX + 128];
    clab_output_t output;
};

/* worker_point.c */

/* Reads what the worker wrote to stderr so far (so it never blocks on a
 * full pipe) into its tail. */
void worker_drain_stderr(struct worker *wk);
/* Reads what stdout holds, up to a little past limit bytes: 0, 1 when it
 * ended (it is then closed), or -errno. */
int worker_read_out(struct worker *wk, size_t limit);
/* Sets aside a framed worker's stdout as stray output: its complete lines,
 * and with all, what follows the last one too. 1 once over the limits. */
int worker_set_aside(struct worker *wk, int all);
/* Sends the point (p->line) and waits for its answer: an enum
 * worker_answer, -EINTR when the spec's tick said stop, -errno. */
int worker_exchange(struct worker_point *p);
/* The record of an exchange that ended with a: 0 with *out, or -ENOMEM;
 * *keep says whether the worker stays in step for another point. */
int worker_record(struct worker_point *p, enum worker_answer a, double w0, double m0,
                  int *keep, json_t **out);

/* worker_frame.c */

/* Appends a framed point's line to b: {"clab.seq":SEQ,"clab.parameters":P}
 * and a newline, P being the parameters' JSON text (len bytes). 0 or
 * -ENOMEM. */
int worker_frame_point(clab_buf_t *b, unsigned long long seq, const char *params,
                       size_t len);

/* Finds "clab.seq" among the top-level members of the JSON object in
 * line[0, len), by scanning the text: 1 with its value in *seq and
 * [*cut, *end) the bytes to remove (the member and one comma beside it) so
 * that what is left is the same object without it; 0 when there is no
 * such member, when its value is not an integer in [0, 2^64), when there
 * are two, or when the line is not an object. */
int worker_frame_seq(const char *line, size_t len, unsigned long long *seq, size_t *cut,
                     size_t *end);

/* Keeps line (len bytes, its newline excluded) as stray output: 1 once
 * the stray output is over either limit, else 0. */
int worker_stray_add(worker_stray_t *s, const char *line, size_t len);

/* The one-line reason for a worker retired for its stray output. */
void worker_stray_reason(const worker_stray_t *s, char *why, size_t size);

/* Into b: "stray output:\n" and the stray lines, then the rest of the
 * traceback (tb, len bytes) under label ("stderr:\n"), when it has any. 0
 * or -ENOMEM. */
int worker_stray_traceback(clab_buf_t *b, const worker_stray_t *s, const char *label,
                           const char *tb, size_t len);

#endif
