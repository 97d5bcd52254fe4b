/* GET /api/v1/templates/ID/preview[?citizen=CID]: one rendering of a template for a citizen
 * (the first one when none is named), with the renderer the dispatcher uses, and for SMS its
 * encoding and parts. The whole-segment check of `template preview --segment` is a report for
 * the command line, not a dashboard call. */
#include "web/api.h"
#include "campaigns/template.h"
#include "gateways/smstext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void render(struct api_call *c, const PGresult *citizen)
{
    if (PQntuples(citizen) != 1) {
        api_error(c, 404, "no such citizen");
        return;
    }
    char err[600];
    struct template_set *set = template_set_from_result(c->keep[0], err, sizeof err);
    if (!set) {
        api_error(c, 409, "the template does not compile: %s", err);
        return;
    }
    struct tpl_env *env = tpl_env_new(c->w->cfg);
    if (!env)
        abort();
    if (tpl_env_load_policy(env, c->keep[1], err, sizeof err) < 0) {
        tpl_env_free(env);
        template_set_free(set);
        api_error(c, 409, "%s", err);
        return;
    }
    struct tpl_citizen who;
    tpl_citizen_from_row(citizen, 0, 0, &who);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)strtoll(c->id, NULL, 10));
    cJSON_AddNumberToObject(o, "citizen_id", (double)who.id);
    int status = 200;
    if (set->channel == TPL_SMS) {
        char *buf = malloc(TPL_RENDER_MAX);
        struct sms_info info;
        if (!buf)
            abort();
        int n = template_set_render_sms(set, &who, env, buf, TPL_RENDER_MAX, &info);
        cJSON_AddStringToObject(o, "channel", "sms");
        if (n < 0) {
            status = 409;
            cJSON_AddStringToObject(o, "error", "the rendering does not fit or has no policy figures");
        } else {
            cJSON_AddStringToObject(o, "text", buf);
            cJSON_AddStringToObject(o, "encoding", info.coding == SMS_UCS2 ? "UCS-2" : "GSM-7");
            cJSON_AddNumberToObject(o, "units", info.units);
            cJSON_AddNumberToObject(o, "parts", info.parts);
        }
        free(buf);
    } else {
        cJSON *data = NULL;
        cJSON_AddStringToObject(o, "channel", "zns");
        if (template_render_zns(set, &who, env, &data, err, sizeof err) < 0) {
            status = 409;
            cJSON_AddStringToObject(o, "error", err);
        } else
            cJSON_AddItemToObject(o, "template_data", data);
    }
    tpl_env_free(env);
    template_set_free(set);
    api_reply(c, status, o);
}

static void policy_loaded(struct api_call *c, const PGresult *r)
{
    api_keep(c, 1, r);
    long long cid = 0;
    int has = api_query_int(c, "citizen", 1, 999999999999999999LL, &cid);
    if (has < 0)
        return;
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%lld", cid);
    const char *p[1] = {idtxt};
    if (has)
        api_query(c, "SELECT " TPL_CITIZEN_COLUMNS " FROM " TPL_CITIZEN_FROM " WHERE c.id = $1::bigint", 1, p, render);
    else
        api_query(c, "SELECT " TPL_CITIZEN_COLUMNS " FROM " TPL_CITIZEN_FROM " ORDER BY c.id LIMIT 1", 0, NULL, render);
}

static void variants_loaded(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) == 0) {
        api_error(c, 404, "no template %s, or it has no variant", c->id);
        return;
    }
    api_keep(c, 0, r);
    api_query(c, TPL_POLICY_SQL, 0, NULL, policy_loaded);
}

void api_template_preview(struct api_call *c)
{
    const char *p[1] = {c->id};
    api_query(c, TPL_VARIANTS_SQL, 1, p, variants_loaded);
}
