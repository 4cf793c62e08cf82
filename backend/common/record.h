/* The result record, epyc's format as clabfs carries it from engine to
 * notebook:
 *   {"ok": true|false,
 *    "results": [ {...}, ... ],          (only when ok: one per result object)
 *    "metadata": { "epyc.experiment.classname": ..., ... }}
 * Built by the runner for a point that ran, by the controller and the
 * notebook for one that never will; read by the notebook. Knows nothing of
 * processes or sockets. */
#ifndef CLAB_RECORD_H
#define CLAB_RECORD_H

#include <jansson.h>
#include <stddef.h>

/* What the metadata of a record says. Every record also has
 * epyc.experiment.setup_time and teardown_time, 0 unless the envelope's
 * metadata gives them; a job's repetition (epyc.experiment.rep and
 * epyc.experiment.repetitions, RepeatedExperiment's names) is added by
 * the notebook when it stores the record. Strings may hold any
 * bytes (they are made valid UTF-8); NULL strings become "". */
typedef struct {
    const char *experiment; /* epyc.experiment.classname */
    const char *job;        /* clab.job */
    const char *engine_id;  /* clab.engine */
    const char *host;       /* clab.host */
    double start, end;      /* epyc.experiment.start_time/end_time, clab_now() */
    double elapsed;         /* epyc.experiment.elapsed_time, seconds */
    double experiment_time; /* seconds the experiment ran; 0 when it never did */
    json_int_t exit_status; /* clab.exit_status; -1 when none */
    /* Failures only: epyc.experiment.exception (made one line) and
     * epyc.experiment.traceback (the tail of stderr). */
    const char *exception;
    const char *traceback;
    size_t traceback_len;
    /* The result envelope's clab.metadata (borrowed; NULL: none), merged
     * into the metadata last, but for clab.* and the status keys. */
    const json_t *extra_metadata;
    /* The head of an output that was not JSON (clab_output_t's head), put
     * before the traceback; NULL: none. */
    const char *output_head;
    size_t output_head_len;
    /* The point's epyc records (clab_output_t's records; borrowed; NULL:
     * none): the record holds them, one element each. */
    const json_t *records;
} clab_record_info_t;

/* SPEC "Durability and limits": a point gives at most this many results. */
#define CLAB_MAX_RESULTS 10000u

/* The exception of a cancelled point: str() of epyc 1.7.2's
 * CancelledException, as its cancelPendingResult stores it, so that code
 * written against epyc's notebooks recognises it. */
#define CLAB_CANCELLED_EXCEPTION "Cancelled"

/* An experiment's stdout (len bytes, NUL-terminated) as its results: one
 * object becomes [it], a non-empty array of objects stays as it is. The
 * results are counted in the text before any of it is parsed, so that a
 * flood of tiny objects is refused without building them. 0 with
 * *results, or -EINVAL with a one-line reason in why ("output has 12000
 * results (at most 10000)", "stdout is not a JSON object"). */
int clab_record_parse_output(const char *text, size_t len, size_t max_results,
                             json_t **results, char *why, size_t why_size);

/* An experiment's output read as SPEC's result envelope allows: plain
 * output (an object, or a non-empty array of objects) is the results; an
 * object with "clab.results", "clab.records" or "clab.exception" is an
 * envelope whose results, metadata, exception and traceback say what the
 * point gave. "clab.records" is a non-empty array of epyc results dicts
 * ({"parameters", "results", "metadata"}, the metadata with a boolean
 * epyc.experiment.status): what epyc's Lab would add to its notebook for
 * the point, a RepeatedExperiment's one per repetition, failures among
 * them, each with its own parameters, times, exception and traceback. */
typedef struct {
    json_t *results;  /* an array of objects; NULL when the point failed */
    json_t *records;  /* clab.records (the results then NULL); NULL: none */
    json_t *metadata; /* clab.metadata, or NULL */
    char *traceback;  /* clab.traceback (malloc'd), or NULL */
    char *head;       /* output that is not JSON: its head (malloc'd), or NULL */
    size_t head_len;
} clab_output_t;

/* Reads stdout (len bytes, NUL-terminated) into out: 0, or -EINVAL with
 * the one-line exception in why (an envelope's clab.exception, or what is
 * wrong with the output); out's metadata and traceback are set in both
 * cases. Results are counted in the text before any is parsed. */
int clab_record_read_output(const char *text, size_t len, size_t max_results,
                            clab_output_t *out, char *why, size_t why_size);
void clab_output_clear(clab_output_t *out);

/* Builds a record in *out: a success carrying results (an array of
 * objects) when results is not NULL, else a failure. results is taken over
 * in every case. 0 or -ENOMEM.
 *
 * With info->records the point ran and gave epyc's records: the record is
 * {"ok": true, "records": [E...], "metadata": the point's}, each E
 * {"ok", "parameters", "results", "metadata"} as the experiment gave it,
 * ok its epyc.experiment.status, its metadata epyc's (its own clab.*
 * names dropped) with clab.job, clab.engine, clab.host, clab.exit_status
 * and clabfs's own clock, clab.start_time and clab.elapsed_time, added. */
int clab_record_new(const clab_record_info_t *info, json_t *results, json_t **out);

/* A failed record for a point that did not run (the engine could not run
 * it, every engine that took it was lost, the user cancelled it), with the
 * same metadata keys as any other; only experiment, job, engine_id and
 * host of who are used, and its times are now. NULL when out of memory. */
json_t *clab_record_failure(const clab_record_info_t *who, const char *exception);

/* The record epyc's cancelPendingResult writes for a pending point that
 * will never run: its metadata holds only epyc.experiment.status (false),
 * end_time (now), exception (CLAB_CANCELLED_EXCEPTION) and traceback
 * (why: which command cancelled it), beside clabfs's clab.job,
 * clab.engine, clab.host and clab.exit_status (-1) from who. NULL when
 * out of memory. */
json_t *clab_record_cancelled(const clab_record_info_t *who, const char *why);

/* Reads a record as the notebook stores it: 0 with borrowed references
 * (*results NULL for a failure), -EINVAL when rec is not a record (no
 * metadata object, or ok without a results array). */
int clab_record_decode(const json_t *rec, int *ok, json_t **results, json_t **metadata);

#endif
