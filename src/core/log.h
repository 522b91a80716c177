/*
 * log.h - one-line log messages on stderr with a UTC timestamp and a level.
 */
#ifndef VT_LOG_H
#define VT_LOG_H

typedef enum { VT_LOG_DEBUG, VT_LOG_INFO, VT_LOG_WARN, VT_LOG_ERROR } vt_log_level_t;

/* Messages below this level are dropped; default VT_LOG_INFO (VOXTRACE_LOG=debug lowers it). */
void vt_log_set_level(vt_log_level_t level);
void vt_log(vt_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vt_log_info(...) vt_log(VT_LOG_INFO, __VA_ARGS__)
#define vt_log_warn(...) vt_log(VT_LOG_WARN, __VA_ARGS__)
#define vt_log_error(...) vt_log(VT_LOG_ERROR, __VA_ARGS__)
#define vt_log_debug(...) vt_log(VT_LOG_DEBUG, __VA_ARGS__)

#endif
