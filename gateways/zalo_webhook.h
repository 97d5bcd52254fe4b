#ifndef LOA_ZALO_WEBHOOK_H
#define LOA_ZALO_WEBHOOK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zalo webhooks: the signature check and the decoding of the body,
 * as pure functions so that they are unit-tested and fuzzed without a loop or a database. Used by
 * the zalo_zns and zalo_oa gateways. */

enum zalo_wh_kind {
    ZALO_WH_IGNORED,     /* an event the engine has no use for (unknown) */
    ZALO_WH_RECEIPT,     /* user_received_message: a ZNS message reached the phone */
    ZALO_WH_REPLY,       /* user_send_text: a citizen wrote to the OA */
    ZALO_WH_FOLLOW,
    ZALO_WH_UNFOLLOW,
    ZALO_WH_SEEN,        /* user_seen_message: the user read these OA messages (message.msg_ids) */
};

/* The most msg_ids of one user_seen_message that are read; the rest are ignored (a citizen's
 * answers are a handful; the limit bounds the work one request can cause). */
enum { ZALO_WH_MAX_SEEN = 64 };

/* A decoded webhook. The strings point into ROOT and live until zalo_wh_event_free(). */
struct zalo_wh_event {
    enum zalo_wh_kind kind;
    const char *event_name;     /* the `event_name` field as sent */
    const char *timestamp;      /* the `timestamp` field as text, exactly as it enters the signature */
    int64_t timestamp_ms;
    const char *msg_id;         /* message.msg_id: the de-duplication key; may be NULL for follows */
    const char *tracking_id;    /* RECEIPT: message.tracking_id, or NULL */
    int64_t campaign_id;        /* RECEIPT: from tracking_id "<campaign>.<message>"; 0 when absent */
    int64_t message_id;
    const char *user_id;        /* REPLY: sender.id; FOLLOW/UNFOLLOW: follower.id */
    const char *text;           /* REPLY: message.text */
    const char *seen[ZALO_WH_MAX_SEEN]; /* SEEN: the msg_ids that are strings, in order */
    size_t n_seen;
    void *root;                 /* the cJSON tree (private) */
    char ts_buf[24];            /* the timestamp's text when it came as a JSON number */
};

/* Decodes BODY (LEN bytes, need not be NUL-terminated). 0 on success; -1 with the reason in ERR
 * when it is not a JSON object, lacks event_name or timestamp, or an event the engine acts on
 * lacks the fields it needs. On success the caller frees EV with zalo_wh_event_free(). */
int zalo_wh_parse(const char *body, size_t len, struct zalo_wh_event *ev, char *err, size_t errlen);
void zalo_wh_event_free(struct zalo_wh_event *ev);

/* Checks HEADER ("mac=<64 hex>", the X-ZEvent-Signature value) against
 * SHA-256(SIG_ID + BODY + TIMESTAMP + SIG_KEY), in constant time over the digest. False for a
 * missing or malformed header, or empty SIG_ID / SIG_KEY (an unconfigured gateway accepts
 * nothing). */
bool zalo_wh_signature_ok(const char *header, const char *sig_id, const char *body, size_t len,
                          const char *timestamp, const char *sig_key);

/* Writes the header value "mac=<hex>" a sender would put (used by tests and the double). */
void zalo_wh_signature_make(const char *sig_id, const char *body, size_t len, const char *timestamp,
                            const char *sig_key, char out[70]);

/* True when TS_MS (the event's timestamp) is within MAX_AGE_S of NOW_MS, in either direction:
 * older events are replays; events from the future beyond the same margin are forged or from a
 * badly wrong clock. */
bool zalo_wh_fresh(int64_t ts_ms, int64_t now_ms, long max_age_s);

/* Parses "<campaign>.<message>" (both positive decimal). 0, or -1 when S is not of that form. */
int zalo_tracking_parse(const char *s, int64_t *campaign_id, int64_t *message_id);

/* What a webhook request should be answered, before any database work. */
struct zalo_wh_verdict {
    int status;            /* 200 to act on EV; 400 malformed; 403 signature or replay */
    char reason[96];       /* for the log: no personal data */
};
/* The whole check in order: decode (400), signature (403), freshness (403). On status 200 EV is
 * filled and must be freed; otherwise EV is untouched. */
void zalo_wh_check(const char *body, size_t len, const char *sig_header, const char *sig_id,
                   const char *sig_key, long max_age_s, int64_t now_ms, struct zalo_wh_event *ev,
                   struct zalo_wh_verdict *v);

#endif
