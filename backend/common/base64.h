/* Base64 (RFC 4648, the standard alphabet, padded): how a job's files
 * (a pickled experiment, say) travel inside the JSON of a submit and of
 * the messages that carry them to the controller and the engines. The
 * decoder takes only canonical text (no white space, padding where it
 * belongs, unused bits zero), since its input comes from users and
 * peers. */
#ifndef CLAB_BASE64_H
#define CLAB_BASE64_H

#include "buf.h"

#include <stddef.h>

/* Appends the base64 text of data to out. 0 or -ENOMEM. */
int clab_base64_encode(const void *data, size_t len, clab_buf_t *out);
/* Appends the bytes text[0, len) stands for to out: 0, -EINVAL when it is
 * not canonical base64, -ENOMEM. */
int clab_base64_decode(const char *text, size_t len, clab_buf_t *out);
/* The number of bytes a NUL-terminated base64 text stands for, without
 * decoding it (from its length and padding). */
size_t clab_base64_decoded_len(const char *text);

#endif
