/* The framed protocol of worker mode (worker_i.h): each point goes to the
 * worker with a sequence number, and only a line that carries that number
 * at its top level is the point's answer. Everything else the worker
 * prints is stray output, kept for the point's traceback. The number is
 * found by scanning the text rather than parsing it, so that an answer of
 * 16 MiB is parsed once, by the output reader (record.c), which also
 * counts its results before building any. */
#include "worker_i.h"

#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define KEY "\"clab.seq\""

int worker_frame_point(clab_buf_t *b, unsigned long long seq, const char *params,
                       size_t len)
{
    int rc = clab_buf_printf(b, "{\"clab.seq\":%llu,\"clab.parameters\":", seq);
    rc = rc ? rc : clab_buf_add(b, params, len);
    return rc ? rc : clab_buf_puts(b, "}\n");
}

static size_t skip_space(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
        i++;
    return i;
}

/* The end of the value that starts at t[i]: past a string's closing quote,
 * an object's or array's closing bracket (strings inside skipped), or a
 * bare token. len when the text ends first. */
static size_t skip_value(const char *t, size_t len, size_t i)
{
    size_t depth = 0;
    for (; i < len; i++) {
        char ch = t[i];
        if (ch == '"') {
            i = clab_json_string_end(t, len, i);
            if (i >= len)
                return len;
            if (depth == 0)
                return i + 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0)
                return i; /* a bare token ends at its container's end */
            if (--depth == 0)
                return i + 1;
        } else if (depth == 0 &&
                   (ch == ',' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) {
            return i;
        }
    }
    return len;
}

/* The digits at t[i, end) as a number below 2^64: 1 with *v, else 0. */
static int read_seq(const char *t, size_t i, size_t end, unsigned long long *v)
{
    unsigned long long n = 0;
    if (i == end || end - i > 20 || (t[i] == '0' && end - i > 1))
        return 0;
    for (; i < end; i++) {
        unsigned d = (unsigned)(t[i] - '0');
        if (d > 9 || n > (~0ull - d) / 10)
            return 0;
        n = n * 10 + d;
    }
    *v = n;
    return 1;
}

/* One member of the object at t[*i] (its key's quote): its value read as
 * the seq when the key is clab.seq (found: 1 or, for a bad value, -1),
 * else skipped (0); *i moves past the value, *vend to the value's end. */
static int member(const char *t, size_t len, size_t *i, size_t *vend,
                  unsigned long long *seq)
{
    size_t k = *i, kend = clab_json_string_end(t, len, k);
    if (kend >= len)
        return -1;
    int is_seq =
        kend - k + 1 == sizeof KEY - 1 && memcmp(t + k, KEY, sizeof KEY - 1) == 0;
    size_t v = skip_space(t, len, kend + 1);
    if (v >= len || t[v] != ':')
        return -1;
    v = skip_space(t, len, v + 1);
    size_t e = skip_value(t, len, v);
    *i = *vend = e;
    if (!is_seq)
        return 0;
    return read_seq(t, v, e, seq) ? 1 : -1;
}

int worker_frame_seq(const char *t, size_t len, unsigned long long *seq, size_t *cut,
                     size_t *end)
{
    size_t i = skip_space(t, len, 0), prev_comma = len, found = 0;
    if (i >= len || t[i] != '{')
        return 0;
    i = skip_space(t, len, i + 1);
    if (i < len && t[i] == '}')
        return 0;
    for (;;) {
        if (i >= len || t[i] != '"')
            return 0;
        size_t start = i, vend;
        int m = member(t, len, &i, &vend, seq);
        if (m < 0 || (m == 1 && found++))
            return 0;
        i = skip_space(t, len, i);
        if (i >= len)
            return 0;
        if (m == 1) {
            /* The member and the comma after it, or the one before it. */
            *cut = t[i] == ',' ? start : prev_comma < len ? prev_comma : start;
            *end = t[i] == ',' ? skip_space(t, len, i + 1) : vend;
        }
        if (t[i] == '}')
            break;
        if (t[i] != ',')
            return 0;
        prev_comma = i;
        i = skip_space(t, len, i + 1);
    }
    return found && skip_space(t, len, i + 1) == len;
}

int worker_stray_add(worker_stray_t *s, const char *line, size_t len)
{
    clab_tail_add(&s->tail, line, len);
    clab_tail_add(&s->tail, "\n", 1);
    s->lines++;
    s->bytes += len + 1;
    return s->lines > WORKER_STRAY_LINES || s->bytes > WORKER_STRAY_BYTES;
}

void worker_stray_reason(const worker_stray_t *s, char *why, size_t size)
{
    if (s->lines > WORKER_STRAY_LINES)
        snprintf(why, size,
                 "worker printed over %d stray lines in one point (lines without its "
                 "clab.seq)",
                 WORKER_STRAY_LINES);
    else
        snprintf(why, size,
                 "worker printed over %u KiB of stray lines in one point (lines without "
                 "its clab.seq)",
                 WORKER_STRAY_BYTES / 1024);
}

int worker_stray_traceback(clab_buf_t *b, const worker_stray_t *s, const char *label,
                           const char *tb, size_t len)
{
    int rc = clab_buf_puts(b, "stray output:\n");
    rc = rc ? rc : clab_buf_add(b, s->tail.data, s->tail.len);
    if (!rc && len > 0)
        rc = clab_buf_puts(b, label) || clab_buf_add(b, tb, len);
    return rc ? -ENOMEM : 0;
}
