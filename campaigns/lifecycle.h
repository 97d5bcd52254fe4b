#ifndef LOA_LIFECYCLE_H
#define LOA_LIFECYCLE_H
#include "campaigns/campaign.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* The operations of `loa campaign create|approve|start|pause|resume|cancel`. Each checks what
 * it can, changes rows (statuses only through campaign_set_status()), and after its commit
 * NOTIFYs loa_campaigns so that a running daemon reacts at once. ERR always receives the whole
 * sentence to show ("campaign 'x' is completed; it cannot be paused"). */

struct config;
struct cJSON;

/* NOTIFY loa_campaigns with ID. */
void campaign_notify(PGconn *db, int64_t id);

/* ---- create ---- */

/* A campaign to create, as given on the command line (checked by the caller: NAME is 1 to 200
 * bytes, CHANNELS parsed, START and END ISO 8601 times or NULL, the window "HH:MM" or ""). */
struct campaign_new {
    const char *name, *segment;
    const char *start, *end;
    const char *topic;        /* general (NULL: the default) or voluntary: what coverage counts it for */
    const char *per_phone;    /* "one" or "all"; NULL: the default, one */
    long daily_cap;           /* at most this many messages a local day; 0: no cap */
    char window_start[8], window_end[8];
    struct channel_spec steps[CAMPAIGN_MAX_CHANNELS];
    int nsteps;
};

/* A campaign's topic: general (BHXH) or voluntary (BHXH tự nguyện). */
bool campaign_topic_ok(const char *topic);

/* Gateway NAME is configured and sends CHANNEL. 0, or -1 with ERR. */
int campaign_gateway_check(const struct config *cfg, const char *name, const char *channel,
                           char *err, size_t errlen);

enum { CAMPAIGN_EUSAGE = -2, CAMPAIGN_ENOSUPERVISOR = -3 };
/* Creates draft campaign O with its channel steps and its messages' partition; sets *ID.
 * 0; -1 with ERR (an unknown segment or template, a name taken, an end already past, the
 * database's error); CAMPAIGN_EUSAGE with ERR when START is not before END. */
int campaign_create(PGconn *db, const struct config *cfg, const struct campaign_new *o,
                    int64_t *id, char *err, size_t errlen);

/* ---- the changes of an existing campaign ---- */

/* What a change did, for the caller to show. */
struct campaign_change {
    const char *status;       /* the status after it (a static string) */
    const char *count_key;    /* NULL, or what COUNT counts: "segment_size", "messages_cancelled" */
    long long count;
    struct cJSON *estimates;  /* start: an array the caller made, filled with what each channel
                               * step will cost (template, channel, gateway, citizens, sendable,
                               * longest_encoding, longest_parts, total_parts or messages,
                               * cost_vnd), also when the start is refused at the renderings */
};

/* One change of campaign ROW. WHO is the approving supervisor (approve only; the others
 * ignore it, and CFG is read by start only). 0 with OUT set, or -1 with ERR and nothing changed. */
typedef int campaign_change_fn(PGconn *db, const struct config *cfg, const struct campaign_row *row,
                               const char *who, struct campaign_change *out, char *err,
                               size_t errlen);

/* A draft approved by WHO, who must be an enabled user with role supervisor or admin
 * (CAMPAIGN_ENOSUPERVISOR with ERR when not); recorded in the audit log. */
campaign_change_fn campaign_approve;
/* A draft scheduled with ROW's per_phone (the caller may have changed it from the stored one),
 * once every template is usable, the segment is within [policy]
 * approval_threshold or approved, and every citizen's rendering fits its gateway. */
campaign_change_fn campaign_start;
/* Scheduled or running to paused. */
campaign_change_fn campaign_pause;
/* Paused back to the status it was paused from. */
campaign_change_fn campaign_resume;
/* Any status that is not final to cancelled, with every message not yet handed to a gateway,
 * in one transaction. */
campaign_change_fn campaign_cancel;

/* ---- resend what provably never reached a gateway ---- */

/* How the in-doubt messages of a campaign divide (loa_resend_in_doubt in
 * sql/functions/50_lifecycle.sql). */
struct campaign_resend {
    long long in_doubt;     /* all of them */
    long long reported;     /* a report came: the SMSC has it, it stays in doubt */
    long long recent;       /* in doubt for less than the settle time */
    long long unprovable;   /* its gateway asks no SMSC acknowledgement, or nothing after it was reported */
    long long opted_out;    /* the citizen stopped since */
    long long resend;       /* never reached the gateway: resent, or to resend */
    bool applied;           /* they went back to pending */
    const char *status;     /* the campaign's status after it */
};

/* The in-doubt messages of campaign ROW that provably never reached their gateway's SMSC: no
 * report of any kind came for one, in SETTLE_S seconds, while one came for a message of the
 * campaign handed to the same gateway after it, on a gateway that asks for the SMSC's
 * acknowledgement (gateway_type.acked). With APPLY they go back to pending in one transaction,
 * a completed campaign runs again, and WHO is recorded in the audit log. Refused for a campaign
 * that is a draft, scheduled, cancelled, past its end or archived. 0 with OUT, or -1 with ERR. */
int campaign_resend_in_doubt(PGconn *db, const struct config *cfg, const struct campaign_row *row,
                             int settle_s, bool apply, const char *who, struct campaign_resend *out,
                             char *err, size_t errlen);

#endif
