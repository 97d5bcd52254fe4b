#ifndef LOA_UTF8_H
#define LOA_UTF8_H
#include <stdbool.h>
#include <stddef.h>

/* Text from outside (a gateway's answer, a provider's id or code) on its way to SQL:
 * PostgreSQL refuses a whole statement, and with it a whole batch of results, for one byte
 * that is not UTF-8 or one character cut in half. "Valid" here is what a PostgreSQL text
 * value accepts: well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF)
 * without NUL. */

bool utf8_valid(const char *s, size_t len);

/* The length of the longest prefix of S (LEN bytes) that is at most MAX bytes and does not
 * end inside a character. */
size_t utf8_cut(const char *s, size_t len, size_t max);

/* Copies S (LEN bytes) into DST (DSTSIZE bytes, NUL-terminated): valid characters as they
 * are, every other byte (NUL included) as the four characters \xNN. The copy ends on a
 * character (or escape) boundary when DST is too small. Returns the bytes written, without
 * the NUL; DST always holds valid UTF-8. DSTSIZE 0 writes nothing. */
size_t utf8_escape(char *dst, size_t dstsize, const char *s, size_t len);

#endif
