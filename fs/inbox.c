/* Collecting what is written to /submit and /ctl: jobs are parsed
 * (submit.c) and accepted here; /ctl lines are run by ctl.c. */
#include "inbox.h"
#include "buf.h"
#include "ctl.h"
#include "json.h"
#include "log.h"
#include "provenance.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The notebook refused jobs that parsed: a tag that exists under
 * if_exists error or a finished (locked) set (the caret on that job's
 * tag), or its own failure. */
static int notebook_reject(clab_inbox_t *in, int rc, const clab_submission_t *sub,
                           const char *tag)
{
    clab_submit_error_t err = {.code = -rc, .position = -1};
    if (rc == -EEXIST)
        snprintf(err.message, sizeof err.message,
                 "result set \"%s\" exists and the job says \"if_exists\": \"error\"",
                 tag);
    else if (rc == -EACCES)
        snprintf(err.message, sizeof err.message,
                 "result set \"%s\" is finished (locked): it takes no more points", tag);
    else
        snprintf(err.message, sizeof err.message,
                 "the notebook could not record the job: %s", strerror(-rc));
    if ((rc == -EEXIST || rc == -EACCES) && sub->tag_at >= 0)
        clab_submit_locate(&err, in->text.data, in->text.len, sub->tag_at);
    return reject(in, &err);
}

/* Every job of the text (JSON lines) in one notebook transaction, or none;
 * the answer gets a tag and a points line for each, in order. */
static int accept_text(clab_inbox_t *in)
{
    clab_lab_t *lab = in->lab;
    clab_submission_t **subs = NULL;
    clab_nb_added_t *added = NULL;
    clab_submit_error_t err = {.position = -1};
    size_t failed = 0;
    int n =
        clab_submissions_parse(in->text.data, in->text.len, &lab->limits, &subs, &err);
    if (n == -EAGAIN) {
        in->incomplete = 1;
        in->pending_err = err;
        return 0;
    }
    if (n < 0) {
        /* A write the kernel split reports the chunks before the refused
         * one as written, and the writer sends the rest again: an E2BIG
         * stays E2BIG for the rest of this open, as a text over the limit
         * does. */
        in->oversized = n == -E2BIG;
        return reject(in, &err);
    }
    int rc = (added = calloc((size_t)n, sizeof *added)) ? 0 : -ENOMEM;
    /* Once per submit, before the notebook's transaction: it reads files
     * (.git, clab-python's module) that the notebook's lock need not wait
     * for. */
    for (int i = 0; i < n && rc == 0; i++)
        if (!(subs[i]->provenance = clab_provenance_new(subs[i])))
            rc = -ENOMEM;
    rc = rc ? rc : clab_notebook_submit_all(lab->nb, subs, (size_t)n, added, &failed);
    if (rc < 0) {
        rc = notebook_reject(in, rc, subs[failed], added ? added[failed].tag : "");
        goto out;
    }
    /* Appended: shells write a text line by line, so the jobs of one
     * open may come in several writes, and a read answers for each. */
    for (int i = 0; i < n; i++) {
        /* Points added reopen a set the kernel may cache as settled. */
        if (added[i].points)
            clab_lab_set_changed(lab, added[i].tag, 0, 0);
        clab_buf_printf(&in->answer, "tag %s\npoints %zu\n", added[i].tag,
                        added[i].points);
        size_t k;
        json_t *job;
        json_array_foreach(added[i].jobs, k, job)
            clab_buf_printf(&in->answer, "job %s\n", json_string_value(job));
        clab_info("accepted %zu point(s) of %s into %s", added[i].points,
                  subs[i]->experiment, added[i].tag);
    }
    in->text.len = 0;
    in->incomplete = 0;
    clab_lab_wake(lab);
out:
    for (int i = 0; added && i < n; i++)
        json_decref(added[i].jobs);
    free(added);
    clab_submissions_destroy(&subs);
    return rc;
}

/* /ctl: the lines are collected here and run by ctl.c. A rejected one is
 * recorded with the caret where ctl.c puts it. */
static int ctl_reject(clab_inbox_t *in, const char *line, size_t len,
                      const clab_submit_error_t *err)
{
    clab_errors_add(&in->lab->errors, in->file, line, len, err);
    clab_info("%s rejected: %s", in->file, err->message);
    return -err->code;
}

static int ctl_line(clab_inbox_t *in, const char *line, size_t len)
{
    clab_submit_error_t err = {.position = -1};
    int rc = clab_ctl_run(in->lab, line, len, &err);
    return rc < 0 ? ctl_reject(in, line, len, &err) : 0;
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
        if (!blank(in->text.data + start, end - start))
            rc = ctl_line(in, in->text.data + start, end - start);
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
    if (in->text.len + size > CLAB_CTL_MAX_TEXT) {
        clab_submit_error_t err = {.code = E2BIG, .position = -1};
        snprintf(err.message, sizeof err.message, "command over %d bytes",
                 CLAB_CTL_MAX_TEXT);
        in->text.len = 0;
        return ctl_reject(in, buf, size, &err);
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
    if ((rc = clab_buf_add(&in->text, buf, size)) < 0)
        goto out;
    /* The limit of a text that names "files" is higher by their base64. */
    if (in->text.len >
        clab_submit_text_limit(&in->lab->limits, in->text.data, in->text.len)) {
        clab_submit_error_t err = {.code = E2BIG, .position = -1};
        snprintf(err.message, sizeof err.message, "job text over the limit of %zu bytes",
                 in->lab->limits.max_text);
        /* Record what came before this write, not the whole oversized text. */
        in->text.len -= size;
        rc = reject(in, &err);
        in->oversized = 1;
        goto out;
    }
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
