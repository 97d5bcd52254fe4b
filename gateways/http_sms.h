#ifndef LOA_HTTP_SMS_H
#define LOA_HTTP_SMS_H
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateways/gateway.h"

/* A brandname SMS provider with a JSON API, type "http_sms", channel sms.
 * `preset = esms` gives the eSMS shape; every field name, result code and callback parameter is a
 * key of the section, so another provider's API is spoken by configuration alone. The request id
 * "<campaign>.<message>" is the provider's idempotency key: an answer that never came leaves the
 * message in doubt, and its resend is answered with the duplicate code and counts as accepted. Delivery reports come to
 * GET /hooks/http_sms/NAME/dlr?t=TOKEN&… where TOKEN binds the callback to its request id. */

extern const struct gateway_type http_sms_type;

/* Everything the gateway reads from its section, with the preset applied. */
struct http_sms_conf {
    char name[64];
    char url[1100];
    char api_key[260], secret_key[260], brandname[32], sms_type[16];
    bool sandbox;
    char public_url[1100];
    char secret[260];                   /* webhook_secret: keys the callback tokens */
    long timeout_ms;
    int pause_s;
    /* request field names ("" leaves the field out; configured as "-") */
    char f_api_key[32], f_secret_key[32], f_phone[32], f_content[32], f_brandname[32], f_sms_type[32],
         f_unicode[32], f_request_id[32], f_callback[32], f_sandbox[32];
    /* answer */
    char f_result[32], f_id[32];
    char success_codes[64], duplicate_codes[64], permanent_codes[128], invalid_phone_codes[64],
         pause_codes[128], throttle_codes[64];
    /* delivery report query parameters and values */
    char d_id[32], d_status[32], d_request_id[32];
    char delivered_codes[64], undelivered_codes[64];
};

/* Reads and checks GW's section into C (preset defaults for keys left empty). 0 or -1 with ERR. */
int http_sms_conf_load(const struct config *cfg, const char *section, const char *name,
                       struct http_sms_conf *c, char *err, size_t errlen);

/* True when CODE is one of the comma-separated LIST (exact match, blanks ignored). */
bool http_sms_code_in(const char *list, const char *code);

/* The callback token of REQUEST_ID: 32 hex of HMAC-SHA256 keyed by the webhook secret. */
void http_sms_token(const char *secret, const char *request_id, char out[33]);

/* The JSON body for M, malloc'ed, or NULL (no phone, out of memory). */
char *http_sms_body(const struct http_sms_conf *c, const struct gw_message *m);

/* Classifies the provider's answer. */
void http_sms_classify(const struct http_sms_conf *c, CURLcode cc, long status, const char *body,
                       size_t len, time_t now, struct gw_result *r);

/* A delivery report, validated. */
struct http_sms_dlr {
    int64_t campaign_id, message_id;
    enum gw_dlr dlr;
    char status[32];
    char id[96];
};
/* Checks the callback's query values (any may be NULL): 200 and OUT filled; 403 when the token is
 * missing or does not match the request id (constant time); 400 when the request id is not
 * "<campaign>.<message>" or the status is missing or not printable. The id is kept as the send's
 * answer kept it: escaped where it is not UTF-8, cut on a character. */
int http_sms_dlr_check(const struct http_sms_conf *c, const char *token, const char *request_id,
                       const char *status, const char *id, struct http_sms_dlr *out);

#endif
