/* SHA-256 and HMAC-SHA-256 (sha256.c) against the published vectors:
 * FIPS 180-2's examples (empty, "abc", the 448-bit message, a million
 * 'a' fed in odd pieces) and RFC 4231's HMAC cases, a key longer than a
 * block among them; and a file's digest equals its content's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"

static void hex_of(const void *data, size_t len, char out[CLAB_SHA256_HEX])
{
    unsigned char d[CLAB_SHA256_LEN];
    clab_sha256(data, len, d);
    clab_hex(d, sizeof d, out);
}

static void test_vectors(void **state)
{
    (void)state;
    char h[CLAB_SHA256_HEX];
    hex_of("", 0, h);
    assert_string_equal(
        h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, h);
    assert_string_equal(
        h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m, strlen(m), h);
    assert_string_equal(
        h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a_in_pieces(void **state)
{
    (void)state;
    char a[997];
    memset(a, 'a', sizeof a);
    clab_sha256_t s;
    clab_sha256_init(&s);
    size_t left = 1000000;
    for (size_t piece = 1; left > 0; piece = (piece * 31 + 7) % sizeof a + 1) {
        size_t n = piece < left ? piece : left;
        clab_sha256_update(&s, a, n);
        left -= n;
    }
    unsigned char d[CLAB_SHA256_LEN];
    char h[CLAB_SHA256_HEX];
    clab_sha256_final(&s, d);
    clab_hex(d, sizeof d, h);
    assert_string_equal(
        h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void hmac_hex(const void *key, size_t klen, const char *msg, char *out)
{
    unsigned char d[CLAB_SHA256_LEN];
    const void *parts[] = {msg};
    size_t lens[] = {strlen(msg)};
    clab_hmac_sha256(key, klen, parts, lens, 1, d);
    clab_hex(d, sizeof d, out);
}

static void test_hmac(void **state)
{
    (void)state;
    char h[CLAB_SHA256_HEX];
    unsigned char k1[20], k6[131];
    memset(k1, 0x0b, sizeof k1);
    hmac_hex(k1, sizeof k1, "Hi There", h);
    assert_string_equal(
        h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hmac_hex("Jefe", 4, "what do ya want for nothing?", h);
    assert_string_equal(
        h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(k6, 0xaa, sizeof k6);
    hmac_hex(k6, sizeof k6, "Test Using Larger Than Block-Size Key - Hash Key First", h);
    assert_string_equal(
        h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* Parts are one message. */
    unsigned char d[CLAB_SHA256_LEN];
    const void *parts[] = {"what do ya ", "want for nothing?"};
    size_t lens[] = {11, 17};
    clab_hmac_sha256("Jefe", 4, parts, lens, 2, d);
    clab_hex(d, sizeof d, h);
    assert_string_equal(
        h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/clab-sha256-XXXXXX", h[CLAB_SHA256_HEX];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    assert_int_equal(clab_sha256_file(path, h), 0);
    assert_string_equal(
        h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unlink(path);
    assert_int_equal(clab_sha256_file(path, h), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a_in_pieces),
        cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
