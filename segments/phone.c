#include "segments/phone.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

const char *const phone_carriers[] = {
    "viettel", "vinaphone", "mobifone", "vietnamobile", "gmobile", "itel", "reddi", NULL,
};

/* The carrier of each two-digit mobile prefix after the trunk 0. A prefix missing
 * here is not a mobile number today. */
static const struct {
    char prefix[3];
    const char *carrier;
} mobile_prefixes[] = {
    {"32", "viettel"}, {"33", "viettel"}, {"34", "viettel"}, {"35", "viettel"},
    {"36", "viettel"}, {"37", "viettel"}, {"38", "viettel"}, {"39", "viettel"},
    {"86", "viettel"}, {"96", "viettel"}, {"97", "viettel"}, {"98", "viettel"},
    {"81", "vinaphone"}, {"82", "vinaphone"}, {"83", "vinaphone"}, {"84", "vinaphone"},
    {"85", "vinaphone"}, {"88", "vinaphone"}, {"91", "vinaphone"}, {"94", "vinaphone"},
    {"70", "mobifone"}, {"76", "mobifone"}, {"77", "mobifone"}, {"78", "mobifone"},
    {"79", "mobifone"}, {"89", "mobifone"}, {"90", "mobifone"}, {"93", "mobifone"},
    {"52", "vietnamobile"}, {"56", "vietnamobile"}, {"58", "vietnamobile"},
    {"92", "vietnamobile"},
    {"59", "gmobile"}, {"99", "gmobile"},
    {"87", "itel"},
    {"55", "reddi"},
};

/* The 2018 conversion of 11-digit numbers: the old three-digit prefix after the trunk 0 became
 * a two-digit one and the last seven digits were kept. */
static const struct {
    char old_prefix[4];
    char new_prefix[3];
} converted_prefixes[] = {
    {"120", "70"}, {"121", "79"}, {"122", "77"}, {"126", "76"}, {"128", "78"},
    {"123", "83"}, {"124", "84"}, {"125", "85"}, {"127", "81"}, {"129", "82"},
    {"162", "32"}, {"163", "33"}, {"164", "34"}, {"165", "35"}, {"166", "36"},
    {"167", "37"}, {"168", "38"}, {"169", "39"},
    {"186", "56"}, {"188", "58"},
    {"199", "59"},
};

static const char *prefix_carrier(const char *nsn)
{
    for (size_t i = 0; i < sizeof mobile_prefixes / sizeof mobile_prefixes[0]; i++)
        if (nsn[0] == mobile_prefixes[i].prefix[0] && nsn[1] == mobile_prefixes[i].prefix[1])
            return mobile_prefixes[i].carrier;
    return NULL;
}

const char *phone_carrier(const char *e164)
{
    if (!e164 || strncmp(e164, "84", 2) != 0 || strlen(e164) != 11)
        return NULL;
    return prefix_carrier(e164 + 2);
}

static int fail(const char **reason, const char *why)
{
    if (reason)
        *reason = why;
    return -1;
}

/* Characters people put inside one number: they carry no meaning. */
static int is_filler(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '.' || ch == '-' || ch == '(' || ch == ')';
}

/* Characters that separate two numbers written in one cell. */
static int is_separator(unsigned char ch)
{
    return ch == '/' || ch == ',' || ch == ';' || ch == '|' || ch == '&' || ch == '\n' ||
           ch == '\r';
}

/* Judges the national significant number (no trunk 0, no country code) NSN of N digits. */
static int nsn_finish(const char *nsn, size_t n, char out[12], const char **reason)
{
    if ((n >= 8 && (strncmp(nsn, "1800", 4) == 0 || strncmp(nsn, "1900", 4) == 0)))
        return fail(reason, "service number");
    if (n < 9)
        return fail(reason, "too short");
    if (n == 10 && nsn[0] == '2')
        return fail(reason, "landline");
    if (n == 10 && nsn[0] == '1') {
        for (size_t i = 0; i < sizeof converted_prefixes / sizeof converted_prefixes[0]; i++) {
            if (memcmp(nsn, converted_prefixes[i].old_prefix, 3) == 0) {
                memcpy(out, "84", 2);
                memcpy(out + 2, converted_prefixes[i].new_prefix, 2);
                memcpy(out + 4, nsn + 3, 7);
                out[11] = '\0';
                return 0;
            }
        }
        return fail(reason, "not a mobile prefix");
    }
    if (n > 9)
        return fail(reason, "too long");
    if (!prefix_carrier(nsn))
        return fail(reason, nsn[0] == '2' ? "landline" : "not a mobile prefix");
    memcpy(out, "84", 2);
    memcpy(out + 2, nsn, 9);
    out[11] = '\0';
    return 0;
}

int phone_normalize(const char *in, char out[12], const char **reason)
{
    char d[24];
    size_t nd = 0, total = 0, before_sep = 0;
    int plus = 0, sep = 0, other = 0;

    out[0] = '\0';
    if (!in)
        return fail(reason, "no phone");
    for (const unsigned char *s = (const unsigned char *)in; *s; s++) {
        if (isdigit(*s)) {
            if (nd < sizeof d - 1)
                d[nd++] = (char)*s;
            total++;
        } else if (*s == '+' && total == 0 && !plus) {
            plus = 1;
        } else if (is_separator(*s)) {
            if (!sep)
                before_sep = total;
            sep = 1;
        } else if (!is_filler(*s)) {
            other = 1;
        }
    }
    d[nd] = '\0';
    if (total == 0)
        return fail(reason, "no phone");
    /* A single number has at most 14 digits (0084 and an old 10-digit subscriber number). */
    if ((sep && before_sep >= 9 && total - before_sep >= 9) || total >= 18)
        return fail(reason, "two numbers in one cell");
    if (sep || other)
        return fail(reason, "invalid characters");
    if (total > 15)
        return fail(reason, "too long");

    const char *p = d;
    size_t n = nd;
    int intl = 1;
    if (plus) {
        if (strncmp(p, "84", 2) != 0)
            return fail(reason, "foreign number");
        p += 2, n -= 2;
    } else if (strncmp(p, "00", 2) == 0) {
        if (strncmp(p, "0084", 4) != 0)
            return fail(reason, "foreign number");
        p += 4, n -= 4;
    } else if (strncmp(p, "84", 2) == 0 && (n == 11 || n == 12)) {
        p += 2, n -= 2;
    } else {
        intl = 0;
        if (p[0] == '0')
            p += 1, n -= 1;
    }
    /* "+84 0912…" keeps the trunk 0 after the country code; it is still the same number. */
    if (intl && n >= 10 && p[0] == '0')
        p += 1, n -= 1;
    return nsn_finish(p, n, out, reason);
}
