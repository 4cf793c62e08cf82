/* The endpoint the connection files name for a bound socket: a concrete
 * address is kept; a wildcard bind is named by an address (or the name)
 * other hosts can use, never 0.0.0.0, with the same port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "conninfo.h"

static void test_public_endpoint(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(
        clab_conninfo_public_endpoint("tcp://10.1.2.3:5555", out, sizeof out), 0);
    assert_string_equal(out, "tcp://10.1.2.3:5555");
    assert_int_equal(
        clab_conninfo_public_endpoint("ipc:///tmp/x/engines.sock", out, sizeof out), 0);
    assert_string_equal(out, "ipc:///tmp/x/engines.sock");
    assert_int_equal(clab_conninfo_public_endpoint("tcp://0.0.0.0:5555", out, sizeof out),
                     0);
    assert_int_equal(strncmp(out, "tcp://", 6), 0);
    assert_null(strstr(out, "0.0.0.0"));
    size_t n = strlen(out);
    assert_true(n > 11 && strcmp(out + n - 5, ":5555") == 0);
    assert_int_equal(clab_conninfo_public_endpoint("tcp://0.0.0.0:5555", out, 8),
                     -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
