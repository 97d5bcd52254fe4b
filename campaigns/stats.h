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
 *  parts      SMS parts of sent SMS; cost_vnd the cost of sent messages, all channels.
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

/* Adds one counter row (pure). -1 (and nothing added) for an unknown channel or state. */
int campaign_stats_add(struct campaign_stats *s, const char *channel, const char *state,
                       long long n, long long parts, long long cost_vnd);

/* Loads the statistics of campaign ID. 0, or -1 with ERR. */
int campaign_stats_load(PGconn *db, int64_t id, struct campaign_stats *out, char *err,
                        size_t errlen);

/* Adds targeted, outcomes, by_channel, replies, opted_out and cost_vnd to the JSON object O. */
struct cJSON;
void campaign_stats_to_json(const struct campaign_stats *s, struct cJSON *o);

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
