/* Unit tests for worker mode (backend/engine/worker.c) and the one-shot arguments
 * (backend/engine/runner.c), on real processes: small sh workers written by the
 * test. Each test checks that the points land on the process they should
 * (the worker's pid in its results), that failures carry the one-shot
 * reasons, and that no process, descriptor or scratch directory is left
 * once the workers are destroyed. Framed workers (SPEC "Trust every
 * result"): an answer is taken only with its point's clab.seq, whatever
 * else the worker prints and whenever. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "runner.h"
#include "worker.h"
#include "worker_i.h"
#include "procs.h"

static char dir[PATH_MAX];     /* the test's workers */
static char scratch[PATH_MAX]; /* scratch root */
static char sh_worker[PATH_MAX + 16], stubborn[PATH_MAX + 16], args_exp[PATH_MAX + 16];
static char framed_sh[PATH_MAX + 16];
/* How point_on runs its points: framed or plain, and the output limit. */
static int framed;
static size_t max_out = 200;

/* Answers each point by what it holds; otherwise with its pid, the point's
 * count and its surroundings. */
static const char *const WORKER_SH =
    "#!/bin/sh\n"
    "echo \"started $$\" >&2\n"
    "n=0\n"
    "while IFS= read -r line; do\n"
    "  n=$((n+1))\n"
    "  case \"$line\" in\n"
    "  *'\"crash\"'*) echo 'Traceback: dying now' >&2; exit 3 ;;\n"
    "  *'\"segv\"'*) kill -SEGV $$ ;;\n"
    "  *'\"sleep\"'*) sleep 30 ;;\n"
    "  *'\"garbage\"'*) echo 'not json' ;;\n"
    "  *'\"raise\"'*) echo '{\"clab.exception\": \"ValueError: no\", "
    "\"clab.traceback\": \"tb\"}' ;;\n"
    "  *'\"two\"'*) printf '{\"pid\": %s}\\n{\"pid\": %s}\\n' $$ $$ ;;\n"
    "  *'\"big\"'*) printf '{\"s\": \"%0300d\"}\\n' 0 ;;\n"
    "  *'\"noise\"'*) head -c 1048576 /dev/zero >&2; echo \"{\\\"pid\\\": $$}\" ;;\n"
    "  *'\"closeout\"'*) exec >&-; sleep 30 ;;\n"
    "  *'\"closeexit\"'*) exec >&-; sleep 0.2; exit 4 ;;\n"
    "  *'\"after\"'*) echo \"{\\\"pid\\\": $$}\"; (sleep 0.1; echo '{\"stray\": 1}') & "
    ";;\n"
    "  *) printf '{\"pid\": %s, \"n\": %s, \"worker\": \"%s\", \"tag\": \"%s\", "
    "\"job\": \"%s\", \"cwd\": \"%s\", \"args\": \"%s\"}\\n' "
    "$$ $n \"$CLAB_WORKER\" \"$CLAB_TAG\" \"$CLAB_JOB\" \"$PWD\" \"$*\" ;;\n"
    "  esac\n"
    "done\n";

/* A framed worker: takes each point's clab.seq and parameters from its
 * line and answers with the seq; what else it prints, and when, is chosen
 * by the point. By default it answers with its pid, the point's count, the
 * seq it was given and the parameters it read. */
static const char *const FRAMED_SH =
    "#!/bin/sh\n"
    "n=0\n"
    "while IFS= read -r line; do\n"
    "  n=$((n+1))\n"
    "  seq=${line#*clab.seq?:}; seq=${seq%%,*}\n"
    "  p=${line#*clab.parameters?:}; p=${p%?}\n"
    "  case \"$p\" in\n"
    /* an old answer (the previous seq) first, the real one 0.2 s later */
    "  *'\"late\"'*) printf '{\"clab.seq\": %s, \"late\": 1}\\n' $((seq-1)); sleep 0.2 "
    ";;\n"
    /* lines without a seq, JSON or not, before the answer */
    "  *'\"noseq\"'*) echo '{\"noseq\": 1}'; echo 'plain text' ;;\n"
    /* the answer and an old one in one write */
    "  *'\"both\"'*) printf '{\"clab.seq\": %s, \"pid\": %s}\\n{\"clab.seq\": %s, "
    "\"late\": 1}\\n' $seq $$ $((seq-1)); continue ;;\n"
    /* a stray line 0.1 s after the answer, between points */
    "  *'\"after\"'*) (sleep 0.1; echo '{\"after\": 1}') & ;;\n"
    /* a stray line and stderr, then a failure in the envelope */
    "  *'\"fail\"'*) echo 'oops'; echo 'err tail' >&2; "
    "printf '{\"clab.seq\": %s, \"clab.exception\": \"E: failed\"}\\n' $seq; continue "
    ";;\n"
    /* the envelope, its seq between its keys */
    "  *'\"env\"'*) printf '{\"clab.results\": {\"r\": %s}, \"clab.seq\": %s, "
    "\"clab.metadata\": {\"m\": 2}}\\n' $n $seq; continue ;;\n"
    /* an answer without its seq: never taken */
    "  *'\"never\"'*) echo '{\"x\": 1}'; sleep 30 ;;\n"
    /* 101 stray lines, or one of 70,000 bytes */
    "  *'\"flood\"'*) i=0; while [ $i -le 100 ]; do echo \"stray $i\"; i=$((i+1)); done "
    ";;\n"
    "  *'\"wide\"'*) head -c 70000 /dev/zero | tr '\\0' x; echo ;;\n"
    "  esac\n"
    "  printf '{\"pid\": %s, \"n\": %s, \"seq\": %s, \"worker\": \"%s\", \"p\": %s, "
    "\"clab.seq\": %s}\\n' $$ $n $seq \"$CLAB_WORKER\" \"$p\" $seq\n"
    "done\n";

/* Answers one point, then ignores its stdin's end. */
static const char *const STUBBORN_SH = "#!/bin/sh\n"
                                       "read -r line\n"
                                       "echo \"{\\\"pid\\\": $$}\"\n"
                                       "while :; do sleep 0.1; done\n";

/* One-shot: its argv as results, nothing expanded. */
static const char *const ARGS_SH = "#!/bin/sh\n"
                                   "printf '{\"n\": %s, \"a1\": \"%s\", \"a2\": \"%s\"}' "
                                   "$# \"$1\" \"$2\"\n";

static void write_script(char *path, const char *name, const char *text)
{
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* Processes whose group is pgid (a worker and its children). */
static int group_size(int pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *p = strrchr(buf, ')');
        char state;
        int ppid, grp;
        if (p && sscanf(p + 2, "%c %d %d", &state, &ppid, &grp) == 3 && grp == pgid &&
            state != 'Z')
            n++;
    }
    closedir(d);
    return n;
}

/* The group kill is asynchronous: give its members a second to die. */
static int group_gone(int pgid)
{
    for (int i = 0; i < 100; i++) {
        if (group_size(pgid) == 0)
            return 1;
        usleep(10000);
    }
    return 0;
}

static json_t *md(const json_t *rec, const char *key)
{
    return json_object_get(json_object_get(rec, "metadata"), key);
}

static const json_t *result(const json_t *rec, const char *key)
{
    return json_object_get(json_array_get(json_object_get(rec, "results"), 0), key);
}

static int pid_of(const json_t *rec)
{
    assert_true(json_is_true(json_object_get(rec, "ok")));
    return (int)json_integer_value(result(rec, "pid"));
}

/* One point on w: params as JSON text, the record returned. */
static json_t *point_on(clab_workers_t *w, const char *exp, const json_t *args,
                        const char *params, double timeout)
{
    json_t *p = json_loads(params, 0, NULL), *rec = NULL;
    clab_run_spec_t spec = {.experiment = exp,
                            .arguments = args,
                            .tag = "tag-w",
                            .job = "job-1",
                            .params = p,
                            .timeout = timeout,
                            .engine_id = "engine-3",
                            .host = "node9",
                            .scratch_root = scratch,
                            .max_output = max_out,
                            .framed = framed};
    assert_int_equal(clab_workers_run(w, &spec, &rec), 0);
    assert_non_null(rec);
    assert_string_equal(json_string_value(md(rec, "clab.job")), "job-1");
    assert_string_equal(json_string_value(md(rec, "clab.engine")), "engine-3");
    assert_true(json_is_real(md(rec, "epyc.experiment.elapsed_time")));
    double t = json_real_value(md(rec, "epyc.experiment.experiment_time"));
    assert_true(t >= 0 && t <= json_real_value(md(rec, "epyc.experiment.elapsed_time")));
    assert_non_null(md(rec, "epyc.experiment.start_time"));
    json_decref(p);
    return rec;
}

static json_t *point(clab_workers_t *w, const char *params)
{
    return point_on(w, sh_worker, NULL, params, 5);
}

static void assert_failed(json_t *rec, const char *exception)
{
    assert_false(json_is_true(json_object_get(rec, "ok")));
    assert_string_equal(json_string_value(md(rec, "epyc.experiment.exception")),
                        exception);
}

/* Destroys w and checks nothing is left: no child, no scratch directory. */
static void finish(clab_workers_t **w)
{
    int st;
    clab_workers_destroy(w);
    assert_null(*w);
    errno = 0;
    assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(count_entries(scratch), 0);
}

static void test_oneshot_arguments(void **state)
{
    json_t *args = json_pack("[s,s]", "a b", "$HOME;*"), *p = json_object(), *rec;
    clab_run_spec_t spec = {
        .experiment = args_exp, .arguments = args, .params = p, .scratch_root = scratch};
    assert_int_equal(clab_run_experiment(&spec, &rec), 0);
    assert_int_equal(json_integer_value(result(rec, "n")), 2);
    assert_string_equal(json_string_value(result(rec, "a1")), "a b");
    assert_string_equal(json_string_value(result(rec, "a2")), "$HOME;*");
    json_decref(rec);
    json_array_append_new(args, json_integer(3));
    assert_int_equal(clab_run_experiment(&spec, &rec), 0);
    assert_false(json_is_true(json_object_get(rec, "ok")));
    assert_non_null(strstr(json_string_value(md(rec, "epyc.experiment.exception")),
                           "arguments must be strings"));
    json_decref(rec);
    json_decref(args);
    json_decref(p);
}

/* One process for every point; its surroundings as SPEC says. */
static void test_one_process(void **state)
{
    clab_workers_t *w;
    json_t *args = json_pack("[s,s]", "--model", "a b");
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    int pid = 0;
    char cwd[PATH_MAX] = "";
    for (int i = 1; i <= 50; i++) {
        json_t *rec = point_on(w, sh_worker, args, "{\"x\": 1}", 5);
        if (i == 1) {
            pid = pid_of(rec);
            snprintf(cwd, sizeof cwd, "%s", json_string_value(result(rec, "cwd")));
        }
        assert_int_equal(pid_of(rec), pid);
        assert_int_equal(json_integer_value(result(rec, "n")), i);
        assert_string_equal(json_string_value(result(rec, "worker")), "1");
        assert_string_equal(json_string_value(result(rec, "tag")), "tag-w");
        assert_string_equal(json_string_value(result(rec, "job")), "");
        assert_string_equal(json_string_value(result(rec, "args")), "--model a b");
        assert_string_equal(json_string_value(result(rec, "cwd")), cwd);
        assert_int_equal(json_integer_value(md(rec, "clab.exit_status")), 0);
        json_decref(rec);
    }
    assert_int_equal(strncmp(cwd, scratch, strlen(scratch)), 0);
    assert_int_equal(count_entries(scratch), 1);
    json_decref(args);
    finish(&w);
    assert_true(process_gone(pid));
}

/* Each way a point can fail: that point only, and a fresh worker after. */
static void check_failure(const char *params, const char *exception, double timeout)
{
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = point(w, "{}");
    int pid = pid_of(rec);
    json_decref(rec);
    rec = point_on(w, sh_worker, NULL, params, timeout);
    assert_failed(rec, exception);
    assert_true(process_gone(pid));
    assert_true(group_gone(pid));
    json_decref(rec);
    rec = point(w, "{}");
    assert_int_not_equal(pid_of(rec), pid);
    assert_int_equal(json_integer_value(result(rec, "n")), 1);
    json_decref(rec);
    finish(&w);
}

static void test_crash(void **state)
{
    check_failure("{\"crash\": 1}", "exit status 3", 5);
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = point(w, "{\"crash\": 1}");
    assert_int_equal(json_integer_value(md(rec, "clab.exit_status")), 3);
    assert_non_null(
        strstr(json_string_value(md(rec, "epyc.experiment.traceback")), "dying now"));
    json_decref(rec);
    finish(&w);
}

static void test_signal(void **state)
{
    check_failure("{\"segv\": 1}", "killed by signal 11 (Segmentation fault)", 5);
}

static void test_timeout(void **state)
{
    check_failure("{\"sleep\": 1}", "timeout after 0.5 s", 0.5);
}

static void test_bad_line(void **state)
{
    check_failure("{\"garbage\": 1}",
                  "stdout is not a JSON object: invalid token at line 1, column 1", 5);
}

static void test_output_limit(void **state)
{
    check_failure("{\"big\": 1}", "output over 200 bytes", 5);
}

/* A worker that closes its stdout is blamed for it, not for the kill
 * that follows; one that exits by itself soon after has its exit status
 * as the reason. */
static void test_closed_stdout(void **state)
{
    check_failure("{\"closeout\": 1}", "worker closed its stdout", 5);
    check_failure("{\"closeexit\": 1}", "exit status 4", 5);
}

/* Two lines for one point (a plain worker): no engine can tell which is
 * the answer, so the point fails and the worker is replaced. An
 * envelope's exception keeps the worker. */
static void test_in_step(void **state)
{
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = point(w, "{}");
    int pid = pid_of(rec);
    json_decref(rec);
    rec = point(w, "{\"two\": 1}");
    assert_failed(rec, "worker printed 2 lines for one point");
    assert_int_equal(json_integer_value(md(rec, "clab.exit_status")), -1);
    assert_true(process_gone(pid));
    json_decref(rec);
    rec = point(w, "{}");
    assert_int_not_equal(pid_of(rec), pid);
    pid = pid_of(rec);
    json_decref(rec);
    rec = point(w, "{\"raise\": 1}");
    assert_failed(rec, "ValueError: no");
    assert_string_equal(json_string_value(md(rec, "epyc.experiment.traceback")), "tb");
    json_decref(rec);
    rec = point(w, "{\"noise\": 1}");
    assert_int_equal(pid_of(rec), pid);
    json_decref(rec);
    rec = point(w, "{}");
    assert_int_equal(pid_of(rec), pid);
    json_decref(rec);
    finish(&w);
}

/* A plain worker's line with no point outstanding retires it: found
 * before the next point (which runs on a fresh worker and does not fail),
 * or between points by clab_workers_idle. */
static void test_plain_line_between_points(void **state)
{
    clab_workers_t *w;
    int pids[4];
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = point(w, "{\"after\": 1}");
    int pid = pid_of(rec);
    json_decref(rec);
    usleep(300 * 1000);
    rec = point(w, "{}");
    assert_int_not_equal(pid_of(rec), pid);
    assert_int_equal(json_integer_value(result(rec, "n")), 1);
    assert_true(process_gone(pid));
    json_decref(rec);

    rec = point(w, "{\"after\": 1}");
    pid = pid_of(rec);
    json_decref(rec);
    usleep(300 * 1000);
    clab_workers_idle(w);
    assert_int_equal(clab_workers_pids(w, pids, 4), 0);
    assert_true(process_gone(pid));
    finish(&w);
}

/* The text left of line once worker_frame_seq's cut is made, or "-" when
 * it finds no seq; the seq in *seq. */
static void frame_case(const char *line, const char *want, unsigned long long want_seq)
{
    unsigned long long seq = 0;
    size_t cut = 0, end = 0, len = strlen(line);
    char left[256];
    int rc = worker_frame_seq(line, len, &seq, &cut, &end);
    if (rc == 1)
        snprintf(left, sizeof left, "%.*s%s", (int)cut, line, line + end);
    else
        snprintf(left, sizeof left, "-");
    if (strcmp(left, want) != 0 || (rc == 1 && seq != want_seq))
        fail_msg("%s: got %s (seq %llu), want %s (seq %llu)", line, left, seq, want,
                 want_seq);
}

/* clab.seq is found among the top-level members only, and cut so that
 * the rest is the same JSON without it. */
static void test_frame_seq(void **state)
{
    frame_case("{\"clab.seq\":3}", "{}", 3);
    frame_case("{\"clab.seq\": 3, \"a\": 1}", "{\"a\": 1}", 3);
    frame_case("{\"a\": 1, \"clab.seq\": 12}", "{\"a\": 1}", 12);
    frame_case("{\"a\": 1,\"clab.seq\" : 7 , \"b\": [2, {\"c\": \"}\"}]}",
               "{\"a\": 1,\"b\": [2, {\"c\": \"}\"}]}", 7);
    frame_case(
        " { \"clab.results\": {\"clab.seq\": 1}, \"clab.seq\": 18446744073709551615 }",
        " { \"clab.results\": {\"clab.seq\": 1} }", 18446744073709551615ull);
    frame_case("{\"s\": \"\\\"clab.seq\\\": 4, \", \"clab.seq\": 5}",
               "{\"s\": \"\\\"clab.seq\\\": 4, \"}", 5);
    /* Nested, absent, not an integer, twice, not an object: no seq. */
    frame_case("{\"a\": {\"clab.seq\": 3}}", "-", 0);
    frame_case("{\"a\": [\"clab.seq\", 3]}", "-", 0);
    frame_case("{\"clab.seq\": -1}", "-", 0);
    frame_case("{\"clab.seq\": 1.5}", "-", 0);
    frame_case("{\"clab.seq\": 1e3}", "-", 0);
    frame_case("{\"clab.seq\": \"3\"}", "-", 0);
    frame_case("{\"clab.seq\": 18446744073709551616}", "-", 0);
    frame_case("{\"clab.seq\": 3, \"clab.seq\": 3}", "-", 0);
    frame_case("[{\"clab.seq\": 3}]", "-", 0);
    frame_case("clab.seq 3", "-", 0);
    frame_case("", "-", 0);
    frame_case("{\"clab.seq\": 3", "-", 0);
}

/* A framed point: its record checked to be this worker's answer. */
static json_t *framed_point(clab_workers_t *w, const char *params, double timeout)
{
    framed = 1;
    json_t *rec = point_on(w, framed_sh, NULL, params, timeout);
    framed = 0;
    return rec;
}

/* Each point goes as {"clab.seq": N, "clab.parameters": P}, N counting up
 * per worker; the answer is read without its clab.seq. */
static void test_framed_points(void **state)
{
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    int pid = 0;
    for (int i = 1; i <= 20; i++) {
        char params[64];
        snprintf(params, sizeof params, "{\"i\": %d, \"s\": \"a b\"}", i);
        json_t *rec = framed_point(w, params, 5), *want = json_loads(params, 0, NULL);
        if (i == 1)
            pid = pid_of(rec);
        assert_int_equal(pid_of(rec), pid);
        assert_int_equal(json_integer_value(result(rec, "seq")), i);
        assert_string_equal(json_string_value(result(rec, "worker")), "framed");
        assert_true(json_equal(result(rec, "p"), want));
        assert_null(result(rec, "clab.seq"));
        assert_int_equal(
            json_object_size(json_array_get(json_object_get(rec, "results"), 0)), 5);
        json_decref(want);
        json_decref(rec);
    }
    /* The envelope: its clab.seq among its keys. */
    json_t *rec = framed_point(w, "{\"env\": 1}", 5);
    assert_true(json_is_true(json_object_get(rec, "ok")));
    assert_int_equal(json_integer_value(result(rec, "r")), 21);
    assert_null(result(rec, "clab.seq"));
    assert_int_equal(json_integer_value(md(rec, "m")), 2);
    json_decref(rec);
    finish(&w);
    assert_true(process_gone(pid));
}

/* What a framed worker prints without the point's seq is never its
 * answer, whenever it comes: an old answer before the real one (in its own
 * write or in the answer's), lines without a seq, a line between points.
 * None of it costs the worker its life. */
static void test_framed_stray(void **state)
{
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = framed_point(w, "{\"i\": 1}", 5);
    int pid = pid_of(rec);
    json_decref(rec);
    const char *const strays[] = {"{\"late\": 1}", "{\"noseq\": 1}", "{\"after\": 1}",
                                  "{\"i\": 5}"};
    for (size_t k = 0; k < 4; k++) {
        json_t *want = json_loads(strays[k], 0, NULL);
        rec = framed_point(w, strays[k], 5);
        assert_int_equal(pid_of(rec), pid);
        assert_true(json_equal(result(rec, "p"), want));
        assert_int_equal(json_integer_value(result(rec, "seq")), k + 2);
        assert_null(result(rec, "late"));
        assert_int_equal(json_array_size(json_object_get(rec, "results")), 1);
        json_decref(want);
        json_decref(rec);
        if (k == 2)
            usleep(300 * 1000); /* the stray line lands between points */
    }
    /* The answer and an old one in the same write: the answer is taken,
     * the old one is stray for the next point. */
    rec = framed_point(w, "{\"both\": 1}", 5);
    assert_int_equal(pid_of(rec), pid);
    assert_null(result(rec, "late"));
    json_decref(rec);
    rec = framed_point(w, "{\"i\": 7}", 5);
    assert_int_equal(pid_of(rec), pid);
    assert_int_equal(json_integer_value(result(rec, "seq")), 7);
    json_decref(rec);
    finish(&w);
}

/* Stray output is in the failed point's traceback, before stderr's tail;
 * an answer without the seq is never taken, even as the only line. */
static void test_framed_traceback(void **state)
{
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = framed_point(w, "{\"i\": 1}", 5);
    int pid = pid_of(rec);
    json_decref(rec);
    rec = framed_point(w, "{\"fail\": 1}", 5);
    assert_failed(rec, "E: failed");
    assert_string_equal(json_string_value(md(rec, "epyc.experiment.traceback")),
                        "stray output:\noops\nstderr:\nerr tail\n");
    json_decref(rec);
    rec = framed_point(w, "{\"i\": 3}", 5);
    assert_int_equal(pid_of(rec), pid);
    json_decref(rec);

    rec = framed_point(w, "{\"never\": 1}", 0.5);
    assert_failed(rec, "timeout after 0.5 s");
    assert_string_equal(json_string_value(md(rec, "epyc.experiment.traceback")),
                        "stray output:\n{\"x\": 1}\n");
    assert_true(process_gone(pid));
    json_decref(rec);
    finish(&w);
}

/* A worker that keeps printing stray lines is retired: over 100 lines or
 * 64 KiB of them in one point fail that point, and the next point runs
 * on a fresh worker. */
static void check_retired(const char *params, const char *exception)
{
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = framed_point(w, "{}", 5);
    int pid = pid_of(rec);
    json_decref(rec);
    rec = framed_point(w, params, 5);
    assert_failed(rec, exception);
    assert_int_equal(json_integer_value(md(rec, "clab.exit_status")), -1);
    assert_non_null(strstr(json_string_value(md(rec, "epyc.experiment.traceback")),
                           "stray output:\n"));
    json_decref(rec);
    assert_true(process_gone(pid));
    rec = framed_point(w, "{}", 5);
    assert_int_not_equal(pid_of(rec), pid);
    assert_int_equal(json_integer_value(result(rec, "seq")), 1);
    json_decref(rec);
    finish(&w);
}

static void test_framed_retired(void **state)
{
    check_retired("{\"flood\": 1}",
                  "worker printed over 100 stray lines in one point (lines without its "
                  "clab.seq)");
    max_out = 0;
    check_retired("{\"wide\": 1}",
                  "worker printed over 64 KiB of stray lines in one point (lines without "
                  "its clab.seq)");
    max_out = 200;
}

static int stop_at(void *ud)
{
    return --*(int *)ud <= 0;
}

/* A tick that says stop (a cancel) kills the worker in the point. */
static void test_tick_stop(void **state)
{
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = point(w, "{}"), *p = json_pack("{s:i}", "sleep", 1);
    int pid = pid_of(rec), ticks = 3, pids[4];
    json_decref(rec);
    clab_run_spec_t spec = {.experiment = sh_worker,
                            .params = p,
                            .scratch_root = scratch,
                            .tick = stop_at,
                            .tick_ud = &ticks};
    assert_int_equal(clab_workers_run(w, &spec, &rec), -EINTR);
    assert_null(rec);
    assert_int_equal(clab_workers_pids(w, pids, 4), 0);
    assert_true(process_gone(pid));
    assert_true(group_gone(pid));
    json_decref(p);
    finish(&w);
}

/* At most max alive, the least recently used stopped first; idle ones
 * stopped by clab_workers_idle. */
static void test_lru_and_idle(void **state)
{
    clab_workers_t *w;
    int pid[3], pids[4];
    json_t *args[3];
    assert_int_equal(clab_workers_new(2, 0.3, &w), 0);
    for (int i = 0; i < 3; i++) {
        args[i] = json_pack("[s]", i == 0 ? "a" : i == 1 ? "b" : "c");
    }
    for (int i = 0; i < 2; i++) {
        json_t *rec = point_on(w, sh_worker, args[i], "{}", 5);
        pid[i] = pid_of(rec);
        json_decref(rec);
    }
    json_decref(point_on(w, sh_worker, args[0], "{}", 5)); /* b is now the oldest */
    json_t *rec = point_on(w, sh_worker, args[2], "{}", 5);
    pid[2] = pid_of(rec);
    json_decref(rec);
    assert_int_equal(clab_workers_pids(w, pids, 4), 2);
    assert_true(process_gone(pid[1]));
    assert_int_equal(kill(pid[0], 0), 0);
    assert_int_equal(kill(pid[2], 0), 0);
    clab_workers_idle(w);
    assert_int_equal(clab_workers_pids(w, pids, 4), 2);
    usleep(400 * 1000);
    clab_workers_idle(w);
    assert_int_equal(clab_workers_pids(w, pids, 4), 0);
    assert_true(process_gone(pid[0]));
    assert_true(process_gone(pid[2]));
    assert_int_equal(count_entries(scratch), 0);
    for (int i = 0; i < 3; i++)
        json_decref(args[i]);
    finish(&w);
}

/* A worker that ignores the end of its stdin is killed, with its group. */
static void test_destroy_stubborn(void **state)
{
    clab_workers_t *w;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_t *rec = point_on(w, stubborn, NULL, "{}", 5);
    int pid = pid_of(rec);
    json_decref(rec);
    rec = point(w, "{}");
    int pid2 = pid_of(rec);
    json_decref(rec);
    double t0 = clab_mono();
    finish(&w);
    assert_true(clab_mono() - t0 < 2.0);
    assert_true(process_gone(pid));
    assert_true(process_gone(pid2));
    assert_true(group_gone(pid));
}

static void test_cannot_execute(void **state)
{
    clab_workers_t *w;
    char path[PATH_MAX + 16];
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    snprintf(path, sizeof path, "%s/missing", dir);
    json_t *rec = point_on(w, path, NULL, "{}", 5);
    assert_false(json_is_true(json_object_get(rec, "ok")));
    /* Missing on this host: issue 12's wording. */
    assert_non_null(strstr(json_string_value(md(rec, "epyc.experiment.exception")),
                           "experiment not found on "));
    json_decref(rec);
    finish(&w);
}

static int setup(void **state)
{
    strcpy(dir, "/tmp/test_worker-XXXXXX");
    strcpy(scratch, "/tmp/test_worker_scratch-XXXXXX");
    if (!mkdtemp(dir) || !mkdtemp(scratch))
        return -1;
    write_script(sh_worker, "worker.sh", WORKER_SH);
    write_script(stubborn, "stubborn.sh", STUBBORN_SH);
    write_script(args_exp, "args.sh", ARGS_SH);
    write_script(framed_sh, "framed.sh", FRAMED_SH);
    return 0;
}

static int teardown(void **state)
{
    unlink(sh_worker);
    unlink(stubborn);
    unlink(args_exp);
    unlink(framed_sh);
    rmdir(dir);
    return rmdir(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oneshot_arguments),
        cmocka_unit_test(test_one_process),
        cmocka_unit_test(test_crash),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_bad_line),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_closed_stdout),
        cmocka_unit_test(test_in_step),
        cmocka_unit_test(test_plain_line_between_points),
        cmocka_unit_test(test_frame_seq),
        cmocka_unit_test(test_framed_points),
        cmocka_unit_test(test_framed_stray),
        cmocka_unit_test(test_framed_traceback),
        cmocka_unit_test(test_framed_retired),
        cmocka_unit_test(test_tick_stop),
        cmocka_unit_test(test_lru_and_idle),
        cmocka_unit_test(test_destroy_stubborn),
        cmocka_unit_test(test_cannot_execute),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
