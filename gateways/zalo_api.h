#ifndef LOA_ZALO_API_H
#define LOA_ZALO_API_H
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "gateways/gateway.h"

/* What the two Zalo gateways (zalo_zns, zalo_oa) share of Zalo's Open API: the settings both
 * read from their section, the meaning of Zalo's error codes, the reading of an answer, and one
 * call for one message with its token retry. */

struct config;
struct zalo_token;
struct zalo_token_conf;

/* ---- settings ---- */

/* How webhooks are checked (gateways/zalo_webhook.h, zalo_hook_handle()). */
struct zalo_hook_conf {
    const char *sig_id;
    const char *sig_key;
    long max_age_s;
};

/* The configuration rows both Zalo gateways have, for their cfg_key tables: what
 * zalo_conf_read() and zalo_token_conf_read() read besides api_url and the app's credentials. */
#define ZALO_SHARED_KEYS \
    {"gateway", "webhook_sig_id", CFG_STR, "app_id", 0, 16, "which id starts the signed string: app_id or oa_id"}, \
    {"gateway", "webhook_sig_key", CFG_STR, "oa_secret", 0, 16, "which secret ends the signed string: oa_secret or app_secret"}, \
    {"gateway", "webhook_max_age_s", CFG_INT, "900", 10, 86400, "webhooks with an older (or as much newer) timestamp are refused as replays"}, \
    {"gateway", "token_margin_s", CFG_INT, "600", 30, 43200, "refresh the access token this long before it expires"}, \
    {"gateway", "appsecret_proof", CFG_BOOL, "false", 0, 0, "send the appsecret_proof header (HMAC-SHA256 of the token)"}

struct zalo_conf {
    char api_url[1100];          /* without a trailing / */
    long timeout_ms;
    long utc_offset_s;           /* of [policy] timezone, for the night ban and daily limits */
    char sig_id[80], sig_key[260];
    struct zalo_hook_conf hook;  /* points into this struct: do not copy it */
};

/* Reads api_url, timeout_ms, webhook_max_age_s and the webhook signing id and key (the values of
 * the keys named ID_KEY and SECRET_KEY, already checked) of section SEC into C. */
void zalo_conf_read(const struct config *cfg, const char *sec, const char *id_key, const char *secret_key,
                    struct zalo_conf *c);

/* The token keeper's settings of gateway NAME from section SEC (oauth_url, app_id, app_secret,
 * refresh_token, token_margin_s, appsecret_proof). Strings point into CFG. */
void zalo_token_conf_read(const struct config *cfg, const char *sec, const char *name, long timeout_ms,
                          struct zalo_token_conf *tc);

/* ---- answers ---- */

/* Marks a transport-level failure in a classify function's return value. */
enum { ZALO_ERR_TRANSPORT = 1 };

/* How one API's answers are read. */
struct zalo_answer_spec {
    const char *label;            /* starts reasons: "zalo", "zalo oa" */
    enum gw_outcome unreadable;   /* the outcome when no usable answer came */
    const char *id_field;         /* data.ID_FIELD is the provider's message id */
    bool quota;                   /* data.quota.remainingQuota is reported */
};

/* Reads a JSON answer {"error": N, "data": {…}} that came with HTTP 200 into R (already cleared)
 * at time NOW in a zone UTC_OFFSET_S east of UTC. Returns Zalo's `error` (0 on success,
 * negative on error) or ZALO_ERR_TRANSPORT when the body is not such an answer or the error
 * is not one Zalo documents. */
int zalo_answer_read(const struct zalo_answer_spec *s, const char *body, size_t len, time_t now,
                     long utc_offset_s, struct gw_result *r);

/* Maps a Zalo error code of a ZNS or consultation answer to R (outcome, action, flags, reason,
 * retry and pause times). Shared by both gateways; codes that only one API sends never reach the
 * other. */
void zalo_error_map(int code, time_t now, long utc_offset_s, struct gw_result *r);

/* The first moment after NOW at which the local clock (UTC_OFFSET_S east of UTC) reads HOUR:00. */
time_t zalo_next_local_hour(time_t now, long utc_offset_s, int hour);

/* The offset east of UTC, in seconds, of time zone TZ (e.g. "Asia/Ho_Chi_Minh") now. */
long zalo_tz_offset(const char *tz);

/* ---- one call ---- */

/* What differs between the endpoints a message is sent to. */
struct zalo_endpoint {
    const char *label;          /* starts the reason when no token is ready: "zalo", "zalo oa" */
    const char *refused_label;  /* starts the reason when the token stays refused */
    const char *path;           /* appended to the gateway's api_url: "/message/template" */
    const int *token_codes;     /* Zalo errors meaning "access token refused", ended by 0 */
    /* Turns an answer into R; returns Zalo's error code or ZALO_ERR_TRANSPORT. */
    int (*classify)(CURLcode cc, long status, const char *body, size_t len, time_t now,
                    long utc_offset_s, struct gw_result *r);
    /* The gateway's token keeper, or NULL when it has none (yet). */
    struct zalo_token *(*token)(struct gateway *gw);
    /* Sees every classified answer, the refused ones included (the ZNS quota); may be NULL. */
    void (*answered)(struct gateway *gw, const struct gw_result *r);
};

/* Submits BODY (malloc'ed; taken over in every case) for gateway GW, configured by C, to
 * C->api_url + EP->path with the access token, under gateway_type.submit's contract: 0 and CB
 * later, exactly once; -1 and no CB. Without a ready token CB gets a temporary failure. When
 * Zalo answers that the token is refused, the message was not taken: the keeper is asked for a
 * fresh token (joining a refresh under way) and the message is sent once more. */
int zalo_call_submit(struct gateway *gw, const struct zalo_endpoint *ep, const struct zalo_conf *c,
                     char *body, gw_submit_cb cb, void *arg);

#endif
