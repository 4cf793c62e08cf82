/* SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), small and with no
 * library behind them: the controller signs what it dispatches with them
 * (a proof of dispatch no other holder of engine.json can forge), and
 * experiment files are identified by their digest. Streaming, so a file
 * of any size is hashed in constant memory. */
#ifndef CLAB_SHA256_H
#define CLAB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define CLAB_SHA256_LEN 32
#define CLAB_SHA256_HEX (2 * CLAB_SHA256_LEN + 1)

typedef struct {
    uint32_t h[8];
    uint64_t total; /* bytes fed so far */
    unsigned char block[64];
    size_t used; /* bytes of block filled */
} clab_sha256_t;

void clab_sha256_init(clab_sha256_t *s);
void clab_sha256_update(clab_sha256_t *s, const void *data, size_t len);
void clab_sha256_final(clab_sha256_t *s, unsigned char out[CLAB_SHA256_LEN]);
/* One call for data in memory. */
void clab_sha256(const void *data, size_t len, unsigned char out[CLAB_SHA256_LEN]);

/* HMAC-SHA-256 of the n parts (concatenated) under key. */
void clab_hmac_sha256(const void *key, size_t key_len, const void *const *parts,
                      const size_t *lens, size_t n, unsigned char out[CLAB_SHA256_LEN]);

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void clab_hex(const unsigned char *bytes, size_t len, char *out);

/* The sha256 of a file's content as hex: 0, or -errno (the file cannot be
 * opened or read). */
int clab_sha256_file(const char *path, char out[CLAB_SHA256_HEX]);

#endif
