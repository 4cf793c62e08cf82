/* Base64 (backend/common/base64.c), as the job's files travel in JSON:
 * RFC 4648's test vectors both ways, every byte value, and the texts the
 * decoder refuses (a submit's files and a peer's messages are not
 * trusted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base64.h"
#include "buf.h"

#include <errno.h>
#include <string.h>

static void test_vectors(void **state)
{
    (void)state;
    static const char *const v[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        clab_buf_t b = {0};
        assert_int_equal(clab_base64_encode(v[i][0], strlen(v[i][0]), &b), 0);
        assert_int_equal(b.len, strlen(v[i][1]));
        assert_memory_equal(b.data ? b.data : "", v[i][1], b.len);
        clab_buf_free(&b);
        assert_int_equal(clab_base64_decode(v[i][1], strlen(v[i][1]), &b), 0);
        assert_int_equal(b.len, strlen(v[i][0]));
        assert_memory_equal(b.data ? b.data : "", v[i][0], b.len);
        clab_buf_free(&b);
    }
}

static void test_every_byte(void **state)
{
    (void)state;
    unsigned char all[256 * 3];
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (unsigned char)(i * 7 + i / 256);
    for (size_t n = 0; n <= sizeof all; n += 85) {
        clab_buf_t e = {0}, d = {0};
        assert_int_equal(clab_base64_encode(all, n, &e), 0);
        assert_int_equal(e.len, (n + 2) / 3 * 4);
        assert_int_equal(clab_base64_decode(e.data ? e.data : "", e.len, &d), 0);
        assert_int_equal(d.len, n);
        assert_memory_equal(d.data ? d.data : "", all, n);
        clab_buf_free(&e);
        clab_buf_free(&d);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {"Zg",   "Zg=",  "Zm9v\n", "Zm 9v", "Zm9v====",
                                      "Z===", "Zg=a", "=Zm9",   "Zm-_",  "Zh=="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        clab_buf_t b = {0};
        if (clab_base64_decode(bad[i], strlen(bad[i]), &b) != -EINVAL)
            fail_msg("\"%s\" decoded", bad[i]);
        clab_buf_free(&b);
    }
    assert_int_equal(clab_base64_decoded_len("Zm9vYmE="), 5);
    assert_int_equal(clab_base64_decoded_len("Zm9vYg=="), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
