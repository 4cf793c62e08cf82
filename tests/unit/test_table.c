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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_cells),     cmocka_unit_test(test_tsv_cells),
        cmocka_unit_test(test_names),         cmocka_unit_test(test_lines),
        cmocka_unit_test(test_unique_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
