/* Collecting and accepting jobs written to /submit, and running the
 * commands written to /ctl. */
#include "inbox.h"
#include "json.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Commands longer than this are refused: tags are short. */
#define CTL_MAX_TEXT 4096

struct clab_inbox {
    clab_lab_t *lab;
    clab_inbox_kind_t kind;
    const char *file;
    pthread_mutex_t lock;
    clab_buf_t text;   /* the job being written */
    clab_buf_t answer; /* what a read returns */
    size_t answered;   /* bytes of it already read */
    int incomplete;    /* the text so far ends early */
    clab_submit_error_t pending_err;
    /* Set when a job outgrew the limit: the kernel splits a big write(2),
     * so the rest of that job comes in later writes of this open, and must
     * fail the same way instead of being read as a job of its own. */
    int oversized;
};

int clab_inbox_new(clab_lab_t *lab, clab_inbox_kind_t kind, clab_inbox_t **out)
{
    clab_inbox_t *in = calloc(1, sizeof *in);
    if (!in)
        return -ENOMEM;
    in->lab = lab;
    in->kind = kind;
    in->file = kind == CLAB_INBOX_CTL ? "ctl" : "submit";
    pthread_mutex_init(&in->lock, NULL);
    *out = in;
    return 0;
}

void clab_inbox_destroy(clab_inbox_t **pin)
{
    clab_inbox_t *in = *pin;
    if (!in)
        return;
    clab_buf_free(&in->text);
    clab_buf_free(&in->answer);
    pthread_mutex_destroy(&in->lock);
    free(in);
    *pin = NULL;
}

static int blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

static int reject(clab_inbox_t *in, const clab_submit_error_t *err)
{
    clab_errors_add(&in->lab->errors, in->file, in->text.data ? in->text.data : "",
                    in->text.len, err);
    clab_info("%s rejected: %s", in->file, err->message);
    in->text.len = 0;
    in->incomplete = 0;
    return -err->code;
}

static int accept_text(clab_inbox_t *in)
{
    clab_lab_t *lab = in->lab;
    clab_submission_t *sub = NULL;
    clab_submit_error_t err = {.position = -1};
    int rc = clab_submission_parse(in->text.data, in->text.len, &lab->limits, &sub, &err);
    if (rc == -EAGAIN) {
        in->incomplete = 1;
        in->pending_err = err;
        return 0;
    }
    if (rc < 0)
        return reject(in, &err);
    char tag[CLAB_TAG_MAX + 1];
    rc = clab_notebook_submit(lab->nb, sub, tag);
    if (rc < 0) {
        err = (clab_submit_error_t){.code = -rc, .position = -1};
        snprintf(err.message, sizeof err.message,
                 "the notebook could not record the job: %s", strerror(-rc));
        clab_submission_destroy(&sub);
        return reject(in, &err);
    }
    in->answer.len = 0;
    in->answered = 0;
    clab_buf_printf(&in->answer, "tag %s\npoints %zu\n", tag, sub->points);
    clab_info("accepted %zu point(s) of %s into %s", sub->points, sub->experiment, tag);
    clab_submission_destroy(&sub);
    in->text.len = 0;
    in->incomplete = 0;
    clab_lab_wake(lab);
    return 0;
}

/* /ctl. Each command is one function taking the tag; err->position is
 * relative to the tag, or -1 for the command as a whole. */

typedef int (*ctl_fn)(clab_lab_t *lab, const char *tag, clab_submit_error_t *err);

static int ctl_select(clab_lab_t *lab, const char *tag, clab_submit_error_t *err)
{
    int rc = clab_notebook_select(lab->nb, tag);
    if (rc == -ENOENT) {
        snprintf(err->message, sizeof err->message, "no result set \"%s\"", tag);
        err->position = 0;
    } else if (rc < 0) {
        snprintf(err->message, sizeof err->message,
                 "the notebook could not record it: %s", strerror(-rc));
    } else {
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
    } else if (rc < 0) {
        snprintf(err->message, sizeof err->message, "the notebook could not %s it: %s",
                 verb, strerror(-rc));
    } else {
        clab_info("ctl: %s %s: %d point(s)", verb, tag, rc);
    }
    return rc < 0 ? rc : 0;
}

/* Has the link tell the controller to drop the tag's queued tasks and stop
 * its running ones; the notebook already counts them as cancelled. */
static void cancel_at_controller(clab_lab_t *lab, const char *tag)
{
    clab_lab_cancel_push(lab, tag);
    clab_lab_wake(lab);
}

static int ctl_cancel(clab_lab_t *lab, const char *tag, clab_submit_error_t *err)
{
    int rc = ctl_outcome(clab_notebook_cancel(lab->nb, tag), tag, "cancel", err);
    if (rc == 0)
        cancel_at_controller(lab, tag);
    return rc;
}

static int ctl_retry(clab_lab_t *lab, const char *tag, clab_submit_error_t *err)
{
    int rc = ctl_outcome(clab_notebook_retry(lab->nb, tag), tag, "retry", err);
    if (rc == 0)
        clab_lab_wake(lab);
    return rc;
}

static int ctl_delete(clab_lab_t *lab, const char *tag, clab_submit_error_t *err)
{
    int rc = ctl_outcome(clab_notebook_delete(lab->nb, tag), tag, "delete", err);
    if (rc == 0)
        cancel_at_controller(lab, tag);
    return rc;
}

static const struct {
    const char *verb;
    ctl_fn run;
} ctl_commands[] = {
    {"select", ctl_select},
    {"cancel", ctl_cancel},
    {"retry", ctl_retry},
    {"delete", ctl_delete},
};

static int ctl_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Records a rejected command: the line, and the caret at pos in it. */
static int ctl_reject(clab_inbox_t *in, const char *line, size_t len, int code, long pos,
                      clab_submit_error_t *err)
{
    err->code = code;
    err->position = pos;
    err->line = 0;
    clab_errors_add(&in->lab->errors, in->file, line, len, err);
    clab_info("%s rejected: %s", in->file, err->message);
    return -code;
}

/* Parses and runs one line: VERB, blanks, TAG, optional trailing blanks. */
static int ctl_run(clab_inbox_t *in, const char *line, size_t len)
{
    clab_submit_error_t err = {.position = -1};
    size_t i = 0, verb, verb_len, tag, tag_len;
    char tagbuf[CLAB_TAG_MAX + 1];
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

    size_t c = 0;
    while (c < sizeof ctl_commands / sizeof ctl_commands[0] &&
           (strlen(ctl_commands[c].verb) != verb_len ||
            strncmp(ctl_commands[c].verb, line + verb, verb_len) != 0))
        c++;
    if (c == sizeof ctl_commands / sizeof ctl_commands[0]) {
        snprintf(err.message, sizeof err.message,
                 "unknown command \"%.*s\": write select, cancel, retry or delete, "
                 "then a tag",
                 (int)(verb_len > 64 ? 64 : verb_len), line + verb);
        return ctl_reject(in, line, len, EINVAL, (long)verb, &err);
    }
    if (tag_len == 0) {
        snprintf(err.message, sizeof err.message, "%s wants a tag: %s TAG",
                 ctl_commands[c].verb, ctl_commands[c].verb);
        return ctl_reject(in, line, len, EINVAL, (long)tag, &err);
    }
    if (i < len) {
        snprintf(err.message, sizeof err.message, "%s takes one tag, no more",
                 ctl_commands[c].verb);
        return ctl_reject(in, line, len, EINVAL, (long)i, &err);
    }
    if (tag_len <= CLAB_TAG_MAX) {
        memcpy(tagbuf, line + tag, tag_len);
        tagbuf[tag_len] = '\0';
    }
    if (tag_len > CLAB_TAG_MAX || !clab_tag_valid(tagbuf)) {
        snprintf(err.message, sizeof err.message,
                 "bad tag: tags match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        return ctl_reject(in, line, len, EINVAL, (long)tag, &err);
    }
    int rc = ctl_commands[c].run(in->lab, tagbuf, &err);
    if (rc < 0)
        return ctl_reject(in, line, len, -rc,
                          err.position < 0 ? (long)verb : (long)tag + err.position, &err);
    return 0;
}

/* Runs every complete line collected so far (all of it when final). */
static int ctl_lines(clab_inbox_t *in, int final)
{
    size_t start = 0;
    int rc = 0;
    while (start < in->text.len && rc == 0) {
        char *nl = memchr(in->text.data + start, '\n', in->text.len - start);
        if (!nl && !final)
            break;
        size_t end = nl ? (size_t)(nl - in->text.data) : in->text.len;
        int blank_line = 1;
        for (size_t k = start; k < end && blank_line; k++)
            blank_line = ctl_blank(in->text.data[k]);
        if (!blank_line)
            rc = ctl_run(in, in->text.data + start, end - start);
        start = nl ? end + 1 : in->text.len;
    }
    if (rc < 0)
        start = in->text.len; /* the rest of a failed write is dropped */
    if (start > 0) {          /* (text.data is NULL before the first write) */
        memmove(in->text.data, in->text.data + start, in->text.len - start);
        in->text.len -= start;
    }
    return rc;
}

static ssize_t ctl_write(clab_inbox_t *in, const char *buf, size_t size)
{
    if (in->text.len + size > CTL_MAX_TEXT) {
        clab_submit_error_t err = {.position = -1};
        snprintf(err.message, sizeof err.message, "command over %d bytes", CTL_MAX_TEXT);
        in->text.len = 0;
        return ctl_reject(in, buf, size, E2BIG, -1, &err);
    }
    int rc = clab_buf_add(&in->text, buf, size);
    rc = rc ? rc : ctl_lines(in, 0);
    return rc < 0 ? rc : (ssize_t)size;
}

ssize_t clab_inbox_write(clab_inbox_t *in, const char *buf, size_t size)
{
    int rc = 0;
    pthread_mutex_lock(&in->lock);
    if (in->kind == CLAB_INBOX_CTL) {
        ssize_t n = ctl_write(in, buf, size);
        pthread_mutex_unlock(&in->lock);
        return n;
    }
    if (in->oversized) {
        rc = -E2BIG;
        goto out;
    }
    if (in->text.len == 0 && blank(buf, size))
        goto out; /* a lone newline after an accepted job */
    if (in->text.len + size > in->lab->limits.max_text) {
        clab_submit_error_t err = {.code = E2BIG, .position = -1};
        snprintf(err.message, sizeof err.message, "job text over the limit of %zu bytes",
                 in->lab->limits.max_text);
        /* Record what came so far, not the whole oversized text. */
        rc = reject(in, &err);
        in->oversized = 1;
        goto out;
    }
    if ((rc = clab_buf_add(&in->text, buf, size)) < 0)
        goto out;
    rc = accept_text(in);
out:
    pthread_mutex_unlock(&in->lock);
    return rc < 0 ? rc : (ssize_t)size;
}

int clab_inbox_flush(clab_inbox_t *in)
{
    int rc = 0;
    pthread_mutex_lock(&in->lock);
    if (in->kind == CLAB_INBOX_CTL) {
        rc = ctl_lines(in, 1);
        pthread_mutex_unlock(&in->lock);
        return rc;
    }
    if (in->incomplete && in->text.len && !blank(in->text.data, in->text.len)) {
        clab_submit_error_t err = in->pending_err;
        err.code = EINVAL;
        if (!err.message[0])
            snprintf(err.message, sizeof err.message, "incomplete job text at close");
        rc = reject(in, &err);
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

ssize_t clab_inbox_read(clab_inbox_t *in, char *buf, size_t size, off_t off)
{
    /* The file offset is past what was written, so the answer is read from
     * a position of its own: `exec 3<>submit; echo job >&3; cat <&3`. */
    (void)off;
    ssize_t n = 0;
    pthread_mutex_lock(&in->lock);
    if (in->answered < in->answer.len) {
        n = (ssize_t)(in->answer.len - in->answered);
        if ((size_t)n > size)
            n = (ssize_t)size;
        memcpy(buf, in->answer.data + in->answered, (size_t)n);
        in->answered += (size_t)n;
    }
    pthread_mutex_unlock(&in->lock);
    return n;
}
