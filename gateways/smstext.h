#ifndef LOA_SMSTEXT_H
#define LOA_SMSTEXT_H
#include <stddef.h>

/* SMS encoding and parts: GSM 03.38 7-bit when every character is in the default
 * alphabet or its extension table (extension characters count twice), UCS-2 otherwise.
 * 160/153 septets, 70/67 UCS-2 units per single/concatenated part. */

enum sms_coding { SMS_GSM7 = 0, SMS_UCS2 = 2 };   /* the values of Kannel's `coding` */

struct sms_info {
    enum sms_coding coding;
    int units;     /* septets for GSM7, UTF-16 code units for UCS-2 */
    int parts;
};

/* Measures UTF-8 TEXT of LEN bytes. A part never splits a GSM escape sequence (an extension
 * character) nor a UTF-16 surrogate pair, so a concatenated part may hold one unit less than
 * 153 / 67. Empty text is one part of 0 units. Invalid UTF-8 bytes count as one UCS-2 unit each. */
void smstext_measure(const char *text, size_t len, struct sms_info *out);

/* Writes an unaccented copy of IN (LEN bytes of UTF-8) into OUT (capacity CAP, NUL-terminated):
 * Vietnamese "không dấu". Every Latin letter is reduced to its base (Unicode canonical
 * decomposition, combining marks dropped, as utf8proc decomposes it), đ→d and Đ→D; characters
 * of other scripts (Khmer, emoji, …) are copied unchanged, so a Khmer variant is not mangled.
 * Returns the output length in bytes, or (size_t)-1 when it does not fit. Never allocates;
 * safe to call from several threads. The output is never longer than the input. */
size_t smstext_unaccent(const char *in, size_t len, char *out, size_t cap);

#endif
