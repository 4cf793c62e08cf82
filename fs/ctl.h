/* /ctl's commands. A command is one line, `VERB TAG`: select makes a set
 * current; cancel, retry and delete act on a whole set (see
 * clab_notebook_cancel and friends), `cancel TAG JOB...` on single points,
 * and cancel and delete also have the link tell the controller
 * (clab_lab_cancel_push, clab_lab_cancel_keep). The inbox collects the
 * lines written to /ctl and runs each here, through the table of verbs;
 * a new command is one function and one row. */
#ifndef CLAB_CTL_H
#define CLAB_CTL_H

#include "lab.h"

#include <stddef.h>

/* Longest text a write to /ctl may leave pending: a cancel may name up to
 * CLAB_NB_CANCEL_JOBS_MAX jobs. */
#define CLAB_CTL_MAX_TEXT (64 * 1024)

/* Parses and runs one line (without its newline): VERB, blanks, TAG,
 * optional trailing blanks. 0, or -errno with err's code, message and
 * position (the caret's byte in line, -1 for none) filled in. */
int clab_ctl_run(clab_lab_t *lab, const char *line, size_t len, clab_submit_error_t *err);

#endif
