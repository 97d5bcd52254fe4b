/* POST /api/v1/campaigns {"name","segment","channels","start","end","window","topic",
 * "per_phone","daily_cap"}: a draft
 * campaign, with the syntax and checks of `loa campaign create` (campaigns/campaign.h parses
 * the channels and times); what needs the database (the segment, the templates, the end not
 * past) is checked by web_campaign_create() in the statement that creates it. */
#include "web/api.h"
#include "campaigns/campaign.h"
#include "campaigns/lifecycle.h"
#include "core/config.h"
#include "core/pgarray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void created(struct api_call *c, const PGresult *r)
{
    if (PQgetisnull(r, 0, 0)) {
        api_error(c, 400, "%s", PQgetvalue(r, 0, 1));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    cJSON_AddStringToObject(o, "name", c->data);
    cJSON_AddStringToObject(o, "status", "draft");
    api_reply(c, 201, o);
}

static const char *str(const cJSON *b, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, key));
}

/* TXT gets the time as PostgreSQL reads it; *LOCAL whether it has no offset. */
static int parse_time(struct api_call *c, const char *what, const char *s, char *txt, size_t len, bool *local)
{
    struct campaign_time t;
    if (campaign_time_parse(s, &t) < 0) {
        api_error(c, 400, "%s '%.64s' is not an ISO 8601 time (2026-05-01T07:00+07:00)", what, s);
        return -1;
    }
    campaign_time_format(&t, txt, len);
    *local = !t.has_offset;
    return 0;
}

void api_campaign_create(struct api_call *c)
{
    cJSON *b = api_body_object(c);
    if (!b)
        return;
    const char *name = str(b, "name"), *segment = str(b, "segment"), *channels = str(b, "channels");
    const char *start = str(b, "start"), *end = str(b, "end"), *window = str(b, "window");
    const char *topic = str(b, "topic");
    /* Absent or null: the default (one message per phone, no daily cap), as the CLI has it. */
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(b, "per_phone");
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(b, "daily_cap");
    const char *per_phone = cJSON_GetStringValue(pp);
    char captxt[16] = "";
    struct channel_spec steps[CAMPAIGN_MAX_CHANNELS];
    int nsteps = 0, a, z;
    char err[600], starts[48] = "", ends[48] = "", ws[8] = "", we[8] = "";
    bool sl = false, el = false;
    if (!name || !*name || strlen(name) > 200 || !segment || !*segment) {
        api_error(c, 400, "\"name\" (1 to 200 bytes) and \"segment\" are required");
    } else if (!channels || campaign_channels_parse(channels, steps, &nsteps, err, sizeof err) < 0) {
        api_error(c, 400, "channels: %s", channels ? err : "required, e.g. \"zalo:may_zns,sms:may_sms\"");
    } else if (window && config_parse_window(window, &a, &z) < 0) {
        api_error(c, 400, "window '%.32s' is not HH:MM-HH:MM with start before end", window);
    } else if (topic && !campaign_topic_ok(topic)) {
        api_error(c, 400, "topic must be general or voluntary");
    } else if (pp && !cJSON_IsNull(pp) && !campaign_per_phone_valid(per_phone)) {
        api_error(c, 400, "per_phone takes \"one\" or \"all\"");
    } else if (cap && !cJSON_IsNull(cap) &&
               (!cJSON_IsNumber(cap) || !(cap->valuedouble >= 1 && cap->valuedouble <= CAMPAIGN_DAILY_CAP_MAX) ||
                cap->valuedouble != (double)(long)cap->valuedouble)) {
        api_error(c, 400, "daily_cap takes a number of messages from 1 to %d", CAMPAIGN_DAILY_CAP_MAX);
    } else if ((start && parse_time(c, "start", start, starts, sizeof starts, &sl) < 0) ||
               (end && parse_time(c, "end", end, ends, sizeof ends, &el) < 0)) {
        ; /* answered */
    } else {
        struct pgarray ch, tp, gw;
        pgarray_init(&ch);
        pgarray_init(&tp);
        pgarray_init(&gw);
        bool ok = true;
        for (int i = 0; i < nsteps; i++) {
            if (steps[i].gateway[0] &&
                campaign_gateway_check(c->w->cfg, steps[i].gateway, steps[i].channel, err, sizeof err) < 0) {
                api_error(c, 400, "%s", err);
                ok = false;
                break;
            }
            pgarray_text(&ch, steps[i].channel);
            pgarray_text(&tp, steps[i].template_name);
            pgarray_text(&gw, steps[i].gateway[0] ? steps[i].gateway : NULL);
        }
        if (ok) {
            if (window) {
                snprintf(ws, sizeof ws, "%02d:%02d", a / 60, a % 60);
                snprintf(we, sizeof we, "%02d:%02d", z / 60, z % 60);
            }
            c->data = strdup(name);
            if (!c->data)
                abort();
            if (cap && cJSON_IsNumber(cap))
                snprintf(captxt, sizeof captxt, "%ld", (long)cap->valuedouble);
            const char *p[17] = {name, segment, start ? starts : NULL, sl ? "true" : "false",
                                 end ? ends : NULL, el ? "true" : "false",
                                 config_str(c->w->cfg, "policy", "timezone"), window ? ws : NULL,
                                 window ? we : NULL, topic ? topic : "general", pgarray_end(&ch),
                                 pgarray_end(&tp), pgarray_end(&gw), c->user.id, c->user.name,
                                 per_phone, captxt[0] ? captxt : NULL};
            api_query(c, "SELECT id, error FROM web_campaign_create($1, $2, $3, $4::boolean, $5, $6::boolean,"
                         " $7, $8::time, $9::time, $10, $11::text[], $12::text[], $13::text[], $14::bigint, $15,"
                         " $16, $17::int)",
                      17, p, created);
        }
        pgarray_free(&ch);
        pgarray_free(&tp);
        pgarray_free(&gw);
    }
    cJSON_Delete(b);
}
