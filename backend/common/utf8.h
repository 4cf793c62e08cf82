/* UTF-8 scanning, for the places that look at bytes before jansson does:
 * records built from an experiment's arbitrary output, messages cut to a
 * length, and a submission whose write(2) split a character. */
#ifndef CLAB_UTF8_H
#define CLAB_UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at p[0, n), or 0 when the bytes
 * there are not one: the strict form jansson accepts (no overlongs,
 * surrogates or code points past U+10FFFF). n must be at least 1. */
size_t clab_utf8_len(const void *p, size_t n);

/* Start of a sequence cut short by the end of s[0, end) (a lead byte
 * followed by fewer continuation bytes than it announces), or end when
 * the text does not stop inside one. */
size_t clab_utf8_cut(const void *s, size_t end);

/* The largest character boundary <= at in s: at itself unless s[at] is a
 * continuation byte. Cutting s there never splits a character. */
size_t clab_utf8_floor(const void *s, size_t at);

#endif
