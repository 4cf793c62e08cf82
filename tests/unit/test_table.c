/* CSV and TSV cells: quoting, numbers, booleans, missing values; whole
 * header lines and rows from a table's columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

static void check_cell(const char *json, clab_table_format_t fmt, const char *want)
{
    json_t *v = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    if (json)
        assert_non_null(v);
    clab_buf_t b = {0};
    assert_int_equal(clab_table_cell(&b, v, fmt), 0);
    assert_string_equal(b.data ? b.data : "", want);
    clab_buf_free(&b);
    json_decref(v);
}

static void test_csv_cells(void **state)
{
    (void)state;
    check_cell("\"plain\"", CLAB_TABLE_CSV, "plain");
    check_cell("\"a,b\"", CLAB_TABLE_CSV, "\"a,b\"");
    check_cell("\"say \\\"hi\\\"\"", CLAB_TABLE_CSV, "\"say \"\"hi\"\"\"");
    check_cell("\"two\\nlines\"", CLAB_TABLE_CSV, "\"two\nlines\"");
    check_cell("\"cr\\rhere\"", CLAB_TABLE_CSV, "\"cr\rhere\"");
    check_cell("\" spaced \"", CLAB_TABLE_CSV, " spaced ");
    check_cell("\"\"", CLAB_TABLE_CSV, "");
    check_cell("42", CLAB_TABLE_CSV, "42");
    check_cell("-7", CLAB_TABLE_CSV, "-7");
    check_cell("0.1", CLAB_TABLE_CSV, "0.1");
    check_cell("2.0", CLAB_TABLE_CSV, "2");
    check_cell("1e-7", CLAB_TABLE_CSV, "1e-07");
    check_cell("true", CLAB_TABLE_CSV, "TRUE");
    check_cell("false", CLAB_TABLE_CSV, "FALSE");
    check_cell("null", CLAB_TABLE_CSV, "");
    check_cell(NULL, CLAB_TABLE_CSV, "");
    check_cell("[1, 2.5, \"x\"]", CLAB_TABLE_CSV, "\"[1,2.5,\"\"x\"\"]\"");
    check_cell("{\"b\": 1, \"a\": 2}", CLAB_TABLE_CSV, "\"{\"\"a\"\":2,\"\"b\"\":1}\"");
    check_cell("[]", CLAB_TABLE_CSV, "[]");
}

static void test_tsv_cells(void **state)
{
    (void)state;
    check_cell("\"a,b\"", CLAB_TABLE_TSV, "a,b");
    check_cell("\"tab\\there\"", CLAB_TABLE_TSV, "tab here");
    check_cell("\"two\\nlines\\r\"", CLAB_TABLE_TSV, "two lines ");
    check_cell("\"q\\\"\"", CLAB_TABLE_TSV, "q\"");
    check_cell("[1, 2]", CLAB_TABLE_TSV, "[1,2]");
    check_cell("true", CLAB_TABLE_TSV, "TRUE");
    check_cell("0.25", CLAB_TABLE_TSV, "0.25");
}

static void test_names(void **state)
{
    (void)state;
    clab_buf_t b = {0};
    clab_table_name(&b, "beta", CLAB_TABLE_CSV);
    clab_buf_add(&b, &(char){clab_table_sep(CLAB_TABLE_CSV)}, 1);
    clab_table_name(&b, "odd,name", CLAB_TABLE_CSV);
    assert_string_equal(b.data, "beta,\"odd,name\"");
    clab_buf_free(&b);
    assert_int_equal(clab_table_sep(CLAB_TABLE_TSV), '\t');
}

static void test_lines(void **state)
{
    (void)state;
    json_t *cols[3] = {json_pack("[s,s]", "x", "odd,name"), json_pack("[s]", "y"),
                       json_pack("[]")};
    const char *doc = "{\"parameters\": {\"x\": 1, \"odd,name\": \"a\\tb\"},"
                      " \"results\": {}, \"metadata\": {}}";
    clab_buf_t b = {0};
    assert_int_equal(clab_table_header(&b, cols, CLAB_TABLE_CSV), 0);
    assert_int_equal(clab_table_row(&b, cols, doc, strlen(doc), CLAB_TABLE_CSV), 0);
    assert_string_equal(b.data, "x,\"odd,name\",y\n1,a\tb,\n");
    b.len = 0;
    assert_int_equal(clab_table_row(&b, cols, doc, strlen(doc), CLAB_TABLE_TSV), 0);
    assert_string_equal(b.data, "1\ta b\t\n");
    assert_int_equal(clab_table_row(&b, cols, "{", 1, CLAB_TABLE_TSV), -EIO);
    /* No columns yet: no header line at all. */
    json_t *none[3] = {cols[2], cols[2], cols[2]};
    b.len = 0;
    assert_int_equal(clab_table_header(&b, none, CLAB_TABLE_CSV), 0);
    assert_int_equal((int)b.len, 0);
    clab_buf_free(&b);
    for (int k = 0; k < 3; k++)
        json_decref(cols[k]);
}

/* A result named like a parameter or a metadata key, or a metadata key
 * named like a parameter, gets its part's prefix, so that every header
 * name is unique (pandas and R would rename a duplicate silently). */
static void test_unique_header(void **state)
{
    (void)state;
    json_t *cols[3] = {json_pack("[s, s]", "beta", "N"),
                       json_pack("[s, s, s, s]", "N", "beta", "clab.job", "y"),
                       json_pack("[s, s]", "N", "clab.job")};
    clab_buf_t b = {0};
    assert_int_equal(clab_table_header(&b, cols, CLAB_TABLE_CSV), 0);
    assert_string_equal(b.data, "beta,N,results.N,results.beta,results.clab.job,y,"
                                "metadata.N,clab.job\n");
    const char *doc =
        "{\"parameters\": {\"beta\": 0.5, \"N\": 10},"
        " \"results\": {\"N\": 11, \"beta\": 1, \"clab.job\": \"r\", \"y\": 2},"
        " \"metadata\": {\"N\": 12, \"clab.job\": \"j1\"}}";
    b.len = 0;
    assert_int_equal(clab_table_row(&b, cols, doc, strlen(doc), CLAB_TABLE_TSV), 0);
    assert_string_equal(b.data, "0.5\t10\t11\t1\tr\t2\t12\tj1\n");
    clab_buf_free(&b);
    for (int k = 0; k < 3; k++)
        json_decref(cols[k]);
}

/* Names and their header names, part by part: "|" ends a part. */
typedef struct {
    const char *cols[3];
    const char *want[3];
} names_case_t;

static json_t *split_names(const char *s)
{
    json_t *a = json_array();
    char buf[256];
    while (s && *s) {
        size_t n = strcspn(s, " ");
        snprintf(buf, sizeof buf, "%.*s", (int)n, s);
        json_array_append_new(a, json_string(buf));
        s += n + (s[n] == ' ');
    }
    return a;
}

static char *join_names(const json_t *a)
{
    clab_buf_t b = {0};
    size_t i;
    json_t *v;
    clab_buf_puts(&b, "");
    json_array_foreach(a, i, v)
    {
        if (i)
            clab_buf_puts(&b, " ");
        clab_buf_puts(&b, json_string_value(v));
    }
    return b.data;
}

/* Every header name once, and the header line made of exactly these. */
static void check_names(const names_case_t *c)
{
    json_t *cols[3], *out[3] = {NULL, NULL, NULL}, *seen = json_object();
    for (int k = 0; k < 3; k++)
        cols[k] = split_names(c->cols[k]);
    assert_int_equal(clab_table_header_names(cols, out), 0);
    clab_buf_t line = {0};
    for (int k = 0; k < 3; k++) {
        char *got = join_names(out[k]);
        if (strcmp(got, c->want[k]) != 0)
            fail_msg("part %d of [%s | %s | %s]: want [%s], got [%s]", k, c->cols[0],
                     c->cols[1], c->cols[2], c->want[k], got);
        free(got);
        assert_int_equal(json_array_size(out[k]), json_array_size(cols[k]));
        size_t i;
        json_t *v;
        json_array_foreach(out[k], i, v)
        {
            assert_null(json_object_get(seen, json_string_value(v)));
            json_object_set_new(seen, json_string_value(v), json_true());
            if (line.len)
                clab_buf_puts(&line, ",");
            clab_buf_puts(&line, json_string_value(v));
        }
    }
    clab_buf_t b = {0};
    assert_int_equal(clab_table_header(&b, cols, CLAB_TABLE_CSV), 0);
    if (line.len) {
        clab_buf_puts(&line, "\n");
        assert_string_equal(b.data, line.data);
    }
    clab_buf_free(&b);
    clab_buf_free(&line);
    for (int k = 0; k < 3; k++) {
        json_decref(cols[k]);
        json_decref(out[k]);
    }
    json_decref(seen);
}

/* Issue 21: names that collide with the renamed ones. The prefix is
 * applied again until the name is new to the header and is no column's
 * own name; parameters keep theirs. Columns come sorted, as the notebook
 * keeps them. */
static void test_header_names_adversarial(void **state)
{
    (void)state;
    static const names_case_t cases[] = {
        /* The case: results k and results.k in a sweep over k. */
        {{"k", "k results.k", ""}, {"k", "results.results.k results.k", ""}},
        /* Many levels, each one taken by a result of its own. */
        {{"k", "k results.k results.results.k results.results.results.k", ""},
         {"k",
          "results.results.results.results.k results.k results.results.k "
          "results.results.results.k",
          ""}},
        /* A parameter holding the renamed name. */
        {{"k results.k", "k", ""}, {"k results.k", "results.results.k", ""}},
        {{"k results.k results.results.k", "k results.k", ""},
         {"k results.k results.results.k",
          "results.results.results.k results.results.results.results.k", ""}},
        /* Metadata named like the renamed result, and the other way. */
        {{"k", "k", "k results.k"}, {"k", "results.results.k", "metadata.k results.k"}},
        {{"k", "k metadata.k", "k metadata.k results.k"},
         {"k", "results.results.k results.metadata.k",
          "metadata.metadata.k metadata.k results.k"}},
        /* Every part full of each other's names. */
        {{"k metadata.k results.k", "k metadata.k results.k results.results.k",
          "k metadata.k metadata.metadata.k results.k"},
         {"k metadata.k results.k",
          "results.results.results.k results.metadata.k "
          "results.results.results.results.k results.results.k",
          "metadata.metadata.metadata.k metadata.metadata.metadata.metadata.k "
          "metadata.metadata.k metadata.results.k"}},
        /* A metadata key named like a parameter, its renamed name taken by
         * a parameter and a result. */
        {{"k metadata.k", "metadata.metadata.k", "k"},
         {"k metadata.k", "metadata.metadata.k", "metadata.metadata.metadata.k"}},
        /* No collision: every name as it is. */
        {{"a b", "c d", "e"}, {"a b", "c d", "e"}},
        {{"", "", ""}, {"", "", ""}},
        /* The README's case (test_unique_header). */
        {{"N beta", "N beta clab.job y", "N clab.job"},
         {"N beta", "results.N results.beta results.clab.job y", "metadata.N clab.job"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_names(&cases[i]);
}

/* Many names, each part holding every other's renamed names at many
 * levels: still every header name once. */
static void test_header_names_many(void **state)
{
    (void)state;
    static const char *const prefix[3] = {"", "results.", "metadata."};
    json_t *cols[3], *out[3] = {NULL, NULL, NULL};
    char name[256];
    for (int k = 0; k < 3; k++) {
        cols[k] = json_array();
        /* Every name of up to five prefixes, in each part. */
        for (int depth = 0; depth <= 5; depth++)
            for (unsigned bits = 0; bits < 1u << depth; bits++)
                for (int base = 0; base < 3; base++) {
                    int len = 0;
                    for (int d = 0; d < depth; d++)
                        len += snprintf(name + len, sizeof name - (size_t)len, "%s",
                                        prefix[1 + ((bits >> d) & 1)]);
                    snprintf(name + len, sizeof name - (size_t)len, "k%d", base);
                    json_array_append_new(cols[k], json_string(name));
                }
    }
    assert_int_equal(clab_table_header_names(cols, out), 0);
    json_t *seen = json_object();
    size_t total = 0;
    for (int k = 0; k < 3; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(out[k], i, v)
        {
            if (json_object_get(seen, json_string_value(v)))
                fail_msg("%s twice", json_string_value(v));
            json_object_set_new(seen, json_string_value(v), json_true());
            /* A renamed name is its own name behind its part's prefixes. */
            const char *raw = json_string_value(json_array_get(cols[k], i));
            const char *h = json_string_value(v);
            while (strcmp(h, raw) != 0) {
                assert_true(k > 0);
                assert_int_equal(strncmp(h, prefix[k], strlen(prefix[k])), 0);
                h += strlen(prefix[k]);
            }
            total++;
        }
        /* Parameters keep their names. */
        if (k == 0)
            assert_true(json_equal(out[0], cols[0]));
    }
    assert_int_equal(total, 3 * 63 * 3);
    json_decref(seen);
    for (int k = 0; k < 3; k++) {
        json_decref(cols[k]);
        json_decref(out[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_cells),
        cmocka_unit_test(test_tsv_cells),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_unique_header),
        cmocka_unit_test(test_header_names_adversarial),
        cmocka_unit_test(test_header_names_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
