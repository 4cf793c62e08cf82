/* JSON text as clabfs writes it: shortest round-trip numbers, sorted keys,
 * escapes; and the UTF-8 scanning (backend/utf8.c) beneath it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

static void check_double(double d, int real, const char *want)
{
    char out[40];
    int n = clab_fmt_double(out, d, real);
    assert_string_equal(out, want);
    assert_int_equal(n, (int)strlen(want));
}

static void test_shortest_doubles(void **state)
{
    (void)state;
    check_double(0.1, 0, "0.1");
    check_double(0.1 + 0.2, 0, "0.30000000000000004");
    check_double(1.0, 0, "1");
    check_double(1.0, 1, "1.0");
    check_double(-2.5, 1, "-2.5");
    check_double(1e22, 0, "1e+22");
    check_double(1e22, 1, "1e+22");
    check_double(123456789.125, 0, "123456789.125");
    check_double(5e-324, 0, "5e-324");
    check_double(1.0 / 3.0, 0, "0.3333333333333333");
}

static void check_dump(const char *in, const char *want)
{
    json_t *v = json_loads(in, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    char *out = clab_json_dumps(v);
    assert_string_equal(out, want);
    free(out);
    json_decref(v);
}

static void test_dump(void **state)
{
    (void)state;
    check_dump("{\"b\": 1, \"a\": [0.1, 2.0, true, null, \"x\"]}",
               "{\"a\":[0.1,2.0,true,null,\"x\"],\"b\":1}");
    check_dump("{}", "{}");
    check_dump("[]", "[]");
    check_dump("\"tab\\there \\\"q\\\" back\\\\ \\u0001 é\"",
               "\"tab\\there \\\"q\\\" back\\\\ \\u0001 é\"");
    check_dump("{\"z\": {\"y\": 1, \"x\": 2}}", "{\"z\":{\"x\":2,\"y\":1}}");
    check_dump("-9223372036854775808", "-9223372036854775808");
}

static void test_round_trip(void **state)
{
    (void)state;
    /* Whatever we print, jansson reads back as the same value. */
    double vals[] = {0.1, 0.7, 1e-7, 3.14159, 2.0 / 3.0, 1e300, -0.0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        json_t *v = json_real(vals[i]);
        char *text = clab_json_dumps(v);
        json_t *back = json_loads(text, JSON_DECODE_ANY, NULL);
        assert_non_null(back);
        assert_true(json_is_real(back));
        assert_true(json_real_value(back) == vals[i]);
        json_decref(back);
        json_decref(v);
        free(text);
    }
}

static void test_buf(void **state)
{
    (void)state;
    clab_buf_t b = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(clab_buf_printf(&b, "%d,", i), 0);
    assert_int_equal(b.len, strlen(b.data));
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_memory_equal(b.data + b.len - 4, "999,", 4);
    clab_buf_free(&b);
    assert_null(b.data);
}

static void test_utf8_len(void **state)
{
    (void)state;
    assert_int_equal(clab_utf8_len("a", 1), 1);
    assert_int_equal(clab_utf8_len("\xc3\xa9", 2), 2);         /* é */
    assert_int_equal(clab_utf8_len("\xe2\x82\xac", 3), 3);     /* € */
    assert_int_equal(clab_utf8_len("\xf0\x9f\x98\x80", 4), 4); /* U+1F600 */
    assert_int_equal(clab_utf8_len("\xc3\xa9", 1), 0);         /* cut short */
    assert_int_equal(clab_utf8_len("\xc0\x80", 2), 0);         /* overlong */
    assert_int_equal(clab_utf8_len("\xe0\x80\x80", 3), 0);     /* overlong */
    assert_int_equal(clab_utf8_len("\xed\xa0\x80", 3), 0);     /* surrogate */
    assert_int_equal(clab_utf8_len("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    assert_int_equal(clab_utf8_len("\x80", 1), 0);             /* continuation */
    assert_int_equal(clab_utf8_len("\xc3"
                                   "a",
                                   2),
                     0);
}

static void test_utf8_cut_floor(void **state)
{
    (void)state;
    assert_int_equal(clab_utf8_cut("ab", 2), 2);
    assert_int_equal(clab_utf8_cut("", 0), 0);
    assert_int_equal(clab_utf8_cut("a\xc3", 2), 1);
    assert_int_equal(clab_utf8_cut("a\xc3\xa9", 3), 3);
    assert_int_equal(clab_utf8_cut("a\xe2\x82", 3), 1);
    assert_int_equal(clab_utf8_cut("\xf0\x9f\x98", 3), 0);
    assert_int_equal(clab_utf8_cut("\xf0\x9f\x98\x80", 4), 4);
    assert_int_equal(clab_utf8_cut("\x80\x80", 2), 2); /* no lead byte at all */

    const char *s = "x\xe2\x82\xacy";
    assert_int_equal(clab_utf8_floor(s, 0), 0);
    assert_int_equal(clab_utf8_floor(s, 1), 1);
    assert_int_equal(clab_utf8_floor(s, 2), 1);
    assert_int_equal(clab_utf8_floor(s, 3), 1);
    assert_int_equal(clab_utf8_floor(s, 4), 4);
}

/* Cut at 48 bytes, never inside a character. */
static void test_show(void **state)
{
    (void)state;
    char out[128];
    clab_json_show(out, sizeof out, "short");
    assert_string_equal(out, "\"short\"");
    char long_text[64];
    memset(long_text, 'a', 47);
    memcpy(long_text + 47, "\xc3\xa9zzzz", 7);
    long_text[54] = '\0';
    clab_json_show(out, sizeof out, long_text);
    assert_int_equal(strlen(out), 1 + 47 + 4);
    assert_string_equal(out + 48, "...\"");
}

/* The exact words fs/space.c and fs/submit.c put in their messages. */
static void test_type_name(void **state)
{
    (void)state;
    static const struct {
        const char *text, *name;
    } cases[] = {
        {"{}", "an object"},    {"[]", "an array"},       {"\"s\"", "a string"},
        {"1", "an integer"},    {"1.5", "a real number"}, {"true", "a boolean"},
        {"false", "a boolean"}, {"null", "null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *v = json_loads(cases[i].text, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        assert_string_equal(clab_json_type_name(v), cases[i].name);
        json_decref(v);
    }
    assert_string_equal(clab_json_type_name(NULL), "nothing");
}

/* The scanners' string skip: escapes (a quote, a backslash) stay inside;
 * an unterminated string runs to the end. */
static void test_string_end(void **state)
{
    (void)state;
    const char *t = "\"a\\\"b\\\\\" x";
    assert_int_equal(clab_json_string_end(t, strlen(t), 0), 7);
    assert_int_equal(clab_json_string_end("\"\"", 2, 0), 1);
    assert_int_equal(clab_json_string_end("\"abc", 4, 0), 4);
    assert_int_equal(clab_json_string_end("\"ab\\", 4, 0), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shortest_doubles),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_string_end),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_utf8_cut_floor),
        cmocka_unit_test(test_show),
        cmocka_unit_test(test_type_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
