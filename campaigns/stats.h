#ifndef LOA_STATS_H
#define LOA_STATS_H
#include "campaigns/campaign.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The statistics of a campaign (the figures of `loa campaign show --json`), read from
 * campaign_counters, which a trigger keeps in the same transaction as every change of a
 * message's state: they are never recounted from the messages table.
 *
 * Definitions:
 *  targeted   the sum of every counter row except state `fallback` (a citizen handed to the
 *             next channel is counted by the message of that channel), so that `outcomes`,
 *             which maps each state with message_outcome_name(), adds up to it.
 *  sent       per channel: messages in submitted, delivered, undelivered or in_doubt — those
 *             that reached (or may have reached) the gateway. A message that reached the
 *             gateway and was then handed to the next channel is counted under `fallback`
 *             instead: the counters cannot tell it from one that never reached it.
 *  delivered  per channel: state delivered.
 *  failed     per channel: failed + undelivered.
 *  fallback   per channel: handed over to the next channel.
 *  parts      SMS parts of sent SMS.
 *  cost_vnd   what the gateways charge, all channels: the price (messages.cost_vnd, set when
 *             the gateway takes a message) of sent SMS, and of delivered Zalo messages only,
 *             since Zalo charges a ZNS when it is delivered, not when it is submitted.
 *  replies    citizens (a sender not known as a citizen counts by its address) who replied to
 *             the campaign (replies attributed to it: [replies] attribution_days); opted_out,
 *             opted_in, registered, questions those of them with a reply of that intent. */

enum { STATS_NOUTCOMES = 9 };
/* pending submitted delivered undelivered failed in_doubt suppressed expired cancelled */
extern const char *const stats_outcome_names[STATS_NOUTCOMES];

enum stats_channel { STATS_ZALO, STATS_SMS, STATS_NCHANNELS };

struct channel_stats {
    long long sent, delivered, failed, fallback, parts, cost_vnd;
};

struct campaign_stats {
    long long targeted;
    long long outcomes[STATS_NOUTCOMES];
    struct channel_stats channel[STATS_NCHANNELS];
    long long cost_vnd;
    long long replies, opted_out, opted_in, registered, questions;
};

/* Adds one counter row (pure). COST_VND is what the row is charged, as CAMPAIGN_COUNTERS_SQL
 * reads it (loa_charged(), sql/functions/10_messages.sql), and is added as it is. -1 (and
 * nothing added) for an unknown channel or state. */
int campaign_stats_add(struct campaign_stats *s, const char *channel, const char *state,
                       long long n, long long parts, long long cost_vnd);

/* Loads the statistics of campaign ID. 0, or -1 with ERR. */
int campaign_stats_load(PGconn *db, int64_t id, struct campaign_stats *out, char *err,
                        size_t errlen);

/* Adds targeted, outcomes, by_channel, replies, opted_out and cost_vnd to the JSON object O. */
struct cJSON;
void campaign_stats_to_json(const struct campaign_stats *s, struct cJSON *o);

/* ---- The statements and JSON of `campaign show` and `campaign list`, for the command (its
 * own connection) and for the daemon's pool (web/) alike ---- */

/* Every counter row, its cost only when loa_charged() charges it (the rule of the report
 * too); add " WHERE campaign_id = $1::bigint" for one campaign. */
#define CAMPAIGN_COUNTERS_SQL                                                                 \
    "SELECT campaign_id, channel, state, n, parts,"                                           \
    " CASE WHEN loa_charged(channel, state) THEN cost_vnd ELSE 0 END FROM campaign_counters"
/* Replies by intent; add " GROUP BY 1" (after a WHERE for one campaign). Citizens, not
 * messages: a sender who is no known citizen counts once by its address. */
#define CAMPAIGN_REPLIES_WHO "count(DISTINCT COALESCE(citizen_id::text, from_addr))"
#define CAMPAIGN_REPLIES_SQL                                                                  \
    "SELECT campaign_id, " CAMPAIGN_REPLIES_WHO ","                                           \
    " " CAMPAIGN_REPLIES_WHO " FILTER (WHERE intent = 'opt_out'),"                            \
    " " CAMPAIGN_REPLIES_WHO " FILTER (WHERE intent = 'opt_in'),"                             \
    " " CAMPAIGN_REPLIES_WHO " FILTER (WHERE intent = 'register'),"                           \
    " " CAMPAIGN_REPLIES_WHO " FILTER (WHERE intent = 'question') FROM replies"
/* The campaigns: id, name, status, segment, needs_approval, approved_by, topic; add ORDER BY. */
#define CAMPAIGN_LIST_SQL                                                                     \
    "SELECT c.id, c.name, c.status, s.name, c.needs_approval, c.approved_by, c.topic"         \
    " FROM campaigns c JOIN segments s ON s.id = c.segment_id"
/* One campaign's own columns ($1 its id); times as UTC ISO text and as local text in the
 * policy time zone ($2) for people; then its topic, per_phone and same_phone, its daily cap and
 * what it sent today against it. */
#define CAMPAIGN_DETAIL_SQL                                                                   \
    "SELECT c.id, c.name, c.status, s.name,"                                                  \
    " to_char(c.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"             \
    " to_char(c.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"               \
    " to_char(c.window_start, 'HH24:MI'), to_char(c.window_end, 'HH24:MI'),"                  \
    " c.needs_approval, c.approved_by,"                                                       \
    " to_char(c.approved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"           \
    " to_char(c.starts_at AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI'),"                      \
    " to_char(c.ends_at AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI'), c.topic,"               \
    " c.per_phone, c.same_phone, c.daily_cap,"                                                \
    " (SELECT d.sent FROM campaign_daily_sent d WHERE d.campaign_id = c.id"                         \
    "   AND d.day = (loa_now() AT TIME ZONE $2::text)::date)"                                 \
    " FROM campaigns c JOIN segments s ON s.id = c.segment_id WHERE c.id = $1::bigint"
/* $1 the campaign id: its channel steps (channel, template, gateway) in order. */
#define CAMPAIGN_CHANNELS_SQL                                                                 \
    "SELECT cc.channel, t.name, cc.gateway FROM campaign_channels cc"                         \
    " JOIN templates t ON t.id = cc.template_id"                                              \
    " WHERE cc.campaign_id = $1::bigint ORDER BY cc.position"

/* Adds every row of R (CAMPAIGN_COUNTERS_SQL's columns) whose campaign is ID (text). */
void campaign_stats_add_counters(struct campaign_stats *s, const PGresult *r, const char *id);
/* Sets replies, opted_out, opted_in, registered and questions from the row of R
 * (CAMPAIGN_REPLIES_SQL … GROUP BY 1) of ID. */
void campaign_stats_add_replies(struct campaign_stats *s, const PGresult *r, const char *id);
/* Fills O (empty) with `campaign show --json`: D is CAMPAIGN_DETAIL_SQL's row, CHANS
 * CAMPAIGN_CHANNELS_SQL's rows, POLICY_WINDOW the window of campaigns without their own. */
void campaign_show_json(const PGresult *d, const PGresult *chans, const struct campaign_stats *s,
                        const char *policy_window, struct cJSON *o);
/* One campaign of `campaign list --json`: row I of CAMPAIGN_LIST_SQL with its statistics S;
 * the caller owns it. */
struct cJSON *campaign_list_entry_json(const PGresult *camps, int i, const struct campaign_stats *s);
/* `show --by BY` (commune, group, channel; NULL for anything else): $1 the campaign id; rows of
 * code, name, citizens targeted, citizens reached (a delivered message), from the counters
 * that the triggers keep (campaign_reach, campaign_counters). */
const char *campaign_breakdown_sql(const char *by);
/* Fills O (empty) with {"id","name","by","rows":[{code,name,targeted,reached,reach_pct}]}; by
 * channel each row also has replies and opted_out (citizens who replied, and opted out, on it). */
void campaign_breakdown_json(const PGresult *r, int64_t id, const char *name, const char *by,
                             struct cJSON *o);

/* ---- The reports of `campaign show` and `campaign list` ----
 * Each writes text on OUT, or, when JSON is not NULL, fills that (empty) object instead and
 * writes nothing. 0, or -1 with the database's error in ERR. */

/* ROW's settings, channels and statistics; times shown in time zone TZ, POLICY_WINDOW the
 * sending window of campaigns without their own. */
int campaign_show_write(PGconn *db, const struct campaign_row *row, const char *tz,
                        const char *policy_window, FILE *out, struct cJSON *json, char *err,
                        size_t errlen);
/* `show --by BY`: citizens targeted and reached per commune, group or channel. */
bool campaign_breakdown_known(const char *by);
int campaign_breakdown_write(PGconn *db, const struct campaign_row *row, const char *by, FILE *out,
                             struct cJSON *json, char *err, size_t errlen);
/* Every campaign with its main figures. */
int campaign_list_write(PGconn *db, FILE *out, struct cJSON *json, char *err, size_t errlen);

#endif
