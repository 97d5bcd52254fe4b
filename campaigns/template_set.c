/* Templates with language variants, and ZNS parameter maps (template.h). Loaded from the rows of
 * TPL_VARIANTS_SQL so that the CLI (sync) and the daemon (async pool) share one loader. */
#include "campaigns/template.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"

const char *const TPL_VARIANTS_SQL =
    "SELECT v.language, v.body, t.channel, v.unaccent, coalesce(v.zns_template_id, t.zns_template_id),"
    "       coalesce(h.hint, (SELECT hint FROM opt_out_hints WHERE language = 'vi'))"
    "  FROM template_variants v JOIN templates t ON t.id = v.template_id"
    "  LEFT JOIN opt_out_hints h ON h.language = v.language"
    " WHERE v.template_id = $1 ORDER BY v.language";

/* Zalo's limits: parameter names are short identifiers; a value is at most 30 characters for a
 * name and 200 for anything else unless the template says otherwise. */
enum { ZNS_NAME_MAX = 30, ZNS_MAX_PARAMS = 64, ZNS_LIMIT_NAME = 30, ZNS_LIMIT_OTHER = 200,
       ZNS_LIMIT_CEILING = 2000 };

void template_zns_free(struct tpl_zns_param *params, int nparams)
{
    if (!params) return;
    for (int i = 0; i < nparams; i++) template_free(params[i].expr);
    free(params);
}

static int zns_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > ZNS_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* Reads one member: a string expression, or {"expr": "...", "max": N}. */
static int zns_member(const cJSON *m, struct tpl_zns_param *p, char *err, size_t errlen)
{
    const char *expr = NULL;
    p->max_chars = strstr(m->string, "name") ? ZNS_LIMIT_NAME : ZNS_LIMIT_OTHER;
    if (cJSON_IsString(m)) {
        expr = m->valuestring;
    } else if (cJSON_IsObject(m)) {
        for (const cJSON *k = m->child; k; k = k->next) {
            if (strcmp(k->string, "expr") == 0 && cJSON_IsString(k)) {
                expr = k->valuestring;
            } else if (strcmp(k->string, "max") == 0 && cJSON_IsNumber(k) && k->valuedouble >= 1 &&
                       k->valuedouble <= ZNS_LIMIT_CEILING && k->valuedouble == (double)(int)k->valuedouble) {
                p->max_chars = (int)k->valuedouble;
            } else {
                snprintf(err, errlen, "parameter '%s': '%s' must be \"expr\": text or \"max\": 1..%d",
                         m->string, k->string, ZNS_LIMIT_CEILING);
                return -1;
            }
        }
    }
    if (!expr) {
        snprintf(err, errlen, "parameter '%s' needs an expression: a string or {\"expr\": …, \"max\": N}",
                 m->string);
        return -1;
    }
    char why[256];
    p->expr = template_compile(expr, why, sizeof why);
    if (!p->expr) {
        snprintf(err, errlen, "parameter '%s': %s", m->string, why);
        return -1;
    }
    return 0;
}

int template_zns_compile(const char *json, struct tpl_zns_param **params, int *nparams,
                         char *err, size_t errlen)
{
    *params = NULL;
    *nparams = 0;
    cJSON *root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        snprintf(err, errlen, "a ZNS template is a JSON object mapping Zalo parameter names to expressions");
        cJSON_Delete(root);
        return -1;
    }
    int n = cJSON_GetArraySize(root);
    if (n < 1 || n > ZNS_MAX_PARAMS) {
        snprintf(err, errlen, "a ZNS template needs 1..%d parameters, not %d", ZNS_MAX_PARAMS, n);
        cJSON_Delete(root);
        return -1;
    }
    struct tpl_zns_param *ps = calloc((size_t)n, sizeof *ps);
    int k = 0, rc = -1;
    if (!ps) { snprintf(err, errlen, "out of memory"); goto out; }
    for (const cJSON *m = root->child; m; m = m->next, k++) {
        if (!zns_name_ok(m->string)) {
            snprintf(err, errlen, "parameter name '%.40s' must be 1..%d characters of A-Z a-z 0-9 _",
                     m->string, ZNS_NAME_MAX);
            goto out;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(ps[j].name, m->string) == 0) {
                snprintf(err, errlen, "parameter '%s' is given twice", m->string);
                goto out;
            }
        snprintf(ps[k].name, sizeof ps[k].name, "%s", m->string);
        if (zns_member(m, &ps[k], err, errlen) < 0) goto out;
    }
    *params = ps;
    *nparams = n;
    ps = NULL;
    rc = 0;
out:
    template_zns_free(ps, n);
    cJSON_Delete(root);
    return rc;
}

void template_set_free(struct template_set *set)
{
    if (!set) return;
    for (int i = 0; i < set->nvariants; i++) {
        template_free(set->variants[i].body);
        template_zns_free(set->variants[i].params, set->variants[i].nparams);
    }
    free(set);
}

/* Puts the hint HINT_TEXT (from opt_out_hints) in place of the variant's {{opt_out_hint}}. */
static int variant_inline_hint(struct tpl_variant *v, const char *hint_text, char *err, size_t errlen)
{
    char why[256];
    struct template *hint = template_compile(hint_text, why, sizeof why);
    if (!hint) {
        snprintf(err, errlen, "its opt-out hint (table opt_out_hints) does not compile: %s", why);
        return -1;
    }
    int rc = v->body ? template_inline_hint(v->body, hint) : 0;
    for (int i = 0; i < v->nparams && rc == 0; i++)
        rc = template_inline_hint(v->params[i].expr, hint);
    template_free(hint);
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

struct template_set *template_set_from_result(const PGresult *res, char *err, size_t errlen)
{
    int rows = PQntuples(res), cols = PQnfields(res);
    if (cols != 5 && cols != 6) {
        snprintf(err, errlen, "template variant rows have %d columns, expected 6", cols);
        return NULL;
    }
    if (rows > TPL_MAX_VARIANTS) {
        snprintf(err, errlen, "%d variants; at most %d", rows, TPL_MAX_VARIANTS);
        return NULL;
    }
    struct template_set *set = calloc(1, sizeof *set);
    if (!set) { snprintf(err, errlen, "out of memory"); return NULL; }
    int have_vi = 0;
    for (int i = 0; i < rows; i++) {
        struct tpl_variant *v = &set->variants[set->nvariants++];
        const char *lang = PQgetvalue(res, i, 0), *body = PQgetvalue(res, i, 1);
        set->channel = strcmp(PQgetvalue(res, i, 2), "zns") == 0 ? TPL_ZNS : TPL_SMS;
        snprintf(v->language, sizeof v->language, "%s", lang);
        v->unaccent = PQgetvalue(res, i, 3)[0] == 't';
        snprintf(v->zns_template_id, sizeof v->zns_template_id, "%s", PQgetvalue(res, i, 4));
        char why[256];
        int bad;
        if (set->channel == TPL_ZNS)
            bad = template_zns_compile(body, &v->params, &v->nparams, why, sizeof why) < 0;
        else
            bad = !(v->body = template_compile(body, why, sizeof why));
        if (!bad && cols == 6 && !PQgetisnull(res, i, 5))
            bad = variant_inline_hint(v, PQgetvalue(res, i, 5), why, sizeof why) < 0;
        if (bad) {
            snprintf(err, errlen, "variant %s: %s", lang, why);
            template_set_free(set);
            return NULL;
        }
        if (strcmp(lang, "vi") == 0) have_vi = 1;
    }
    if (!have_vi) {
        snprintf(err, errlen, "the template has no 'vi' variant, which every citizen falls back to");
        template_set_free(set);
        return NULL;
    }
    return set;
}

const struct tpl_variant *template_set_pick(const struct template_set *set, const char *language)
{
    const struct tpl_variant *vi = NULL;
    for (int i = 0; i < set->nvariants; i++) {
        const struct tpl_variant *v = &set->variants[i];
        if (language && strcmp(v->language, language) == 0) return v;
        if (strcmp(v->language, "vi") == 0) vi = v;
    }
    return vi;
}

int template_set_render_sms(const struct template_set *set, const struct tpl_citizen *c,
                            const struct tpl_env *env, char *out, size_t cap, struct sms_info *info)
{
    const struct tpl_variant *v = template_set_pick(set, c->language);
    if (!v || !v->body) return -1;
    int n;
    if (v->unaccent) {
        char raw[TPL_RENDER_MAX];
        int r = template_render(v->body, c, env, raw, sizeof raw);
        if (r < 0) return -1;
        size_t u = smstext_unaccent(raw, (size_t)r, out, cap);
        if (u == (size_t)-1) return -1;
        n = (int)u;
    } else {
        n = template_render(v->body, c, env, out, cap);
        if (n < 0) return -1;
    }
    smstext_measure(out, (size_t)n, info);
    return n;
}

static int utf8_chars(const char *s)
{
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int template_render_zns(const struct template_set *set, const struct tpl_citizen *c,
                        const struct tpl_env *env, struct cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    const struct tpl_variant *v = template_set_pick(set, c->language);
    if (!v || !v->params) {
        snprintf(err, errlen, "not a ZNS template");
        return -1;
    }
    cJSON *data = cJSON_CreateObject();
    if (!data) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int i = 0; i < v->nparams; i++) {
        const struct tpl_zns_param *p = &v->params[i];
        char buf[TPL_RENDER_MAX];
        if (template_render(p->expr, c, env, buf, sizeof buf) < 0) {
            snprintf(err, errlen, "parameter '%s' cannot be rendered (too long, or no policy figures)", p->name);
            goto fail;
        }
        int chars = utf8_chars(buf);
        if (chars > p->max_chars) {
            snprintf(err, errlen, "parameter '%s' is %d characters, Zalo's limit is %d", p->name, chars,
                     p->max_chars);
            goto fail;
        }
        if (!cJSON_AddStringToObject(data, p->name, buf)) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    *out = data;
    return 0;
fail:
    cJSON_Delete(data);
    return -1;
}

static const char *cell(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

void tpl_citizen_from_row(const PGresult *res, int row, int col, struct tpl_citizen *c)
{
    const char *id = cell(res, row, col);
    *c = (struct tpl_citizen){
        .id = id ? strtoll(id, NULL, 10) : 0,
        .full_name = cell(res, row, col + 1),
        .phone = cell(res, row, col + 2),
        .commune_code = cell(res, row, col + 3),
        .commune_name = cell(res, row, col + 4),
        .province_code = cell(res, row, col + 5),
        .gender = cell(res, row, col + 6),
        .birth_date = cell(res, row, col + 7),
        .group_code = cell(res, row, col + 8),
        .language = cell(res, row, col + 9),
        .bhxh_code = cell(res, row, col + 10),
        .participation = cell(res, row, col + 11),
        .voluntary_due_date = cell(res, row, col + 12),
        .zalo_user_id = cell(res, row, col + 13),
        .tags = cell(res, row, col + 14),
    };
}

int template_check_usable(PGconn *db, int64_t template_id, char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, template_id);
    const char *params[1] = {id};
    char why[512];
    PGresult *r = db_query(db, why, sizeof why, "SELECT 1 FROM templates WHERE id = $1", 1, params);
    if (!r) { snprintf(err, errlen, "%s", why); return -1; }
    int exists = PQntuples(r) == 1;
    PQclear(r);
    if (!exists) {
        snprintf(err, errlen, "template %s does not exist", id);
        return -1;
    }
    r = db_query(db, why, sizeof why, TPL_VARIANTS_SQL, 1, params);
    if (!r) { snprintf(err, errlen, "%s", why); return -1; }
    struct template_set *set = template_set_from_result(r, why, sizeof why);
    PQclear(r);
    if (!set) {
        snprintf(err, errlen, "template %s cannot be used: %s", id, why);
        return -1;
    }
    template_set_free(set);
    return 0;
}
