#ifndef LOA_STATS_H
#define LOA_STATS_H
#include <libpq-fe.h>
#include <stdint.h>

/* The statistics of a campaign (contract.md `campaign show --json`), read from
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
 *  parts      SMS parts of sent SMS; cost_vnd the cost of sent messages, all channels.
 *  replies    rows of `replies` for the campaign; opted_out those of intent `stop`. */

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
    long long replies, opted_out;
};

/* Adds one counter row (pure). -1 (and nothing added) for an unknown channel or state. */
int campaign_stats_add(struct campaign_stats *s, const char *channel, const char *state,
                       long long n, long long parts, long long cost_vnd);

/* Loads the statistics of campaign ID. 0, or -1 with ERR. */
int campaign_stats_load(PGconn *db, int64_t id, struct campaign_stats *out, char *err,
                        size_t errlen);

/* Adds targeted, outcomes, by_channel, replies, opted_out and cost_vnd to the JSON object O. */
typedef struct cJSON cJSON;
void campaign_stats_to_json(const struct campaign_stats *s, cJSON *o);

/* The statements behind `campaign show` and `campaign list`, for callers with a connection of
 * their own and for the daemon's pool alike. COUNTERS and REPLIES read every campaign; add
 * " WHERE campaign_id = $1::bigint" (and " GROUP BY 1" to REPLIES) for one. */
#define CAMPAIGN_COUNTERS_SQL "SELECT campaign_id, channel, state, n, parts, cost_vnd FROM campaign_counters"
#define CAMPAIGN_REPLIES_SQL                                                                  \
    "SELECT campaign_id, count(*), count(*) FILTER (WHERE intent = 'stop') FROM replies"
/* The campaign's own columns; times as UTC ISO text ($2 unused) and as local text in the
 * policy time zone ($2) for people. */
#define CAMPAIGN_DETAIL_SQL                                                                            \
    "SELECT c.id, c.name, c.status, s.name,"                                                  \
    " to_char(c.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"             \
    " to_char(c.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"               \
    " to_char(c.window_start, 'HH24:MI'), to_char(c.window_end, 'HH24:MI'),"                  \
    " c.needs_approval, c.approved_by,"                                                       \
    " to_char(c.approved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"           \
    " to_char(c.starts_at AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI'),"                       \
    " to_char(c.ends_at AT TIME ZONE $2::text, 'YYYY-MM-DD HH24:MI'), c.topic"                \
    " FROM campaigns c JOIN segments s ON s.id = c.segment_id WHERE c.id = $1::bigint"
/* $1 the campaign id: its channel steps (channel, template, gateway) in order. */
#define CAMPAIGN_CHANNELS_SQL                                                                 \
    "SELECT cc.channel, t.name, cc.gateway FROM campaign_channels cc"                         \
    " JOIN templates t ON t.id = cc.template_id"                                              \
    " WHERE cc.campaign_id = $1::bigint ORDER BY cc.position"

/* Adds every row of R (CAMPAIGN_COUNTERS_SQL's columns) whose campaign is ID (text). */
void campaign_stats_add_counters(struct campaign_stats *s, const PGresult *r, const char *id);
/* Sets replies and opted_out from the row of R (CAMPAIGN_REPLIES_SQL … GROUP BY 1) of ID. */
void campaign_stats_add_replies(struct campaign_stats *s, const PGresult *r, const char *id);

/* The object of `campaign show --json`: D is CAMPAIGN_DETAIL_SQL's row, CHANS
 * CAMPAIGN_CHANNELS_SQL's rows, POLICY_WINDOW the window used when the campaign has none. The
 * caller deletes it. */
cJSON *campaign_show_json(const PGresult *d, const PGresult *chans, const struct campaign_stats *s,
                          const char *policy_window);

/* One campaign of `campaign list --json`: row I of CAMPS (id, name, status, segment name, …)
 * with its statistics S. */
cJSON *campaign_list_entry_json(const PGresult *camps, int i, const struct campaign_stats *s);

/* `campaign show --by BY` (commune, group, channel; NULL for anything else): $1 the campaign
 * id; rows of code, name, citizens targeted, citizens reached (a delivered message). It reads
 * the campaign's messages joined to citizens: a report, not a counter. */
const char *campaign_breakdown_sql(const char *by);
/* {"id","name","by","rows":[{code,name,targeted,reached,reach_pct}]} from those rows. */
cJSON *campaign_breakdown_json(const PGresult *r, int64_t id, const char *name, const char *by);

/* Commands (engine/cli_commands.c). */
struct cli;
int cmd_campaign_show(struct cli *c, int argc, char **argv);
int cmd_campaign_list(struct cli *c, int argc, char **argv);

#endif
