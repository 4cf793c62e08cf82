/* Unit tests for the ssh tunnel (fs/tunnel.c): the destination and the
 * endpoint as ssh -L wants them, and, with a fake ssh first on PATH, the
 * command line, the restarts after ssh fails, and the stop that leaves no
 * ssh behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "procs.h"
#include "tunnel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void check_dest(const char *dest, const char *host, int port)
{
    char h[256];
    int p = -1;
    int rc = clab_tunnel_parse_dest(dest, h, sizeof h, &p);
    if (!host) {
        if (rc != -EINVAL)
            fail_msg("%s: accepted as [%s]:%d", dest, h, p);
        return;
    }
    if (rc != 0)
        fail_msg("%s: refused (%d)", dest, rc);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
}

static void test_parse_dest(void **state)
{
    (void)state;
    check_dest("login", "login", 0);
    check_dest("me@login.example.org", "me@login.example.org", 0);
    check_dest("me@login:2222", "me@login", 2222);
    check_dest("10.0.0.1:22", "10.0.0.1", 22);
    check_dest("[::1]:2200", "::1", 2200);
    check_dest("me@[fe80::1]", "me@fe80::1", 0);
    check_dest("::1", "::1", 0);
    check_dest("", NULL, 0);
    check_dest("me@", NULL, 0);
    check_dest(":22", NULL, 0);
    check_dest("login:", NULL, 0);
    check_dest("login:0", NULL, 0);
    check_dest("login:65536", NULL, 0);
    check_dest("login:22x", NULL, 0);
    check_dest("-oProxyCommand=sh", NULL, 0);
    check_dest("me@-oProxyCommand=sh", NULL, 0);
    check_dest("[::1", NULL, 0);
    check_dest("[]:22", NULL, 0);
}

static void test_remote_spec(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(clab_tunnel_remote_spec("tcp://127.0.0.1:4100", out, sizeof out), 0);
    assert_string_equal(out, "127.0.0.1:4100");
    assert_int_equal(
        clab_tunnel_remote_spec("ipc:///run/c/clients.sock", out, sizeof out), 0);
    assert_string_equal(out, "/run/c/clients.sock");
    assert_int_equal(clab_tunnel_remote_spec("tcp://*:4100", out, sizeof out), -EINVAL);
    assert_int_equal(clab_tunnel_remote_spec("tcp://host", out, sizeof out), -EINVAL);
    assert_int_equal(clab_tunnel_remote_spec("ipc://rel.sock", out, sizeof out), -EINVAL);
    assert_int_equal(clab_tunnel_remote_spec("inproc://x", out, sizeof out), -EINVAL);
}

/* A directory with a fake ssh (body: shell text after it records its pid
 * and arguments in DIR/calls), first on PATH. */
static char dir[64];
static char calls[128];

static void fake_ssh(const char *body)
{
    char path[128];
    snprintf(dir, sizeof dir, "/tmp/clab-tunnel-XXXXXX");
    if (!mkdtemp(dir))
        fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(calls, sizeof calls, "%s/calls", dir);
    snprintf(path, sizeof path, "%s/ssh", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\necho \"$$ $*\" >>%s\n%s\n", calls, body);
    fclose(f);
    chmod(path, 0755);
    char newpath[4096];
    snprintf(newpath, sizeof newpath, "%s:%s", dir, getenv("PATH"));
    setenv("PATH", newpath, 1);
}

static void remove_fake(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ssh", dir);
    unlink(path);
    unlink(calls);
    rmdir(dir);
}

static int count_calls(char lines[][512], int max)
{
    FILE *f = fopen(calls, "r");
    int n = 0;
    while (f && n < max && fgets(lines[n], 512, f))
        n++;
    if (f)
        fclose(f);
    return n;
}

static void start(clab_tunnel_t **t, char *endpoint, size_t size)
{
    clab_tunnel_opts_t o = {.dest = "me@login:2222",
                            .key = "/keys/id",
                            .remote = "tcp://127.0.0.1:4100",
                            .dir = dir,
                            .max_backoff = 1};
    char why[256];
    assert_int_equal(
        clab_tunnel_check(&(clab_tunnel_opts_t){.dest = o.dest, .remote = o.remote}, why,
                          sizeof why),
        0);
    assert_int_equal(clab_tunnel_start(&o, t, endpoint, size), 0);
}

/* ssh that fails at once is started again, with the options it needs. */
static void test_restarts_failed_ssh(void **state)
{
    (void)state;
    clab_tunnel_t *t = NULL;
    char endpoint[256], lines[8][512], want[512];
    fake_ssh("echo 'Permission denied (publickey).' >&2; exit 255");
    start(&t, endpoint, sizeof endpoint);
    snprintf(want, sizeof want, "ipc://%s/tunnel.sock", dir);
    assert_string_equal(endpoint, want);
    sleep(3);
    clab_tunnel_stop(&t);
    assert_null(t);
    int n = count_calls(lines, 8);
    if (n < 2 || n > 4)
        fail_msg("ssh started %d times in 3 s (back-off 1 s)", n);
    snprintf(
        want, sizeof want,
        " -N -o BatchMode=yes -o ExitOnForwardFailure=yes -o ServerAliveInterval=5 -o "
        "ServerAliveCountMax=2 -o ConnectTimeout=10 -o StreamLocalBindUnlink=yes -i "
        "/keys/id -p 2222 -L %s/tunnel.sock:127.0.0.1:4100 -- me@login\n",
        dir);
    assert_non_null(strstr(lines[0], want));
    remove_fake();
}

/* A running ssh is ended by the stop, and only started once. */
static void test_stop_ends_ssh(void **state)
{
    (void)state;
    clab_tunnel_t *t = NULL;
    char endpoint[256], lines[8][512];
    fake_ssh("exec sleep 1000");
    start(&t, endpoint, sizeof endpoint);
    for (int i = 0; i < 100 && count_calls(lines, 8) == 0; i++)
        usleep(20000);
    sleep(1);
    clab_tunnel_stop(&t);
    assert_int_equal(count_calls(lines, 8), 1);
    pid_t pid = (pid_t)atoi(lines[0]);
    assert_true(pid > 0);
    assert_true(process_gone(pid));
    remove_fake();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_dest),
        cmocka_unit_test(test_remote_spec),
        cmocka_unit_test(test_restarts_failed_ssh),
        cmocka_unit_test(test_stop_ends_ssh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
