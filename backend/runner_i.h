/* The runner's private header: what runner.c and scratch.c share. Part of
 * the clab_runner library only. */
#ifndef CLAB_RUNNER_I_H
#define CLAB_RUNNER_I_H

#include <stddef.h>

/* Makes a fresh scratch directory under root (NULL or "": $TMPDIR, else
 * /tmp) and writes its path to out. 0 or -errno. */
int scratch_make(const char *root, char *out, size_t size);
/* Removes dir and everything the experiment left in it, whatever the
 * permissions it gave them; logs what cannot be removed. Returns within
 * a fraction of a second: what takes longer is moved aside and removed
 * by a background thread (process exit waits for it). */
void scratch_remove(const char *dir);

#endif
