#ifndef LOA_TEMPLATE_H
#define LOA_TEMPLATE_H
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "gateways/smstext.h"

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
    const char *tags;               /* the PostgreSQL text[] literal, e.g. `{poor}`; picks the
                                     * policy figures (policy_rules) together with group_code
                                     * and language; NULL when none */
};

/* Everything a rendering needs besides the citizen: today's date (for ages), the policy
 * figures per target group (from the database), the salutation thresholds and the opt-out
 * hint. Built once per campaign (or per preview); read-only while rendering. */
struct tpl_env;
struct config;

/* Makes an environment from the [policy] keys: today's date in [policy] timezone, the salutation
 * settings and the opt-out hint. The policy figures are not loaded yet. NULL only on ENOMEM. */
struct tpl_env *tpl_env_new(const struct config *cfg);
void tpl_env_free(struct tpl_env *env);
/* Sets "today" (tests and reports for another day); call it before tpl_env_load_policy(). */
void tpl_env_set_today(struct tpl_env *env, int year, int month, int day);

/* A query without parameters returning every policy rule with the figures of its policy, in
 * priority order. The CLI runs it with db_query(), the daemon through its pool; both hand the
 * result to tpl_env_load_policy(), which keeps the figures valid on the env's today. Refused
 * (-1, ERR) when a rule's policy has no figures valid today or no rule matches everybody. */
extern const char *const TPL_POLICY_SQL;
int tpl_env_load_policy(struct tpl_env *env, const PGresult *res, char *err, size_t errlen);

struct template;

/* Compiles BODY. An unknown placeholder, unbalanced braces, invalid UTF-8 or a forbidden
 * character is refused: returns NULL and writes the reason (with the byte offset) into ERR. */
struct template *template_compile(const char *body, char *err, size_t errlen);
void template_free(struct template *t);

/* Renders into OUT (capacity CAP, NUL-terminated). Returns the length in bytes, or -1 when the
 * rendering does not fit, or when the template uses a policy figure ({{min_contribution_vnd}},
 * {{state_support_pct}}) and ENV has no policy loaded. Never allocates. */
int template_render(const struct template *t, const struct tpl_citizen *c,
                    const struct tpl_env *env, char *out, size_t cap);

/* Puts the segments of HINT (an opt-out hint compiled from opt_out_hints, which may use
 * {{opt_out_keyword}} and {{opt_out_number}}) in place of every {{opt_out_hint}} of T, so that a
 * variant renders the hint of its own language at no cost per message. HINT is not kept (the
 * caller frees it). 0, or -1 on ENOMEM (T is then unchanged). */
int template_inline_hint(struct template *t, const struct template *hint);

/* True when the template uses {{min_contribution_vnd}} or {{state_support_pct}}. */
int template_uses_policy(const struct template *t);
/* Characters outside the Basic Multilingual Plane (emoji) in the template's own text: each forces
 * UCS-2 and counts 2 units. */
int template_emoji_count(const struct template *t);

/* A buffer this large holds any rendering a gateway accepts (10 parts of 153 septets, at up to
 * 4 bytes a character) with room to spare. */
enum { TPL_RENDER_MAX = 8192 };

/* ---- Templates with language variants (templates + template_variants) ---- */

enum tpl_channel { TPL_SMS, TPL_ZNS };

/* One ZNS parameter: Zalo's name for it, the expression that fills it, its length limit in
 * characters. */
struct tpl_zns_param {
    char name[32];
    int max_chars;
    struct template *expr;
};

/* One language variant, compiled. For SMS, BODY; for ZNS, PARAMS. */
struct tpl_variant {
    char language[8];
    int unaccent;                   /* SMS: send "không dấu" */
    char zns_template_id[64];
    struct template *body;
    struct tpl_zns_param *params;
    int nparams;
};

enum { TPL_MAX_VARIANTS = 16 };

struct template_set {
    enum tpl_channel channel;
    int nvariants;
    struct tpl_variant variants[TPL_MAX_VARIANTS];
};

/* The variants of template $1 (its id): rows of language, body, channel, unaccent ('t'/'f'),
 * zns_template_id (may be NULL), and the opt-out hint of the variant's language (opt_out_hints,
 * else the vi one; NULL when the table has neither). */
extern const char *const TPL_VARIANTS_SQL;

/* Compiles every row of RES (from TPL_VARIANTS_SQL, or its first five columns: then every
 * variant renders the env's hint). Each variant's {{opt_out_hint}} becomes the hint of its row.
 * NULL with ERR when a body or a hint does not compile, or when there is no `vi` variant (every
 * citizen must have one to fall back to). The caller frees it with template_set_free(). */
struct template_set *template_set_from_result(const PGresult *res, char *err, size_t errlen);
void template_set_free(struct template_set *set);

/* The variant in LANGUAGE, else the `vi` one. Never NULL for a set from the loader. */
const struct tpl_variant *template_set_pick(const struct template_set *set, const char *language);

/* One SMS for citizen C: picks the variant, renders, unaccents when the variant says so, and
 * measures. Returns the length in OUT, or -1 (too long for CAP or no policy: see
 * template_render()). Never allocates. */
int template_set_render_sms(const struct template_set *set, const struct tpl_citizen *c,
                            const struct tpl_env *env, char *out, size_t cap,
                            struct sms_info *info);

/* Compiles the JSON body of a ZNS variant: an object mapping Zalo parameter names (1..30 of
 * [A-Za-z0-9_]) to an expression, or to {"expr": EXPR, "max": N}. The default limit is 30
 * characters for a parameter whose name contains "name", 200 otherwise. 0, or -1 with ERR. */
int template_zns_compile(const char *json, struct tpl_zns_param **params, int *nparams,
                         char *err, size_t errlen);
void template_zns_free(struct tpl_zns_param *params, int nparams);

/* Builds Zalo's `template_data` object for citizen C from the variant of their language.
 * 0 and *OUT (the caller cJSON_Delete()s it), or -1 with ERR when a value is longer than its
 * limit or cannot be rendered. */
struct cJSON;
int template_render_zns(const struct template_set *set, const struct tpl_citizen *c,
                        const struct tpl_env *env, struct cJSON **out, char *err, size_t errlen);

/* The citizen columns a rendering reads, in the order tpl_citizen_from_row() expects, over
 * TPL_CITIZEN_FROM (citizens aliased c, their commune m). */
#define TPL_CITIZEN_COLUMNS                                                                    \
    "c.id, c.full_name, c.phone, c.commune_code, m.name, c.province_code, c.gender,"          \
    " c.birth_date::text, c.group_code, c.language, c.bhxh_code, c.participation,"           \
    " c.voluntary_due_date::text, c.zalo_user_id, c.tags::text"
#define TPL_CITIZEN_NCOLUMNS 15
#define TPL_CITIZEN_FROM "citizens c LEFT JOIN communes m ON m.code = c.commune_code"
/* Points C's fields into row ROW of RES from column COL on (no copy: valid while RES is). */
void tpl_citizen_from_row(const PGresult *res, int row, int col, struct tpl_citizen *c);

/* Whether a campaign may use template TEMPLATE_ID: it exists, has a `vi` variant and every
 * variant compiles. 0, or -1 with the reason in ERR. */
int template_check_usable(PGconn *db, int64_t template_id, char *err, size_t errlen);

#endif
