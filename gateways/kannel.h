#ifndef LOA_KANNEL_H
#define LOA_KANNEL_H
#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "gateways/gateway.h"

/* Kannel's smsbox: MT by `GET /cgi-bin/sendsms`, delivery reports by the
 * per-message `dlr-url`, citizen replies (MO) by an `sms-service get-url`. The gateway type is
 * `kannel_type`; the functions below are its pure parts (URL and token building, answer
 * classification, webhook validation), exposed for the unit tests and the fuzz target. */

extern const struct gateway_type kannel_type;

/* What the gateway reads from its section. */
struct kannel_conf {
    char name[64];
    char sendsms_url[1100];
    char username[128];
    char password[256];
    char sender[16];
    char smsc[64];
    int dlr_mask;
    char public_url[1100];          /* [http] public_url, without a trailing '/' */
    char secret[257];               /* webhook_secret */
    long timeout_ms;
};

/* The DLR token of a message: hex HMAC-SHA256 of "CAMPAIGN.MSGID" keyed by SECRET, its first 32
 * hex characters. Stateless and unguessable without the secret. */
void kannel_token(const char *secret, int64_t campaign_id, int64_t message_id, char out[33]);

/* Percent-encodes LEN bytes of IN for a query value (RFC 3986 unreserved kept) into OUT.
 * Returns the length, or -1 when it does not fit in CAP (NUL included). */
int kannel_urlencode(const char *in, size_t len, char *out, size_t cap);

/* The dlr-url Kannel calls back for message M (escape codes %d %T %I left for Kannel). */
int kannel_dlr_url(const struct kannel_conf *k, int64_t campaign_id, int64_t message_id,
                   char *out, size_t cap);

/* The sendsms URL for M. Returns its length, or -1 when it does not fit in CAP. */
int kannel_sendsms_url(const struct kannel_conf *k, const struct gw_message *m, char *out, size_t cap);

/* A buffer this large holds any sendsms URL of a text of TEXT_LEN bytes. */
size_t kannel_url_cap(const struct kannel_conf *k, size_t text_len);

/* Classifies smsbox's answer: CURL_CODE, HTTP STATUS, BODY. */
void kannel_classify(CURLcode curl_code, long status, const char *body, size_t len, struct gw_result *r);

/* A delivery report, validated. */
struct kannel_dlr {
    int64_t campaign_id, message_id;
    int status;                     /* Kannel's DLR value: 1, 2, 4, 8 or 16 */
    enum gw_dlr dlr;
    int64_t ts;                     /* 0 when absent */
    char id[96];                    /* Kannel's message id (%I), "" when absent */
};

/* Checks the query values of a DLR (any may be NULL). Returns 200 and fills OUT, 400 when
 * malformed (ids not positive integers, s missing or not a DLR value, ts not a number), or 403
 * when the token is missing or wrong (compared in constant time). */
int kannel_dlr_check(const char *secret, const char *c, const char *m, const char *t,
                     const char *s, const char *ts, const char *id, struct kannel_dlr *out);

/* Checks the token of an MO request (constant time): 1 when it matches SECRET. */
int kannel_mo_token_ok(const char *secret, const char *token);

/* Reads KEY from RAW (an undecoded query string "a=1&b=%20") into OUT, decoding %XX and '+'.
 * Returns the decoded length, or -1 when KEY is absent, a %-escape is bad, or it does not fit.
 * Used by the fuzz target to feed kannel_dlr_check() from raw bytes. */
int kannel_query_get(const char *raw, size_t rawlen, const char *key, char *out, size_t cap);

#endif
