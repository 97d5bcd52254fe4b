#ifndef LOA_ZALO_TOKEN_H
#define LOA_ZALO_TOKEN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The access and refresh tokens of one Zalo app / OA (docs/design.md, "Gateways").
 *
 * The tokens live in gateway_state (gateway, key): access_token, refresh_token, expires_at (unix
 * seconds) — the database, not this process, is where they are kept. A refresh token is
 * single-use: the answer that consumes it carries the only copy of its successor. So:
 *
 *   1. Only one daemon refreshes at a time: it first takes the lease row `refresh_lease`
 *      (value = its instance, expiring after lease_s) in one statement that also returns the
 *      current tokens; when another daemon already refreshed, its token is adopted and Zalo is
 *      not called. The lease row doubles as the intent record: it says who started a refresh
 *      and when.
 *   2. Zalo's answer is stored with ONE statement, conditional on the refresh token used still
 *      being the current one, which also drops the lease. While that statement has not
 *      succeeded the new pair is kept in memory and the store retried, so a database outage
 *      does not lose it.
 *   3. The one window that cannot be closed is a crash after Zalo answered and before that
 *      statement committed. It is logged (`zalo_token_refresh_start` without a following
 *      `zalo_token_refresh_stored`), and the next refresh is refused by Zalo. Recovery: an
 *      operator generates a new refresh token in the Zalo developer console, puts it into the
 *      gateway's `refresh_token` key and restarts; a configured refresh token whose SHA-256
 *      differs from the one last seeded (key config_refresh_sha256) replaces the stored one.
 *
 * Tokens and secrets are never logged. */

struct gw_host;
struct zalo_token;

struct zalo_token_conf {
    const char *gateway;            /* the gateway_state.gateway value: the gateway's name */
    const char *oauth_url;
    const char *app_id;
    const char *app_secret;
    const char *initial_refresh;    /* the configured refresh_token; may be "" */
    long timeout_ms;
    int margin_s;                   /* refresh this long before expiry */
    int lease_s;                    /* a refresh lease not released by then is taken over */
    bool appsecret_proof;           /* send the appsecret_proof header on API calls */
};

/* Allocates and starts loading from the database (asynchronously). Strings are copied. */
struct zalo_token *zalo_token_new(struct gw_host *host, const struct zalo_token_conf *c);
/* Stops timers; the object is freed once its own database and HTTP callbacks have run. Waiters
 * still queued are called with ok = false first. */
void zalo_token_free(struct zalo_token *t);

/* True when an access token is held and not expired. */
bool zalo_token_ready(const struct zalo_token *t);
/* The current access token, or NULL. Valid until the next return to the loop. */
const char *zalo_token_access(const struct zalo_token *t);
/* Fills HEADERS[0..] with "access_token: …" and, when configured, "appsecret_proof: …" into BUF,
 * and ends the list with NULL. Returns the number of headers, or -1 when no token is held. */
int zalo_token_headers(const struct zalo_token *t, char *buf, size_t buflen, const char *headers[3]);

/* Zalo refused ACCESS (-124, -216). Unless the token has already been replaced, refresh it (or
 * adopt one another daemon stored). CB runs once, from the loop, with ok = true when a token
 * other than ACCESS is available. Calls made while a refresh is under way join it. */
typedef void (*zalo_token_cb)(void *arg, bool ok);
void zalo_token_refused(struct zalo_token *t, const char *access, zalo_token_cb cb, void *arg);

/* Pure parts, unit-tested. */

/* Parses the OAuth answer. 0 with *ACCESS / *REFRESH malloc'ed and *EXPIRES_IN set (expires_in
 * may be a string or a number); -1 when the answer is not a success, with *ZERR the `error`
 * number when Zalo gave one (else 0) and the reason in WHY. */
int zalo_token_answer_parse(const char *body, size_t len, char **access, char **refresh,
                            long *expires_in, int *zerr, char *why, size_t whylen);
/* When to refresh: EXPIRES_AT - MARGIN_S, but not before NOW; when the token lives less than
 * twice the margin, at half of its remaining life so that a short-lived token is still used. */
time_t zalo_token_refresh_at(time_t now, time_t expires_at, int margin_s);
/* Hex HMAC-SHA256 of ACCESS keyed by SECRET (65 bytes with the NUL). */
void zalo_token_proof(const char *access, const char *secret, char out[65]);
/* Percent-encodes S for a form body into OUT; returns the length, or -1 when it does not fit. */
int zalo_form_escape(const char *s, char *out, size_t outlen);

#endif
