/* Shared by the fuzz targets: a check that stops the run with a message
 * (libFuzzer then saves the input as a crash), whatever NDEBUG says. */
#ifndef CLAB_FUZZ_COMMON_H
#define CLAB_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* FNV-1a: a deterministic seed from the input, so a saved crash replays. */
static inline unsigned long long fuzz_hash(const unsigned char *p, size_t n)
{
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

#endif
