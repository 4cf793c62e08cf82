/* Unit tests for the controller's queue (backend/controller/store.c) on a temporary
 * SQLite file: idempotent submission, the order tasks are handed out in,
 * claims after a restart, results recorded once, cancellation, retries,
 * delivered tasks forgotten and the resend window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

#include <sqlite3.h>

typedef struct {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    clab_store_t *s;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/clab-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/controller.db", f->dir);
    if (clab_store_open(f->path, &f->s))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char side[PATH_MAX + 64];
    clab_store_destroy(&f->s);
    assert_null(f->s);
    unlink(f->path);
    snprintf(side, sizeof side, "%s-wal", f->path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", f->path);
    unlink(side);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A task body as the controller stores it, with the client's number
 * cseq for the job (0: none). */
static void add_seq(clab_store_t *s, const char *client, const char *job, const char *tag,
                    int64_t cseq, int want)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"job\":\"%s\",\"experiment\":\"/bin/true\",\"params\":{}}", job);
    clab_store_task_t t = {
        .client = client, .job = job, .tag = tag, .body = body, .cseq = cseq};
    assert_int_equal(clab_store_add(s, &t), want);
}

static void add(clab_store_t *s, const char *client, const char *job, const char *tag,
                int want)
{
    add_seq(s, client, job, tag, 0, want);
}

/* Records job's result (text) with stamp: what clab_store_finish says. */
static int finish_with(clab_store_t *s, const char *job, const char *text,
                       const char *stamp, double now, char **client, char **set,
                       int *prev)
{
    clab_store_result_t r = {.job = job, .record = text, .stamp = stamp, .now = now};
    return clab_store_finish(s, &r, client, set, prev);
}

static void take(clab_store_t *s, const char *engine, const char *want_job)
{
    char *job = NULL, *body = NULL;
    assert_int_equal(clab_store_take(s, engine, NULL, &job, &body), 1);
    assert_string_equal(job, want_job);
    assert_non_null(strstr(body, want_job));
    free(job);
    free(body);
}

static void finish(clab_store_t *s, const char *job, double now, const char *want_client,
                   int want_prev)
{
    char *client = NULL, *set = NULL;
    int prev = -2;
    assert_int_equal(
        finish_with(s, job, "{\"ok\":true}", NULL, now, &client, &set, &prev), 1);
    assert_string_equal(client, want_client);
    assert_int_equal(strncmp(set, want_client, strlen(want_client)), 0);
    assert_int_equal(set[strlen(want_client)], '\n');
    assert_int_equal(prev, want_prev);
    free(client);
    free(set);
}

static void counts(clab_store_t *s, long queued, long running, long done)
{
    long q = -1, r = -1, d = -1;
    assert_int_equal(clab_store_counts(s, &q, &r, &d), 0);
    assert_int_equal(q, queued);
    assert_int_equal(r, running);
    assert_int_equal(d, done);
}

static void test_add_is_idempotent(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    counts(s, 0, 0, 0);
    add(s, "c1", "j1", "t", 1);
    add(s, "c1", "j1", "t", 0);
    add(s, "c2", "j1", "other", 0); /* the job id decides, not the client */
    add(s, "c1", "j2", "t", 1);
    counts(s, 2, 0, 0);
}

static void test_take_oldest_first(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    char *job = (char *)1, *body = (char *)1;
    assert_int_equal(clab_store_take(s, "e1", NULL, &job, &body), 0);
    add(s, "c1", "j1", "", 1);
    add(s, "c2", "j2", "", 1);
    add(s, "c1", "j3", "", 1);
    take(s, "e1", "j1");
    take(s, "e2", "j2");
    counts(s, 1, 2, 0);
    take(s, "e1", "j3");
    assert_int_equal(clab_store_take(s, "e1", NULL, &job, &body), 0);
    counts(s, 0, 3, 0);
}

/* An engine with little time left passes over the sets expected to
 * outlast it; the others' order is kept. */
static void test_take_skips_sets(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    char *job = (char *)1, *body = (char *)1;
    add(s, "c1", "j1", "long", 1);
    add(s, "c2", "j2", "long", 1);
    add(s, "c1", "j3", "short", 1);
    const char *skip = "[\"c1\\nlong\"]";
    assert_int_equal(clab_store_take(s, "e1", skip, &job, &body), 1);
    assert_string_equal(job, "j2"); /* c2's "long" is another set */
    free(job);
    free(body);
    assert_int_equal(clab_store_take(s, "e1", skip, &job, &body), 1);
    assert_string_equal(job, "j3");
    free(job);
    free(body);
    job = body = (char *)1;
    assert_int_equal(clab_store_take(s, "e1", skip, &job, &body), 0);
    counts(s, 1, 2, 0);
    take(s, "e2", "j1");
}

/* After a controller restart an engine claims what it still holds. */
static void test_claim(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    add(s, "c1", "j1", "", 1);
    add(s, "c1", "j2", "", 1);
    assert_int_equal(clab_store_claim(s, "j1", "e1"), 1); /* queued: taken */
    assert_int_equal(clab_store_claim(s, "j1", "e1"), 1); /* its own: kept */
    assert_int_equal(clab_store_claim(s, "j1", "e2"), 0); /* another's */
    assert_int_equal(clab_store_claim(s, "nope", "e1"), 0);
    counts(s, 1, 1, 0);
    finish(s, "j1", 1.0, "c1", CLAB_TASK_RUNNING);
    assert_int_equal(clab_store_claim(s, "j1", "e1"), 0); /* done: never again */
    take(s, "e2", "j2");
}

static void test_finish_once(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    char *client = (char *)1;
    int prev = 0;
    add(s, "c1", "j1", "", 1);
    add(s, "c2", "j2", "", 1);
    take(s, "e1", "j1");
    finish(s, "j1", 1.0, "c1", CLAB_TASK_RUNNING);
    finish(s, "j2", 1.0, "c2", CLAB_TASK_QUEUED); /* a failure for a queued task */
    assert_int_equal(finish_with(s, "j1", "{}", NULL, 2.0, &client, NULL, &prev), 0);
    assert_int_equal(prev, CLAB_TASK_DONE);
    assert_int_equal(finish_with(s, "nope", "{}", NULL, 2.0, &client, NULL, &prev), 0);
    assert_int_equal(prev, -1);
    counts(s, 0, 0, 2);
}

/* Tasks added with the tag the controller gives untagged ones (''): the
 * case that works whatever the tag bug. Only unfinished tasks of that
 * client go; running ones are listed with their engine. */
static void test_cancel(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    add(s, "c1", "a", "", 1);
    add(s, "c1", "b", "", 1);
    add(s, "c1", "c", "", 1);
    add(s, "c2", "x", "", 1);
    add(s, "c1", "d", "", 1);
    take(s, "E1", "a");
    take(s, "E2", "b");
    take(s, "E1", "c");
    finish(s, "c", 1.0, "c1", CLAB_TASK_RUNNING);

    json_t *running = json_array();
    long queued = -1, nrunning = -1;
    assert_int_equal(clab_store_cancel(s, "c1", "", -1, running, &queued, &nrunning), 0);
    assert_int_equal(nrunning, 2);
    assert_int_equal(queued, 1);
    assert_int_equal(json_array_size(running), 2);
    json_t *want = json_pack("[{s:s, s:s}, {s:s, s:s}]", "job", "a", "engine", "E1",
                             "job", "b", "engine", "E2");
    assert_true(json_equal(running, want));
    json_decref(want);
    json_decref(running);

    counts(s, 1, 0, 1); /* x queued, c's result kept for c1 */
    take(s, "E1", "x");
    char *job, *body;
    assert_int_equal(clab_store_take(s, "E1", NULL, &job, &body), 0);
    /* The client sends a cancelled job again only when it holds it as
     * pending (it lost the cancel: a notebook restored from a backup), and
     * then only running it finishes it: it is queued again (the cancel
     * deleted it, so no client is told no; job ids are each client's
     * own, random, never another's). */
    add(s, "c1", "a", "", 1);
    take(s, "E1", "a");
}

/* Cancelling one tag of a client leaves its other tags alone. (The tag was
 * once bound to a placeholder the INSERT did not have: every task had tag
 * '' and cancel matched nothing.) */
static void cancel_t1(clab_store_t *s)
{
    json_t *running = json_array();
    long queued = -1, nrunning = -1;
    assert_int_equal(clab_store_cancel(s, "c1", "t1", -1, running, &queued, &nrunning),
                     0);
    json_decref(running);
    assert_int_equal(nrunning, 1);
    assert_int_equal(queued, 1);
    counts(s, 1, 0, 0); /* b of t2 is untouched */
}

static void test_cancel_by_tag(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    add(s, "c1", "a", "t1", 1);
    add(s, "c1", "b", "t2", 1);
    add(s, "c1", "c", "t1", 1);
    take(s, "E1", "a");
    cancel_t1(s);
}

/* A store written by a version with that bug: its rows have tag '', and
 * opening it takes each tag back from the task's body. */
static void test_open_repairs_tags(void **state)
{
    fixture_t *f = *state;
    char body[256];
    static const char *const rows[][2] = {{"a", "t1"}, {"b", "t2"}, {"c", "t1"}};
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof body,
                 "{\"job\":\"%s\",\"tag\":\"%s\",\"experiment\":\"/bin/true\","
                 "\"params\":{}}",
                 rows[i][0], rows[i][1]);
        clab_store_task_t t = {
            .client = "c1", .job = rows[i][0], .tag = rows[i][1], .body = body};
        assert_int_equal(clab_store_add(f->s, &t), 1);
    }
    clab_store_destroy(&f->s);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE tasks SET tag = ''; PRAGMA user_version = 0",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(clab_store_open(f->path, &f->s), 0);
    take(f->s, "E1", "a");
    cancel_t1(f->s);
}

static void test_requeue_counts_tries(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    char *body = NULL;
    add(s, "c1", "a", "", 1);
    add(s, "c1", "b", "", 1);
    take(s, "E1", "a");
    assert_int_equal(clab_store_requeue(s, "a", 1, &body), 1);
    assert_non_null(strstr(body, "\"a\""));
    free(body);
    assert_int_equal(clab_store_requeue(s, "a", 1, NULL), -ENOENT); /* queued now */
    counts(s, 2, 0, 0);
    take(s, "E1", "b"); /* a went to the back of the queue */
    take(s, "E1", "a");
    assert_int_equal(clab_store_requeue(s, "a", 0, NULL), 1); /* not a try */
    take(s, "E2", "a");
    assert_int_equal(clab_store_requeue(s, "a", 1, NULL), 2);
    assert_int_equal(clab_store_requeue(s, "nope", 1, NULL), -ENOENT);
}

static void test_delivered_is_forgotten(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    add(s, "c1", "a", "", 1);
    take(s, "E1", "a");
    finish(s, "a", 1.0, "c1", CLAB_TASK_RUNNING);
    assert_int_equal(clab_store_delivered(s, "c2", "a"), 0); /* not c2's */
    counts(s, 0, 0, 1);
    assert_int_equal(clab_store_delivered(s, "c1", "a"), 0);
    counts(s, 0, 0, 0);
    int64_t after = 0;
    json_t *out = json_array();
    assert_int_equal(clab_store_undelivered(s, "c1", &after, 1e9, 2.0, 10, out), 0);
    json_decref(out);
    /* Forgotten: its client submitting it again has it run again. */
    add(s, "c1", "a", "", 1);
    add(s, "c1", "a", "", 0);
    counts(s, 1, 0, 0);
}

static int undelivered(clab_store_t *s, int64_t *after, double before, double now,
                       size_t max, const char *want_first)
{
    json_t *out = json_array();
    int n = clab_store_undelivered(s, "c1", after, before, now, max, out);
    assert_int_equal(json_array_size(out), n);
    if (want_first) {
        json_t *item = json_array_get(out, 0);
        assert_string_equal(json_string_value(json_object_get(item, "job")), want_first);
        assert_true(json_is_true(json_object_get(json_object_get(item, "record"), "ok")));
    }
    json_decref(out);
    return n;
}

/* Pages of results with seq > after, among those last sent before the
 * window; each page is marked sent at now. */
static void test_undelivered_pages(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    static const char *const jobs[] = {"r1", "r2", "r3", "r4", "r5"};
    for (int i = 0; i < 5; i++) {
        add(s, "c1", jobs[i], "", 1);
        take(s, "E1", jobs[i]);
        finish(s, jobs[i], 100.0, "c1", CLAB_TASK_RUNNING);
    }
    add(s, "c2", "other", "", 1);
    finish(s, "other", 100.0, "c2", CLAB_TASK_QUEUED);

    int64_t after = 0;
    assert_int_equal(undelivered(s, &after, 100.0, 300.0, 10, NULL), 0); /* sent at 100 */
    assert_int_equal(after, 0);
    assert_int_equal(undelivered(s, &after, 200.0, 300.0, 2, "r1"), 2);
    assert_int_equal(undelivered(s, &after, 200.0, 300.0, 2, "r3"), 2);
    assert_int_equal(undelivered(s, &after, 200.0, 300.0, 2, "r5"), 1);
    assert_int_equal(undelivered(s, &after, 200.0, 300.0, 2, NULL), 0);
    /* All five were sent at 300 now: outside a window that ends at 250. */
    after = 0;
    assert_int_equal(undelivered(s, &after, 250.0, 400.0, 10, NULL), 0);
    assert_int_equal(undelivered(s, &after, 301.0, 400.0, 10, "r1"), 5);
    assert_int_equal(clab_store_delivered(s, "c1", "r2"), 0);
    after = 0;
    assert_int_equal(undelivered(s, &after, 401.0, 500.0, 10, "r1"), 4);
}

/* A delivered job submitted again by its client: the client lost the
 * result it acknowledged (an OS crash, a notebook restored from a backup)
 * and holds the job as pending. Running it again is the only way to finish
 * it: it is queued again, behind the others, with a fresh record. Another
 * client's submission of the id changes nothing, and neither does a second
 * submission while it is queued, running or done. */
static void test_delivered_resubmitted_runs_again(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    add(s, "c1", "a", "t", 1);
    add(s, "c1", "b", "t", 1);
    take(s, "E1", "a");
    finish(s, "a", 1.0, "c1", CLAB_TASK_RUNNING);
    assert_int_equal(clab_store_delivered(s, "c1", "a"), 0);
    counts(s, 1, 0, 0);
    add(s, "c1", "a", "t", 1);
    add(s, "c1", "a", "t", 0);
    counts(s, 2, 0, 0);
    take(s, "E1", "b");
    take(s, "E2", "a");
    add(s, "c1", "a", "t", 0); /* running */
    finish(s, "a", 3.0, "c1", CLAB_TASK_RUNNING);
    add(s, "c1", "a", "t", 0); /* done, not delivered yet */
    counts(s, 0, 1, 1);
    int64_t after = 0;
    assert_int_equal(undelivered(s, &after, 10.0, 11.0, 10, "a"), 1);
    /* Its tag is kept: a cancel of the tag finds it. */
    assert_int_equal(clab_store_delivered(s, "c1", "a"), 0);
    add(s, "c1", "a", "t", 1);
    json_t *running = json_array();
    long queued = -1, nrunning = -1;
    assert_int_equal(clab_store_cancel(s, "c1", "t", -1, running, &queued, &nrunning), 0);
    json_decref(running);
    assert_int_equal(queued, 1);
    assert_int_equal(nrunning, 1);
}

/* A cancel takes the tag's tasks the client numbered up to the newest it
 * had when the cancel began: tasks it submitted after (a higher number)
 * stay queued, whichever message the controller read first; tasks with
 * no number (older clients) go with any cancel of their tag. */
static void test_cancel_upto(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    add_seq(s, "c1", "a", "t", 10, 1);
    add_seq(s, "c1", "b", "t", 11, 1);
    add_seq(s, "c1", "late", "t", 13, 1); /* submitted after the cancel began */
    add(s, "c1", "old", "t", 1);
    add_seq(s, "c1", "other", "u", 9, 1);
    take(s, "E1", "a");
    json_t *running = json_array();
    long queued = -1, nrunning = -1;
    assert_int_equal(clab_store_cancel(s, "c1", "t", 12, running, &queued, &nrunning), 0);
    assert_int_equal(nrunning, 1);
    assert_int_equal(queued, 2); /* b and old */
    json_decref(running);
    counts(s, 2, 0, 0);
    take(s, "E1", "late");
    take(s, "E1", "other");
    char *job, *body;
    assert_int_equal(clab_store_take(s, "E1", NULL, &job, &body), 0);
}

/* A cancel of named jobs (epyc's cancelPendingResult at the cluster)
 * takes only those of the client's tag that are not finished, a running
 * one with its engine, and none submitted after the cancel began. */
static void test_cancel_jobs(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    add_seq(s, "c1", "a", "t", 10, 1);
    add_seq(s, "c1", "b", "t", 11, 1);
    add_seq(s, "c1", "c", "t", 12, 1);
    add_seq(s, "c1", "d", "t", 14, 1); /* submitted after the cancel began */
    add_seq(s, "c1", "x", "u", 9, 1);  /* another tag */
    add_seq(s, "c2", "y", "t", 9, 1);  /* another client */
    take(s, "E1", "a");
    json_t *jobs = json_pack("[s, s, s, s, s, s]", "a", "b", "d", "x", "y", "nosuch");
    json_t *running = json_array();
    long queued = -1, nrunning = -1;
    assert_int_equal(
        clab_store_cancel_jobs(s, "c1", "t", 13, jobs, running, &queued, &nrunning), 0);
    assert_int_equal(nrunning, 1);
    assert_int_equal(queued, 1); /* b */
    json_t *want = json_pack("[{s:s, s:s}]", "job", "a", "engine", "E1");
    assert_true(json_equal(running, want));
    json_decref(want);
    json_decref(running);
    json_decref(jobs);
    counts(s, 4, 0, 0); /* c, d, x, y */
    take(s, "E1", "c");
    take(s, "E1", "d");
    take(s, "E1", "x");
    take(s, "E1", "y");
}

/* A job's files, by their sha256: kept once whatever number of tasks
 * name them, while any task that is not finished names them; a task
 * finished, delivered or cancelled does not keep them. */
static void test_files(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(clab_store_file_put(s, "aa", "foo", 3), 1);
    assert_int_equal(clab_store_file_put(s, "aa", "foo", 3), 0);
    assert_int_equal(clab_store_file_put(s, "bb", "", 0), 1);
    assert_int_equal(clab_store_file_has(s, "aa"), 1);
    assert_int_equal(clab_store_file_has(s, "cc"), 0);
    assert_int_equal(clab_store_file_get(s, "aa", &data, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "foo", 3);
    free(data);
    assert_int_equal(clab_store_file_get(s, "cc", &data, &len), -ENOENT);
    clab_store_task_t t = {.client = "c1",
                           .job = "a",
                           .tag = "t",
                           .body = "{\"job\":\"a\",\"experiment\":\"/bin/true\","
                                   "\"params\":{},\"files\":{\"x.pkl\":\"aa\"}}"};
    assert_int_equal(clab_store_add(s, &t), 1);
    assert_int_equal(clab_store_files_gc(s), 1); /* bb: no task names it */
    assert_int_equal(clab_store_file_has(s, "bb"), 0);
    assert_int_equal(clab_store_file_has(s, "aa"), 1);
    take(s, "E1", "a");
    assert_int_equal(clab_store_files_gc(s), 0); /* running: still named */
    char *client = NULL, *set = NULL;
    int prev;
    assert_int_equal(finish_with(s, "a", "{\"ok\":true,\"metadata\":{}}", NULL, 1.0,
                                 &client, &set, &prev),
                     1);
    free(client);
    free(set);
    assert_int_equal(clab_store_files_gc(s), 1);
    assert_int_equal(clab_store_file_has(s, "aa"), 0);
}

/* The stamp a result is stored with is delivered beside its record. */
static void test_stamp_delivered(void **state)
{
    clab_store_t *s = ((fixture_t *)*state)->s;
    char *client = NULL, *set = NULL;
    int prev;
    add(s, "c1", "a", "t", 1);
    take(s, "E1", "a");
    assert_int_equal(finish_with(s, "a", "{\"ok\":true,\"metadata\":{}}",
                                 "{\"clab.engine\":\"E1\",\"clab.host\":\"10.0.0.2\"}",
                                 1.0, &client, &set, &prev),
                     1);
    free(client);
    free(set);
    json_t *out = json_array();
    int64_t after = 0;
    assert_int_equal(clab_store_undelivered(s, "c1", &after, 10.0, 11.0, 10, out), 1);
    json_t *want = json_pack("{s:s, s:s}", "clab.engine", "E1", "clab.host", "10.0.0.2");
    assert_true(json_equal(json_object_get(json_array_get(out, 0), "stamp"), want));
    json_decref(want);
    json_decref(out);
}

/* A store of schema version 1 gains the columns of version 2 and keeps
 * its tasks. */
static void test_open_migrates_v1(void **state)
{
    fixture_t *f = *state;
    clab_store_destroy(&f->s);
    unlink(f->path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(
            db,
            "CREATE TABLE tasks(seq INTEGER PRIMARY KEY, job TEXT NOT NULL UNIQUE,"
            " client TEXT NOT NULL, tag TEXT NOT NULL DEFAULT '',"
            " state INTEGER NOT NULL, engine TEXT,"
            " tries INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL, record TEXT,"
            " sent REAL NOT NULL DEFAULT 0);"
            "INSERT INTO tasks(job, client, tag, state, body)"
            " VALUES('a', 'c1', 't', 0, '{\"job\":\"a\"}');"
            "PRAGMA user_version = 1;",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(clab_store_open(f->path, &f->s), 0);
    add_seq(f->s, "c1", "b", "t", 5, 1);
    json_t *running = json_array();
    long queued = -1, nrunning = -1;
    assert_int_equal(clab_store_cancel(f->s, "c1", "t", 4, running, &queued, &nrunning),
                     0);
    json_decref(running);
    assert_int_equal(queued, 1); /* a, which has no number */
    take(f->s, "E1", "b");
}

static long long sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

#define DB_BYTES "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"

/* A cancelled set's tasks and the delivered ones are deleted, and the
 * incremental vacuum brings the file back within 64 KiB of a new one's. */
static void test_cancel_gives_space_back(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(sql_int(f->path, "PRAGMA auto_vacuum"), 2);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 3);
    long long empty = sql_int(f->path, DB_BYTES);
    char job[32];
    assert_int_equal(clab_store_begin(f->s), 0);
    for (int i = 0; i < 4000; i++) {
        snprintf(job, sizeof job, "j%d", i);
        add(f->s, "c1", job, "t", 1);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(job, sizeof job, "j%d", i);
        take(f->s, "E1", job);
        finish(f->s, job, 1.0, "c1", CLAB_TASK_RUNNING);
        assert_int_equal(clab_store_delivered(f->s, "c1", job), 0);
    }
    take(f->s, "E1", "j100");
    assert_int_equal(clab_store_commit(f->s), 0);
    assert_true(sql_int(f->path, DB_BYTES) > empty + 256 * 1024);
    json_t *running = json_array();
    long queued = -1, nrunning = -1;
    assert_int_equal(clab_store_cancel(f->s, "c1", "t", -1, running, &queued, &nrunning),
                     0);
    assert_int_equal(queued, 3899);
    assert_int_equal(nrunning, 1);
    json_decref(running);
    /* Marked at once, deleted by the vacuum's batches. */
    assert_int_equal(
        sql_int(f->path, "SELECT count(*) FROM tasks WHERE state < " CLAB_STRINGIFY(
                             CLAB_TASK_DELIVERED)),
        0);
    int n;
    while ((n = clab_store_vacuum(f->s, 64)) > 0)
        ;
    assert_int_equal(n, 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM tasks"), 0);
    assert_int_equal(sql_int(f->path, "PRAGMA freelist_count"), 0);
    assert_true(sql_int(f->path, DB_BYTES) <= empty + 64 * 1024);
}

/* A store of version 2 loses its tombstones and is vacuumed into
 * incremental mode; its unfinished tasks stay. */
static void test_open_drops_tombstones(void **state)
{
    fixture_t *f = *state;
    add(f->s, "c1", "a", "t", 1);
    add(f->s, "c1", "b", "t", 1);
    clab_store_destroy(&f->s);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE tasks SET state = 3 WHERE job = 'a';"
                                  " PRAGMA auto_vacuum = NONE; VACUUM;"
                                  " PRAGMA user_version = 2",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(sql_int(f->path, "PRAGMA auto_vacuum"), 0);
    assert_int_equal(clab_store_open(f->path, &f->s), 0);
    assert_int_equal(sql_int(f->path, "PRAGMA auto_vacuum"), 2);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 3);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM tasks"), 1);
    take(f->s, "E1", "b");
}

static void test_recover_and_reopen(void **state)
{
    fixture_t *f = *state;
    add(f->s, "c1", "a", "", 1);
    add(f->s, "c1", "b", "", 1);
    add(f->s, "c1", "c", "", 1);
    assert_int_equal(clab_store_begin(f->s), 0);
    take(f->s, "E1", "a");
    take(f->s, "E2", "b");
    assert_int_equal(clab_store_commit(f->s), 0);
    counts(f->s, 1, 2, 0);

    clab_store_destroy(&f->s);
    assert_int_equal(clab_store_open(f->path, &f->s), 0);
    counts(f->s, 1, 2, 0);
    assert_int_equal(clab_store_recover(f->s), 2);
    counts(f->s, 3, 0, 0);
    assert_int_equal(clab_store_recover(f->s), 0);
    take(f->s, "E1", "a"); /* recovery keeps the order */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_skips_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_by_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_repairs_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requeue_counts_tries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivered_is_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undelivered_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivered_resubmitted_runs_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recover_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_gives_space_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_drops_tombstones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_upto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamp_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_migrates_v1, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
