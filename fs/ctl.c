/* Parsing and running the commands written to /ctl (ctl.h). Each command
 * is one function taking the tag (and, for describe and cancel, the rest
 * of the line: a text, or job ids); err->position is relative to the tag,
 * or -1 for the command as a whole. */
#include "ctl.h"
#include "log.h"
#include "utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A verb's work: its tag, and the rest of the line (NULL when the verb
 * takes none) and where that starts after the tag's first byte, for a
 * caret on it. */
typedef struct {
    const char *tag;
    const char *text;
    long text_at;
} ctl_args_t;

typedef int (*ctl_fn)(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err);

static int ctl_select(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err)
{
    const char *tag = a->tag;
    int rc = clab_notebook_select(lab->nb, tag);
    if (rc == -ENOENT) {
        snprintf(err->message, sizeof err->message, "no result set \"%s\"", tag);
        err->position = 0;
    } else if (rc < 0) {
        snprintf(err->message, sizeof err->message,
                 "the notebook could not record it: %s", strerror(-rc));
    } else {
        clab_lab_current_changed(lab);
        clab_info("ctl: %s is the current set", tag);
    }
    return rc;
}

/* Turns a notebook error into the message of a rejected command. */
static int ctl_outcome(int rc, const char *tag, const char *verb,
                       clab_submit_error_t *err)
{
    if (rc == -ENOENT) {
        snprintf(err->message, sizeof err->message, "no result set \"%s\"", tag);
        err->position = 0;
    } else if (rc == -EACCES) {
        snprintf(err->message, sizeof err->message,
                 "result set \"%s\" is finished (locked): %s it is refused", tag, verb);
        err->position = 0;
    } else if (rc < 0) {
        snprintf(err->message, sizeof err->message, "the notebook could not %s it: %s",
                 verb, strerror(-rc));
    } else {
        clab_info("ctl: %s %s: %d point(s)", verb, tag, rc);
    }
    return rc < 0 ? rc : 0;
}

/* Has the link tell the controller to drop the tag's queued tasks and stop
 * its running ones, those with a job id up to upto: the notebook already
 * counts them as cancelled, and any submitted since runs. */
static void cancel_at_controller(clab_lab_t *lab, const char *tag, int64_t upto)
{
    clab_lab_cancel_push(lab, tag, upto);
    clab_lab_wake(lab);
}

/* The characters of a job id: the notebook makes them of these. */
#define JOB_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/* The blank-separated words of text (job ids), each checked, into jobs
 * (pointers to copies in *copy) with where each starts in text. */
static int job_words(const char *text, char **copy, const char **jobs, long *at,
                     size_t *n, clab_submit_error_t *err)
{
    char *p = *copy = strdup(text);
    *n = 0;
    if (!p)
        return -ENOMEM;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        long pos = (long)(w - *copy);
        if (p - w > 63 || strspn(w, JOB_CHARS) < (size_t)(p - w)) {
            snprintf(err->message, sizeof err->message,
                     "bad job id: job ids match [A-Za-z0-9._-]{1,63}");
            err->position = pos;
            return -EINVAL;
        }
        if (*n == CLAB_NB_CANCEL_JOBS_MAX) {
            snprintf(err->message, sizeof err->message,
                     "one cancel names at most %d jobs", CLAB_NB_CANCEL_JOBS_MAX);
            err->position = pos;
            return -E2BIG;
        }
        if (*p)
            *p++ = '\0';
        at[*n] = pos;
        jobs[(*n)++] = w;
    }
    return 0;
}

/* cancel TAG JOB...: the named points (epyc's cancelPendingResult) and
 * the controller told which; without jobs, as ctl_cancel. */
static int ctl_cancel_jobs(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err)
{
    const char *jobs[CLAB_NB_CANCEL_JOBS_MAX];
    long at[CLAB_NB_CANCEL_JOBS_MAX];
    char *copy = NULL;
    size_t n = 0, bad = 0;
    int64_t upto = -1;
    json_t *cancelled = json_array();
    int rc = cancelled ? job_words(a->text, &copy, jobs, at, &n, err) : -ENOMEM;
    if (rc < 0) {
        if (err->position >= 0)
            err->position += a->text_at;
        goto out;
    }
    rc = clab_notebook_cancel_jobs(lab->nb, a->tag, jobs, n, &upto, &bad, cancelled);
    if (rc == -ENOENT && bad != SIZE_MAX) {
        snprintf(err->message, sizeof err->message, "no job \"%s\" in result set \"%s\"",
                 jobs[bad], a->tag);
        err->position = a->text_at + at[bad];
        goto out;
    }
    if ((rc = ctl_outcome(rc, a->tag, "cancel", err)) == 0 &&
        json_array_size(cancelled) > 0) {
        json_t *body = json_pack("{s:s, s:I, s:O}", "tag", a->tag, "upto",
                                 (json_int_t)upto, "jobs", cancelled);
        clab_lab_current_changed(lab);
        if (body)
            clab_lab_cancel_keep(lab, body);
        json_decref(body);
        clab_lab_wake(lab);
    }
out:
    free(copy);
    json_decref(cancelled);
    return rc;
}

static int ctl_cancel(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err)
{
    const char *tag = a->tag;
    int64_t upto = -1;
    if (a->text)
        return ctl_cancel_jobs(lab, a, err);
    int rc = ctl_outcome(clab_notebook_cancel(lab->nb, tag, &upto), tag, "cancel", err);
    if (rc == 0) {
        clab_lab_current_changed(lab);
        cancel_at_controller(lab, tag, upto);
    }
    return rc;
}

static int ctl_retry(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err)
{
    const char *tag = a->tag;
    int rc = ctl_outcome(clab_notebook_retry(lab->nb, tag), tag, "retry", err);
    if (rc == 0)
        clab_lab_wake(lab);
    return rc;
}

/* The set's reused points run again (a new job each, new N). */
static int ctl_recompute(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err)
{
    const char *tag = a->tag;
    int rc = ctl_outcome(clab_notebook_recompute(lab->nb, tag), tag, "recompute", err);
    if (rc == 0)
        clab_lab_wake(lab);
    return rc;
}

static int ctl_delete(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err)
{
    const char *tag = a->tag;
    int64_t upto = -1;
    int rc = ctl_outcome(clab_notebook_delete(lab->nb, tag, &upto), tag, "delete", err);
    if (rc == 0)
        cancel_at_controller(lab, tag, upto);
    return rc;
}

static int ctl_describe(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err)
{
    const char *tag = a->tag;
    return ctl_outcome(clab_notebook_describe(lab->nb, tag, a->text), tag, "describe",
                       err);
}

/* As cancel, and the set takes no more points (epyc's finish()). */
static int ctl_finish(clab_lab_t *lab, const ctl_args_t *a, clab_submit_error_t *err)
{
    const char *tag = a->tag;
    int64_t upto = -1;
    int rc = ctl_outcome(clab_notebook_finish(lab->nb, tag, &upto), tag, "finish", err);
    if (rc == 0) {
        clab_lab_current_changed(lab);
        cancel_at_controller(lab, tag, upto);
    }
    return rc;
}

/* What a verb takes after its tag: nothing, a text (the rest of the
 * line, which must be there) or words (the rest of the line, if any). */
enum rest { REST_NONE, REST_TEXT, REST_WORDS };

/* What a command does to the files of its set that the kernel may have
 * cached (clab_lab_set_changed): nothing, changes them, removes them. */
enum set_effect { SET_KEPT, SET_CHANGED, SET_REMOVED };

static const struct {
    const char *verb;
    ctl_fn run;
    enum rest rest;
    enum set_effect set;
} ctl_commands[] = {
    {.verb = "select", .run = ctl_select, .rest = REST_NONE, .set = SET_KEPT},
    {.verb = "cancel", .run = ctl_cancel, .rest = REST_WORDS, .set = SET_CHANGED},
    {.verb = "retry", .run = ctl_retry, .rest = REST_NONE, .set = SET_CHANGED},
    {.verb = "recompute", .run = ctl_recompute, .rest = REST_NONE, .set = SET_CHANGED},
    {.verb = "delete", .run = ctl_delete, .rest = REST_NONE, .set = SET_REMOVED},
    {.verb = "describe", .run = ctl_describe, .rest = REST_TEXT, .set = SET_CHANGED},
    {.verb = "finish", .run = ctl_finish, .rest = REST_NONE, .set = SET_CHANGED},
};

static int ctl_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A rejection: the errno and where the caret goes in the line. */
static int fail(clab_submit_error_t *err, int code, long pos)
{
    err->code = code;
    err->position = pos;
    return -code;
}

/* The text after the tag of a verb that takes one: the rest of the line,
 * trailing blanks off; it must be valid UTF-8, and for describe not empty
 * (*out NULL for other verbs' empty rest). */
static int ctl_text(const char *line, size_t at, size_t len, enum rest rest, char **out,
                    clab_submit_error_t *err)
{
    while (len > at && ctl_blank(line[len - 1]))
        len--;
    if (len == at && rest == REST_WORDS)
        return 0;
    if (len == at) {
        snprintf(err->message, sizeof err->message,
                 "describe wants a text: describe TAG TEXT");
        return fail(err, EINVAL, (long)at);
    }
    for (size_t i = at, n; i < len; i += n)
        if ((n = clab_utf8_len(line + i, len - i)) == 0 || line[i] == '\0') {
            snprintf(err->message, sizeof err->message, "the text is not valid UTF-8");
            return fail(err, EINVAL, (long)i);
        }
    if (!(*out = strndup(line + at, len - at)))
        return fail(err, ENOMEM, -1);
    return 0;
}

/* The verb's row in ctl_commands, or an EINVAL at the verb. */
static int ctl_find(const char *line, size_t verb, size_t verb_len,
                    clab_submit_error_t *err)
{
    size_t c = 0, n = sizeof ctl_commands / sizeof ctl_commands[0];
    while (c < n && (strlen(ctl_commands[c].verb) != verb_len ||
                     strncmp(ctl_commands[c].verb, line + verb, verb_len) != 0))
        c++;
    if (c < n)
        return (int)c;
    snprintf(err->message, sizeof err->message,
             "unknown command \"%.*s\": write select, cancel, retry, recompute, delete, "
             "describe or finish, then a tag",
             (int)(verb_len > 64 ? 64 : verb_len), line + verb);
    return fail(err, EINVAL, (long)verb);
}

int clab_ctl_run(clab_lab_t *lab, const char *line, size_t len, clab_submit_error_t *err)
{
    size_t i = 0, verb, verb_len, tag, tag_len;
    char tagbuf[CLAB_TAG_MAX + 1], *text = NULL;
    while (i < len && ctl_blank(line[i]))
        i++;
    verb = i;
    while (i < len && !ctl_blank(line[i]))
        i++;
    verb_len = i - verb;
    while (i < len && ctl_blank(line[i]))
        i++;
    tag = i;
    while (i < len && !ctl_blank(line[i]))
        i++;
    tag_len = i - tag;
    while (i < len && ctl_blank(line[i]))
        i++;

    int c = ctl_find(line, verb, verb_len, err);
    if (c < 0)
        return c;
    if (tag_len == 0) {
        snprintf(err->message, sizeof err->message, "%s wants a tag: %s TAG",
                 ctl_commands[c].verb, ctl_commands[c].verb);
        return fail(err, EINVAL, (long)tag);
    }
    if (i < len && ctl_commands[c].rest == REST_NONE) {
        snprintf(err->message, sizeof err->message, "%s takes one tag, no more",
                 ctl_commands[c].verb);
        return fail(err, EINVAL, (long)i);
    }
    if (tag_len <= CLAB_TAG_MAX) {
        memcpy(tagbuf, line + tag, tag_len);
        tagbuf[tag_len] = '\0';
    }
    if (tag_len > CLAB_TAG_MAX || !clab_tag_valid(tagbuf)) {
        snprintf(err->message, sizeof err->message,
                 "bad tag: tags match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        return fail(err, EINVAL, (long)tag);
    }
    int rc = ctl_commands[c].rest != REST_NONE
                 ? ctl_text(line, i, len, ctl_commands[c].rest, &text, err)
                 : 0;
    if (rc < 0)
        return rc;
    /* A deleted set's files are named by its id, which is gone after. */
    int64_t id = ctl_commands[c].set == SET_REMOVED ? clab_lab_set_id(lab, tagbuf) : 0;
    ctl_args_t args = {.tag = tagbuf, .text = text, .text_at = (long)(i - tag)};
    rc = ctl_commands[c].run(lab, &args, err);
    free(text);
    if (rc < 0)
        return fail(err, -rc, err->position < 0 ? (long)verb : (long)tag + err->position);
    if (ctl_commands[c].set != SET_KEPT)
        clab_lab_set_changed(lab, tagbuf, id, ctl_commands[c].set == SET_REMOVED);
    return 0;
}
