/* Template preview: the sample, the longest rendering and the cost over a segment (preview.h). */
#include "campaigns/preview.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/db.h"
#include "gateways/gateway.h"
#include "segments/filter.h"

/* Used only when no gateway of the channel is configured: the defaults of the [gateway.*]
 * max_parts and price_per_part_vnd keys. */
enum { DEFAULT_MAX_PARTS = 3, DEFAULT_PRICE_VND = 750 };

/* What one preview holds while it streams the segment. */
struct previewer {
    PGconn *db;
    struct template_set *set;
    struct tpl_env *env;
    struct preview_result *out;
};

static void previewer_close(struct previewer *p)
{
    template_set_free(p->set);
    tpl_env_free(p->env);
}

static const char *channel_of(enum tpl_channel ch)
{
    return ch == TPL_ZNS ? "zalo" : "sms";
}

/* Chooses the gateway that prices the preview: GATEWAY when given (it must be configured),
 * else the first configured gateway of the channel, else the key defaults. */
static int pick_gateway(const struct config *cfg, enum tpl_channel ch, const char *gateway,
                        struct preview_result *out, char *err, size_t errlen)
{
    out->max_parts = DEFAULT_MAX_PARTS;
    out->price_per_part_vnd = DEFAULT_PRICE_VND;
    out->gateway[0] = '\0';
    for (size_t i = 0; i < config_gateway_count(cfg); i++) {
        const char *name = config_gateway_name(cfg, i);
        const struct gateway_type *t = gateway_type_find(config_gateway_type(cfg, i));
        int match = gateway ? strcmp(name, gateway) == 0
                            : (t && strcmp(t->channel, channel_of(ch)) == 0);
        if (!match) continue;
        const char *sec = config_gateway_section(cfg, i);
        snprintf(out->gateway, sizeof out->gateway, "%s", name);
        out->max_parts = (int)config_int(cfg, sec, "max_parts");
        out->price_per_part_vnd = config_int(cfg, sec, "price_per_part_vnd");
        return 0;
    }
    if (gateway) {
        snprintf(err, errlen, "no gateway '%s' in the configuration", gateway);
        return -1;
    }
    return 0;
}

static int previewer_open(struct previewer *p, PGconn *db, int64_t template_id,
                          const struct config *cfg, const char *gateway, struct preview_result *out,
                          char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    memset(out, 0, sizeof *out);
    p->db = db;
    p->out = out;
    char id[24], why[512];
    snprintf(id, sizeof id, "%" PRId64, template_id);
    const char *params[1] = {id};
    PGresult *r = db_query(db, why, sizeof why, TPL_VARIANTS_SQL, 1, params);
    if (!r) { snprintf(err, errlen, "%s", why); return -1; }
    p->set = template_set_from_result(r, why, sizeof why);
    PQclear(r);
    if (!p->set) { snprintf(err, errlen, "template %s: %s", id, why); return -1; }
    out->channel = p->set->channel;
    for (int i = 0; i < p->set->nvariants; i++) {
        const struct tpl_variant *v = &p->set->variants[i];
        if (v->body) out->emoji += template_emoji_count(v->body);
        snprintf(out->languages[i].language, sizeof out->languages[i].language, "%s", v->language);
    }
    out->nlanguages = p->set->nvariants;
    if (pick_gateway(cfg, p->set->channel, gateway, out, err, errlen) < 0) goto fail;
    p->env = tpl_env_new(cfg);
    if (!p->env) { snprintf(err, errlen, "out of memory"); goto fail; }
    r = db_query(db, why, sizeof why, TPL_POLICY_SQL, 0, NULL);
    if (!r) { snprintf(err, errlen, "%s", why); goto fail; }
    int rc = tpl_env_load_policy(p->env, r, why, sizeof why);
    PQclear(r);
    if (rc < 0) { snprintf(err, errlen, "policy figures: %s", why); goto fail; }
    return 0;
fail:
    previewer_close(p);
    return -1;
}

/* Renders for citizen C into BUF: the SMS text with its measure, or the ZNS template_data as
 * JSON (one message). Returns the length, or -1 with the reason in WHY. */
static int render_one(struct previewer *p, const struct tpl_citizen *c, char *buf, size_t cap,
                      struct sms_info *info, char *why, size_t whylen)
{
    if (p->set->channel == TPL_SMS) {
        int n = template_set_render_sms(p->set, c, p->env, buf, cap, info);
        if (n < 0) snprintf(why, whylen, "citizen %" PRId64 ": the rendering is too long", c->id);
        return n;
    }
    cJSON *data;
    char e[256];
    if (template_render_zns(p->set, c, p->env, &data, e, sizeof e) < 0) {
        snprintf(why, whylen, "citizen %" PRId64 ": %s", c->id, e);
        return -1;
    }
    int ok = cJSON_PrintPreallocated(data, buf, (int)cap, 0);
    cJSON_Delete(data);
    if (!ok) { snprintf(why, whylen, "citizen %" PRId64 ": template_data too long", c->id); return -1; }
    *info = (struct sms_info){SMS_UCS2, 0, 1};
    return (int)strlen(buf);
}

static void set_sample(struct previewer *p, const struct tpl_citizen *c, const char *text,
                       const struct sms_info *info)
{
    struct preview_result *o = p->out;
    o->has_sample = 1;
    o->sample_id = c->id;
    snprintf(o->sample, sizeof o->sample, "%s", text);
    snprintf(o->sample_language, sizeof o->sample_language, "%s",
             template_set_pick(p->set, c->language)->language);
    o->sample_info = *info;
}

/* A reachable citizen whose household's message goes to another member: rendered only to say
 * what one message per phone saves. */
static void preview_same_phone(struct previewer *p, const struct tpl_citizen *c)
{
    struct preview_result *o = p->out;
    char buf[TPL_RENDER_MAX], why[256];
    struct sms_info info;
    o->same_phone++;
    if (render_one(p, c, buf, sizeof buf, &info, why, sizeof why) >= 0) o->same_phone_parts += info.parts;
}

/* Adds one citizen of the segment to the figures. */
static void preview_one(struct previewer *p, const struct tpl_citizen *c, int sendable, int same_phone)
{
    struct preview_result *o = p->out;
    o->citizens++;
    if (!sendable) return;
    o->sendable++;
    if (same_phone) {
        preview_same_phone(p, c);
        return;
    }
    const struct tpl_variant *v = template_set_pick(p->set, c->language);
    for (int i = 0; i < o->nlanguages; i++)
        if (strcmp(o->languages[i].language, v->language) == 0) o->languages[i].citizens++;
    char buf[TPL_RENDER_MAX], why[256];
    struct sms_info info;
    int n = render_one(p, c, buf, sizeof buf, &info, why, sizeof why);
    if (n < 0) {
        if (o->failed++ == 0) snprintf(o->first_failure, sizeof o->first_failure, "%s", why);
        return;
    }
    if (!o->has_sample) set_sample(p, c, buf, &info);
    o->total_parts += info.parts;
    if (p->set->channel == TPL_SMS && info.parts > o->max_parts) o->over_max_parts++;
    int longer = p->set->channel == TPL_SMS
                     ? (info.parts > o->longest_info.parts ||
                        (info.parts == o->longest_info.parts && info.units > o->longest_info.units))
                     : n > (int)strlen(o->longest);
    if (!o->has_longest || longer) {
        o->has_longest = 1;
        o->longest_id = c->id;
        snprintf(o->longest, sizeof o->longest, "%s", buf);
        o->longest_info = info;
    }
}

/* Streams the segment in single-row mode: one row in memory at a time. With ONE_PER_PHONE the
 * last column says whether the citizen is a reachable member of a household whose message goes
 * to another (the first of its phone's reachable members in the household order), as the
 * daemon's materialisation decides it (engine/scheduler.c). */
static int preview_stream(struct previewer *p, const char *where, char **params, int nparams,
                          bool one_per_phone, char *err, size_t errlen)
{
    const char *sendable = segment_sendable_joined_sql(), *opt_outs = segment_opt_outs_join_sql();
    size_t len = strlen(where) + 3 * strlen(sendable) + strlen(opt_outs) + 1024;
    char *sql = malloc(len);
    const char **vals = calloc((size_t)nparams + 1, sizeof *vals);
    int rc = -1;
    if (!sql || !vals) { snprintf(err, errlen, "out of memory"); goto out; }
    if (one_per_phone)
        snprintf(sql, len, "SELECT " TPL_CITIZEN_COLUMNS ", (%s), c.phone IS NOT NULL AND (%s) AND"
                 " first_value(c.id) OVER (PARTITION BY c.phone, (%s) ORDER BY %s) <> c.id"
                 " FROM " TPL_CITIZEN_FROM "%s WHERE (%s) ORDER BY c.id", sendable, sendable, sendable,
                 segment_household_order_sql(), opt_outs, where);
    else
        snprintf(sql, len, "SELECT " TPL_CITIZEN_COLUMNS ", (%s), false FROM " TPL_CITIZEN_FROM
                 "%s WHERE (%s) ORDER BY c.id", sendable, opt_outs, where);
    vals[0] = channel_of(p->set->channel);
    for (int i = 0; i < nparams; i++) vals[i + 1] = params[i];
    if (!PQsendQueryParams(p->db, sql, nparams + 1, NULL, vals, NULL, NULL, 0) ||
        !PQsetSingleRowMode(p->db)) {
        snprintf(err, errlen, "%s", PQerrorMessage(p->db));
        goto out;
    }
    rc = 0;
    PGresult *r;
    while ((r = PQgetResult(p->db))) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            struct tpl_citizen c;
            tpl_citizen_from_row(r, 0, 0, &c);
            preview_one(p, &c, PQgetvalue(r, 0, TPL_CITIZEN_NCOLUMNS)[0] == 't',
                        PQgetvalue(r, 0, TPL_CITIZEN_NCOLUMNS + 1)[0] == 't');
        } else if (st != PGRES_TUPLES_OK && rc == 0) {
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
            rc = -1;
        }
        PQclear(r);
    }
out:
    free(sql);
    free(vals);
    return rc;
}

static void preview_price(struct preview_result *o)
{
    o->cost_vnd = o->total_parts * o->price_per_part_vnd;
    o->saving_vnd = o->same_phone_parts * o->price_per_part_vnd;
}

/* The verdict on a streamed segment: refused when a sendable citizen cannot be rendered or
 * would get more parts than the gateway accepts. */
static int preview_verdict(const struct preview_result *o, char *err, size_t errlen)
{
    if (o->failed > 0) {
        snprintf(err, errlen, "%ld citizen(s) cannot get this template; first: %s", o->failed, o->first_failure);
        return -1;
    }
    if (o->over_max_parts > 0) {
        snprintf(err, errlen, "%ld citizen(s) would get more than %d parts%s%s; the longest rendering "
                 "(citizen %" PRId64 ") is %d parts: %s", o->over_max_parts, o->max_parts,
                 o->gateway[0] ? " on gateway " : "", o->gateway, o->longest_id, o->longest_info.parts,
                 o->longest);
        return -1;
    }
    return 0;
}

int template_preview_segment(PGconn *db, int64_t template_id, const char *segment_where,
                             char **params, int nparams, const struct config *cfg,
                             const char *gateway, bool one_per_phone, struct preview_result *out,
                             char *err, size_t errlen)
{
    struct previewer p;
    if (previewer_open(&p, db, template_id, cfg, gateway, out, err, errlen) < 0) return -1;
    int rc = preview_stream(&p, segment_where, params, nparams, one_per_phone, err, errlen);
    previewer_close(&p);
    if (rc < 0) return -1;
    preview_price(out);
    return preview_verdict(out, err, errlen);
}

/* ---- loa template preview ---- */

static const char *coding_name(enum sms_coding c)
{
    return c == SMS_GSM7 ? "gsm7" : "ucs2";
}

/* Renders the sample for citizen ID (given with --citizen), whether or not it is in the segment. */
static int preview_sample_citizen(struct previewer *p, const char *id, char *err, size_t errlen)
{
    const char *params[1] = {id};
    PGresult *r = db_query(p->db, err, errlen,
                           "SELECT " TPL_CITIZEN_COLUMNS " FROM " TPL_CITIZEN_FROM " WHERE c.id = $1::bigint",
                           1, params);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, errlen, "no citizen %s", id);
        return -1;
    }
    struct tpl_citizen c;
    tpl_citizen_from_row(r, 0, 0, &c);
    char buf[TPL_RENDER_MAX], why[256];
    struct sms_info info;
    int n = render_one(p, &c, buf, sizeof buf, &info, why, sizeof why);
    if (n >= 0) set_sample(p, &c, buf, &info);
    PQclear(r);
    if (n < 0) { snprintf(err, errlen, "%s", why); return -1; }
    return 0;
}

static cJSON *rendering_json(int64_t id, const char *lang, const char *text, const struct sms_info *info,
                             enum tpl_channel ch)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "citizen_id", (double)id);
    if (lang) cJSON_AddStringToObject(o, "language", lang);
    if (ch == TPL_SMS) {
        cJSON_AddStringToObject(o, "text", text);
        cJSON_AddStringToObject(o, "encoding", coding_name(info->coding));
        cJSON_AddNumberToObject(o, "units", info->units);
        cJSON_AddNumberToObject(o, "parts", info->parts);
    } else {
        cJSON_AddItemToObject(o, "template_data", cJSON_Parse(text));
    }
    return o;
}

cJSON *preview_to_json(const char *name, const char *segment, const struct preview_result *o,
                       const char *refusal)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "template", name);
    cJSON_AddStringToObject(j, "channel", o->channel == TPL_ZNS ? "zns" : "sms");
    if (segment) cJSON_AddStringToObject(j, "segment", segment);
    else cJSON_AddNullToObject(j, "segment");
    if (o->gateway[0]) cJSON_AddStringToObject(j, "gateway", o->gateway);
    else cJSON_AddNullToObject(j, "gateway");
    cJSON_AddNumberToObject(j, "max_parts", o->max_parts);
    cJSON_AddNumberToObject(j, "price_per_part_vnd", (double)o->price_per_part_vnd);
    if (o->has_sample)
        cJSON_AddItemToObject(j, "sample", rendering_json(o->sample_id, o->sample_language, o->sample,
                                                          &o->sample_info, o->channel));
    else cJSON_AddNullToObject(j, "sample");
    if (o->has_longest)
        cJSON_AddItemToObject(j, "longest", rendering_json(o->longest_id, NULL, o->longest,
                                                           &o->longest_info, o->channel));
    else cJSON_AddNullToObject(j, "longest");
    cJSON_AddNumberToObject(j, "citizens", (double)o->citizens);
    cJSON_AddNumberToObject(j, "sendable", (double)o->sendable);
    cJSON_AddNumberToObject(j, "same_phone", (double)o->same_phone);
    cJSON_AddNumberToObject(j, "saving_vnd", (double)o->saving_vnd);
    cJSON_AddNumberToObject(j, "total_parts", (double)o->total_parts);
    cJSON_AddNumberToObject(j, "cost_vnd", (double)o->cost_vnd);
    cJSON_AddNumberToObject(j, "over_max_parts", (double)o->over_max_parts);
    cJSON_AddNumberToObject(j, "failed", (double)o->failed);
    cJSON *langs = cJSON_AddObjectToObject(j, "languages");
    for (int i = 0; i < o->nlanguages; i++)
        cJSON_AddNumberToObject(langs, o->languages[i].language, (double)o->languages[i].citizens);
    cJSON *warn = cJSON_AddArrayToObject(j, "warnings");
    if (o->emoji > 0) {
        char w[160];
        snprintf(w, sizeof w, "%d emoji: each forces UCS-2 (70/67 a part) and counts 2 units", o->emoji);
        cJSON_AddItemToArray(warn, cJSON_CreateString(w));
    }
    cJSON_AddBoolToObject(j, "ok", refusal == NULL);
    if (refusal) cJSON_AddStringToObject(j, "refused", refusal);
    return j;
}

static void print_rendering(FILE *out, const char *what, int64_t id, const char *lang, const char *text,
                            const struct sms_info *info, enum tpl_channel ch)
{
    if (ch == TPL_SMS)
        fprintf(out, "%s (citizen %" PRId64 "%s%s): %s, %d units, %d part%s\n  %s\n", what, id,
                lang ? ", " : "", lang ? lang : "", info->coding == SMS_GSM7 ? "GSM-7" : "UCS-2",
                info->units, info->parts, info->parts == 1 ? "" : "s", text);
    else
        fprintf(out, "%s (citizen %" PRId64 "%s%s): template_data %s\n", what, id,
                lang ? ", " : "", lang ? lang : "", text);
}

void preview_print_text(FILE *out, const char *name, const char *segment, const struct preview_result *o)
{
    fprintf(out, "template %s (%s), ", name, o->channel == TPL_ZNS ? "zns" : "sms");
    if (o->gateway[0]) fprintf(out, "gateway %s", o->gateway);
    else fprintf(out, "no gateway configured: default prices");
    if (o->channel == TPL_SMS)
        fprintf(out, ": at most %d parts, %ld VND a part\n", o->max_parts, o->price_per_part_vnd);
    else
        fprintf(out, ": %ld VND a message\n", o->price_per_part_vnd);
    if (o->has_sample)
        print_rendering(out, "sample", o->sample_id, o->sample_language, o->sample, &o->sample_info, o->channel);
    if (o->has_longest)
        print_rendering(out, "longest", o->longest_id, NULL, o->longest, &o->longest_info, o->channel);
    fprintf(out, "%s%s: %ld citizens, %ld reachable by %s: %lld %s, estimated cost %lld VND\n",
            segment ? "segment " : "all citizens", segment ? segment : "", o->citizens, o->sendable,
            o->channel == TPL_ZNS ? "Zalo" : "SMS", o->total_parts,
            o->channel == TPL_ZNS ? "messages" : "parts", o->cost_vnd);
    if (o->same_phone > 0)
        fprintf(out, "one message per phone: %ld citizen(s) share a phone with another who gets it, "
                "saving %lld %s, about %lld VND\n", o->same_phone, o->same_phone_parts,
                o->channel == TPL_ZNS ? "messages" : "parts", o->saving_vnd);
    fprintf(out, "variants:");
    for (int i = 0; i < o->nlanguages; i++)
        fprintf(out, " %s %ld", o->languages[i].language, o->languages[i].citizens);
    fprintf(out, "\n");
    if (o->emoji > 0)
        fprintf(out, "warning: %d emoji: each forces UCS-2 (70/67 a part) and counts 2 units\n", o->emoji);
}

int template_preview(PGconn *db, const struct config *cfg, const struct preview_request *q,
                     struct preview_result *o, char *err, size_t errlen)
{
    const char *params[1] = {q->name};
    PGresult *r = db_query(db, err, errlen, "SELECT id FROM templates WHERE name = $1", 1, params);
    if (!r) return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, errlen, "no template '%s'", q->name);
        return -1;
    }
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);

    char why[1024];
    struct filter_sql fs = {0};
    int64_t segment_id;
    if (q->segment && segment_load(db, q->segment, 1, &fs, &segment_id, why, sizeof why) < 0) {
        snprintf(err, errlen, "segment %s: %s", q->segment, why);
        return -1;
    }
    struct previewer p;
    int rc = -1;
    if (previewer_open(&p, db, id, cfg, q->gateway, o, err, errlen) < 0)
        goto out;
    if ((q->citizen && preview_sample_citizen(&p, q->citizen, err, errlen) < 0) ||
        preview_stream(&p, q->segment ? fs.where : "true", fs.params, fs.nparams, !q->all_per_phone,
                       err, errlen) < 0) {
        previewer_close(&p);
        goto out;
    }
    previewer_close(&p);
    preview_price(o);
    rc = preview_verdict(o, err, errlen) < 0 ? 1 : 0;
out:
    filter_sql_free(&fs);
    return rc;
}
