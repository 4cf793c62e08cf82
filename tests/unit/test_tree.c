/* The node table (fs/tree.c): rows that agree with each other, and the
 * paths and listings that come out of it without a notebook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tree.h"

#include <errno.h>
#include <string.h>

static void test_rows(void **state)
{
    (void)state;
    assert_true(S_ISDIR(clab_node_info(CLAB_NODE_ROOT)->mode));
    for (int k = CLAB_NODE_ROOT + 1; k < CLAB_NODE_KINDS; k++) {
        const clab_node_info_t *row = clab_node_info((clab_node_kind_t)k);
        const clab_node_info_t *parent = clab_node_info(row->parent);
        assert_non_null(row->name);
        assert_true(S_ISDIR(parent->mode));
        /* Directories have no renderer; every file has one. */
        assert_int_equal(S_ISDIR(row->mode), row->render == CLAB_RENDER_NONE);
        assert_false(S_ISDIR(row->mode) && row->live);
        int patterns = 0;
        for (int j = CLAB_NODE_ROOT + 1; j < CLAB_NODE_KINDS; j++) {
            const clab_node_info_t *other = clab_node_info((clab_node_kind_t)j);
            if (j == k || other->parent != row->parent)
                continue;
            patterns += other->shape != CLAB_NAME_FIXED;
            if (row->shape == CLAB_NAME_FIXED && other->shape == CLAB_NAME_FIXED)
                assert_string_not_equal(row->name, other->name);
        }
        assert_true(patterns + (row->shape != CLAB_NAME_FIXED) <= 1);
    }
}

typedef struct {
    char names[16][32];
    off_t next[16];
    int dirs[16];
    int n, max;
} list_t;

static int take(void *ud, const char *name, int is_dir, off_t next)
{
    list_t *l = ud;
    if (l->n == l->max)
        return 1;
    strncpy(l->names[l->n], name, sizeof l->names[0] - 1);
    l->dirs[l->n] = is_dir;
    l->next[l->n++] = next;
    return 0;
}

static void test_root(void **state)
{
    (void)state;
    static const char *const want[] = {
        ".",           "..",     "submit",        "ctl",     "status",
        "status.json", "errors", "notebook.json", "engines", "results"};
    clab_lab_t lab;
    clab_node_t node;
    clab_lab_init(&lab);
    assert_int_equal(clab_tree_lookup(&lab, "/", &node), 0);
    list_t l = {.max = 16};
    assert_int_equal(clab_tree_readdir(&lab, &node, 0, take, &l), 0);
    assert_int_equal(l.n, 10);
    for (int i = 0; i < l.n; i++) {
        assert_string_equal(l.names[i], want[i]);
        assert_int_equal(l.next[i], i + 1);
    }
    assert_true(l.dirs[8] && l.dirs[9] && !l.dirs[2]);
    /* Resumed from a cookie: the entries after it. */
    list_t rest = {.max = 16};
    assert_int_equal(clab_tree_readdir(&lab, &node, 7, take, &rest), 0);
    assert_int_equal(rest.n, 3);
    assert_string_equal(rest.names[0], "notebook.json");

    struct stat st;
    assert_int_equal(clab_tree_lookup(&lab, "//ctl", &node), 0);
    assert_int_equal(node.kind, CLAB_NODE_CTL);
    clab_tree_attr(&node, 0, 0, &st);
    assert_int_equal(st.st_mode, S_IFREG | 0200);
    assert_int_equal(clab_tree_lookup(&lab, "/submit/x", &node), -ENOTDIR);
    assert_int_equal(clab_tree_lookup(&lab, "/nosuch", &node), -ENOENT);
    /* Files whose reads block open by name and are never listed, so that
     * tools walking the tree do not block on them. */
    assert_int_equal(clab_tree_lookup(&lab, "/wait", &node), 0);
    assert_int_equal(node.kind, CLAB_NODE_LAB_WAIT);
    assert_true(clab_node_info(node.kind)->unlisted);
    assert_true(clab_node_info(CLAB_NODE_WAIT)->unlisted);
    for (int k = 0; k < CLAB_NODE_KINDS; k++)
        assert_int_equal(clab_node_info(k)->unlisted,
                         clab_node_info(k)->render == CLAB_RENDER_WAIT);
    /* Not connected: no engines at all. */
    assert_int_equal(clab_tree_lookup(&lab, "/engines", &node), 0);
    assert_true(clab_node_is_dir(&node));
    assert_int_equal(clab_tree_lookup(&lab, "/engines/e1", &node), -ENOENT);
    clab_lab_fini(&lab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
