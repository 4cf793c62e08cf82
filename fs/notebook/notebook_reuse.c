/* Reuse (submit's "reuse": true): a point whose experiment identity,
 * arguments and submitted parameters equal those of a successful result
 * already in the lab is filled from that result at submit instead of
 * being run. Every job carries its key (jobs.rkey), and so does every
 * successful result it gives (results.rkey, indexed where not NULL), so
 * that the lookup is one index probe whatever the lab holds. */
#include "notebook_i.h"
#include "json.h"
#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_clab_python(const char *experiment)
{
    const char *base = strrchr(experiment, '/');
    return strcmp(base ? base + 1 : experiment, "clab-python") == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const clab_submit_file_t *const *)a)->name,
                  (*(const clab_submit_file_t *const *)b)->name);
}

/* The submit's files, by name, into s: what each point finds in its
 * scratch directory is part of what it computes. */
static int hash_files(const clab_submission_t *sub, clab_sha256_t *s)
{
    const clab_submit_file_t **files = calloc(sub->nfiles + 1, sizeof *files);
    if (!files)
        return -ENOMEM;
    for (size_t i = 0; i < sub->nfiles; i++)
        files[i] = &sub->files[i];
    qsort(files, sub->nfiles, sizeof *files, by_name);
    for (size_t i = 0; i < sub->nfiles; i++) {
        /* A name holds no NUL: it ends each name unambiguously. */
        clab_sha256_update(s, "\n", 1);
        clab_sha256_update(s, files[i]->name, strlen(files[i]->name) + 1);
        clab_sha256_update(s, files[i]->sha256, strlen(files[i]->sha256));
    }
    free(files);
    return 0;
}

int clab_nb_reuse_identity(const clab_submission_t *sub, char out[CLAB_SHA256_HEX])
{
    const char *module =
        json_string_value(json_object_get(sub->provenance, "module_sha256"));
    unsigned char digest[CLAB_SHA256_LEN];
    clab_sha256_t s;
    out[0] = '\0';
    if (!sub->sha256[0])
        return 0;
    /* clab-python is the package's program: its hash alone would match
     * the results of an edited model, so without its module's (or the
     * pickle's) hash a point has no identity and matches nothing. */
    if (module && strcmp(module, "-") == 0)
        module = NULL;
    if (is_clab_python(sub->experiment) && !module)
        return 0;
    if (!module && !sub->nfiles) {
        snprintf(out, CLAB_SHA256_HEX, "%s", sub->sha256);
        return 1;
    }
    clab_sha256_init(&s);
    clab_sha256_update(&s, sub->sha256, strlen(sub->sha256));
    clab_sha256_update(&s, "\n", 1);
    clab_sha256_update(&s, module ? module : "-", strlen(module ? module : "-"));
    if (hash_files(sub, &s) < 0)
        return 0; /* out of memory: no identity, no reuse */
    clab_sha256_final(&s, digest);
    clab_hex(digest, CLAB_SHA256_LEN, out);
    return 1;
}

int clab_nb_reuse_key(const char *identity, const char *arguments, const char *params,
                      long rep, long reps, char out[CLAB_SHA256_HEX])
{
    unsigned char digest[CLAB_SHA256_LEN];
    char reps_text[48] = "";
    clab_sha256_t s;
    out[0] = '\0';
    if (!identity || !identity[0] || !params)
        return 0;
    /* A repetition of a repeated job is its own point: rep 2 of 3 reuses
     * rep 2 of 3. A job of one repetition adds nothing, so the key of a
     * plain point does not depend on how repetitions are counted. */
    if (reps > 1)
        snprintf(reps_text, sizeof reps_text, "\n%ld/%ld", rep, reps);
    /* The parts are JSON texts (or hex): none holds a bare newline, so
     * the separator keeps (identity, arguments, parameters) apart. */
    clab_sha256_init(&s);
    clab_sha256_update(&s, identity, strlen(identity));
    clab_sha256_update(&s, "\n", 1);
    clab_sha256_update(&s, arguments ? arguments : "null",
                       strlen(arguments ? arguments : "null"));
    clab_sha256_update(&s, "\n", 1);
    clab_sha256_update(&s, params, strlen(params));
    clab_sha256_update(&s, reps_text, strlen(reps_text));
    clab_sha256_final(&s, digest);
    clab_hex(digest, CLAB_SHA256_LEN, out);
    return 1;
}

int clab_nbp_reuse_prepare(sqlite3 *db, sqlite3_stmt **probe)
{
    /* Index order within one key is the primary key's (tag, n): a job's
     * results, numbered in a row at ingest, come one after another. A
     * deleted set's results stay until the notebook frees them in the
     * background (notebook_free.c): only a set that is there counts (a
     * submit to a deleted tag frees its old rows first). */
    return clab_nbp_prepare(
        db,
        "SELECT tag, n, job, doc FROM results AS r INDEXED BY results_rkey"
        " WHERE rkey = :rkey AND ok = 1"
        " AND EXISTS (SELECT 1 FROM sets WHERE sets.tag = r.tag)",
        probe);
}

/* One stored result as an epyc record of the reusing job: the old
 * record, its metadata naming where it came from and the new job. */
static int add_record(json_t *records, sqlite3_stmt *probe, const char *job)
{
    char from[CLAB_TAG_MAX + 32];
    json_t *doc = clab_json_loads((const char *)sqlite3_column_text(probe, 3), 0, NULL);
    json_t *meta = json_object_get(doc, "metadata");
    snprintf(from, sizeof from, "%s/%lld", (const char *)sqlite3_column_text(probe, 0),
             (long long)sqlite3_column_int64(probe, 1));
    int rc = !json_is_object(meta) ||
                     json_object_set_new(meta, "clab.reused_from", json_string(from)) ||
                     json_object_set_new(meta, "clab.job", json_string(job)) ||
                     json_object_set_new(doc, "ok", json_true()) ||
                     json_array_append(records, doc)
                 ? -ENOMEM
                 : 0;
    json_decref(doc);
    return rc;
}

/* The results of the first job holding rkey, as records for job. */
static int matching_records(clab_notebook_t *nb, sqlite3_stmt *probe, const char *rkey,
                            const char *job, json_t *records)
{
    char tag[CLAB_TAG_MAX + 1] = "", *first = NULL;
    int rc;
    sqlite3_bind_text(probe, clab_nbp_at(probe, ":rkey"), rkey, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(probe)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(probe, 0);
        const char *j = (const char *)sqlite3_column_text(probe, 2);
        if (!first) {
            snprintf(tag, sizeof tag, "%s", t);
            if (!(first = strdup(j))) {
                rc = -ENOMEM;
                break;
            }
        } else if (strcmp(tag, t) || strcmp(first, j))
            break;
        if ((rc = add_record(records, probe, job)) < 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc >= 0)
        rc = clab_nbp_sql_errno(nb->db, "reuse");
    sqlite3_reset(probe);
    free(first);
    return rc < 0 ? rc : 0;
}

int clab_nbp_reuse_fill(clab_notebook_t *nb, sqlite3_stmt *probe, const char *rkey,
                        const char *job, double now)
{
    json_t *records = json_array(), *item = NULL;
    int rc = records ? matching_records(nb, probe, rkey, job, records) : -ENOMEM;
    if (rc < 0 || json_array_size(records) == 0)
        goto out;
    /* Stored as if delivered: the same path makes its N, tables, counts
     * and the job done, so nothing of the mount tells a reused point from
     * one run but its metadata. No results and records: insert_point
     * takes each record as it is. */
    item = json_pack("{s:s, s:{s:b, s:{}, s:[], s:O}}", "job", job, "record", "ok", 1,
                     "metadata", "results", "records", records);
    nb->in.reuse_fill = 1;
    rc = item ? clab_nbp_ingest_one(nb, &nb->in, item, now) : -ENOMEM;
    nb->in.reuse_fill = 0;
out:
    json_decref(item);
    json_decref(records);
    return rc;
}
