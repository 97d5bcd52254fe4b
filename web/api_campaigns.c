/* /api/v1/campaigns: the list, one campaign with the figures of `loa campaign show --json`
 * (the same statements and the same JSON builder, campaigns/stats.h), its breakdowns, and the
 * lifecycle, which goes through web_campaign_act() (sql/functions/60_web.sql): the status
 * change (by loa_campaign_set_status()), the cancelled messages and the audit row in one
 * statement. The legal source statuses come from the transition table of
 * campaigns/campaign_status.c. */
#include "web/api.h"
#include "campaigns/campaign.h"
#include "campaigns/campaign_status.h"
#include "campaigns/message.h"
#include "campaigns/stats.h"
#include "core/config.h"
#include "core/pgarray.h"
#include "gateways/gateway_status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- list: campaigns, then every counter, then every reply count (three queries whatever
 * the number of campaigns, as `campaign list`) ---- */

static void list_replies(struct api_call *c, const PGresult *replies)
{
    const PGresult *camps = c->keep[0], *counters = c->keep[1];
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "campaigns");
    for (int i = 0; i < PQntuples(camps); i++) {
        const char *id = PQgetvalue(camps, i, 0);
        struct campaign_stats s = {0};
        campaign_stats_add_counters(&s, counters, id);
        campaign_stats_add_replies(&s, replies, id);
        cJSON *x = campaign_list_entry_json(camps, i, &s);
        cJSON_AddBoolToObject(x, "needs_approval", PQgetvalue(camps, i, 4)[0] == 't');
        if (PQgetisnull(camps, i, 5))
            cJSON_AddNullToObject(x, "approved_by");
        else
            cJSON_AddStringToObject(x, "approved_by", PQgetvalue(camps, i, 5));
        cJSON_AddStringToObject(x, "topic", PQgetvalue(camps, i, 6));
        cJSON_AddItemToArray(arr, x);
    }
    api_reply(c, 200, o);
}

static void list_counters(struct api_call *c, const PGresult *r)
{
    api_keep(c, 1, r);
    api_query(c, CAMPAIGN_REPLIES_SQL " GROUP BY 1", 0, NULL, list_replies);
}

static void list_campaigns(struct api_call *c, const PGresult *r)
{
    api_keep(c, 0, r);
    api_query(c, CAMPAIGN_COUNTERS_SQL, 0, NULL, list_counters);
}

void api_campaigns_list(struct api_call *c)
{
    api_query(c, CAMPAIGN_LIST_SQL " ORDER BY c.id DESC", 0, NULL, list_campaigns);
}

/* ---- show: detail, channels, counters, replies ---- */

static void show_circuits(struct api_call *c, const PGresult *r)
{
    struct campaign_stats s = {0};
    campaign_stats_add_counters(&s, c->keep[2], c->id);
    campaign_stats_add_replies(&s, c->keep[3], c->id);
    cJSON *o = cJSON_CreateObject();
    campaign_show_json(c->keep[0], c->keep[1], &s, config_str(c->w->cfg, "policy", "window"), o);
    gateway_circuits_json(r, o);
    api_reply(c, 200, o);
}

/* The circuits of the campaign's gateways, as `campaign show --json` has them. */
static void show_replies(struct api_call *c, const PGresult *r)
{
    api_keep(c, 3, r);
    const char *names[8];
    size_t n = gateway_step_names(c->w->cfg, c->keep[1], 0, 2, names, sizeof names / sizeof names[0]);
    struct pgarray a;
    pgarray_init(&a);
    for (size_t i = 0; i < n; i++)
        pgarray_text(&a, names[i]);
    const char *p[2] = {pgarray_end(&a), config_str(c->w->cfg, "policy", "timezone")};
    api_query(c, GATEWAY_STATUS_SQL, 2, p, show_circuits);
    pgarray_free(&a);
}

static void show_counters(struct api_call *c, const PGresult *r)
{
    api_keep(c, 2, r);
    const char *p[1] = {c->id};
    api_query(c, CAMPAIGN_REPLIES_SQL " WHERE campaign_id = $1::bigint GROUP BY 1", 1, p, show_replies);
}

static void show_channels(struct api_call *c, const PGresult *r)
{
    api_keep(c, 1, r);
    const char *p[1] = {c->id};
    api_query(c, CAMPAIGN_COUNTERS_SQL " WHERE campaign_id = $1::bigint", 1, p, show_counters);
}

static void show_detail(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) != 1) {
        api_error(c, 404, "no campaign %s", c->id);
        return;
    }
    api_keep(c, 0, r);
    const char *p[1] = {c->id};
    api_query(c, CAMPAIGN_CHANNELS_SQL, 1, p, show_channels);
}

void api_campaign_show(struct api_call *c)
{
    const char *p[2] = {c->id, config_str(c->w->cfg, "policy", "timezone")};
    api_query(c, CAMPAIGN_DETAIL_SQL, 2, p, show_detail);
}

/* ---- breakdowns: ?by=commune|group|channel (citizens targeted and reached, as
 * `campaign show --by`) or day (messages sent and delivered per local day) ---- */

/* From campaign_days (quarters of an hour in UTC, so a local day is exact in the policy time
 * zone): the messages that reached a gateway, by the local day of their outcome. */
#define DAY_SQL                                                                               \
    "SELECT to_char(at AT TIME ZONE $2::text, 'YYYY-MM-DD'), sum(sent), sum(delivered), sum(failed)" \
    " FROM campaign_days WHERE campaign_id = $1::bigint GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1"

static void breakdown_days(struct api_call *c, const PGresult *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)strtoll(c->id, NULL, 10));
    cJSON_AddStringToObject(o, "name", PQgetvalue(c->keep[0], 0, 0));
    cJSON_AddStringToObject(o, "by", "day");
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "day", PQgetvalue(r, i, 0));
        cJSON_AddNumberToObject(x, "sent", (double)strtoll(PQgetvalue(r, i, 1), NULL, 10));
        cJSON_AddNumberToObject(x, "delivered", (double)strtoll(PQgetvalue(r, i, 2), NULL, 10));
        cJSON_AddNumberToObject(x, "failed", (double)strtoll(PQgetvalue(r, i, 3), NULL, 10));
        cJSON_AddItemToArray(rows, x);
    }
    api_reply(c, 200, o);
}

static void breakdown_rows(struct api_call *c, const PGresult *r)
{
    const char *by = http_req_query(c->req, "by");
    cJSON *o = cJSON_CreateObject();
    campaign_breakdown_json(r, strtoll(c->id, NULL, 10), PQgetvalue(c->keep[0], 0, 0), by, o);
    api_reply(c, 200, o);
}

static void breakdown_found(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) != 1) {
        api_error(c, 404, "no campaign %s", c->id);
        return;
    }
    api_keep(c, 0, r);
    const char *by = http_req_query(c->req, "by");
    const char *p[2] = {c->id, config_str(c->w->cfg, "policy", "timezone")};
    if (strcmp(by, "day") == 0)
        api_query(c, DAY_SQL, 2, p, breakdown_days);
    else
        api_query(c, campaign_breakdown_sql(by), 1, p, breakdown_rows);
}

void api_campaign_breakdown(struct api_call *c)
{
    const char *by = http_req_query(c->req, "by");
    if (!by || (strcmp(by, "day") != 0 && !campaign_breakdown_sql(by))) {
        api_error(c, 400, "by must be commune, group, channel or day");
        return;
    }
    const char *p[1] = {c->id};
    api_query(c, "SELECT name FROM campaigns WHERE id = $1::bigint", 1, p, breakdown_found);
}

/* ---- the lifecycle ---- */

/* "{draft,paused}": the statuses of FROM_SET from which TO is a legal move (TO < 0: any). */
static void legal_from(unsigned from_set, int to, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "{");
    for (int f = 0; f < CAMP_NSTATUS && n < len; f++)
        if ((from_set & CAMP_SET(f)) && (to < 0 || campaign_transition_ok((enum campaign_status)f, (enum campaign_status)to)))
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n > 1 ? "," : "",
                                  campaign_status_name((enum campaign_status)f));
    if (n < len)
        snprintf(buf + n, len - n, "}");
}

struct act {
    const char *action, *verb;
};

static void acted(struct api_call *c, const PGresult *r)
{
    const struct act *a = c->data;
    if (PQntuples(r) != 1) {
        api_error(c, 404, "no campaign %s", c->id);
        return;
    }
    const char *name = PQgetvalue(r, 0, 1), *status = PQgetvalue(r, 0, 2), *why = PQgetvalue(r, 0, 3);
    if (PQgetvalue(r, 0, 0)[0] != 't') {
        if (strcmp(why, "ended") == 0)
            api_error(c, 409, "campaign '%s' ends in the past; it cannot be started", name);
        else if (strcmp(why, "no_channels") == 0)
            api_error(c, 409, "campaign '%s' has no channels", name);
        else if (strcmp(why, "approval") == 0)
            api_error(c, 409, "campaign '%s' targets more than the approval threshold of %ld citizens:"
                              " a supervisor must approve it first", name,
                      config_int(c->w->cfg, "policy", "approval_threshold"));
        else
            api_error(c, 409, "campaign '%s' is %s; it cannot be %s", name, status, a->verb);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)strtoll(c->id, NULL, 10));
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "status", status);
    if (strcmp(a->action, "approve") == 0)
        cJSON_AddStringToObject(o, "approved_by", c->user.name);
    if (strcmp(a->action, "cancel") == 0)
        cJSON_AddNumberToObject(o, "messages_cancelled", (double)strtoll(PQgetvalue(r, 0, 4), NULL, 10));
    api_reply(c, 200, o);
}

/* Runs web_campaign_act() for ACTION. TO: the new status (NULL: none, or decided by the
 * function for resume); FROM_SET: where it may come from. */
static void act(struct api_call *c, const struct act *a, const char *to, unsigned from_set, bool needs)
{
    char from[128];
    int to_st = -1;
    enum campaign_status st;
    if (to && campaign_status_parse(to, &st) == 0)
        to_st = (int)st;
    legal_from(from_set, to_st, from, sizeof from);
    free(c->data);
    c->data = malloc(sizeof *a);
    if (!c->data)
        abort();
    memcpy(c->data, a, sizeof *a);
    const char *p[8] = {c->id, a->action, to, from, message_states_waiting_into(MSG_CANCELLED),
                        needs ? "true" : "false", c->user.id, c->user.name};
    api_query(c, "SELECT done, name, status, reason, messages FROM"
                 " web_campaign_act($1::bigint, $2, $3, $4::text[], $5::text[], $6::boolean, $7::bigint, $8)",
              8, p, acted);
}

void api_campaign_approve(struct api_call *c)
{
    act(c, &(struct act){"approve", "approved"}, NULL, CAMP_SET(CAMP_DRAFT), false);
}

void api_campaign_pause(struct api_call *c)
{
    act(c, &(struct act){"pause", "paused"}, "paused", CAMP_SET(CAMP_SCHEDULED) | CAMP_SET(CAMP_RUNNING), false);
}

void api_campaign_resume(struct api_call *c)
{
    /* Back to where it was paused from (campaigns.paused_from), decided in the statement. */
    act(c, &(struct act){"resume", "resumed"}, NULL, CAMP_SET(CAMP_PAUSED), false);
}

void api_campaign_cancel(struct api_call *c)
{
    unsigned live = 0;
    for (int s = 0; s < CAMP_NSTATUS; s++)
        if (!campaign_status_final((enum campaign_status)s))
            live |= CAMP_SET(s);
    act(c, &(struct act){"cancel", "cancelled"}, "cancelled", live, false);
}

/* start: the segment's size decides whether a supervisor's approval is needed, as in
 * `campaign start`; then the statement checks and moves it. */
static void start_counted(struct api_call *c, const PGresult *r)
{
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    act(c, &(struct act){"start", "started"}, "scheduled", CAMP_SET(CAMP_DRAFT),
        n > config_int(c->w->cfg, "policy", "approval_threshold"));
}

static void start_segment(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) != 1)
        api_error(c, 404, "no campaign %s", c->id);
    else
        api_count_filter(c, PQgetvalue(r, 0, 0), start_counted);
}

void api_campaign_start(struct api_call *c)
{
    const char *p[1] = {c->id};
    api_query(c, "SELECT s.filter::text FROM campaigns c JOIN segments s ON s.id = c.segment_id"
                 " WHERE c.id = $1::bigint", 1, p, start_segment);
}
