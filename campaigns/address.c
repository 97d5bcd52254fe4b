/* Forms of address (see address.h). */
#include "campaigns/address.h"

#include <string.h>

/* Name separators: ASCII blanks and the no-break space U+00A0 that spreadsheets leave behind. */
static size_t blank_before(const char *s, size_t end)
{
    if (end >= 1 && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\n' || s[end - 1] == '\r'))
        return 1;
    if (end >= 2 && (unsigned char)s[end - 2] == 0xC2 && (unsigned char)s[end - 1] == 0xA0)
        return 2;
    return 0;
}

size_t address_given_name(const char *full_name, const char **start)
{
    *start = full_name ? full_name : "";
    if (!full_name) return 0;
    size_t end = strlen(full_name), b;
    while ((b = blank_before(full_name, end)) > 0) end -= b;
    size_t begin = end;
    while (begin > 0 && blank_before(full_name, begin) == 0) begin--;
    *start = full_name + begin;
    return end - begin;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int address_age(const char *birth_date, int y, int m, int d)
{
    if (!birth_date || strlen(birth_date) < 10 || birth_date[4] != '-' || birth_date[7] != '-')
        return -1;
    int by = digits(birth_date, 4), bm = digits(birth_date + 5, 2), bd = digits(birth_date + 8, 2);
    if (by < 0 || bm < 1 || bm > 12 || bd < 1 || bd > 31) return -1;
    int age = y - by - ((m < bm || (m == bm && d < bd)) ? 1 : 0);
    return age < 0 ? -1 : age;
}

const char *address_salutation(const struct address_rules *r, const char *gender, int age)
{
    int elder = age < 0 || age >= r->elder_age;
    if (gender && strcmp(gender, "male") == 0) return elder ? "Ông" : "Anh";
    if (gender && strcmp(gender, "female") == 0) return elder ? "Bà" : "Chị";
    return r->neutral;
}
