/* /status, /status.json and /results/TAG/status (status.h). */
#include "status.h"
#include "buf.h"
#include "log.h"
#include "rate.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

/* A set's progress: its rate (points per second over the last minute), the
 * seconds its pending points will take at that rate (-1 when unknown:
 * nothing pending, or nothing finished lately) and its first submit as
 * ISO 8601 UTC ("" when there is no set). Kept by the notebook as results
 * are stored, so a read costs no scan. changed: when the clock alone last
 * changed it (0: never). */
typedef struct {
    double rate;
    long eta;
    char started[32];
    double changed;
} progress_t;

static void progress(clab_nb_reader_t *r, const clab_set_info_t *info, double now,
                     progress_t *p)
{
    *p = (progress_t){.eta = -1};
    if (!info->tag[0])
        return;
    time_t t = (time_t)info->created;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(p->started, sizeof p->started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* The minute is the one up to the set's last change (a result stored,
     * a submit), not up to the read: the record then reads the same from
     * one change to the next, as its mtime and size say, and /wait returns
     * what status says. A running set that finished nothing for a whole
     * minute is the one change the clock makes: its rate is 0 and its eta
     * - from then on, and its mtime says when. */
    double idle = info->modified + CLAB_RATE_WINDOW + 1;
    if (info->pending > 0 && now >= idle) {
        p->changed = idle;
        return;
    }
    p->rate = clab_nb_rate(r, info, info->modified);
    if (info->pending > 0 && p->rate > 0) {
        double left = info->pending / p->rate;
        p->eta = (long)left;
        if (p->eta < left) /* rounded up: 0 only when nothing is left */
            p->eta++;
    }
}

/* The progress as the record's last keys, after every older one, so that
 * parsers of the earlier record keep working. */
static int progress_json(json_t *o, const progress_t *p)
{
    if (json_object_set_new(o, "rate", json_real(p->rate)) ||
        json_object_set_new(o, "eta", p->eta < 0 ? json_null() : json_integer(p->eta)) ||
        json_object_set_new(o, "started",
                            p->started[0] ? json_string(p->started) : json_null()))
        return -ENOMEM;
    return 0;
}

static int progress_text(clab_buf_t *out, const progress_t *p)
{
    char eta[32] = "-";
    if (p->eta >= 0)
        snprintf(eta, sizeof eta, "%ld", p->eta);
    return clab_buf_printf(out, "rate %.6f\neta %s\nstarted %s\n", p->rate, eta,
                           p->started[0] ? p->started : "-");
}

int clab_status_render(clab_lab_t *lab, clab_nb_reader_t *r, const char *tag,
                       clab_status_flags_t flags, clab_buf_t *out, double *mtime)
{
    int with_totals = (flags & CLAB_STATUS_SET) != 0;
    int engines, connected;
    clab_lab_cluster(lab, &engines, &connected);
    clab_set_info_t info = {0};
    char current[CLAB_TAG_MAX + 1] = "";
    double requested = 0;
    int rc = 0;
    if (with_totals)
        snprintf(current, sizeof current, "%s", tag);
    else if (clab_nb_current(r, current) < 0)
        current[0] = '\0';
    if (current[0] && (rc = clab_nb_set_info(r, current, &info)) < 0 &&
        (with_totals || rc != -ENOENT))
        return rc;
    long finished = info.done;
    double fraction =
        finished + info.pending ? (double)finished / (finished + info.pending) : 1.0;
    long total = info.done + info.pending;
    progress_t prog;
    progress(r, &info, clab_now(), &prog);
    if (flags & CLAB_STATUS_JSON) {
        json_t *o = json_pack(
            "{s:i, s:i, s:o, s:f, s:I, s:I, s:I}", "engines", engines, "connected",
            connected, "current", current[0] ? json_string(current) : json_null(),
            "ready_fraction", fraction, "results", (json_int_t)info.results, "failed",
            (json_int_t)info.failed, "pending", (json_int_t)info.pending);
        if (with_totals && o) {
            json_object_set_new(o, "total", json_integer(total));
            json_object_set_new(o, "done", json_integer(info.pending == 0));
        } else if (o) {
            /* The lab's: the FUSE requests answered so far, by operation.
             * They change with every request, and so its mtime. */
            json_object_set_new(o, "requests", clab_lab_requests(lab, &requested));
        }
        rc = o ? progress_json(o, &prog) : -ENOMEM;
        rc = rc ? rc : clab_json_dump_buf(out, o);
        json_decref(o);
        rc = rc ? rc : clab_buf_puts(out, "\n");
    } else {
        rc = clab_buf_printf(out,
                             "engines %d\nconnected %d\ncurrent %s\nready_fraction %.6f\n"
                             "results %ld\nfailed %ld\npending %ld\n",
                             engines, connected, current[0] ? current : "-", fraction,
                             info.results, info.failed, info.pending);
        if (!rc && with_totals)
            rc = clab_buf_printf(out, "total %ld\ndone %d\n", total, info.pending == 0);
        rc = rc ? rc : progress_text(out, &prog);
    }
    /* As new as its newest part: the set's counts, the cluster, the choice
     * of the current set, the set's progress. */
    double changed = clab_lab_status_changed(lab);
    *mtime = info.modified > changed ? info.modified : changed;
    if (requested > *mtime)
        *mtime = requested;
    if (prog.changed > *mtime)
        *mtime = prog.changed;
    clab_set_info_clear(&info);
    return rc;
}
