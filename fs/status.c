/* /status, /status.json and /results/TAG/status (status.h). */
#include "status.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>

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
        rc = o ? clab_json_dump_buf(out, o) : -ENOMEM;
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
    }
    /* As new as its newest part: the set's counts, the cluster, the choice
     * of the current set. */
    double changed = clab_lab_status_changed(lab);
    *mtime = info.modified > changed ? info.modified : changed;
    if (requested > *mtime)
        *mtime = requested;
    clab_set_info_clear(&info);
    return rc;
}
