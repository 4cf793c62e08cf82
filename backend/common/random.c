/* Random hex from /dev/urandom, in chunks so that any length works. */
#include "random.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 32

void clab_random_hex(char *out, size_t bytes)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char buf[CHUNK];
    FILE *f = fopen("/dev/urandom", "rb");

    out[0] = '\0';
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < CHUNK ? bytes - done : CHUNK;
        size_t got = f ? fread(buf, 1, n, f) : 0;
        for (size_t i = got; i < n; i++)
            buf[i] = (unsigned char)(rand() ^ getpid() ^ (int)time(NULL));
        for (size_t i = 0; i < n; i++) {
            out[2 * (done + i)] = digits[buf[i] >> 4];
            out[2 * (done + i) + 1] = digits[buf[i] & 0xf];
        }
        done += n;
        out[2 * done] = '\0';
    }
    if (f)
        fclose(f);
}
