#include "campaigns/stats.h"
#include "campaigns/campaign.h"
#include "campaigns/message.h"
#include "core/db.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const stats_outcome_names[STATS_NOUTCOMES] = {
    "pending", "submitted", "delivered", "undelivered", "failed",
    "in_doubt", "suppressed", "expired", "cancelled",
};

static const char *const channel_names[STATS_NCHANNELS] = {"zalo", "sms"};

static bool state_sent(enum msg_state s)
{
    return s == MSG_SUBMITTED || s == MSG_DELIVERED || s == MSG_UNDELIVERED || s == MSG_IN_DOUBT;
}

int campaign_stats_add(struct campaign_stats *s, const char *channel, const char *state,
                       long long n, long long parts, long long cost_vnd)
{
    int ch = -1;
    for (int i = 0; i < STATS_NCHANNELS; i++)
        if (channel && strcmp(channel, channel_names[i]) == 0)
            ch = i;
    enum msg_state st;
    if (ch < 0 || !state || message_state_parse(state, &st) < 0)
        return -1;
    struct channel_stats *c = &s->channel[ch];
    const char *outcome = message_outcome_name(st);
    if (!outcome) {
        c->fallback += n;
        return 0;
    }
    int o = -1;
    for (int i = 0; i < STATS_NOUTCOMES; i++)
        if (strcmp(outcome, stats_outcome_names[i]) == 0)
            o = i;
    if (o < 0)
        return -1;
    s->targeted += n;
    s->outcomes[o] += n;
    c->cost_vnd += cost_vnd;
    s->cost_vnd += cost_vnd;
    if (state_sent(st)) {
        c->sent += n;
        if (ch == STATS_SMS)
            c->parts += parts;
    }
    if (st == MSG_DELIVERED)
        c->delivered += n;
    if (st == MSG_FAILED || st == MSG_UNDELIVERED)
        c->failed += n;
    return 0;
}

void campaign_stats_add_counters(struct campaign_stats *s, const PGresult *r, const char *id)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 0), id) == 0)
            campaign_stats_add(s, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                               strtoll(PQgetvalue(r, i, 3), NULL, 10),
                               strtoll(PQgetvalue(r, i, 4), NULL, 10),
                               strtoll(PQgetvalue(r, i, 5), NULL, 10));
}

void campaign_stats_add_replies(struct campaign_stats *s, const PGresult *r, const char *id)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 0), id) == 0) {
            s->replies = strtoll(PQgetvalue(r, i, 1), NULL, 10);
            s->opted_out = strtoll(PQgetvalue(r, i, 2), NULL, 10);
            s->opted_in = strtoll(PQgetvalue(r, i, 3), NULL, 10);
            s->registered = strtoll(PQgetvalue(r, i, 4), NULL, 10);
            s->questions = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        }
}

#define COUNTERS_SQL CAMPAIGN_COUNTERS_SQL
#define REPLIES_SQL CAMPAIGN_REPLIES_SQL

int campaign_stats_load(PGconn *db, int64_t id, struct campaign_stats *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, id);
    const char *p[1] = {idtxt};
    PGresult *r = db_query(db, err, errlen, COUNTERS_SQL " WHERE campaign_id = $1::bigint", 1, p);
    if (!r)
        return -1;
    campaign_stats_add_counters(out, r, idtxt);
    PQclear(r);
    r = db_query(db, err, errlen, REPLIES_SQL " WHERE campaign_id = $1::bigint GROUP BY 1", 1, p);
    if (!r)
        return -1;
    campaign_stats_add_replies(out, r, idtxt);
    PQclear(r);
    return 0;
}

void campaign_stats_to_json(const struct campaign_stats *s, cJSON *o)
{
    cJSON_AddNumberToObject(o, "targeted", (double)s->targeted);
    cJSON *oc = cJSON_AddObjectToObject(o, "outcomes");
    for (int i = 0; i < STATS_NOUTCOMES; i++)
        cJSON_AddNumberToObject(oc, stats_outcome_names[i], (double)s->outcomes[i]);
    cJSON *bc = cJSON_AddObjectToObject(o, "by_channel");
    for (int i = 0; i < STATS_NCHANNELS; i++) {
        const struct channel_stats *c = &s->channel[i];
        cJSON *ch = cJSON_AddObjectToObject(bc, channel_names[i]);
        cJSON_AddNumberToObject(ch, "sent", (double)c->sent);
        cJSON_AddNumberToObject(ch, "delivered", (double)c->delivered);
        cJSON_AddNumberToObject(ch, "failed", (double)c->failed);
        cJSON_AddNumberToObject(ch, "fallback", (double)c->fallback);
        if (i == STATS_SMS)
            cJSON_AddNumberToObject(ch, "parts", (double)c->parts);
        cJSON_AddNumberToObject(ch, "cost_vnd", (double)c->cost_vnd);
    }
    cJSON_AddNumberToObject(o, "replies", (double)s->replies);
    cJSON_AddNumberToObject(o, "opted_out", (double)s->opted_out);
    cJSON_AddNumberToObject(o, "opted_in", (double)s->opted_in);
    cJSON_AddNumberToObject(o, "registered", (double)s->registered);
    cJSON_AddNumberToObject(o, "questions", (double)s->questions);
    cJSON_AddNumberToObject(o, "cost_vnd", (double)s->cost_vnd);
}

/* ---- show ---- */

static const char *opt_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static void add_opt_string(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

void campaign_show_json(const PGresult *d, const PGresult *chans, const struct campaign_stats *s,
                        const char *policy_window, cJSON *o)
{
    cJSON_AddNumberToObject(o, "id", (double)strtoll(PQgetvalue(d, 0, 0), NULL, 10));
    cJSON_AddStringToObject(o, "name", PQgetvalue(d, 0, 1));
    cJSON_AddStringToObject(o, "status", PQgetvalue(d, 0, 2));
    campaign_stats_to_json(s, o);
    cJSON_AddStringToObject(o, "segment", PQgetvalue(d, 0, 3));
    add_opt_string(o, "starts_at", opt_text(d, 0, 4));
    add_opt_string(o, "ends_at", opt_text(d, 0, 5));
    char win[16];
    if (opt_text(d, 0, 6))
        snprintf(win, sizeof win, "%s-%s", PQgetvalue(d, 0, 6), PQgetvalue(d, 0, 7));
    else
        snprintf(win, sizeof win, "%s", policy_window);
    cJSON_AddStringToObject(o, "window", win);
    cJSON_AddBoolToObject(o, "needs_approval", PQgetvalue(d, 0, 8)[0] == 't');
    cJSON_AddStringToObject(o, "topic", PQgetvalue(d, 0, 13));
    add_opt_string(o, "approved_by", opt_text(d, 0, 9));
    add_opt_string(o, "approved_at", opt_text(d, 0, 10));
    cJSON_AddStringToObject(o, "per_phone", PQgetvalue(d, 0, 14));
    cJSON_AddNumberToObject(o, "same_phone", (double)strtoll(PQgetvalue(d, 0, 15), NULL, 10));
    if (opt_text(d, 0, 16)) {
        cJSON_AddNumberToObject(o, "daily_cap", (double)strtoll(PQgetvalue(d, 0, 16), NULL, 10));
        cJSON_AddNumberToObject(o, "sent_today", opt_text(d, 0, 17) ? (double)strtoll(PQgetvalue(d, 0, 17), NULL, 10) : 0);
    } else {
        cJSON_AddNullToObject(o, "daily_cap");
    }
    cJSON *a = cJSON_AddArrayToObject(o, "channels");
    for (int i = 0; i < PQntuples(chans); i++) {
        cJSON *ch = cJSON_CreateObject();
        cJSON_AddStringToObject(ch, "channel", PQgetvalue(chans, i, 0));
        cJSON_AddStringToObject(ch, "template", PQgetvalue(chans, i, 1));
        add_opt_string(ch, "gateway", opt_text(chans, i, 2));
        cJSON_AddItemToArray(a, ch);
    }
}

static void show_text(const PGresult *d, const PGresult *chans, const struct campaign_stats *s,
                      const char *policy_window, const char *tz, FILE *out)
{
    fprintf(out, "campaign %s '%s'  status %s\n", PQgetvalue(d, 0, 0), PQgetvalue(d, 0, 1),
            PQgetvalue(d, 0, 2));
    fprintf(out, "  segment   %s\n", PQgetvalue(d, 0, 3));
    fprintf(out, "  channels  ");
    for (int i = 0; i < PQntuples(chans); i++)
        fprintf(out, "%s%s%s%s:%s", i ? " -> " : "", PQgetvalue(chans, i, 0),
                opt_text(chans, i, 2) ? "@" : "", PQgetvalue(chans, i, 2), PQgetvalue(chans, i, 1));
    fputc('\n', out);
    fprintf(out, "  starts    %s   ends %s   (%s)\n", opt_text(d, 0, 11) ? PQgetvalue(d, 0, 11) : "when started",
            opt_text(d, 0, 12) ? PQgetvalue(d, 0, 12) : "-", tz);
    if (opt_text(d, 0, 6))
        fprintf(out, "  window    %s-%s\n", PQgetvalue(d, 0, 6), PQgetvalue(d, 0, 7));
    else
        fprintf(out, "  window    %s (policy)\n", policy_window);
    if (opt_text(d, 0, 9))
        fprintf(out, "  approved  by %s at %s\n", PQgetvalue(d, 0, 9), PQgetvalue(d, 0, 10));
    else if (PQgetvalue(d, 0, 8)[0] == 't')
        fprintf(out, "  approved  no (needs a supervisor's approval)\n");
    if (strcmp(PQgetvalue(d, 0, 14), "one") == 0)
        fprintf(out, "  per phone one message (%s suppressed: same phone as another citizen)\n",
                PQgetvalue(d, 0, 15));
    else
        fprintf(out, "  per phone every citizen\n");
    if (opt_text(d, 0, 16))
        fprintf(out, "  daily cap %s a day (%s sent today)\n", PQgetvalue(d, 0, 16),
                opt_text(d, 0, 17) ? PQgetvalue(d, 0, 17) : "0");
    fprintf(out, "\n  %-12s %12lld\n", "targeted", s->targeted);
    for (int i = 0; i < STATS_NOUTCOMES; i++)
        fprintf(out, "    %-12s %10lld\n", stats_outcome_names[i], s->outcomes[i]);
    fprintf(out, "\n  %-8s %12s %12s %12s %12s %12s %14s\n", "channel", "sent", "delivered", "failed",
            "fallback", "parts", "cost_vnd");
    for (int i = 0; i < STATS_NCHANNELS; i++) {
        const struct channel_stats *c = &s->channel[i];
        char parts[24] = "-";
        if (i == STATS_SMS)
            snprintf(parts, sizeof parts, "%lld", c->parts);
        fprintf(out, "  %-8s %12lld %12lld %12lld %12lld %12s %14lld\n", channel_names[i], c->sent,
                c->delivered, c->failed, c->fallback, parts, c->cost_vnd);
    }
    fprintf(out, "\n  replies %lld   opted out %lld   opted in %lld   registered %lld   questions %lld\n",
            s->replies, s->opted_out, s->opted_in, s->registered, s->questions);
    fprintf(out, "  cost %lld VND\n", s->cost_vnd);
}

/* ---- the breakdown of `show --by` ---- */

/* From the counters (sql/017_dashboard_counters.sql): campaign_reach per commune and group of
 * the citizens now, campaign_counters per channel, where each message is one citizen's, since a
 * campaign names each channel at most once. A commune or group whose citizens all moved away
 * keeps an empty row, which is left out. */
const char *campaign_breakdown_sql(const char *by)
{
    if (strcmp(by, "commune") == 0)
        return "SELECT r.commune_code, coalesce(co.name, ''), sum(r.targeted), sum(r.reached)"
               " FROM campaign_reach r LEFT JOIN communes co ON co.code = r.commune_code"
               " WHERE r.campaign_id = $1::bigint GROUP BY 1, 2 HAVING sum(r.targeted) > 0 ORDER BY 3 DESC, 1";
    if (strcmp(by, "group") == 0)
        return "SELECT r.group_code, coalesce(g.label_vi, ''), sum(r.targeted), sum(r.reached)"
               " FROM campaign_reach r LEFT JOIN target_groups g ON g.code = r.group_code"
               " WHERE r.campaign_id = $1::bigint GROUP BY 1, 2 HAVING sum(r.targeted) > 0 ORDER BY 3 DESC, 1";
    /* Per channel also the citizens who replied on it, and who opted out there: each channel's
     * own funnel on the dashboard. */
    if (strcmp(by, "channel") == 0)
        return "SELECT k.channel, k.channel, k.n, k.d, coalesce(r.replies, 0), coalesce(r.opted_out, 0) FROM"
               " (SELECT channel, sum(n) AS n, coalesce(sum(n) FILTER (WHERE state = 'delivered'), 0) AS d"
               "   FROM campaign_counters WHERE campaign_id = $1::bigint GROUP BY 1 HAVING sum(n) > 0) k"
               " LEFT JOIN (SELECT channel, " CAMPAIGN_REPLIES_WHO " AS replies,"
               "   " CAMPAIGN_REPLIES_WHO " FILTER (WHERE intent = 'opt_out') AS opted_out"
               "   FROM replies WHERE campaign_id = $1::bigint GROUP BY 1) r ON r.channel = k.channel"
               " ORDER BY 1";
    return NULL;
}

bool campaign_breakdown_known(const char *by)
{
    return campaign_breakdown_sql(by) != NULL;
}

static double reach_pct(long long targeted, long long reached)
{
    return targeted > 0 ? 100.0 * (double)reached / (double)targeted : 0.0;
}

void campaign_breakdown_json(const PGresult *r, int64_t id, const char *name, const char *by, cJSON *o)
{
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "by", by);
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    for (int i = 0; i < PQntuples(r); i++) {
        long long t = strtoll(PQgetvalue(r, i, 2), NULL, 10), d = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "code", PQgetvalue(r, i, 0));
        cJSON_AddStringToObject(x, "name", PQgetvalue(r, i, 1));
        cJSON_AddNumberToObject(x, "targeted", (double)t);
        cJSON_AddNumberToObject(x, "reached", (double)d);
        cJSON_AddNumberToObject(x, "reach_pct", (double)(long long)(reach_pct(t, d) * 10 + 0.5) / 10);
        if (PQnfields(r) >= 6) {
            cJSON_AddNumberToObject(x, "replies", (double)strtoll(PQgetvalue(r, i, 4), NULL, 10));
            cJSON_AddNumberToObject(x, "opted_out", (double)strtoll(PQgetvalue(r, i, 5), NULL, 10));
        }
        cJSON_AddItemToArray(rows, x);
    }
}

int campaign_breakdown_write(PGconn *db, const struct campaign_row *row, const char *by, FILE *out,
                             cJSON *o, char *err, size_t errlen)
{
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row->id);
    const char *p[1] = {idtxt};
    PGresult *r = db_query(db, err, errlen, campaign_breakdown_sql(by), 1, p);
    if (!r)
        return -1;
    if (o) {
        campaign_breakdown_json(r, row->id, row->name, by, o);
        PQclear(r);
        return 0;
    }
    fprintf(out, "campaign %s '%s' by %s\n  %-14s %-36s %10s %10s %7s\n", idtxt, row->name, by, by,
            "name", "targeted", "reached", "reach%");
    for (int i = 0; i < PQntuples(r); i++) {
        long long t = strtoll(PQgetvalue(r, i, 2), NULL, 10), d = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        fprintf(out, "  %-14s %-36s %10lld %10lld %6.1f%%\n",
                PQgetvalue(r, i, 0)[0] ? PQgetvalue(r, i, 0) : "(none)", PQgetvalue(r, i, 1),
                t, d, reach_pct(t, d));
    }
    PQclear(r);
    return 0;
}

int campaign_show_write(PGconn *db, const struct campaign_row *row, const char *tz,
                        const char *policy_window, FILE *out, cJSON *json, char *err, size_t errlen)
{
    struct campaign_stats s;
    if (campaign_stats_load(db, row->id, &s, err, errlen) < 0)
        return -1;
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row->id);
    const char *p[2] = {idtxt, tz};
    PGresult *d = db_query(db, err, errlen, CAMPAIGN_DETAIL_SQL, 2, p);
    if (!d)
        return -1;
    PGresult *chans = db_query(db, err, errlen, CAMPAIGN_CHANNELS_SQL, 1, p);
    if (!chans) {
        PQclear(d);
        return -1;
    }
    if (PQntuples(d) != 1) {
        PQclear(d);
        PQclear(chans);
        snprintf(err, errlen, "campaign %s vanished", idtxt);
        return -1;
    }
    if (json)
        campaign_show_json(d, chans, &s, policy_window, json);
    else
        show_text(d, chans, &s, policy_window, tz, out);
    PQclear(d);
    PQclear(chans);
    return 0;
}

/* ---- list ---- */

cJSON *campaign_list_entry_json(const PGresult *camps, int i, const struct campaign_stats *s)
{
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(camps, i, 0), NULL, 10));
    cJSON_AddStringToObject(x, "name", PQgetvalue(camps, i, 1));
    cJSON_AddStringToObject(x, "status", PQgetvalue(camps, i, 2));
    campaign_stats_to_json(s, x);
    cJSON_AddStringToObject(x, "segment", PQgetvalue(camps, i, 3));
    return x;
}

int campaign_list_write(PGconn *db, FILE *out, cJSON *o, char *err, size_t errlen)
{
    /* Three queries whatever the number of campaigns. */
    PGresult *camps = db_query(db, err, errlen,
                               CAMPAIGN_LIST_SQL " ORDER BY c.id", 0, NULL);
    if (!camps)
        return -1;
    PGresult *counters = db_query(db, err, errlen, COUNTERS_SQL, 0, NULL);
    PGresult *replies = counters ? db_query(db, err, errlen, REPLIES_SQL " GROUP BY 1", 0, NULL) : NULL;
    if (!replies) {
        PQclear(camps);
        PQclear(counters);
        return -1;
    }
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "campaigns") : NULL;
    if (!o)
        fprintf(out, "%6s  %-32s %-10s %10s %10s %10s %8s %12s\n", "id", "name", "status", "targeted",
                "delivered", "pending", "replies", "cost_vnd");
    for (int i = 0; i < PQntuples(camps); i++) {
        const char *id = PQgetvalue(camps, i, 0);
        struct campaign_stats s = {0};
        campaign_stats_add_counters(&s, counters, id);
        campaign_stats_add_replies(&s, replies, id);
        if (o)
            cJSON_AddItemToArray(arr, campaign_list_entry_json(camps, i, &s));
        else
            fprintf(out, "%6s  %-32s %-10s %10lld %10lld %10lld %8lld %12lld\n", id,
                    PQgetvalue(camps, i, 1), PQgetvalue(camps, i, 2), s.targeted, s.outcomes[2],
                    s.outcomes[0], s.replies, s.cost_vnd);
    }
    PQclear(camps);
    PQclear(counters);
    PQclear(replies);
    return 0;
}
