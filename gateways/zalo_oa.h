#ifndef LOA_ZALO_OA_H
#define LOA_ZALO_OA_H
#include <curl/curl.h>
#include <stddef.h>
#include <time.h>

#include "gateways/gateway.h"

/* Zalo OA consultation messages to a Zalo user id, type "zalo_oa", channel
 * zalo: `POST {api_url}/v3.0/oa/message/cs`. Used to answer a citizen who wrote to the OA; Zalo
 * allows it only within 7 days of the citizen's last interaction (-230 → fall back, e.g. to
 * SMS). The API takes no idempotency key, so an answer that never came is in doubt.
 *
 * Tokens: `token_from = NAME` shares the token keeper of the zalo_zns gateway NAME (same app and
 * OA: one refresh chain, one refresher); otherwise the section's own app_id / app_secret /
 * refresh_token are used, exactly as for zalo_zns. */

extern const struct gateway_type zalo_oa_type;

enum { ZALO_OA_MAX_CHARS = 2000 };

/* Classifies an answer of /v3.0/oa/message/cs; returns Zalo's `error` (0 success), or
 * ZALO_ERR_TRANSPORT (gateways/zalo_api.h) when no usable answer came. */
int zalo_oa_classify(CURLcode cc, long status, const char *body, size_t len, time_t now,
                     long utc_offset_s, struct gw_result *r);

/* The JSON body for M, malloc'ed; NULL with WHY when M has no Zalo user id, no text, or a text
 * longer than ZALO_OA_MAX_CHARS characters. *FALLBACK is set when another channel may still
 * reach the citizen (no user id). */
char *zalo_oa_body(const struct gw_message *m, int *fallback, char *why, size_t whylen);

#endif
