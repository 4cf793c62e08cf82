/* A job's files at the engine (backend/engine/files.c): the data that
 * come with a task are kept by their sha256 (and refused when they are not
 * what they are named), what a task still lacks is said, and each point
 * finds them in its scratch directory: a one-shot point's own, a worker's
 * (whose files are part of what it is: another set of files is another
 * worker). Real processes, a real scratch root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "files.h"
#include "runner.h"
#include "worker.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FOO "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"
#define BAR "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"

static char root[PATH_MAX], exp_path[PATH_MAX + 16];

/* Answers each point with the content of its scratch directory's files a
 * and b, and its pid: one-shot or as a plain worker. */
static const char *const CAT_SH =
    "#!/bin/sh\n"
    "answer() {\n"
    "  printf '{\"a\": \"%s\", \"b\": \"%s\", \"pid\": %s}\\n' "
    "\"$(cat a 2>/dev/null)\" \"$(cat b 2>/dev/null)\" $$\n"
    "}\n"
    "if [ -n \"$CLAB_WORKER\" ]; then\n"
    "  while IFS= read -r line; do answer; done\n"
    "else read -r line; answer; fi\n";

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/clabfiles.XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(exp_path, sizeof exp_path, "%s/cat.sh", root);
    FILE *f = fopen(exp_path, "w");
    fputs(CAT_SH, f);
    fclose(f);
    chmod(exp_path, 0755);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static json_t *results_of(json_t *rec)
{
    assert_true(json_is_true(json_object_get(rec, "ok")));
    return json_array_get(json_object_get(rec, "results"), 0);
}

static void test_take_missing_install(void **state)
{
    (void)state;
    clab_files_t *files = NULL;
    assert_int_equal(clab_files_new(root, &files), 0);
    json_t *names = json_pack("{s:s, s:s}", "a", FOO, "b", BAR), *missing = json_array();
    assert_int_equal(clab_files_missing(files, names, missing), 2);
    json_t *bad = json_pack("{s:s}", FOO, "YmFy"); /* bar, named as foo */
    assert_int_equal(clab_files_take(files, bad), -EINVAL);
    json_decref(bad);
    json_t *data = json_pack("{s:s}", FOO, "Zm9vYmFy");
    assert_int_equal(clab_files_take(files, data), 0);
    assert_int_equal(clab_files_take(files, data), 0); /* again: nothing new */
    json_decref(data);
    json_array_clear(missing);
    assert_int_equal(clab_files_missing(files, names, missing), 1);
    assert_string_equal(json_string_value(json_array_get(missing, 0)), BAR);
    data = json_pack("{s:s}", BAR, "YmFy");
    assert_int_equal(clab_files_take(files, data), 0);
    json_decref(data);
    assert_int_equal(clab_files_missing(files, names, missing), 0);

    /* A one-shot point finds a and b in its scratch directory. */
    clab_run_spec_t spec = {.experiment = exp_path,
                            .tag = "t",
                            .job = "j1",
                            .params = json_object(),
                            .scratch_root = root,
                            .files = names,
                            .files_cache = files};
    json_t *rec = NULL;
    assert_int_equal(clab_run_experiment(&spec, &rec), 0);
    json_t *res = results_of(rec);
    assert_string_equal(json_string_value(json_object_get(res, "a")), "foobar");
    assert_string_equal(json_string_value(json_object_get(res, "b")), "bar");
    json_decref(rec);

    /* A worker too; one with other files is another worker. */
    clab_workers_t *w = NULL;
    assert_int_equal(clab_workers_new(0, 0, &w), 0);
    json_int_t pids[3];
    json_t *only_a = json_pack("{s:s}", "a", BAR);
    for (int i = 0; i < 3; i++) {
        spec.files = i == 2 ? only_a : names;
        assert_int_equal(clab_workers_run(w, &spec, &rec), 0);
        res = results_of(rec);
        assert_string_equal(json_string_value(json_object_get(res, "a")),
                            i == 2 ? "bar" : "foobar");
        assert_string_equal(json_string_value(json_object_get(res, "b")),
                            i == 2 ? "" : "bar");
        pids[i] = json_integer_value(json_object_get(res, "pid"));
        json_decref(rec);
    }
    assert_true(pids[0] == pids[1] && pids[1] != pids[2]);
    clab_workers_destroy(&w);

    /* A file that never came: the point fails, saying so. */
    json_t *lacking = json_pack("{s:s}", "a",
                                "00000000000000000000000000000000"
                                "00000000000000000000000000000000");
    spec.files = lacking;
    assert_int_equal(clab_run_experiment(&spec, &rec), 0);
    assert_true(json_is_false(json_object_get(rec, "ok")));
    const char *exc = json_string_value(
        json_object_get(json_object_get(rec, "metadata"), "epyc.experiment.exception"));
    assert_non_null(strstr(exc, "the job's file a did not reach this engine"));
    json_decref(rec);
    json_decref(lacking);
    json_decref(only_a);
    json_decref(names);
    json_decref(missing);
    json_decref((json_t *)spec.params);
    clab_files_destroy(&files);
    assert_null(files);
    /* The cache went with it. */
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "! ls '%s' | grep -q clab-files", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_missing_install, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
