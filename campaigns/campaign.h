#ifndef LOA_CAMPAIGN_H
#define LOA_CAMPAIGN_H
#include "campaigns/campaign_status.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Campaigns: their statuses (the operations that change them are in campaigns/lifecycle.h).
 * The CLI only changes rows and NOTIFYs loa_campaigns; the daemon materialises the messages of a scheduled campaign when it is due,
 * moves it to running, and completes it.
 *
 *   draft ──start──► scheduled ──(daemon)──► running ──(daemon)──► completed
 *                        │  ▲                  │  ▲
 *                      pause└──resume──paused──┘  resume
 *   any status that is not final ──cancel──► cancelled
 *
 * The daemon also completes a scheduled or paused campaign whose end has passed. The legal
 * changes, each with its reason, are the table of campaign_status.c, which the database also
 * holds and enforces (campaign_transitions).
 *
 * A campaign whose segment holds more than [policy] approval_threshold citizens when it is
 * started must first be approved by a supervisor (`loa campaign approve`). */

/* The one function through which the command line changes a campaign's status (the daemon's
 * changes are the functions of sql/functions/50_lifecycle.sql). Moves campaign ID to TO if its
 * status is in FROM_SET and the move is legal (statuses in FROM_SET from which TO is not a
 * legal move are ignored), with loa_campaign_set_status(), whose `UPDATE … WHERE status =
 * ANY(…)` never overwrites a concurrent change. Pausing records the status paused from; reaching a final status
 * records completed_at. VERB ("paused", "started") words the refusal:
 * "campaign 'x' is completed; it cannot be paused". Returns 0 and *WAS (may be NULL) the status
 * it had, or -1 with the reason in ERR. Does not NOTIFY: the caller does after its commit. */
int campaign_set_status(PGconn *db, int64_t id, unsigned from_set, enum campaign_status to,
                        const char *verb, enum campaign_status *was, char *err, size_t errlen);

/* ---- Parsing the options of `campaign create` (pure) ---- */

/* A time given on the command line: ISO 8601 `YYYY-MM-DD[(T| )HH:MM[:SS]][Z|±HH[:MM]]`.
 * Without an offset it is local time in [policy] timezone; a date alone is midnight. */
struct campaign_time {
    int year, month, day, hour, minute, second;
    bool has_offset;
    int offset_min;          /* east of UTC */
};
/* 0, or -1 when S is not such a time or names an impossible date. */
int campaign_time_parse(const char *s, struct campaign_time *out);
/* "2026-05-01 07:00:00" or "2026-05-01 07:00:00+07:00": text PostgreSQL reads as timestamp
 * (local) or timestamptz (with offset). */
void campaign_time_format(const struct campaign_time *t, char *buf, size_t len);

/* One step of `--channels zalo:TPL,sms@GATEWAY:TPL`, in the order given. */
enum { CAMPAIGN_MAX_CHANNELS = 2 };
struct channel_spec {
    char channel[8];          /* "sms" or "zalo" */
    char gateway[64];         /* "" when not named */
    char template_name[128];
};
/* Parses SPEC into OUT (room for CAMPAIGN_MAX_CHANNELS). 0 and *N, or -1 with ERR: an empty
 * step, an unknown channel, a missing template, a bad gateway name, a channel named twice. */
int campaign_channels_parse(const char *spec, struct channel_spec *out, int *n, char *err,
                            size_t errlen);

/* ---- Finding a campaign ---- */

struct campaign_row {
    int64_t id;
    char name[256];
    enum campaign_status status;
    int64_t segment_id;
    char segment_name[256];
    bool approved;
    char approved_by[128];
    enum campaign_status paused_from;   /* CAMP_SCHEDULED when not paused */
    char per_phone[4];                  /* "one": each phone number reached once; "all" */
};

/* PER_PHONE is "one" or "all" (`--per-phone`). */
bool campaign_per_phone_valid(const char *per_phone);

/* The largest `--daily-cap` (the API's "daily_cap"): well above a province's population. */
#define CAMPAIGN_DAILY_CAP_MAX 100000000

/* Finds campaign KEY: by exact name, else by id when KEY is a number. 0, or -1 with ERR
 * ("no campaign 'x'" or the database's error). */
int campaign_find(PGconn *db, const char *key, struct campaign_row *out, char *err,
                  size_t errlen);

#endif
