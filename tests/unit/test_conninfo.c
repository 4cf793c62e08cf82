/* The endpoint the connection files name for a bound socket: a concrete
 * address is kept; a wildcard bind is named by an address (or the name)
 * other hosts can use, never 0.0.0.0, with the same port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
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

/* read_all PATH: its first bytes, as a string (static). */
static const char *read_all(const char *path)
{
    static char got[64];
    memset(got, 0, sizeof got);
    FILE *f = fopen(path, "r");
    if (!f)
        return "(none)";
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = '\0';
    fclose(f);
    return got;
}

/* Issue 21: links planted in a state directory are not followed. One as
 * PATH.tmp (which the write used to open with O_TRUNC, through the link)
 * or as PATH leaves its target as it was, and PATH becomes a file of its
 * own. */
static void test_write_file_atomic_links(void **state)
{
    (void)state;
    char dir[] = "/tmp/clab-conninfo-XXXXXX", path[64], tmp[80], target[80];
    struct stat st;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tunnel.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(target, sizeof target, "%s/target", dir);
    FILE *f = fopen(target, "w");
    fputs("target\n", f);
    fclose(f);
    assert_int_equal(symlink(target, tmp), 0);
    assert_int_equal(clab_write_file_atomic(path, "new\n", 4, 0600, 1), 0);
    assert_string_equal(read_all(target), "target\n");
    assert_string_equal(read_all(path), "new\n");
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(lstat(tmp, &st), -1);
    /* A link as PATH itself is replaced, not written through. */
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(clab_write_file_atomic(path, "newer\n", 6, 0600, 0), 0);
    assert_string_equal(read_all(target), "target\n");
    assert_string_equal(read_all(path), "newer\n");
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    /* A stale PATH.tmp of a crashed write is replaced too. */
    f = fopen(tmp, "w");
    fputs("stale and longer\n", f);
    fclose(f);
    assert_int_equal(clab_write_file_atomic(path, "x\n", 2, 0600, 0), 0);
    assert_string_equal(read_all(path), "x\n");
    unlink(path);
    unlink(target);
    rmdir(dir);
}

/* Files clabfs keeps in its state directory: created 0600 whatever the
 * umask, opened again as they are, never through a link, never anything
 * but a regular file (a FIFO would block the open for ever). */
static void test_open_private(void **state)
{
    (void)state;
    char dir[] = "/tmp/clab-conninfo-XXXXXX", path[64], link[64], fifo[64];
    struct stat st;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/clabfs.log", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    mode_t old = umask(0);
    int fd = clab_open_private(path, O_WRONLY | O_CREAT | O_APPEND);
    umask(old);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "one\n", 4), 4);
    close(fd);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A umask that would take the owner's bits: still 0600. */
    unlink(path);
    old = umask(0277);
    fd = clab_open_private(path, O_WRONLY | O_CREAT | O_APPEND);
    umask(old);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "one\n", 4), 4);
    close(fd);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Opened again: appended to, its mode as it is. */
    chmod(path, 0640);
    fd = clab_open_private(path, O_WRONLY | O_CREAT | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "two\n", 4), 4);
    close(fd);
    assert_string_equal(read_all(path), "one\ntwo\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(clab_open_private(path, O_RDWR | O_CREAT | O_EXCL), -EEXIST);
    /* Links and FIFOs: refused, their targets untouched. */
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(clab_open_private(link, O_WRONLY | O_CREAT | O_APPEND), -ELOOP);
    assert_int_equal(clab_open_private(link, O_RDWR), -ELOOP);
    assert_string_equal(read_all(path), "one\ntwo\n");
    unlink(link);
    snprintf(fifo, sizeof fifo, "%s/dangling", dir);
    assert_int_equal(symlink("/nonexistent/clab-target", fifo), 0);
    assert_int_equal(clab_open_private(fifo, O_WRONLY | O_CREAT), -ELOOP);
    unlink(fifo);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(clab_open_private(fifo, O_WRONLY | O_CREAT | O_APPEND), -EINVAL);
    assert_int_equal(clab_open_private(dir, O_RDONLY), -EINVAL);
    unlink(fifo);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_endpoint),
        cmocka_unit_test(test_write_file_atomic),
        cmocka_unit_test(test_write_file_atomic_links),
        cmocka_unit_test(test_open_private),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
