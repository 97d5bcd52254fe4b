/* SMS encoding, parts and unaccenting (the rules are in gateways/smstext.h). Both functions sit on the dispatcher's hot
 * path, once per message, so they walk the text once and never allocate. */
#include "gateways/smstext.h"

#include <pthread.h>
#include <stdint.h>
#include <utf8proc.h>

enum { GSM_SINGLE = 160, GSM_PART = 153, UCS_SINGLE = 70, UCS_PART = 67 };

/* Decodes one code point at S (N bytes left, N > 0). Sets *LEN to the bytes used. Returns -1 for
 * an invalid sequence, of which one byte is consumed. */
static int32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    unsigned char c = s[0];
    if (c < 0x80) { *len = 1; return c; }
    *len = 1;
    int need;
    int32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; min = 0x10000; }
    else return -1;
    if ((size_t)need >= n) return -1;
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    *len = (size_t)need + 1;
    return cp;
}

/* Septets of a code point in GSM 03.38: 1 in the default alphabet, 2 in the extension table
 * (reached through an escape), 0 when it has no GSM form. */
static int gsm_septets(int32_t cp)
{
    if (cp < 0x80) {
        switch (cp) {
        case '\n': case '\r': return 1;
        case '\f': case '^': case '{': case '}': case '\\': case '[': case ']': case '~': case '|':
            return 2;
        case '`': case 0x7F: return 0;
        default: return cp >= 0x20 ? 1 : 0;
        }
    }
    switch (cp) {
    case 0x00A3: case 0x00A5: case 0x00E8: case 0x00E9: case 0x00F9: case 0x00EC: case 0x00F2:
    case 0x00C7: case 0x00D8: case 0x00F8: case 0x00C5: case 0x00E5: case 0x0394: case 0x03A6:
    case 0x0393: case 0x039B: case 0x03A9: case 0x03A0: case 0x03A8: case 0x03A3: case 0x0398:
    case 0x039E: case 0x00C6: case 0x00E6: case 0x00DF: case 0x00C9: case 0x00A4: case 0x00A1:
    case 0x00C4: case 0x00D6: case 0x00D1: case 0x00DC: case 0x00A7: case 0x00BF: case 0x00E4:
    case 0x00F6: case 0x00F1: case 0x00FC: case 0x00E0:
        return 1;
    case 0x20AC: /* € */
        return 2;
    default:
        return 0;
    }
}

/* Counts parts by filling each with whole characters: an escape sequence or a surrogate pair
 * that does not fit in the rest of a part starts the next one, as encoders do. */
static int count_parts(const unsigned char *s, size_t n, int gsm, int per_part)
{
    int parts = 1, cur = 0;
    size_t i = 0;
    while (i < n) {
        size_t l;
        int32_t cp = utf8_next(s + i, n - i, &l);
        int w = gsm ? gsm_septets(cp) : (cp >= 0x10000 ? 2 : 1);
        if (cur + w > per_part) { parts++; cur = 0; }
        cur += w;
        i += l;
    }
    return parts;
}

/* Septets of each ASCII character (0: not in GSM 03.38), built once from gsm_septets(). */
static unsigned char gsm_ascii[128];
static pthread_once_t gsm_once = PTHREAD_ONCE_INIT;

static void gsm_init(void)
{
    for (int c = 0; c < 128; c++) gsm_ascii[c] = (unsigned char)gsm_septets(c);
}

void smstext_measure(const char *text, size_t len, struct sms_info *out)
{
    pthread_once(&gsm_once, gsm_init);
    const unsigned char *s = (const unsigned char *)text;
    int septets = 0, units = 0, gsm = 1;
    /* Whether a character of 2 units occurs (a GSM escape, a surrogate pair): only then can a
     * character straddle a part boundary and the parts need counting one by one. */
    int gsm_wide = 0, ucs_wide = 0;
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            /* ASCII is most of every message: no decoding needed. */
            int w = gsm_ascii[s[i]];
            gsm &= w != 0;
            gsm_wide |= w == 2;
            septets += w;
            units++;
            i++;
            continue;
        }
        size_t l;
        int32_t cp = utf8_next(s + i, len - i, &l);
        if (gsm) {
            int w = cp < 0 ? 0 : gsm_septets(cp);
            gsm &= w != 0;
            gsm_wide |= w == 2;
            septets += w;
        }
        ucs_wide |= cp >= 0x10000;
        units += cp >= 0x10000 ? 2 : 1;
        i += l;
    }
    out->coding = gsm ? SMS_GSM7 : SMS_UCS2;
    out->units = gsm ? septets : units;
    int single = gsm ? GSM_SINGLE : UCS_SINGLE, per = gsm ? GSM_PART : UCS_PART;
    if (out->units <= single) out->parts = 1;
    else if (!(gsm ? gsm_wide : ucs_wide)) out->parts = (out->units + per - 1) / per;
    else out->parts = count_parts(s, len, gsm, per);
}

/* Unaccenting: for every code point of the Latin blocks (U+0080..U+024F and the Latin Extended
 * Additional block U+1E00..U+1EFF, where the Vietnamese precomposed letters live) the base letter
 * it keeps once its canonical decomposition loses its combining marks, or 0 to keep it as it is.
 * Built once from utf8proc so that no mapping is written by hand. */
static uint16_t strip_lo[0x250];
static uint16_t strip_1e[0x100];
static pthread_once_t strip_once = PTHREAD_ONCE_INIT;

static int is_mark(int32_t cp)
{
    utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

static uint16_t strip_base(int32_t cp)
{
    utf8proc_int32_t d[8];
    int bound = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, d, 8, UTF8PROC_DECOMPOSE, &bound);
    if (n < 2 || n > 8 || d[0] >= 0x250) return 0;
    for (utf8proc_ssize_t i = 1; i < n; i++)
        if (!is_mark(d[i])) return 0;
    return (uint16_t)d[0];
}

static void strip_init(void)
{
    for (int32_t cp = 0x80; cp < 0x250; cp++) strip_lo[cp] = strip_base(cp);
    for (int32_t cp = 0; cp < 0x100; cp++) strip_1e[cp] = strip_base(0x1E00 + cp);
    /* đ and Đ have no decomposition: the stroke is part of the letter. */
    strip_lo[0x111] = 'd';
    strip_lo[0x110] = 'D';
}

static int is_latin_letter(int32_t cp)
{
    return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
           (cp >= 0xC0 && cp < 0x250 && cp != 0xD7 && cp != 0xF7) || (cp >= 0x1E00 && cp <= 0x1EFF);
}

static size_t put_utf8(unsigned char *o, int32_t cp)
{
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    o[0] = (unsigned char)(0xC0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
}

/* Whether the last character written to OUT[0..J) is a Latin letter, so that a separate
 * combining mark after it (decomposed input) is an accent to drop. Marks are rare: looking back
 * only then keeps the common path a plain copy. */
static int ends_with_latin(const unsigned char *o, size_t j)
{
    if (j == 0) return 0;
    size_t k = j - 1;
    while (k > 0 && (o[k] & 0xC0) == 0x80 && j - k < 4) k--;
    size_t l;
    int32_t cp = utf8_next(o + k, j - k, &l);
    return cp >= 0 && is_latin_letter(cp);
}

size_t smstext_unaccent(const char *in, size_t len, char *out, size_t cap)
{
    pthread_once(&strip_once, strip_init);
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *o = (unsigned char *)out;
    size_t i = 0, j = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            if (j + 1 >= cap) return (size_t)-1;
            o[j++] = s[i++];
            continue;
        }
        size_t l;
        int32_t cp = utf8_next(s + i, len - i, &l);
        int32_t base = 0;
        if (cp >= 0x80 && cp < 0x250) base = strip_lo[cp];
        else if (cp >= 0x1E00 && cp <= 0x1EFF) base = strip_1e[cp - 0x1E00];
        if (base) {
            if (j + (base < 0x80 ? 1 : 2) >= cap) return (size_t)-1;
            j += put_utf8(o + j, base);
        } else if (cp >= 0x300 && is_mark(cp) && ends_with_latin(o, j)) {
            /* dropped */
        } else {
            if (j + l >= cap) return (size_t)-1;
            for (size_t k = 0; k < l; k++) o[j++] = s[i + k];
        }
        i += l;
    }
    if (j >= cap) return (size_t)-1;
    o[j] = '\0';
    return j;
}
