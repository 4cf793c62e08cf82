/* The relaxed JSON reader (backend/common/json.c) every hop of a record uses:
 * what Python's json.dumps, R's jsonlite and Julia print beyond strict JSON
 * (integers past 64 bits, NaN, +-Infinity, 1e400, "\u0000", -0.0) read,
 * written back with the same text, and told apart from any string; invalid
 * text refused with the place it stops being JSON; and how the tables
 * (fs/table.c) write those values for pandas and R. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "protocol.h"
#include "table.h"

/* in read and written back as want (NULL: in itself). */
static void check_round_trip(const char *in, const char *want)
{
    clab_json_error_t err;
    json_t *v = clab_json_loads(in, 0, &err);
    if (!v)
        fail_msg("%s: %s at %d:%d", in, err.text, err.line, err.column);
    char *out = clab_json_dumps(v);
    assert_string_equal(out, want ? want : in);
    free(out);
    /* A second hop (engine -> controller -> notebook) changes nothing. */
    json_t *again = clab_json_loads(want ? want : in, 0, &err);
    assert_non_null(again);
    assert_true(json_equal(v, again));
    json_decref(again);
    json_decref(v);
}

static void test_beyond_strict(void **state)
{
    (void)state;
    check_round_trip("{\"a\":18446744073709551616}", NULL);
    check_round_trip("[9223372036854775808,-9223372036854775809]", NULL);
    check_round_trip("[100000000000000000000,10000000000000000000000000000000000000000]",
                     NULL);
    check_round_trip("[NaN,Infinity,-Infinity]", NULL);
    check_round_trip("[1e400, -1e400, 1E+999]", "[Infinity,-Infinity,Infinity]");
    check_round_trip("[1e-400,-0.0,-0.0e3]", "[0.0,-0.0,-0.0]");
    check_round_trip("{\"s\":\"a\\u0000b\\u0000\"}", NULL);
    check_round_trip(
        "{\"k\": {\"deep\": [NaN, {\"x\": 123456789012345678901234567890}]}}",
        "{\"k\":{\"deep\":[NaN,{\"x\":123456789012345678901234567890}]}}");
    /* Strict JSON reads as jansson reads it. */
    const char *strict =
        "{\"b\": [1, 2.5, -3e-2, true, false, null, \"\\u00e9\\ud83d\\ude00"
        "\\/\\\"\\\\\\b\\f\\n\\r\\t\"], \"a\": {}, \"c\": []}";
    json_t *mine = clab_json_loads(strict, 0, NULL);
    json_t *theirs = json_loads(strict, 0, NULL);
    assert_non_null(mine);
    assert_true(json_equal(mine, theirs));
    json_decref(mine);
    json_decref(theirs);
}

static void test_number_kinds(void **state)
{
    (void)state;
    json_t *v = clab_json_loads("[9223372036854775807, -9223372036854775808, "
                                "9223372036854775808, NaN, 1e400, -1e999, 0.5, \"NaN\", "
                                "\"\\u00ffNaN\", -0]",
                                0, NULL);
    assert_non_null(v);
    assert_true(json_is_integer(json_array_get(v, 0)));
    assert_true(json_is_integer(json_array_get(v, 1)));
    assert_string_equal(clab_json_number_text(json_array_get(v, 2)),
                        "9223372036854775808");
    assert_string_equal(clab_json_number_text(json_array_get(v, 3)), "NaN");
    assert_string_equal(clab_json_number_text(json_array_get(v, 4)), "Infinity");
    assert_string_equal(clab_json_number_text(json_array_get(v, 5)), "-Infinity");
    assert_true(json_is_real(json_array_get(v, 6)));
    /* A string never passes for one of them, whatever it holds. */
    assert_null(clab_json_number_text(json_array_get(v, 7)));
    assert_null(clab_json_number_text(json_array_get(v, 8)));
    assert_string_equal(json_string_value(json_array_get(v, 8)), "\xc3\xbfNaN");
    assert_int_equal(json_integer_value(json_array_get(v, 9)), 0);
    assert_string_equal(clab_json_type_name(json_array_get(v, 2)), "an integer");
    assert_string_equal(clab_json_type_name(json_array_get(v, 3)), "a real number");
    json_decref(v);
    json_t *s = clab_json_loads("\"a\\u0000b\"", 0, NULL);
    assert_int_equal(json_string_length(s), 3);
    assert_memory_equal(json_string_value(s), "a\0b", 3);
    json_decref(s);
}

static void check_error_n(const char *in, size_t len, const char *what, int line,
                          int column)
{
    clab_json_error_t err;
    json_t *v = clab_json_loadb(in, len, CLAB_JSON_REJECT_DUPLICATES, &err);
    if (v)
        fail_msg("%s: accepted", in);
    assert_string_equal(err.text, what);
    assert_int_equal(err.line, line);
    assert_int_equal(err.column, column);
}

static void check_error(const char *in, const char *what, int line, int column)
{
    check_error_n(in, strlen(in), what, line, column);
}

static void test_errors(void **state)
{
    (void)state;
    check_error("{\"a\": 1, \"b\": tru}", "invalid token", 1, 15);
    check_error("{\n  \"a\": NaN,\n  \"b\": nope\n}", "invalid token", 3, 8);
    check_error("hello\n", "invalid token", 1, 1);
    check_error("[nan]", "invalid token", 1, 2);
    check_error("[\"\xc3\xa9\", x]", "invalid token", 1, 7);
    check_error("", "unexpected end of text", 1, 1);
    check_error("{\"a\": 1", "unexpected end of text", 1, 8);
    check_error("{\"a\": \"b", "unexpected end of text", 1, 9);
    check_error("{\"a\" 1}", "expected ':' after a key", 1, 6);
    check_error("{\"a\": 1 \"b\": 2}", "expected ',' or '}'", 1, 9);
    check_error("[1 2]", "expected ',' or ']'", 1, 4);
    check_error("{1: 2}", "expected a key (a string)", 1, 2);
    check_error("[1,]", "invalid token", 1, 4);
    check_error("{\"a\": 1} {\"b\": 2}", "text after the value", 1, 10);
    check_error("[01]", "invalid number", 1, 2);
    check_error("[-]", "invalid number", 1, 2);
    check_error("[1.e5]", "invalid number", 1, 2);
    check_error("[-Inf]", "invalid number", 1, 2);
    check_error("[\"a\tb\"]", "control character in a string", 1, 4);
    check_error_n("{\"x\": \"a\0b\"}", 12, "control character in a string", 1, 9);
    check_error("{\"x\": \"\xff\xfe\"}", "invalid UTF-8", 1, 8);
    check_error("[\"\\x\"]", "invalid escape", 1, 3);
    check_error("[\"\\u12\"]", "invalid escape", 1, 3);
    check_error("[\"\\ud800\"]", "invalid Unicode escape", 1, 3);
    check_error("{\"a\\u0000\": 1}", "NUL byte in an object key", 1, 2);
    check_error("{\"a\": 1, \"a\": 2}", "duplicate key", 1, 10);
    char deep[5000];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    check_error(deep, "nested too deep", 1, 2049);
    /* Without the flag the last of two equal keys wins, as in Python. */
    json_t *v = clab_json_loads("{\"a\": 1, \"a\": 2}", 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 2);
    json_decref(v);
}

static void check_cell(const char *in, const char *csv, const char *tsv)
{
    json_t *v = clab_json_loads(in, 0, NULL);
    assert_non_null(v);
    clab_buf_t b = {0};
    assert_int_equal(clab_table_cell(&b, json_array_get(v, 0), CLAB_TABLE_CSV), 0);
    assert_string_equal(b.data, csv);
    int64_t len = 0;
    json_t *o = json_pack("{s:O}", "k", json_array_get(v, 0));
    assert_int_equal(clab_table_cells_len(o, CLAB_TABLE_CSV, &len), 0);
    assert_int_equal(len, (int64_t)strlen(csv));
    b.len = 0;
    assert_int_equal(clab_table_cell(&b, json_array_get(v, 0), CLAB_TABLE_TSV), 0);
    assert_string_equal(b.data, tsv);
    clab_buf_free(&b);
    json_decref(o);
    json_decref(v);
}

/* Tables: what pandas and R read back as NaN, Inf, -Inf, -0.0 and exact
 * integers; a NUL in a string is U+2400, which no reader cuts the row at. */
static void test_table_cells(void **state)
{
    (void)state;
    check_cell("[NaN]", "NaN", "NaN");
    check_cell("[Infinity]", "Inf", "Inf");
    check_cell("[-Infinity]", "-Inf", "-Inf");
    check_cell("[1e400]", "Inf", "Inf");
    check_cell("[18446744073709551616]", "18446744073709551616", "18446744073709551616");
    check_cell("[-100000000000000000000]", "-100000000000000000000",
               "-100000000000000000000");
    check_cell("[-0.0]", "-0.0", "-0.0");
    check_cell("[0.0]", "0", "0");
    check_cell("[\"a\\u0000b\"]",
               "a\xe2\x90\x80"
               "b",
               "a\xe2\x90\x80"
               "b");
    check_cell("[[NaN, 18446744073709551616]]", "\"[NaN,18446744073709551616]\"",
               "[NaN,18446744073709551616]");
}

static int decode(const char *body)
{
    const void *frames[] = {"clab/1", "result", body};
    size_t lens[] = {6, 6, strlen(body)};
    clab_msg_t m;
    const char *why = NULL;
    int rc = clab_proto_decode(frames, lens, 3, 0, &m, &why);
    clab_msg_clear(&m);
    return rc;
}

/* On the wire only a record may carry them: elsewhere the reader would
 * take one for a string. */
static void test_protocol_carries_them_in_records(void **state)
{
    (void)state;
    assert_int_equal(decode("{\"job\": \"j\", \"record\": {\"x\": NaN}}"), 0);
    assert_int_equal(
        decode("{\"results\": [{\"job\": \"j\", \"record\": {\"x\": 1e400}}]}"), 0);
    assert_int_equal(decode("{\"job\": NaN, \"record\": {}}"), -EPROTO);
    assert_int_equal(decode("{\"pid\": 18446744073709551616}"), -EPROTO);
    assert_int_equal(decode("{\"results\": [{\"job\": Infinity, \"record\": {}}]}"),
                     -EPROTO);
    assert_int_equal(decode("{\"results\": [NaN]}"), -EPROTO);
    assert_int_equal(decode("{\"a\": 1, \"a\": 2}"), -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beyond_strict),
        cmocka_unit_test(test_number_kinds),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_table_cells),
        cmocka_unit_test(test_protocol_carries_them_in_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
