#ifndef LOA_ZALO_ZNS_H
#define LOA_ZALO_ZNS_H
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "gateways/gateway.h"
#include "gateways/zalo_api.h"

/* Zalo ZNS: template messages to a phone number, type "zalo_zns", channel zalo.
 * Submits `POST {api_url}/message/template` with tracking_id "<campaign>.<message>", so a resend
 * is de-duplicated by Zalo and a timeout is a temporary failure, never in doubt. Keeps the OA's
 * tokens (gateways/zalo_token.h), records the quota Zalo reports in gateway_state
 * (quota_remaining), and takes the OA's webhooks at POST /hooks/zalo/NAME: receipts are applied
 * by zalo_receipt_apply() (sql/006_zalo.sql), replies and follows go to engine_events_apply(). */

extern const struct gateway_type zalo_zns_type;

struct zalo_token;
struct http_req;

/* The token keeper of a zalo_zns gateway, for a zalo_oa gateway of the same app (`token_from`);
 * NULL when GW is not an open zalo_zns gateway. */
struct zalo_token *zalo_zns_token(struct gateway *gw);

/* Pure parts, unit-tested. */

/* Classifies an answer of /message/template at time NOW in a zone UTC_OFFSET_S east of UTC.
 * Returns Zalo's `error` (0 on success, negative on error) or ZALO_ERR_TRANSPORT when no usable
 * answer came (timeout, HTTP error, not JSON, cut off); R is filled in every case. -124 is
 * returned as TEMPFAIL: the caller refreshes the token and retries once. */
int zalo_zns_classify(CURLcode cc, long status, const char *body, size_t len, time_t now,
                      long utc_offset_s, struct gw_result *r);

/* The JSON body of a ZNS submission, malloc'ed; NULL (with the reason in WHY) when the message
 * has no phone or template, its template data is not a JSON object, or the tracking id would
 * exceed Zalo's 48 characters. */
char *zalo_zns_body(const struct gw_message *m, bool development, char *why, size_t whylen);

/* Answers a Zalo webhook request for gateway GW (at /hooks/TYPE/NAME SUBPATH: anything below it
 * is 404) with the verdict of zalo_wh_check() and, when it passes, applies the event. Shared by
 * zalo_zns and zalo_oa. */
void zalo_hook_handle(struct gateway *gw, struct http_req *req, const char *subpath,
                      const struct zalo_hook_conf *c);

#endif
