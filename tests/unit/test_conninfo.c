/* The endpoint the connection files name for a bound socket: a concrete
 * address is kept; a wildcard bind is named by an address (or the name)
 * other hosts can use, never 0.0.0.0, with the same port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The atomic replace that the connection files and STATE/engines share:
 * the content, the mode, no PATH.tmp left behind, an empty file too. */
static void test_write_file_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/clab-conninfo-XXXXXX", path[64], tmp[80], got[32] = {0};
    struct stat st;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(clab_write_file_atomic(path, "old\n", 4, 0600, 1), 0);
    assert_int_equal(clab_write_file_atomic(path, "a b 1\n", 6, 0600, 0), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(got, 1, sizeof got - 1, f), 6);
    fclose(f);
    assert_string_equal(got, "a b 1\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(clab_write_file_atomic(path, "", 0, 0600, 0), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    snprintf(tmp, sizeof tmp, "%s/no/such", dir);
    assert_int_equal(clab_write_file_atomic(tmp, "x", 1, 0600, 0), -ENOENT);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_endpoint),
        cmocka_unit_test(test_write_file_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
