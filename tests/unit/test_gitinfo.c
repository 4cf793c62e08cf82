/* Reading .git for provenance (gitinfo.c), on repositories written by
 * hand: HEAD to a loose ref, to a packed one, detached, a worktree's
 * `gitdir:` file with its commondir, no repository, and an index whose
 * stat data match the work tree or not. (tests/integration/
 * test_provenance.sh reads what git itself writes.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gitinfo.h"

#define C1 "1111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222"

static char root[PATH_MAX];

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/clab-gitinfo.XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static clab_git_info_t info_of(const char *rel, int want_rc)
{
    char path[PATH_MAX * 2];
    clab_git_info_t g;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_int_equal(clab_git_info(path, &g), want_rc);
    return g;
}

static void test_refs(void **state)
{
    (void)state;
    put("w/sub/exp.py", "x\n");
    info_of("w/sub/exp.py", -ENOENT);
    put("w/.git/HEAD", "ref: refs/heads/main\n");
    put("w/.git/packed-refs", "# pack-refs with: peeled\n" C2 " refs/heads/other\n" C1
                              " refs/heads/main\n^" C2 "\n");
    clab_git_info_t g = info_of("w/sub/exp.py", 0);
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "%s/w", root);
    assert_string_equal(g.root, want);
    assert_string_equal(g.commit, C1);
    /* No index: dirty cannot be told. */
    assert_int_equal(g.dirty, CLAB_GIT_DIRTY_UNKNOWN);
    assert_string_equal(clab_git_dirty_name(g.dirty), "unknown");
    /* A loose ref wins over packed-refs. */
    put("w/.git/refs/heads/main", C2 "\n");
    assert_string_equal(info_of("w/sub/exp.py", 0).commit, C2);
    /* Detached. */
    put("w/.git/HEAD", C1 "\n");
    assert_string_equal(info_of("w/sub/exp.py", 0).commit, C1);
    /* An unborn branch: the repository, no commit. */
    put("w/.git/HEAD", "ref: refs/heads/none\n");
    assert_string_equal(info_of("w/sub/exp.py", 0).commit, "");
}

static void test_worktree(void **state)
{
    (void)state;
    put("main/.git/refs/heads/topic", C2 "\n");
    put("main/.git/worktrees/wt/HEAD", "ref: refs/heads/topic\n");
    put("main/.git/worktrees/wt/commondir", "../..\n");
    char text[PATH_MAX * 2];
    snprintf(text, sizeof text, "gitdir: %s/main/.git/worktrees/wt\n", root);
    put("wt/.git", text);
    put("wt/exp.py", "x\n");
    assert_string_equal(info_of("wt/exp.py", 0).commit, C2);
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An index (version 2) of one entry, name, with file's stat data. */
static void write_index(const char *name, const struct stat *st)
{
    unsigned char buf[256] = {0};
    memcpy(buf, "DIRC", 4);
    be32(buf + 4, 2);
    be32(buf + 8, 1);
    unsigned char *e = buf + 12;
    be32(e + 8, (uint32_t)st->st_mtim.tv_sec);
    be32(e + 12, (uint32_t)st->st_mtim.tv_nsec);
    be32(e + 24, 0100644);
    be32(e + 36, (uint32_t)st->st_size);
    size_t len = strlen(name);
    e[60] = (unsigned char)(len >> 8);
    e[61] = (unsigned char)len;
    memcpy(e + 62, name, len);
    size_t total = 12 + ((62 + len + 8) & ~(size_t)7) + 20;
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/d/.git/index", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, total, f), total);
    fclose(f);
}

static void test_dirty(void **state)
{
    (void)state;
    char path[PATH_MAX * 2];
    struct stat st;
    put("d/.git/HEAD", C1 "\n");
    put("d/exp.py", "one\n");
    snprintf(path, sizeof path, "%s/d/exp.py", root);
    assert_int_equal(stat(path, &st), 0);
    write_index("exp.py", &st);
    assert_int_equal(info_of("d/exp.py", 0).dirty, CLAB_GIT_CLEAN);
    assert_string_equal(clab_git_dirty_name(CLAB_GIT_CLEAN), "no");
    put("d/exp.py", "one more\n");
    assert_int_equal(info_of("d/exp.py", 0).dirty, CLAB_GIT_DIRTY);
    assert_string_equal(clab_git_dirty_name(CLAB_GIT_DIRTY), "yes");
    /* A tracked file gone is a change too. */
    write_index("gone.py", &st);
    assert_int_equal(info_of("d/exp.py", 0).dirty, CLAB_GIT_DIRTY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_worktree),
        cmocka_unit_test(test_dirty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
