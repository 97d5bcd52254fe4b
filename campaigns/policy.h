#ifndef LOA_POLICY_H
#define LOA_POLICY_H
#include <stdbool.h>
#include <stddef.h>

#include "campaigns/address.h"
#include "campaigns/template.h"

/* The definition of struct tpl_env (template.h): what a rendering needs besides the citizen.
 * Built by tpl_env_new() from the configuration, filled with the policy figures valid today by
 * tpl_env_load_policy() from the rows of TPL_POLICY_SQL (sql/003_policy.sql), then read-only.
 * The figures are preformatted here so that a rendering only copies bytes. */

enum policy_match { POLICY_ANY, POLICY_TAG, POLICY_GROUP, POLICY_LANGUAGE, POLICY_NOT_LANGUAGE };

/* One rule of policy_rules with the figures of its policy valid today. */
struct policy_rule {
    enum policy_match match;
    char value[48];
    char code[48];
    long min_contribution_vnd;      /* poverty line × contribution rate, rounded */
    int support_pct_x100;           /* hundredths of a percent */
    char contribution_text[32];     /* "330.000 đ" */
    char support_text[16];          /* "30" or "12,5" */
};

enum { POLICY_MAX_RULES = 32 };

struct tpl_env {
    int year, month, day;           /* today in [policy] timezone */
    struct address_rules address;
    char opt_out_hint[128];         /* "Soạn TC gửi 8077 để từ chối": a variant without a hint
                                     * of its language (opt_out_hints) renders this one */
    char opt_out_keyword[24];       /* [policy] opt_out_keyword, {{opt_out_keyword}} */
    char opt_out_number[24];        /* [policy] opt_out_number, {{opt_out_number}} */
    bool policy_loaded;
    int nrules;
    struct policy_rule rules[POLICY_MAX_RULES];   /* in priority order; the first match wins */
};

/* The first rule matching the citizen, or NULL (no policy loaded). */
const struct policy_rule *policy_rule_for(const struct tpl_env *env, const struct tpl_citizen *c);

/* True when TAGS (a PostgreSQL text[] literal such as `{poor,"a b"}`) holds TAG. */
bool policy_tags_have(const char *tags, const char *tag);

/* Formats VND as "330.000 đ" into BUF. */
void policy_format_vnd(long vnd, char *buf, size_t len);

#endif
