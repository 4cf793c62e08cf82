/* Base64 both ways (base64.h). */
#include "base64.h"

#include <errno.h>
#include <string.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int clab_base64_encode(const void *data, size_t len, clab_buf_t *out)
{
    const unsigned char *p = data;
    if (clab_buf_reserve(out, (len + 2) / 3 * 4))
        return -ENOMEM;
    char *o = out->data + out->len;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? alphabet[v & 63] : '=';
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return 0;
}

static int value_of(char c)
{
    const char *at = c ? strchr(alphabet, c) : NULL;
    return at ? (int)(at - alphabet) : -1;
}

int clab_base64_decode(const char *text, size_t len, clab_buf_t *out)
{
    if (len % 4)
        return -EINVAL;
    if (clab_buf_reserve(out, len / 4 * 3))
        return -ENOMEM;
    size_t start = out->len;
    for (size_t i = 0; i < len; i += 4) {
        int pad = (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=');
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = k >= 4 - pad ? 0 : value_of(text[i + k]);
        /* Padding only at the very end, and the bits it hides are zero. */
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || (pad && i + 4 != len) ||
            (pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15))) {
            out->len = start;
            return -EINVAL;
        }
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
                     (unsigned)v[3];
        out->data[out->len++] = (char)(w >> 16);
        if (pad < 2)
            out->data[out->len++] = (char)(w >> 8 & 255);
        if (pad < 1)
            out->data[out->len++] = (char)(w & 255);
    }
    out->data[out->len] = '\0';
    return 0;
}

size_t clab_base64_decoded_len(const char *text)
{
    size_t n = strlen(text);
    size_t pad =
        n >= 1 && text[n - 1] == '=' ? (n >= 2 && text[n - 2] == '=' ? 2 : 1) : 0;
    return n / 4 * 3 - pad;
}
