/* Random identifiers: the controller's epoch, the notebook's ids. Not for
 * keys (CURVE keys come from libzmq). */
#ifndef CLAB_RANDOM_H
#define CLAB_RANDOM_H

#include <stddef.h>

/* Writes 2 * bytes lowercase hex digits and a NUL to out (which holds
 * 2 * bytes + 1). Reads /dev/urandom; should that fail, falls back on
 * rand(), which is still good enough to tell two runs apart. */
void clab_random_hex(char *out, size_t bytes);

#endif
