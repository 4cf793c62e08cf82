/* UTF-8 by hand: jansson validates whole texts but offers nothing for a
 * byte position, and each of these callers needs one. */
#include "utf8.h"

#include <stdint.h>

static int is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

size_t clab_utf8_len(const void *s, size_t n)
{
    const unsigned char *p = s;
    unsigned c = p[0];
    size_t len;
    uint32_t cp, min;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (!is_cont(p[i]))
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Only the lead byte's announced length counts here: whether the finished
 * sequence would be valid is for the decoder to say once it has it. */
size_t clab_utf8_cut(const void *s, size_t end)
{
    const unsigned char *t = s;
    size_t i = end, cont = 0;
    while (i > 0 && cont < 3 && is_cont(t[i - 1])) {
        i--;
        cont++;
    }
    if (i == 0)
        return end;
    unsigned char lead = t[i - 1];
    size_t need = 0;
    if (lead >= 0xc2 && lead <= 0xdf)
        need = 1;
    else if (lead >= 0xe0 && lead <= 0xef)
        need = 2;
    else if (lead >= 0xf0 && lead <= 0xf4)
        need = 3;
    return need > cont ? i - 1 : end;
}

size_t clab_utf8_floor(const void *s, size_t at)
{
    const unsigned char *t = s;
    while (at > 0 && is_cont(t[at]))
        at--;
    return at;
}
