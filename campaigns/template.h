#ifndef LOA_TEMPLATE_H
#define LOA_TEMPLATE_H
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

/* Message templates: `{{placeholder}}` text compiled once, rendered per citizen without
 * allocating. The dispatcher calls template_render() for every message, so it must be fast
 * (target: render + encode + count parts at ≥ 1,000,000 messages/s on one core). */

/* The citizen fields a template can use. Strings are NUL-terminated UTF-8, or NULL / "" when
 * unknown. Dates are ISO `YYYY-MM-DD`. The dispatcher fills this from its lease query. */
struct tpl_citizen {
    int64_t id;
    const char *full_name;
    const char *phone;              /* 84XXXXXXXXX */
    const char *commune_code;
    const char *commune_name;
    const char *province_code;
    const char *gender;             /* "male" / "female" */
    const char *birth_date;
    const char *group_code;
    const char *language;
    const char *bhxh_code;
    const char *participation;
    const char *voluntary_due_date;
    const char *zalo_user_id;
};

/* Everything a rendering needs besides the citizen: today's date (for ages), the policy
 * figures per target group (from the database), the salutation thresholds and the opt-out
 * hint. Built once per campaign (or per preview); read-only while rendering. */
struct tpl_env;

struct template;

/* Compiles BODY. An unknown placeholder, unbalanced braces, invalid UTF-8 or a forbidden
 * character is refused: returns NULL and writes the reason (with the byte offset) into ERR. */
struct template *template_compile(const char *body, char *err, size_t errlen);
void template_free(struct template *t);

/* Renders into OUT (capacity CAP, NUL-terminated). Returns the length in bytes, or -1 when the
 * rendering does not fit. Never allocates. */
int template_render(const struct template *t, const struct tpl_citizen *c,
                    const struct tpl_env *env, char *out, size_t cap);

#endif
