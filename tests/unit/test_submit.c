/* Unit tests for /submit parsing (fs/submit.c): every case folder under
 * tests/submit-cases (input + expected errno), then positions, messages,
 * incomplete text, limits and precedence, which a folder cannot express. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "controller_i.h"
#include "submit.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB(params) "{\"experiment\": \"/bin/true\", \"parameters\": " params "}"

/* Where the case folders are: $CLAB_TEST_DATA (set by ctest), else the
 * tests/ folder next to this source, so the binary also runs by hand. */
static char *data_dir(const char *sub)
{
    const char *env = getenv("CLAB_TEST_DATA");
    char base[4096];
    if (env && *env) {
        snprintf(base, sizeof base, "%s", env);
    } else {
        snprintf(base, sizeof base, "%s", __FILE__);
        char *slash = strrchr(base, '/');
        if (slash)
            *slash = '\0'; /* tests/unit */
        slash = strrchr(base, '/');
        if (slash)
            *slash = '\0'; /* tests */
    }
    size_t n = strlen(base) + strlen(sub) + 2;
    char *path = malloc(n);
    snprintf(path, n, "%s/%s", base, sub);
    return path;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

static int errno_of(const char *word)
{
    if (!strcmp(word, "OK"))
        return 0;
    if (!strcmp(word, "EINVAL"))
        return EINVAL;
    if (!strcmp(word, "ENOENT"))
        return ENOENT;
    if (!strcmp(word, "EACCES"))
        return EACCES;
    if (!strcmp(word, "E2BIG"))
        return E2BIG;
    return -1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one case; returns 1 when it passed, printing why not otherwise.
 * -EAGAIN is what close(2) turns into EINVAL, so it counts as EINVAL. */
static int run_case(const char *dir, const char *name)
{
    char path[4352];
    size_t len, wlen;
    snprintf(path, sizeof path, "%s/%s/input", dir, name);
    char *input = read_file(path, &len);
    snprintf(path, sizeof path, "%s/%s/errno", dir, name);
    char *word = read_file(path, &wlen);
    if (!input || !word) {
        printf("case %s: cannot read input or errno\n", name);
        free(input);
        free(word);
        return 0;
    }
    while (wlen > 0 && (word[wlen - 1] == '\n' || word[wlen - 1] == ' '))
        wlen--;
    word[wlen] = '\0';
    int want = errno_of(word);

    /* As the mount parses one write: JSON lines, all jobs or none. */
    clab_submission_t **subs = NULL;
    clab_submit_error_t err = {0};
    int rc = clab_submissions_parse(input, len, NULL, &subs, &err);
    int got = rc == -EAGAIN ? EINVAL : rc > 0 ? 0 : -rc;
    int ok = want >= 0 && got == want && (want == 0 || err.code == want) &&
             (rc > 0) == (subs != NULL) && (rc > 0 || !strchr(err.message, '\n'));
    if (ok && want == 0) {
        /* An accepted case gives its exact number of points. */
        snprintf(path, sizeof path, "%s/%s/points", dir, name);
        size_t plen, total = 0;
        char *points = read_file(path, &plen);
        for (clab_submission_t **s = subs; ok && *s; s++) {
            ok = (*s)->experiment && (*s)->space && (*s)->repetitions >= 1 &&
                 ((*s)->explicit_points ? !(*s)->parameters
                                        : json_is_object((*s)->parameters));
            total += (*s)->points;
        }
        ok = ok && points && total == strtoull(points, NULL, 10);
        if (!ok)
            printf("case %s: points %zu, the case says %s", name, total,
                   points ? points : "nothing (no file \"points\")\n");
        free(points);
    }
    if (ok && want != 0)
        ok = err.message[0] != '\0' && err.position < (long)len + 1;
    if (!ok)
        printf("case %s: want %s, got rc %d (code %d): %s\n", name, word, rc, err.code,
               err.message);
    clab_submissions_destroy(&subs);
    free(input);
    free(word);
    return ok;
}

static void test_case_folders(void **state)
{
    char *dir = data_dir("submit-cases");
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    size_t passed = 0;
    for (size_t i = 0; i < n; i++) {
        passed += (size_t)run_case(dir, names[i]);
        free(names[i]);
    }
    free(names);
    free(dir);
    printf("submit-cases: %zu of %zu passed\n", passed, n);
    assert_true(n >= 150); /* an empty or lost folder must not pass */
    assert_int_equal(passed, n);
}

static int parse(const char *text, clab_submission_t **sub, clab_submit_error_t *err)
{
    return clab_submission_parse(text, strlen(text), NULL, sub, err);
}

/* Parses text, expects rc, and that err->position indexes the byte
 * `at` says (a string the caret must be on), with the given line/column. */
static void expect_at(const char *text, int rc, const char *at, int line, int column)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    int got = parse(text, &sub, &err);
    if (got != rc)
        fail_msg("%s: rc %d (%s), want %d", text, got, err.message, rc);
    assert_null(sub);
    assert_int_equal(err.code, rc == -EAGAIN ? EINVAL : -rc);
    if (!at) {
        assert_int_equal(err.position, -1);
        return;
    }
    if (err.position < 0 || (size_t)err.position > strlen(text) ||
        strncmp(text + err.position, at, strlen(at)))
        fail_msg("%s: position %ld ('%s'), want at '%s' (%s)", text, err.position,
                 err.position >= 0 ? text + err.position : "", at, err.message);
    if (err.line != line || err.column != column)
        fail_msg("%s: line %d column %d, want %d %d (%s)", text, err.line, err.column,
                 line, column, err.message);
}

static void test_syntax_error_position(void **state)
{
    const char *t = "{\"experiment\": \"/bin/true\", \"parameters\": {\"a\": [1,2,}}";
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    assert_int_equal(parse(t, &sub, &err), -EINVAL);
    assert_int_equal(err.code, EINVAL);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 54); /* as jansson reports it */
    assert_int_equal(err.position, 53);
    assert_int_equal(t[err.position], '}');
    assert_string_equal(err.message, "invalid JSON: unexpected token near '}'");

    /* Trimmed white space still counts in the caller's text. */
    expect_at("\n\n  {\"experiment\": \"/bin/true\", \"parameters\": {\"a\": [1,2,}}",
              -EINVAL, "}}", 3, 54 + 2);
    expect_at("{\"experiment\": \"/bin/true\",\n \"parameters\": {\"a\": @}}", -EINVAL,
              "@}", 2, 22);
    /* Columns count characters, as jansson's do. */
    expect_at("{\"d\":\"\xc3\xa9\xc3\xa9\", @}", -EINVAL, "@}", 1, 12);
    expect_at("{\"experiment\": \"/bin/true\", \"parameters\": {\"a\": \"\xff\"}}",
              -EINVAL, "\xff", 1, 50);
    /* jansson reports the end of the offending token: the key's closing quote. */
    expect_at(JOB("{\"a\": 1, \"a\": 2}"), -EINVAL, "\": 2", 1, 54);
    /* Shorthand: the path is part of the text the position indexes. */
    expect_at("/bin/true  {\"a\": [1,,2]}", -EINVAL, ",2]", 1, 21);
    expect_at("  /bin/true\n{\"a\": [1,,2]}", -EINVAL, ",2]", 2, 10);
}

static void test_trailing_text(void **state)
{
    expect_at(JOB("{}") " xyz", -EINVAL, "xyz", 1, 47);
    expect_at(JOB("{}") "\n\n  }", -EINVAL, "}", 3, 3);
    expect_at("/bin/true {\"a\": 1} {\"b\": 2}\n", -EINVAL, "{\"b\"", 1, 20);
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    assert_int_equal(parse(JOB("{}") "}", &sub, &err), -EINVAL);
    assert_string_equal(err.message,
                        "unexpected text after the JSON object (one job per write)");
}

static void test_nul_byte(void **state)
{
    const char t[] = "{\"experiment\": \"/bin/true\",\0 \"parameters\": {}}";
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    assert_int_equal(clab_submission_parse(t, sizeof t - 1, NULL, &sub, &err), -EINVAL);
    assert_null(sub);
    assert_int_equal(err.position, 27);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 28);
    assert_string_equal(err.message, "NUL byte at offset 27: a job is text");
    /* NUL comes before JSON syntax. */
    const char u[] = "{\"a\": [1,,\0";
    assert_int_equal(clab_submission_parse(u, sizeof u - 1, NULL, &sub, &err), -EINVAL);
    assert_string_equal(err.message, "NUL byte at offset 10: a job is text");
}

/* Text need not be NUL-terminated: only len bytes are read. */
static void test_not_nul_terminated(void **state)
{
    const char *job = JOB("{\"a\": [1, 2]}") "GARBAGE";
    size_t len = strlen(job) - strlen("GARBAGE");
    char *copy = malloc(len);
    memcpy(copy, job, len);
    clab_submission_t *sub = NULL;
    assert_int_equal(clab_submission_parse(copy, len, NULL, &sub, NULL), 0);
    assert_int_equal(sub->points, 2);
    clab_submission_destroy(&sub);
    assert_null(sub);
    free(copy);
}

/* Every proper prefix of a job may be followed by the rest in a later
 * write: -EAGAIN, with err ready for the close. */
static void each_prefix_waits(const char *job)
{
    size_t len = strlen(job);
    for (size_t n = 1; n < len; n++) {
        clab_submission_t *sub = NULL;
        clab_submit_error_t err;
        int rc = clab_submission_parse(job, n, NULL, &sub, &err);
        if (rc != -EAGAIN || err.code != EINVAL || sub || !err.message[0])
            fail_msg("prefix %zu of %s: rc %d code %d: %s", n, job, rc, err.code,
                     err.message);
        assert_true(err.position >= 0 && (size_t)err.position <= n);
    }
    clab_submission_t *sub = NULL;
    assert_int_equal(clab_submission_parse(job, len, NULL, &sub, NULL), 0);
    clab_submission_destroy(&sub);
}

static void test_incomplete_text_waits(void **state)
{
    each_prefix_waits(
        "{\"experiment\": \"/bin/true\", \"parameters\": {\"beta\": [0.1, 2e3, "
        "-7], \"ok\": true, \"no\": false, \"s\": \"caf\xc3\xa9 "
        "\\u00e9\\n\"}, \"tag\": \"t\", \"timeout\": 1.5, \"repetitions\": 2}");
    each_prefix_waits("/bin/true {\"beta\": [0.1, 0.2], \"w\": \"\xe6\xbc\xa2\"}");
    each_prefix_waits("/bin/true\n\n{\"n\": {\"range\": [0, 10, 3]}}");

    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    assert_int_equal(parse(JOB("{\"a\": 1}"), &sub, &err), 0);
    clab_submission_destroy(&sub);
    assert_int_equal(
        parse("{\"experiment\": \"/bin/true\", \"parameters\": {\"a\": 1}", &sub, &err),
        -EAGAIN);
    assert_int_equal(err.code, EINVAL);
    assert_string_equal(err.message, "incomplete JSON: '}' expected near end of file");
    assert_int_equal(err.position, 50); /* just past the end */
    assert_int_equal(err.column, 51);
    assert_int_equal(parse("/bin/true\n", &sub, &err), -EAGAIN);
    assert_string_equal(err.message,
                        "incomplete job: expected a parameters object after the path");
    /* Cut short with white space after it: it can no longer become valid. */
    expect_at("{\"a\": tr  ", -EINVAL, "r  ", 1, 8);
    expect_at("{\"a\": tr", -EAGAIN, "r", 1, 8);
    /* Only a token the end cut short waits; a complete wrong one does not. */
    expect_at("/bin/true {\"a\": }", -EINVAL, "}", 1, 17);
    expect_at("{\"a\": 1, \"a\"", -EINVAL, "\"", 1, 12);
    expect_at("{\"a\": [1, \"x\"", -EAGAIN, "", 1, 14); /* just past the end */
    expect_at("{\"a\": 1e", -EAGAIN, "e", 1, 8);
    expect_at("{\"a\": -", -EAGAIN, "-", 1, 7);
    expect_at("{\"a\": [1.", -EAGAIN, ".", 1, 9);
    expect_at("{\"a\": nul", -EAGAIN, "l", 1, 9);
    expect_at("{\"a\": \"x\\", -EAGAIN, "\\", 1, 9);
    expect_at("{\"a\": \"x\\u0", -EAGAIN, "0", 1, 11);
    expect_at("{\"a\": \"x\xc3", -EAGAIN, "\xc3", 1, 9);
    expect_at("{\"a\": \"x\xc3 ", -EINVAL, "\xc3", 1, 9);
    expect_at("{\"a\": xtr", -EINVAL, "r", 1, 9);
    expect_at("{\"a\": 1]", -EINVAL, "]", 1, 8);
    /* A token that is wrong before the end does not wait. */
    expect_at("{\"a\": xyz, \"b\": 1", -EINVAL, "z,", 1, 9);
}

static void test_fields(void **state)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    const char *t =
        "{\"experiment\": \"/bin/true\",\n \"parameters\": {\"beta\": [0.1, 0.2, "
        "0.3], \"N\": 1000, \"seed\": {\"range\": [0, 10]}, \"x\": {\"linspace\": "
        "[0, 1, 5]}},\n \"tag\": \"sir-sweep\", \"description\": \"SIR on ER "
        "networks\",\n \"repetitions\": 2, \"timeout\": 600}\n";
    assert_int_equal(parse(t, &sub, &err), 0);
    assert_int_equal(err.code, 0);
    assert_string_equal(sub->experiment, "/bin/true");
    assert_string_equal(sub->tag, "sir-sweep");
    assert_string_equal(sub->description, "SIR on ER networks");
    assert_int_equal(sub->repetitions, 2);
    assert_true(sub->timeout == 600.0);
    assert_int_equal(clab_space_size(sub->space), 150);
    assert_int_equal(sub->points, 300);
    json_t *want =
        json_loads("{\"beta\": [0.1, 0.2, 0.3], \"N\": 1000, \"seed\": {\"range\": "
                   "[0, 10]}, \"x\": {\"linspace\": [0, 1, 5]}}",
                   0, NULL);
    assert_true(json_equal(sub->parameters, want));
    json_decref(want);
    clab_submission_destroy(&sub);

    assert_int_equal(parse(JOB("{}"), &sub, &err), 0);
    assert_null(sub->tag);
    assert_null(sub->description);
    assert_int_equal(sub->repetitions, 1);
    assert_true(sub->timeout == 0.0);
    assert_int_equal(sub->points, 1);
    clab_submission_destroy(&sub);

    assert_int_equal(
        parse("  /bin/true \n {\"beta\": [0.1, 0.2], \"g\": [1, 2, 3]}\n", &sub, &err),
        0);
    assert_string_equal(sub->experiment, "/bin/true");
    assert_null(sub->tag);
    assert_int_equal(sub->points, 6);
    assert_int_equal(json_object_size(sub->parameters), 2);
    json_t *pt = clab_space_point(sub->space, 5);
    want = json_loads("{\"beta\": 0.2, \"g\": 3}", 0, NULL);
    assert_true(json_equal(pt, want));
    json_decref(want);
    json_decref(pt);
    clab_submission_destroy(&sub);
    clab_submission_destroy(&sub);
    clab_submission_destroy(NULL);

    assert_int_equal(
        parse("{\"experiment\": \"/bin/true\", \"parameters\": {}, \"timeout\": "
              "0.25, \"tag\": \"a.b_c-9\"}",
              &sub, NULL),
        0);
    assert_true(sub->timeout == 0.25);
    assert_string_equal(sub->tag, "a.b_c-9");
    clab_submission_destroy(&sub);
}

static void expect_message(const char *text, int rc, const char *message)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    int got = parse(text, &sub, &err);
    if (got != rc || strcmp(err.message, message))
        fail_msg("%s:\n rc %d '%s'\n want %d '%s'", text, got, err.message, rc, message);
    assert_null(sub);
}

static void test_messages(void **state)
{
    expect_message(JOB("{}") ", \"tagg\": \"x\"}", -EINVAL,
                   "unexpected text after the JSON object (one job per write)");
    expect_message(
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tagg\": \"x\"}", -EINVAL,
        "unknown field \"tagg\" (expected experiment, parameters, points, design, "
        "tag, description, repetitions, timeout, arguments, worker, "
        "if_exists, files, answer, reuse)");
    expect_message(JOB("{\"ok\": 1, \"beta\": []}"), -EINVAL,
                   "parameter \"beta\": empty axis");
    expect_message("{\"experiment\": \"/nonexistent/x\", \"parameters\": {}}", -ENOENT,
                   "experiment \"/nonexistent/x\": no such file");
    expect_message("{\"experiment\": \"/etc/passwd\", \"parameters\": {}}", -EACCES,
                   "experiment \"/etc/passwd\": not an executable regular file");
    expect_message("{\"experiment\": \"/etc\", \"parameters\": {}}", -EACCES,
                   "experiment \"/etc\": not an executable regular file");
    expect_message(
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": \"../x\"}", -EINVAL,
        "tag \"../x\" is invalid: use [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    expect_message(JOB("{\"a\": {\"range\": [0, 3000000]}}"), -E2BIG,
                   "3000000 points is over the limit of 1000000");
    expect_message(
        "{\"experiment\": \"/bin/true\", \"parameters\": {\"a\": {\"range\": [0, "
        "1000]}}, \"repetitions\": 1001}",
        -E2BIG, "1001000 points (1000 x 1001 repetitions) is over the limit of 1000000");
    expect_message(
        JOB("{\"a\": {\"range\": [0, 9000000000000000000]}, \"b\": [1, 2, 3]}"), -E2BIG,
        "the job has more than 18446744073709551614 points, over the limit of "
        "1000000");
    expect_message("{\"experiment\": \"bin/true\", \"parameters\": {}}", -EINVAL,
                   "experiment \"bin/true\" is not an absolute path");
    expect_message(
        "/bin/../bin/true {}", -EINVAL,
        "experiment \"/bin/../bin/true\" has a \".\" or \"..\" component; write "
        "the path without them");
    expect_message("{\"parameters\": {}}", -EINVAL,
                   "missing field \"experiment\" (the absolute path of the program)");
    expect_message(JOB("[1]"), -EINVAL,
                   "field \"parameters\" must be an object, not an array");
    expect_message(
        "/bin/true [1]", -EINVAL,
        "expected a JSON object of parameters after the path (a path with white "
        "space needs the JSON form)");
    expect_message(
        "{\"experiment\": 42, \"parameters\": {}}", -EINVAL,
        "field \"experiment\" must be a string (an absolute path), not an integer");
    expect_message(
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"timeout\": \"1\"}",
        -EINVAL, "field \"timeout\" must be a number of seconds > 0");
    expect_message(
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"repetitions\": 1.5}",
        -EINVAL, "field \"repetitions\" must be an integer >= 1");
    expect_message("{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tag\": 1}",
                   -EINVAL, "field \"tag\" must be a string, not an integer");
    expect_message(
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"description\": []}",
        -EINVAL, "field \"description\" must be a string, not an array");
    expect_message("[1]", -EINVAL, "expected a JSON object or `PATH {params}`");
    expect_message(" \n ", -EINVAL,
                   "empty job: expected a JSON object or `PATH {params}`");
    expect_message("/bin/true{\"a\": [1, 2]}", -EINVAL,
                   "expected a JSON object of parameters after the path (separate it "
                   "from the path with white space)");
    expect_message(
        "/bin/true{}", -EAGAIN,
        "incomplete job: expected a parameters object after the path (separate "
        "it from the path with white space)");
    /* A raw newline in the text does not break the one-line message. */
    expect_message(JOB("{\"a\": \"x\ny\"}"), -EINVAL,
                   "invalid JSON: unexpected newline near '\"x'");
}

static void test_semantic_positions(void **state)
{
    expect_at("{\"experiment\": \"/bin/true\", \"parameters\": {}, \"tagg\": \"x\"}",
              -EINVAL, "\"tagg\"", 1, 47);
    /* "beta" as a value earlier does not fool the search for the key. */
    expect_at("{\"experiment\": \"/bin/true\", \"description\": \"beta\",\n"
              " \"parameters\": {\"ok\": 1,\n  \"beta\" : []}}",
              -EINVAL, "\"beta\" :", 3, 3);
    /* Nor does a field of the same name before the parameters. */
    expect_at("{\"tag\": \"t\", \"parameters\": {\"tag\": null}, \"experiment\": "
              "\"/bin/true\"}",
              -EINVAL, "\"tag\": null", 1, 29);
    expect_at("/bin/true {\"x\": 1, \"y\": {\"range\": [0, 1, 0]}}", -EINVAL, "\"y\"", 1,
              20);
    expect_at("{\"experiment\": \"/etc/passwd\", \"parameters\": {}}", -EACCES,
              "\"experiment\"", 1, 2);
    expect_at("  /nonexistent/x {}", -ENOENT, "/nonexistent", 1, 3);
    expect_at("{\"parameters\": {\"a\": {\"range\": [0, 2000000]}}, \"experiment\": "
              "\"/bin/true\"}",
              -E2BIG, "\"parameters\"", 1, 2);
    expect_at("{\"experiment\": \"/bin/true\", \"parameters\": {}, \"timeout\": 0}",
              -EINVAL, "\"timeout\"", 1, 47);
    expect_at("{\"experiment\": \"/bin/true\"}", -EINVAL, NULL, 0, 0);
    expect_at("\n  [1]", -EINVAL, "[1]", 2, 3);
}

static void test_limits(void **state)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    clab_submit_limits_t lim = {.max_text = 80, .max_points = 6};
    const char *t = JOB("{\"a\": [1, 2, 3], \"b\": [1, 2]}");
    assert_true(strlen(t) <= 80);
    assert_int_equal(clab_submission_parse(t, strlen(t), &lim, &sub, &err), 0);
    assert_int_equal(sub->points, 6);
    clab_submission_destroy(&sub);

    t = "{\"experiment\": \"/bin/true\", \"parameters\": {\"a\": [1, 2, 3, 4, 5, 6, 7, "
        "8, 9, 10, 11, 12, 13, 14, 15, 16]}}";
    assert_true(strlen(t) > 80);
    assert_int_equal(clab_submission_parse(t, strlen(t), &lim, &sub, &err), -E2BIG);
    assert_int_equal(err.code, E2BIG);
    assert_int_equal(err.position, -1);
    char want[128];
    snprintf(want, sizeof want, "the job is %zu bytes, over the limit of 80", strlen(t));
    assert_string_equal(err.message, want);
    /* White space counts: the limit is on what was written. */
    t = "/bin/true {}"
        "                                                                     ";
    assert_true(strlen(t) == 81);
    assert_int_equal(clab_submission_parse(t, strlen(t), &lim, &sub, &err), -E2BIG);

    t = "/bin/true {\"a\": [1, 2, 3, 4, 5, 6, 7]}";
    assert_int_equal(clab_submission_parse(t, strlen(t), &lim, &sub, &err), -E2BIG);
    assert_string_equal(err.message, "7 points is over the limit of 6");
    assert_int_equal(err.position, 10);

    /* The default text limit: exactly at it is fine, one byte over is not. */
    size_t n = CLAB_SUBMIT_MAX_TEXT;
    char *big = malloc(n + 1);
    memset(big, ' ', n + 1);
    memcpy(big, JOB("{}"), strlen(JOB("{}")));
    assert_int_equal(clab_submission_parse(big, n, NULL, &sub, &err), 0);
    clab_submission_destroy(&sub);
    assert_int_equal(clab_submission_parse(big, n + 1, NULL, &sub, &err), -E2BIG);
    /* Size comes before everything, NUL bytes and syntax included. */
    big[10] = '\0';
    assert_int_equal(clab_submission_parse(big, n + 1, NULL, &sub, &err), -E2BIG);
    free(big);
}

static void test_precedence(void **state)
{
    expect_message(
        "{\"experiment\": \"/nonexistent/x\", \"parameters\": {}, \"tag\": \"a/b\"}",
        -EINVAL, "tag \"a/b\" is invalid: use [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    expect_message(
        "{\"experiment\": \"/nonexistent/x\", \"parameters\": {\"a\": {\"range\": "
        "[0, 2000000]}}}",
        -E2BIG, "2000000 points is over the limit of 1000000");
    expect_message("{\"experiment\": \"/etc/passwd\", \"parameters\": {\"a\": [], \"b\": "
                   "{\"range\": [0, 2000000]}}}",
                   -EINVAL, "parameter \"a\": empty axis");
    /* Syntax before fields: the unknown field is never looked at. */
    expect_message(
        "{\"tagg\": 1, \"experiment\": \"/bin/true\", \"parameters\": {\"a\": [1,]}}",
        -EINVAL, "invalid JSON: unexpected token near ']'");
    /* Unknown fields before the type of known ones. */
    expect_message(
        "{\"experiment\": 1, \"parameters\": 2, \"x\": 3}", -EINVAL,
        "unknown field \"x\" (expected experiment, parameters, points, design, tag, "
        "description, repetitions, timeout, arguments, worker, if_exists, files, "
        "answer, reuse)");
}

/* Designs and explicit points: what each refusal says and where its
 * caret goes; an accepted job's points, names and design. */
static void test_designs(void **state)
{
    (void)state;
    const char *pw = "{\"experiment\": \"/bin/true\", \"design\": \"pointwise\","
                     " \"parameters\": {\"a\": [1, 2, 3], \"b\": [1, 2]}}";
    expect_message(pw, -EINVAL,
                   "pointwise design: parameter \"b\" has 2 values and \"a\" has 3; axes "
                   "longer than one value go in step");
    expect_at(pw, -EINVAL, "\"parameters\"", 1, 52);
    expect_at("{\"experiment\": \"/bin/true\", \"parameters\": {}, \"points\": [{}]}",
              -EINVAL, "\"points\"", 1, 47);
    expect_message(
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"points\": [{}]}", -EINVAL,
        "give \"parameters\" or \"points\", not both");
    expect_at("{\"experiment\": \"/bin/true\", \"points\": [{\"a\": 1}, 2]}", -EINVAL,
              "\"points\"", 1, 29);
    expect_message("{\"experiment\": \"/bin/true\", \"points\": [{\"a\": 1}, 2]}",
                   -EINVAL, "points[1] must be an object, not an integer");
    expect_message("{\"experiment\": \"/bin/true\", \"points\": [{}], \"design\": "
                   "\"factorial\"}",
                   -EINVAL,
                   "field \"design\" applies to \"parameters\"; \"points\" run as given");
    expect_message("{\"experiment\": \"/bin/true\", \"design\": \"Pointwise\", "
                   "\"parameters\": {}}",
                   -EINVAL, "field \"design\" must be \"factorial\" or \"pointwise\"");
    expect_message("{\"experiment\": \"/bin/true\"}", -EINVAL,
                   "missing field \"parameters\" (an object such as {\"x\": [1, 2]}, or "
                   "\"points\")");

    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    const char *ok = "{\"experiment\": \"/bin/true\", \"repetitions\": 2,"
                     " \"points\": [{\"y\": [1]}, {\"x\": {\"value\": 2}}]}";
    assert_int_equal(parse(ok, &sub, &err), 0);
    assert_int_equal(sub->points, 4);
    assert_true(sub->explicit_points);
    assert_null(sub->parameters);
    assert_int_equal(clab_space_axes(sub->space), 2);
    json_t *p1 = clab_space_point(sub->space, 1),
           *want = json_loads("{\"x\": {\"value\": 2}}", 0, NULL);
    assert_true(json_equal(p1, want));
    json_decref(p1);
    json_decref(want);
    clab_submission_destroy(&sub);
    assert_int_equal(parse("{\"experiment\": \"/bin/true\", \"design\": \"pointwise\","
                           " \"parameters\": {\"a\": [1, 2], \"b\": 0}}",
                           &sub, &err),
                     0);
    assert_int_equal(sub->design, CLAB_DESIGN_POINTWISE);
    assert_int_equal(sub->points, 2);
    clab_submission_destroy(&sub);
}

/* "files": what each point finds in its scratch directory, base64 in the
 * text. They do not count in the text limit (a 1 MiB pickle is 1.4 MiB of
 * base64), only in their own: 16 files of at most 1 MiB together, decoded.
 * Names are plain file names. */
static void test_files(void **state)
{
    (void)state;
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    const char *ok = "{\"experiment\": \"/bin/true\", \"parameters\": {},"
                     " \"files\": {\"experiment.pkl\": \"Zm9vYmFy\", \"e\": \"\"}}";
    assert_int_equal(parse(ok, &sub, &err), 0);
    assert_int_equal(sub->nfiles, 2);
    assert_string_equal(sub->files[0].name, "experiment.pkl");
    assert_int_equal(sub->files[0].len, 6);
    assert_memory_equal(sub->files[0].data, "foobar", 6);
    assert_string_equal(
        sub->files[0].sha256,
        "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
    assert_int_equal(sub->files[1].len, 0);
    clab_submission_destroy(&sub);

    static const struct {
        const char *files, *message;
        int rc;
    } bad[] = {
        {"[]",
         "field \"files\" must be an object of file names and base64 texts, not an array",
         -EINVAL},
        {"{\"a/b\": \"\"}",
         "files: \"a/b\" is not a file name ([A-Za-z0-9._-]{1,255}, not . or ..)",
         -EINVAL},
        {"{\"..\": \"\"}",
         "files: \"..\" is not a file name ([A-Za-z0-9._-]{1,255}, not . or ..)",
         -EINVAL},
        {"{\"a\": 1}", "files: \"a\" must be a base64 text, not an integer", -EINVAL},
        {"{\"a\": \"Zm9v\\n\"}", "files: \"a\" is not base64", -EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"files\": %s}",
                 bad[i].files);
        expect_message(text, bad[i].rc, bad[i].message);
        expect_at(text, bad[i].rc, "\"files\"", 1, 47);
    }
    /* Too many, and too big; the text past its limit by the files alone
     * is fine. */
    char text[4096];
    size_t len =
        (size_t)sprintf(text, "{\"experiment\": \"/bin/true\", \"parameters\": {},"
                              " \"files\": {");
    for (int i = 0; i <= CLAB_SUBMIT_MAX_FILES; i++)
        len += (size_t)sprintf(text + len, "%s\"f%d\": \"\"", i ? ", " : "", i);
    len += (size_t)sprintf(text + len, "}}");
    expect_message(text, -EINVAL, "files: 17 files, over the limit of 16");
    size_t n = CLAB_SUBMIT_MAX_FILE_BYTES / 3 * 4 + 4; /* 1 MiB and 1 byte or 2 */
    char *big = malloc(n + 200);
    len = (size_t)sprintf(big, "{\"experiment\": \"/bin/true\", \"parameters\": {},"
                               " \"files\": {\"a\": \"");
    memset(big + len, 'A', n);
    len += n;
    len += (size_t)sprintf(big + len, "\"}}");
    clab_submit_limits_t lim = {.max_text = 200, .max_points = 10};
    assert_int_equal(clab_submission_parse(big, len, &lim, &sub, &err), -E2BIG);
    assert_string_equal(err.message, "files: 1048578 bytes, over the limit of 1048576");
    n = CLAB_SUBMIT_MAX_FILE_BYTES / 3 * 4; /* just under 1 MiB */
    len = (size_t)sprintf(big, "{\"experiment\": \"/bin/true\", \"parameters\": {},"
                               " \"files\": {\"a\": \"");
    memset(big + len, 'A', n);
    len += n;
    len += (size_t)sprintf(big + len, "\"}}");
    assert_int_equal(clab_submission_parse(big, len, &lim, &sub, &err), 0);
    assert_int_equal(sub->files[0].len, CLAB_SUBMIT_MAX_FILE_BYTES / 3 * 3);
    clab_submission_destroy(&sub);
    /* The rest of the text still has its limit. */
    lim.max_text = 60;
    assert_int_equal(clab_submission_parse(big, len, &lim, &sub, &err), -E2BIG);
    assert_string_equal(err.message,
                        "the job is 65 bytes without its files, over the limit of 60");
    free(big);
}

/* "answer": "jobs" or nothing. */
static void test_answer(void **state)
{
    (void)state;
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    assert_int_equal(parse("{\"experiment\": \"/bin/true\", \"parameters\": {},"
                           " \"answer\": \"jobs\"}",
                           &sub, &err),
                     0);
    assert_true(sub->answer_jobs);
    clab_submission_destroy(&sub);
    expect_message(
        "{\"experiment\": \"/bin/true\", \"parameters\": {}, \"answer\": true}", -EINVAL,
        "field \"answer\" must be \"jobs\"");
}

static void test_tag_valid(void **state)
{
    char t129[130], t128[129];
    memset(t128, 'a', 128);
    t128[128] = '\0';
    memset(t129, 'a', 129);
    t129[129] = '\0';
    assert_true(clab_tag_valid("a"));
    assert_true(clab_tag_valid("sir-sweep"));
    assert_true(clab_tag_valid("0.1_x-Y"));
    assert_true(clab_tag_valid("a.."));
    assert_true(clab_tag_valid(t128));
    assert_false(clab_tag_valid(t129));
    assert_false(clab_tag_valid(""));
    assert_false(clab_tag_valid(NULL));
    assert_false(clab_tag_valid("../x"));
    assert_false(clab_tag_valid(".hidden"));
    assert_false(clab_tag_valid("-x"));
    assert_false(clab_tag_valid("_x"));
    assert_false(clab_tag_valid("a/b"));
    assert_false(clab_tag_valid("a b"));
    assert_false(clab_tag_valid("a\n"));
    assert_false(clab_tag_valid("caf\xc3\xa9"));
}

/* A job whose largest point would make a task over the controller's limit
 * (CLAB_SUBMIT_MAX_TASK) is refused here, with E2BIG: the controller would
 * drop the task and the point would stay pending for ever. The text limit
 * does not cover it: "\\b" is 2 bytes written and 6 sent ("\\u0008"). */
static void test_task_limit(void **state)
{
    (void)state;
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    size_t n = 180000, len;
    char *text = malloc(2 * n + 200);
    len = (size_t)sprintf(text, "{\"experiment\": \"/bin/true\", \"parameters\": "
                                "{\"x\": [1, 2], \"s\": \"");
    for (size_t i = 0; i < n; i++, len += 2)
        memcpy(text + len, "\\b", 2);
    len += (size_t)sprintf(text + len, "\"}}");
    assert_true(len < CLAB_SUBMIT_MAX_TEXT);
    assert_int_equal(clab_submission_parse(text, len, NULL, &sub, &err), -E2BIG);
    assert_null(sub);
    assert_int_equal(err.code, E2BIG);
    assert_non_null(strstr(err.message, "over the limit of 1048576"));
    assert_int_equal(err.position, 28);

    /* A third of it is fine: its tasks fit. */
    len = (size_t)sprintf(text, "{\"experiment\": \"/bin/true\", \"parameters\": "
                                "{\"x\": [1, 2], \"s\": \"");
    for (size_t i = 0; i < n / 3; i++, len += 2)
        memcpy(text + len, "\\b", 2);
    len += (size_t)sprintf(text + len, "\"}}");
    assert_int_equal(clab_submission_parse(text, len, NULL, &sub, &err), 0);
    clab_submission_destroy(&sub);
    free(text);
}

/* The controller drops a task body over MAX_TASK_BYTES: the two limits are
 * one. */
_Static_assert(CLAB_SUBMIT_MAX_TASK == MAX_TASK_BYTES, "task limits differ");

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_folders),
        cmocka_unit_test(test_syntax_error_position),
        cmocka_unit_test(test_trailing_text),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_incomplete_text_waits),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_semantic_positions),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_designs),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_answer),
        cmocka_unit_test(test_tag_valid),
        cmocka_unit_test(test_task_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
