#include "core/utf8.h"

#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

/* The length of the valid character at S (at most LEN bytes), or 0 when S does not start
 * with one. utf8proc_iterate() refuses overlong forms, surrogates and code points past
 * U+10FFFF; NUL is refused here because PostgreSQL's text cannot hold it. */
static size_t char_len(const char *s, size_t len)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &cp);
    return n > 0 && cp != 0 ? (size_t)n : 0;
}

bool utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = char_len(s + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

/* A continuation byte (10xxxxxx) never starts a character: back off over them. A lead byte
 * whose character would run past MAX is left out too. */
size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

size_t utf8_escape(char *dst, size_t dstsize, const char *s, size_t len)
{
    if (dstsize == 0)
        return 0;
    size_t out = 0;
    for (size_t i = 0; i < len;) {
        size_t n = char_len(s + i, len - i);
        if (n) {
            if (out + n >= dstsize)
                break;
            memcpy(dst + out, s + i, n);
            out += n;
            i += n;
        } else {
            if (out + 4 >= dstsize)
                break;
            snprintf(dst + out, 5, "\\x%02X", (unsigned char)s[i]);
            out += 4;
            i++;
        }
    }
    dst[out] = '\0';
    return out;
}
