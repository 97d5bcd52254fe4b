#include "campaigns/answer.h"

#include <stdio.h>
#include <string.h>

#define NAME_TAG "{{name}}"

/* "Bà Hoa", or "bạn" for nobody known. */
static int name_of(const struct answer_citizen *c, const struct address_rules *r, int y, int m, int d,
                   char *out, size_t cap)
{
    const char *given = NULL;
    size_t glen = c && c->full_name ? address_given_name(c->full_name, &given) : 0;
    if (glen == 0)
        return snprintf(out, cap, "bạn");
    int age = address_age(c->birth_date, y, m, d);
    return snprintf(out, cap, "%s %.*s", address_salutation(r, c->gender, age), (int)glen, given);
}

int answer_render(const char *body, const struct answer_citizen *c, const struct address_rules *r,
                  int y, int m, int d, char *out, size_t cap)
{
    char name[160];
    int nlen = name_of(c, r, y, m, d, name, sizeof name);
    if (nlen < 0 || (size_t)nlen >= sizeof name)
        nlen = snprintf(name, sizeof name, "bạn");
    size_t j = 0, tag = strlen(NAME_TAG);
    for (const char *p = body ? body : ""; *p;) {
        const char *at = strstr(p, NAME_TAG);
        size_t lit = at ? (size_t)(at - p) : strlen(p);
        size_t add = lit + (at ? (size_t)nlen : 0);
        if (j + add >= cap)
            return -1;
        memcpy(out + j, p, lit);
        j += lit;
        if (!at)
            break;
        memcpy(out + j, name, (size_t)nlen);
        j += (size_t)nlen;
        p = at + tag;
    }
    if (cap == 0)
        return -1;
    out[j] = '\0';
    return (int)j;
}
