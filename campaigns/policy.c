/* The rendering environment and the policy figures (policy.h, sql/003_policy.sql). */
#include "campaigns/policy.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/tz.h"

const char *const TPL_POLICY_SQL =
    "SELECT r.priority, r.match_field, coalesce(r.match_value, ''), r.policy_code,"
    "       p.valid_from::text, coalesce(p.valid_to::text, ''), p.poverty_line_vnd::text,"
    "       p.contribution_pct::text, p.support_pct::text"
    "  FROM policy_rules r LEFT JOIN policies p ON p.code = r.policy_code"
    " ORDER BY r.priority, p.valid_from";

/* Today's date in the time zone TZ. */
static void today_in(const char *tz, int *y, int *m, int *d)
{
    struct tm tm;
    tz_localtime(tz && *tz ? tz : "Asia/Ho_Chi_Minh", clock_now_ms() / 1000, &tm);
    *y = tm.tm_year + 1900;
    *m = tm.tm_mon + 1;
    *d = tm.tm_mday;
}

struct tpl_env *tpl_env_new(const struct config *cfg)
{
    struct tpl_env *env = calloc(1, sizeof *env);
    if (!env) return NULL;
    today_in(config_str(cfg, "policy", "timezone"), &env->year, &env->month, &env->day);
    env->address.elder_age = (int)config_int(cfg, "policy", "elder_age");
    snprintf(env->address.neutral, sizeof env->address.neutral, "%s",
             config_str(cfg, "policy", "neutral_salutation"));
    snprintf(env->opt_out_keyword, sizeof env->opt_out_keyword, "%s",
             config_str(cfg, "policy", "opt_out_keyword"));
    snprintf(env->opt_out_number, sizeof env->opt_out_number, "%s",
             config_str(cfg, "policy", "opt_out_number"));
    snprintf(env->opt_out_hint, sizeof env->opt_out_hint, "Soạn %s gửi %s để từ chối",
             env->opt_out_keyword, env->opt_out_number);
    return env;
}

void tpl_env_free(struct tpl_env *env)
{
    free(env);
}

void tpl_env_set_today(struct tpl_env *env, int year, int month, int day)
{
    env->year = year;
    env->month = month;
    env->day = day;
}

void policy_format_vnd(long vnd, char *buf, size_t len)
{
    char digits[32], grouped[48];
    int n = snprintf(digits, sizeof digits, "%ld", vnd < 0 ? -vnd : vnd);
    size_t j = 0;
    if (vnd < 0) grouped[j++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) grouped[j++] = '.';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    snprintf(buf, len, "%s đ", grouped);
}

/* Parses a numeric such as "22", "22.00" or "12.5" into hundredths; -1 when malformed. */
static long parse_hundredths(const char *s)
{
    long whole = 0, frac = 0;
    int fd = 0;
    const char *p = s;
    if (!*p) return -1;
    for (; *p >= '0' && *p <= '9'; p++) whole = whole * 10 + (*p - '0');
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (fd < 2) { frac = frac * 10 + (*p - '0'); fd++; }
    }
    if (*p) return -1;
    while (fd++ < 2) frac *= 10;
    return whole * 100 + frac;
}

static void format_pct(int x100, char *buf, size_t len)
{
    if (x100 % 100 == 0) snprintf(buf, len, "%d", x100 / 100);
    else if (x100 % 10 == 0) snprintf(buf, len, "%d,%d", x100 / 100, (x100 % 100) / 10);
    else snprintf(buf, len, "%d,%02d", x100 / 100, x100 % 100);
}

static int parse_match(const char *s, enum policy_match *out)
{
    static const struct { const char *name; enum policy_match m; } names[] = {
        {"any", POLICY_ANY}, {"tag", POLICY_TAG}, {"group", POLICY_GROUP},
        {"language", POLICY_LANGUAGE}, {"not_language", POLICY_NOT_LANGUAGE},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i].name) == 0) { *out = names[i].m; return 0; }
    return -1;
}

/* ISO dates compare as text. */
static int valid_on(const char *from, const char *to, const char *today)
{
    return strcmp(from, today) <= 0 && (!*to || strcmp(today, to) < 0);
}

int tpl_env_load_policy(struct tpl_env *env, const PGresult *res, char *err, size_t errlen)
{
    if (PQnfields(res) != 9) {
        snprintf(err, errlen, "policy rows have %d columns, expected 9", PQnfields(res));
        return -1;
    }
    char today[16];
    snprintf(today, sizeof today, "%04d-%02d-%02d", env->year, env->month, env->day);
    env->nrules = 0;
    env->policy_loaded = false;
    int have_any = 0;
    /* Rows come grouped by rule: a rule is kept once one of its policy rows is valid today. */
    for (int i = 0; i < PQntuples(res);) {
        const char *prio = PQgetvalue(res, i, 0);
        const char *code = PQgetvalue(res, i, 3);
        int found = 0;
        struct policy_rule r = {0};
        int j = i;
        for (; j < PQntuples(res) && strcmp(PQgetvalue(res, j, 0), prio) == 0; j++) {
            if (PQgetisnull(res, j, 4) || found) continue;
            if (!valid_on(PQgetvalue(res, j, 4), PQgetvalue(res, j, 5), today)) continue;
            long poverty = atol(PQgetvalue(res, j, 6));
            long rate = parse_hundredths(PQgetvalue(res, j, 7));
            long support = parse_hundredths(PQgetvalue(res, j, 8));
            if (poverty <= 0 || rate < 0 || support < 0) {
                snprintf(err, errlen, "policy %s from %s has malformed figures", code, PQgetvalue(res, j, 4));
                return -1;
            }
            r.min_contribution_vnd = (poverty * rate + 5000) / 10000;
            r.support_pct_x100 = (int)support;
            found = 1;
        }
        if (!found) {
            snprintf(err, errlen, "policy rule %s names policy '%s', which has no figures valid on %s",
                     prio, code, today);
            return -1;
        }
        if (env->nrules == POLICY_MAX_RULES) {
            snprintf(err, errlen, "more than %d policy rules", POLICY_MAX_RULES);
            return -1;
        }
        if (parse_match(PQgetvalue(res, i, 1), &r.match) < 0) {
            snprintf(err, errlen, "policy rule %s: unknown match_field '%s'", prio, PQgetvalue(res, i, 1));
            return -1;
        }
        snprintf(r.value, sizeof r.value, "%s", PQgetvalue(res, i, 2));
        snprintf(r.code, sizeof r.code, "%s", code);
        policy_format_vnd(r.min_contribution_vnd, r.contribution_text, sizeof r.contribution_text);
        format_pct(r.support_pct_x100, r.support_text, sizeof r.support_text);
        if (r.match == POLICY_ANY) have_any = 1;
        env->rules[env->nrules++] = r;
        i = j;
    }
    if (!have_any) {
        snprintf(err, errlen, "no policy rule matches everybody (match_field 'any')");
        env->nrules = 0;
        return -1;
    }
    env->policy_loaded = true;
    return 0;
}

bool policy_tags_have(const char *tags, const char *tag)
{
    if (!tags || *tags != '{') return false;
    size_t tl = strlen(tag);
    const char *p = tags + 1;
    while (*p && *p != '}') {
        char elem[128];
        size_t n = 0;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                if (n + 1 < sizeof elem) elem[n++] = *p;
            }
            if (*p == '"') p++;
        } else {
            for (; *p && *p != ',' && *p != '}'; p++)
                if (n + 1 < sizeof elem) elem[n++] = *p;
        }
        if (n == tl && memcmp(elem, tag, n) == 0) return true;
        if (*p == ',') p++;
    }
    return false;
}

static bool str_is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

const struct policy_rule *policy_rule_for(const struct tpl_env *env, const struct tpl_citizen *c)
{
    if (!env->policy_loaded) return NULL;
    const char *lang = c->language && *c->language ? c->language : "vi";
    for (int i = 0; i < env->nrules; i++) {
        const struct policy_rule *r = &env->rules[i];
        switch (r->match) {
        case POLICY_ANY: return r;
        case POLICY_TAG: if (policy_tags_have(c->tags, r->value)) return r; break;
        case POLICY_GROUP: if (str_is(c->group_code, r->value)) return r; break;
        case POLICY_LANGUAGE: if (strcmp(lang, r->value) == 0) return r; break;
        case POLICY_NOT_LANGUAGE: if (strcmp(lang, r->value) != 0) return r; break;
        }
    }
    return NULL;
}
