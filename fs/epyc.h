/* notebook.json: the whole notebook in the layout of epyc's
 * JSONLabNotebook (version 2), so that epyc and its users read clabfs's
 * results as a notebook of their own. The file is streamed from one
 * notebook snapshot, piece after piece, and its size is known beforehand
 * from the notebook's byte counts (views.c serves it).
 *
 * The layout: creator, version "2", description, current, locked, then
 * resultsets keyed by tag, each with results (every result document,
 * failures included), pending-results (job id -> parameters), its
 * attributes (clabfs keeps clab.experiment there), description and locked.
 * epyc notebooks always hold a default set, so one is written unless a set
 * already has its tag. One result and one pending point per line.
 *
 * What epyc cannot load is written so that it can (SPEC: every result
 * shape loads): inside a result or a pending point, null is written NaN and
 * an object as the list of its keys and values ({"a":1,"b":2} ->
 * ["a",1,"b",2]), both the same length as the stored text; a set whose
 * points differ in parameter names has each pending point padded with the
 * names it lacks, as NaN, which costs a scan of the set's pending points
 * when sizing the file; a result named like a parameter or a metadata
 * name (epyc's own included), or a metadata name like a parameter, is
 * renamed as the tables head it (results.NAME), sized from the number of
 * documents that have each name (clab_nb_names). */
#ifndef CLAB_EPYC_H
#define CLAB_EPYC_H

#include "json.h"
#include "buf.h"
#include "notebook.h"

#include <stdint.h>
#include <sys/types.h>

/* Where rendering stands; all zero at the start. A copy taken between two
 * calls is a checkpoint: rendering resumes from it. */
typedef struct {
    int phase;     /* 0 head, 1 next set, 2 its results, 3 its pending, 4 done */
    long key;      /* the last row rendered in this phase (0: none yet) */
    int64_t set;   /* row id of the set at tag */
    int sets_done; /* sets rendered */
    char tag[CLAB_TAG_MAX + 1];
} clab_epyc_pos_t;

/* The size and the modification time of notebook.json in the snapshot r
 * (tag NULL: the lab's; else results/TAG/notebook.json, the notebook of
 * that set alone, current there), without rendering it. */
int clab_epyc_size(clab_nb_reader_t *r, const char *tag, off_t *size, double *mtime);
/* Appends the next piece after pos (at most about chunk bytes of rows) to
 * out and moves pos on; *done once the end is appended. *cur is the cursor
 * on the rows at pos (NULL: one is opened; closing it, as when pos is
 * moved back, is always allowed); *set caches the set at pos.tag. tag as
 * for clab_epyc_size. */
int clab_epyc_fill(clab_nb_reader_t *r, const char *tag, clab_epyc_pos_t *pos,
                   clab_nb_cursor_t **cur, clab_set_info_t *set, clab_buf_t *out,
                   size_t chunk, int *done);

#endif
