/* Fuzz target: clab_submission_parse, the parser of what users write to
 * /submit. Any byte string must give one of the documented answers with a
 * well-formed error (one line, a position inside the text), and an accepted
 * job must be consistent: points = space size x repetitions, within the
 * limit, and its first and last points computable. */
#include "fuzz_common.h"
#include "submit.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Small enough that the fuzzer reaches the E2BIG paths for both limits. */
static const clab_submit_limits_t limits = {.max_text = 3000, .max_points = 100000};

static void check_error(const clab_submit_error_t *err, int rc, size_t len)
{
    FUZZ_CHECK(err->code == (rc == -EAGAIN ? EINVAL : -rc));
    FUZZ_CHECK(err->message[0] != '\0');
    for (const char *m = err->message; *m; m++)
        FUZZ_CHECK((unsigned char)*m >= 0x20);
    FUZZ_CHECK(err->position >= -1 && err->position <= (long)len);
    if (err->position >= 0)
        FUZZ_CHECK(err->line >= 1 && err->column >= 1);
    else
        FUZZ_CHECK(err->line == 0 && err->column == 0);
}

/* A point of parameters has every axis; an explicit point some of them. */
static void check_point(const clab_submission_t *sub, size_t i)
{
    json_t *pt = clab_space_point(sub->space, i);
    FUZZ_CHECK(pt && json_is_object(pt));
    if (sub->explicit_points)
        FUZZ_CHECK(json_object_size(pt) <= clab_space_axes(sub->space));
    else
        FUZZ_CHECK(json_object_size(pt) == clab_space_axes(sub->space));
    json_decref(pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clab_submission_t *sub = NULL;
    clab_submit_error_t err;
    int rc = clab_submission_parse((const char *)data, size, &limits, &sub, &err);

    FUZZ_CHECK(rc == 0 || rc == -EAGAIN || rc == -EINVAL || rc == -ENOENT ||
               rc == -EACCES || rc == -E2BIG || rc == -ENOMEM);
    FUZZ_CHECK((rc == 0) == (sub != NULL));
    if (rc) {
        check_error(&err, rc, size);
        return 0;
    }
    FUZZ_CHECK(sub->experiment && sub->experiment[0] == '/');
    FUZZ_CHECK(sub->explicit_points ? !sub->parameters : json_is_object(sub->parameters));
    FUZZ_CHECK(sub->repetitions >= 1);
    FUZZ_CHECK(sub->timeout >= 0);
    FUZZ_CHECK(!sub->tag || clab_tag_valid(sub->tag));
    size_t n = clab_space_size(sub->space);
    FUZZ_CHECK(n >= 1 && sub->points >= 1 && sub->points <= limits.max_points);
    FUZZ_CHECK(sub->points == n * (size_t)sub->repetitions);
    check_point(sub, 0);
    check_point(sub, n - 1);
    FUZZ_CHECK(clab_space_point(sub->space, n) == NULL);

    /* The same text must get the same answer: nothing in the parser may
     * depend on what an earlier call left behind. */
    clab_submission_t *again = NULL;
    FUZZ_CHECK(clab_submission_parse((const char *)data, size, &limits, &again, &err) ==
               0);
    FUZZ_CHECK(again->points == sub->points);
    clab_submission_destroy(&again);
    clab_submission_destroy(&sub);
    FUZZ_CHECK(sub == NULL);
    return 0;
}
