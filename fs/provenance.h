/* A submit's provenance (results/TAG/provenance): who submitted it from
 * which host, the experiment's identity (its sha256, and for clab-python
 * the module it imports or the pickle it runs), the git commit of the
 * repository holding it, and this clabfs's version. Made once per submit
 * at accept, from files only: nothing is run. */
#ifndef CLAB_PROVENANCE_H
#define CLAB_PROVENANCE_H

#include "buf.h"
#include "submit.h"

#include <jansson.h>

/* The provenance of sub as a JSON object of strings, its keys in the
 * order the file lists them ("-" for what is unknown or does not apply).
 * NULL when out of memory. */
json_t *clab_provenance_new(const clab_submission_t *sub);

/* Appends doc (one submit's provenance) as `key value` lines to out. */
int clab_provenance_render(const json_t *doc, clab_buf_t *out);

#endif
