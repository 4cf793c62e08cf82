/* The notebook's files in a state directory (issue 21): made 0600 whatever
 * the umask, the -wal and -shm SQLite makes beside it too, and a notebook,
 * -wal or -shm that is a symbolic link refused with the link's target
 * untouched. */
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

#include "notebook.h"

typedef struct {
    char dir[64], db[128], target[128];
} files_t;

static int setup(void **state)
{
    files_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/clabnbf.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/notebook.db", f->dir);
    snprintf(f->target, sizeof f->target, "%s/target", f->dir);
    FILE *t = fopen(f->target, "w");
    assert_non_null(t);
    fputs("not a notebook\n", t);
    fclose(t);
    chmod(f->target, 0644);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    files_t *f = *state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int mode_of(const char *dir, const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void target_untouched(const files_t *f)
{
    char got[64] = {0};
    FILE *t = fopen(f->target, "r");
    assert_non_null(t);
    assert_non_null(fgets(got, sizeof got, t));
    fclose(t);
    assert_string_equal(got, "not a notebook\n");
    assert_int_equal(mode_of(f->dir, "target"), 0644);
}

static void test_modes(void **state)
{
    files_t *f = *state;
    clab_notebook_t *nb = NULL;
    mode_t old = umask(022);
    int rc = clab_notebook_open(f->db, &nb);
    umask(old);
    assert_int_equal(rc, 0);
    /* The WAL and its index exist once the notebook was written. */
    assert_int_equal(mode_of(f->dir, "notebook.db"), 0600);
    assert_int_equal(mode_of(f->dir, "notebook.db-wal"), 0600);
    assert_int_equal(mode_of(f->dir, "notebook.db-shm"), 0600);
    clab_notebook_destroy(&nb);
    /* Opened again under a umask of 0: as it was. */
    old = umask(0);
    rc = clab_notebook_open(f->db, &nb);
    umask(old);
    assert_int_equal(rc, 0);
    assert_int_equal(mode_of(f->dir, "notebook.db"), 0600);
    assert_int_equal(mode_of(f->dir, "notebook.db-wal"), 0600);
    clab_notebook_destroy(&nb);
}

/* name (notebook.db, -wal or -shm) as a link to target: refused. */
static void refused(files_t *f, const char *name)
{
    char path[256];
    clab_notebook_t *nb = NULL;
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    assert_int_equal(symlink(f->target, path), 0);
    assert_true(clab_notebook_open(f->db, &nb) < 0);
    assert_null(nb);
    target_untouched(f);
    unlink(path);
}

static void test_links(void **state)
{
    files_t *f = *state;
    refused(f, "notebook.db");
    /* A link to nothing yet: no notebook made where it points. */
    char where[256];
    clab_notebook_t *nb = NULL;
    snprintf(where, sizeof where, "%s/elsewhere.db", f->dir);
    assert_int_equal(symlink(where, f->db), 0);
    assert_true(clab_notebook_open(f->db, &nb) < 0);
    assert_null(nb);
    assert_int_equal(mode_of(f->dir, "elsewhere.db"), -1);
    unlink(f->db);
    /* An existing notebook, whose -wal or -shm is planted as a link. */
    assert_int_equal(clab_notebook_open(f->db, &nb), 0);
    clab_notebook_destroy(&nb);
    assert_int_equal(mode_of(f->dir, "notebook.db-wal"), -1);
    refused(f, "notebook.db-wal");
    refused(f, "notebook.db-shm");
    assert_int_equal(clab_notebook_open(f->db, &nb), 0);
    clab_notebook_destroy(&nb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
