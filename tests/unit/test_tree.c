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

static int take(void *ud, const char *name, const clab_node_t *child, off_t next)
{
    list_t *l = ud;
    if (l->n == l->max)
        return 1;
    strncpy(l->names[l->n], name, sizeof l->names[0] - 1);
    l->dirs[l->n] = clab_node_is_dir(child);
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

/* Inode numbers: the root is 1, a fixed node outside sets its kind alone,
 * a set's nodes carry the set's id (and N), and decoding one finds the
 * node again, or ENOENT for a number no node has. */
static void test_inos(void **state)
{
    (void)state;
    clab_lab_t lab;
    clab_node_t node, back;
    clab_lab_init(&lab);
    assert_int_equal(clab_tree_lookup(&lab, "/", &node), 0);
    assert_int_equal(clab_node_ino(&node), CLAB_INO_ROOT);
    assert_int_equal(clab_tree_node(&lab, CLAB_INO_ROOT, &back), 0);
    assert_int_equal(back.kind, CLAB_NODE_ROOT);
    static const char *const fixed[] = {"/submit",        "/ctl",     "/status",
                                        "/status.json",   "/errors",  "/wait",
                                        "/notebook.json", "/engines", "/results"};
    uint64_t seen[16];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        assert_int_equal(clab_tree_lookup(&lab, fixed[i], &node), 0);
        seen[i] = clab_node_ino(&node);
        assert_true(seen[i] > CLAB_INO_ROOT);
        assert_true(seen[i] < UINT64_C(1) << 63);
        for (size_t j = 0; j < i; j++)
            assert_true(seen[j] != seen[i]);
        assert_int_equal(clab_tree_node(&lab, seen[i], &back), 0);
        assert_int_equal(back.kind, node.kind);
        assert_int_equal(clab_tree_node(&lab, seen[i] + 1, &back), -ENOENT);
        struct stat st;
        clab_tree_attr(&node, 0, 0, &st);
        assert_int_equal(st.st_ino, seen[i]);
    }
    assert_int_equal(clab_tree_node(&lab, 0, &back), -ENOENT);
    assert_int_equal(clab_tree_node(&lab, UINT64_MAX, &back), -ENOENT);
    /* A set's nodes and result files: different numbers for each kind, set
     * and N; too large a set id or N has none. */
    clab_node_t r = {.kind = CLAB_NODE_RESULT, .set = 3, .n = 7};
    clab_node_t f = {.kind = CLAB_NODE_FAILED_RESULT, .set = 3, .n = 7};
    clab_node_t r2 = {.kind = CLAB_NODE_RESULT, .set = 4, .n = 7};
    clab_node_t d = {.kind = CLAB_NODE_SET, .set = 3};
    assert_true(clab_node_ino(&r) != clab_node_ino(&f));
    assert_true(clab_node_ino(&r) != clab_node_ino(&r2));
    assert_true(clab_node_ino(&r) != clab_node_ino(&d));
    r.n = (long)(UINT64_C(1) << 32);
    assert_int_equal(clab_node_ino(&r), 0);
    r.n = 7;
    r.set = INT64_C(1) << 26;
    assert_int_equal(clab_node_ino(&r), 0);
    /* The cache: result files and the inboxes always, a set's directories
     * and tables once settled, live files never. */
    assert_true(clab_node_timeout(&f) >= 3600);
    d.pending = 2;
    assert_true(clab_node_timeout(&d) == 0);
    d.pending = 0;
    assert_true(clab_node_timeout(&d) >= 3600);
    clab_node_t status = {.kind = CLAB_NODE_SET_STATUS, .set = 3};
    assert_true(clab_node_timeout(&status) == 0);
    uint64_t inos[CLAB_NODE_KINDS];
    size_t n = clab_tree_set_inos(3, inos);
    assert_int_equal(n, 5); /* the set, failed/, the three tables */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(inos[i] & ((UINT64_C(1) << 58) - 1), 3);
    clab_lab_fini(&lab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_inos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
