/* One-line log records on stderr, which the daemons point at their log
 * files: time, program, level, message. */
#ifndef CLAB_LOG_H
#define CLAB_LOG_H

enum { CLAB_LOG_ERROR, CLAB_LOG_WARN, CLAB_LOG_INFO, CLAB_LOG_DEBUG };

void clab_log_init(const char *program, int level);
void clab_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define clab_err(...) clab_log(CLAB_LOG_ERROR, __VA_ARGS__)
#define clab_warn(...) clab_log(CLAB_LOG_WARN, __VA_ARGS__)
#define clab_info(...) clab_log(CLAB_LOG_INFO, __VA_ARGS__)
#define clab_debug(...) clab_log(CLAB_LOG_DEBUG, __VA_ARGS__)

/* ISO 8601 UTC with microseconds for a CLOCK_REALTIME time in seconds. */
void clab_iso8601(char out[40], double t);
/* CLOCK_REALTIME and CLOCK_MONOTONIC in seconds. */
double clab_now(void);
double clab_mono(void);

#endif
