#ifndef LOA_LOG_H
#define LOA_LOG_H
#include <stddef.h>

/* One line per event on stderr: `2026-05-01T07:00:00Z level=info event key=value …`.
 * Phone numbers are masked with log_mask_phone(); names, tokens and secrets are never logged. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
int  log_level_parse(const char *s, enum log_level *out);   /* 0, or -1 for an unknown name */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Writes a masked copy of PHONE into BUF (size LEN): the first 5 and last 3 characters are kept
 * and the middle replaced by '*' ("84912***678"); short or NULL input becomes "***".
 * Returns BUF, so it can be used inline in a log call. */
char *log_mask_phone(const char *phone, char *buf, size_t len);
#define LOG_MASK_LEN 24

#endif
