#include "gateways/zalo_token.h"
#include "gateways/gateway.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/httpc.h"
#include "core/log.h"
#include "core/pgasync.h"

/* The refresh is a chain of asynchronous steps, named in order:
 *   token_load → token_load_done                      (once, at start)
 *   token_lease → token_lease_done → token_call → token_call_done → token_store → token_store_done
 * with the state below saying which one is under way. */
enum tok_state {
    TOK_LOADING,    /* reading gateway_state at start */
    TOK_IDLE,       /* nothing under way; the timer is set for the next refresh */
    TOK_LEASING,    /* taking the refresh lease */
    TOK_CALLING,    /* the OAuth call is in flight */
    TOK_STORING,    /* the new pair is in memory only, being written */
    TOK_WAITING,    /* waiting for a retry or for another daemon's refresh */
};

static const char *const state_names[] = {"loading", "idle", "leasing", "calling", "storing", "waiting"};

struct waiter {
    zalo_token_cb cb;
    void *arg;
    struct waiter *next;
};

struct zalo_token {
    struct gw_host *h;
    char *gateway, *oauth_url, *app_id, *app_secret, *initial_refresh;
    long timeout_ms;
    int margin_s, lease_s;
    bool proof;

    enum tok_state state;
    char *access, *refresh;      /* current pair (refresh: as stored in the database) */
    time_t expires_at;
    char *new_access, *new_refresh; /* TOK_STORING: the pair Zalo just gave */
    time_t new_expires_at;
    char *refused;               /* the access token Zalo refused */
    int failures;                /* consecutive failed attempts, for the back-off */

    uv_timer_t timer;
    struct waiter *waiters;
    unsigned pending;            /* database and HTTP callbacks not yet run, plus the timer */
    bool closing;
};

static void token_lease(struct zalo_token *t);
static void token_store(struct zalo_token *t);
static void token_load(struct zalo_token *t);

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r)
        abort();
    return r;
}

static void replace(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? xstrdup(v) : NULL;
}

static void token_set_state(struct zalo_token *t, enum tok_state s)
{
    if (t->state != s)
        log_debug("event=zalo_token_state gateway=%s from=%s to=%s", t->gateway,
                  state_names[t->state], state_names[s]);
    t->state = s;
}

static void maybe_free(struct zalo_token *t)
{
    if (!t->closing || t->pending)
        return;
    free(t->gateway);
    free(t->oauth_url);
    free(t->app_id);
    free(t->app_secret);
    free(t->initial_refresh);
    free(t->access);
    free(t->refresh);
    free(t->new_access);
    free(t->new_refresh);
    free(t->refused);
    free(t);
}

static void waiters_call(struct zalo_token *t, bool ok)
{
    struct waiter *w = t->waiters;
    t->waiters = NULL;
    while (w) {
        struct waiter *next = w->next;
        w->cb(w->arg, ok);
        free(w);
        w = next;
    }
}

/* ---- pure parts ---- */

time_t zalo_token_refresh_at(time_t now, time_t expires_at, int margin_s)
{
    if (expires_at <= now)
        return now;
    time_t left = expires_at - now;
    time_t at = left >= 2 * (time_t)margin_s ? expires_at - margin_s : now + left / 2;
    return at < now ? now : at;
}

void zalo_token_proof(const char *access, const char *secret, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)access, strlen(access), mac, &n);
    for (unsigned i = 0; i < 32 && i < n; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
}

int zalo_form_escape(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                     *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (n + (plain ? 1 : 3) >= outlen)
            return -1;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    if (n >= outlen)
        return -1;
    out[n] = '\0';
    return (int)n;
}

int zalo_token_answer_parse(const char *body, size_t len, char **access, char **refresh,
                            long *expires_in, int *zerr, char *why, size_t whylen)
{
    *access = *refresh = NULL;
    *zerr = 0;
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    if (!cJSON_IsObject(root)) {
        snprintf(why, whylen, "answer is not a JSON object");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "refresh_token");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
    if (cJSON_IsNumber(err) && err->valueint != 0) {
        *zerr = err->valueint;
        snprintf(why, whylen, "zalo error %d", err->valueint);
        cJSON_Delete(root);
        return -1;
    }
    long exp = -1;
    if (cJSON_IsNumber(x))
        exp = (long)x->valuedouble;
    else if (cJSON_IsString(x) && x->valuestring) {
        char *end;
        exp = strtol(x->valuestring, &end, 10);
        if (end == x->valuestring || *end)
            exp = -1;
    }
    if (!cJSON_IsString(a) || !cJSON_IsString(r) || !a->valuestring[0] || !r->valuestring[0] || exp <= 0) {
        snprintf(why, whylen, "answer lacks access_token, refresh_token or a positive expires_in");
        cJSON_Delete(root);
        return -1;
    }
    *access = xstrdup(a->valuestring);
    *refresh = xstrdup(r->valuestring);
    *expires_in = exp;
    cJSON_Delete(root);
    return 0;
}

/* ---- public reads ---- */

bool zalo_token_ready(const struct zalo_token *t)
{
    return t && t->access && t->access[0] && time(NULL) < t->expires_at;
}

const char *zalo_token_access(const struct zalo_token *t)
{
    return zalo_token_ready(t) ? t->access : NULL;
}

int zalo_token_headers(const struct zalo_token *t, char *buf, size_t buflen, const char *headers[3])
{
    const char *a = zalo_token_access(t);
    if (!a)
        return -1;
    int n = snprintf(buf, buflen, "access_token: %s", a);
    if (n < 0 || (size_t)n + 1 >= buflen)
        return -1;
    headers[0] = buf;
    headers[1] = headers[2] = NULL;
    if (t->proof) {
        char p[65];
        zalo_token_proof(a, t->app_secret, p);
        int m = snprintf(buf + n + 1, buflen - (size_t)n - 1, "appsecret_proof: %s", p);
        if (m < 0 || (size_t)m + 1 >= buflen - (size_t)n - 1)
            return -1;
        headers[1] = buf + n + 1;
        return 2;
    }
    return 1;
}

/* ---- timer ---- */

static void on_timer(uv_timer_t *h)
{
    struct zalo_token *t = h->data;
    if (t->closing)
        return;
    if (t->state == TOK_LOADING)
        token_load(t);
    else if (t->state == TOK_STORING)
        token_store(t);
    else if (t->state == TOK_IDLE || t->state == TOK_WAITING)
        token_lease(t);
}

static void timer_in(struct zalo_token *t, double seconds)
{
    if (t->closing)
        return;
    uint64_t ms = seconds <= 0 ? 0 : (uint64_t)(seconds * 1000);
    uv_timer_start(&t->timer, on_timer, ms, 0);
}

/* Back-off after a failed attempt: 5 s doubling to 5 min. */
static double backoff(struct zalo_token *t)
{
    double s = 5;
    for (int i = 1; i < t->failures && s < 300; i++)
        s *= 2;
    return s > 300 ? 300 : s;
}

static void schedule_next(struct zalo_token *t)
{
    time_t now = time(NULL);
    token_set_state(t, TOK_IDLE);
    if (!t->access || !t->access[0]) {
        timer_in(t, 0);
        return;
    }
    timer_in(t, (double)(zalo_token_refresh_at(now, t->expires_at, t->margin_s) - now));
}

static void adopt(struct zalo_token *t, const char *access, const char *refresh, time_t expires_at)
{
    replace(&t->access, access && access[0] ? access : NULL);
    if (refresh && refresh[0])
        replace(&t->refresh, refresh);
    t->expires_at = expires_at;
    t->failures = 0;
}

/* ---- load ---- */

/* Seeds the configured refresh token when it is new (first start, or an operator's recovery),
 * dropping a stored access token that belonged to the old chain; then returns the stored keys.
 * The final SELECT sees the rows as they were before the CTEs, so the seed is reported apart. */
static const char SQL_LOAD[] =
    "WITH seed AS ("
    "  INSERT INTO gateway_state AS g (gateway, key, value, updated_at)"
    "  SELECT $1, k, v, now() FROM (VALUES ('refresh_token', $2), ('config_refresh_sha256', $3)) t(k, v)"
    "   WHERE $2 <> '' AND NOT EXISTS (SELECT 1 FROM gateway_state"
    "         WHERE gateway = $1 AND key = 'config_refresh_sha256' AND value = $3)"
    "  ON CONFLICT (gateway, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
    "  RETURNING 1),"
    " drop_old AS ("
    "  DELETE FROM gateway_state WHERE gateway = $1 AND key IN ('access_token', 'expires_at')"
    "     AND EXISTS (SELECT 1 FROM seed))"
    "SELECT 'seeded', (SELECT count(*) FROM seed)::text "
    "UNION ALL SELECT key, value FROM gateway_state"
    " WHERE gateway = $1 AND key IN ('access_token', 'refresh_token', 'expires_at')";

static void sha256_hex(const char *s, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

static void token_load_done(void *arg, PGresult *res, const char *err)
{
    struct zalo_token *t = arg;
    t->pending--;
    if (t->closing) {
        maybe_free(t);
        return;
    }
    if (err) {
        t->failures++;
        log_warn("event=zalo_token_load_failed gateway=%s error=\"%s\"", t->gateway, err);
        /* Still TOK_LOADING: the timer retries the load itself rather than a refresh. */
        timer_in(t, backoff(t));
        return;
    }
    bool seeded = false;
    const char *access = NULL, *refresh = NULL;
    time_t exp = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *k = PQgetvalue(res, i, 0), *v = PQgetvalue(res, i, 1);
        if (strcmp(k, "seeded") == 0)
            seeded = strcmp(v, "0") != 0;
        else if (strcmp(k, "access_token") == 0)
            access = v;
        else if (strcmp(k, "refresh_token") == 0)
            refresh = v;
        else if (strcmp(k, "expires_at") == 0)
            exp = (time_t)strtoll(v, NULL, 10);
    }
    if (seeded) {
        log_info("event=zalo_token_seeded gateway=%s source=config", t->gateway);
        adopt(t, NULL, t->initial_refresh, 0);
    } else {
        adopt(t, access, refresh, exp);
    }
    if (!t->refresh || !t->refresh[0])
        log_error("event=zalo_token_missing gateway=%s hint=\"set refresh_token in [gateway.%s]\"",
                  t->gateway, t->gateway);
    log_info("event=zalo_token_loaded gateway=%s has_access=%s expires_in_s=%ld", t->gateway,
             zalo_token_ready(t) ? "yes" : "no", zalo_token_ready(t) ? (long)(t->expires_at - time(NULL)) : 0L);
    t->failures = 0;
    if (t->refused && t->access && strcmp(t->refused, t->access) == 0) {
        token_lease(t);     /* a refusal arrived while loading the very token refused */
        return;
    }
    schedule_next(t);
    if (zalo_token_ready(t))
        waiters_call(t, true);
}

static void token_load(struct zalo_token *t)
{
    char fp[65];
    sha256_hex(t->initial_refresh, fp);
    const char *p[3] = {t->gateway, t->initial_refresh, fp};
    token_set_state(t, TOK_LOADING);
    if (pgpool_query(t->h->db, SQL_LOAD, 3, p, token_load_done, t) == 0)
        t->pending++;
}

/* ---- lease ---- */

/* Takes the lease when it is free, expired or already ours, and returns the stored tokens in the
 * same statement, so that a refresh another daemon made meanwhile is seen before Zalo is called. */
static const char SQL_LEASE[] =
    "WITH lease AS ("
    "  INSERT INTO gateway_state AS g (gateway, key, value, updated_at)"
    "  VALUES ($1, 'refresh_lease', $2, now())"
    "  ON CONFLICT (gateway, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
    "   WHERE g.updated_at < now() - make_interval(secs => $3::int) OR g.value = $2"
    "  RETURNING 1) "
    "SELECT (SELECT count(*) FROM lease)::text,"
    " (SELECT value FROM gateway_state WHERE gateway = $1 AND key = 'access_token'),"
    " (SELECT value FROM gateway_state WHERE gateway = $1 AND key = 'refresh_token'),"
    " (SELECT value FROM gateway_state WHERE gateway = $1 AND key = 'expires_at')";

static const char SQL_RELEASE[] =
    "DELETE FROM gateway_state WHERE gateway = $1 AND key = 'refresh_lease' AND value = $2";

static void token_release_done(void *arg, PGresult *res, const char *err)
{
    struct zalo_token *t = arg;
    t->pending--;
    if (err)
        log_warn("event=zalo_token_release_failed gateway=%s error=\"%s\"", t->gateway, err);
    maybe_free(t);
}

/* Best effort: an unreleased lease only delays the next refresh by lease_s. */
static void token_release(struct zalo_token *t)
{
    const char *p[2] = {t->gateway, t->h->instance};
    if (pgpool_query(t->h->db, SQL_RELEASE, 2, p, token_release_done, t) == 0)
        t->pending++;
}

static void token_call(struct zalo_token *t);

/* The stored token can be used instead of calling Zalo: it is valid for more than a minute, it is
 * not the one Zalo refused, and it is not yet due for refresh (so a scheduled refresh of our own
 * token goes ahead, while a token another daemon refreshed meanwhile is adopted). */
static bool stored_usable(const struct zalo_token *t, const char *access, time_t exp)
{
    time_t now = time(NULL);
    if (!access || !access[0] || exp <= now + 60)
        return false;
    if (t->refused && strcmp(access, t->refused) == 0)
        return false;
    return zalo_token_refresh_at(now, exp, t->margin_s) > now;
}

static void token_lease_done(void *arg, PGresult *res, const char *err)
{
    struct zalo_token *t = arg;
    t->pending--;
    if (t->closing) {
        maybe_free(t);
        return;
    }
    if (err || PQntuples(res) != 1) {
        t->failures++;
        log_warn("event=zalo_token_lease_failed gateway=%s error=\"%s\"", t->gateway, err ? err : "no row");
        token_set_state(t, TOK_WAITING);
        waiters_call(t, false);
        timer_in(t, backoff(t));
        return;
    }
    bool taken = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    const char *access = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
    const char *refresh = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
    time_t exp = PQgetisnull(res, 0, 3) ? 0 : (time_t)strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    if (stored_usable(t, access, exp)) {
        log_info("event=zalo_token_adopted gateway=%s expires_in_s=%ld", t->gateway, (long)(exp - time(NULL)));
        adopt(t, access, refresh, exp);
        replace(&t->refused, NULL);
        if (taken)
            token_release(t);
        schedule_next(t);
        waiters_call(t, true);
        return;
    }
    if (!taken) {
        /* Another daemon is refreshing: look again shortly and adopt what it stores. */
        log_info("event=zalo_token_refresh_elsewhere gateway=%s", t->gateway);
        token_set_state(t, TOK_WAITING);
        timer_in(t, 3);
        return;
    }
    if (refresh && refresh[0])
        replace(&t->refresh, refresh);
    if (!t->refresh || !t->refresh[0]) {
        t->failures++;
        log_error("event=zalo_token_missing gateway=%s hint=\"set refresh_token in [gateway.%s] and restart\"",
                  t->gateway, t->gateway);
        token_release(t);
        token_set_state(t, TOK_WAITING);
        waiters_call(t, false);
        timer_in(t, 300);
        return;
    }
    token_call(t);
}

static void token_lease(struct zalo_token *t)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%d", t->lease_s);
    const char *p[3] = {t->gateway, t->h->instance, secs};
    token_set_state(t, TOK_LEASING);
    if (pgpool_query(t->h->db, SQL_LEASE, 3, p, token_lease_done, t) == 0) {
        t->pending++;
        return;
    }
    token_set_state(t, TOK_WAITING);
    waiters_call(t, false);
}

/* ---- the OAuth call ---- */

static void token_call_done(void *arg, CURLcode cc, long status, const char *body, size_t len)
{
    struct zalo_token *t = arg;
    t->pending--;
    if (t->closing) {
        maybe_free(t);
        return;
    }
    char *access = NULL, *refresh = NULL, why[160];
    long expires_in = 0;
    int zerr = 0;
    if (cc != CURLE_OK || status != 200) {
        snprintf(why, sizeof why, "transport: curl=%d http=%ld", (int)cc, status);
    } else if (zalo_token_answer_parse(body, len, &access, &refresh, &expires_in, &zerr, why, sizeof why) == 0) {
        t->new_access = access;
        t->new_refresh = refresh;
        t->new_expires_at = time(NULL) + expires_in;
        log_info("event=zalo_token_refresh_answered gateway=%s expires_in_s=%ld", t->gateway, expires_in);
        token_store(t);
        return;
    }
    t->failures++;
    token_release(t);
    token_set_state(t, TOK_WAITING);
    if (zerr)
        /* Zalo refused the refresh token itself: only an operator can give a new one, unless
         * another daemon stored a newer pair that this one has not seen yet. */
        log_error("event=zalo_token_refresh_refused gateway=%s zalo_error=%d hint=\"the stored refresh token "
                  "is no longer valid; generate a new one in the Zalo console, set refresh_token in "
                  "[gateway.%s] and restart\"", t->gateway, zerr, t->gateway);
    else
        log_warn("event=zalo_token_refresh_failed gateway=%s reason=\"%s\" retry_in_s=%.0f", t->gateway, why,
                 backoff(t));
    waiters_call(t, false);
    timer_in(t, zerr ? 300 : backoff(t));
}

static void token_call(struct zalo_token *t)
{
    char rt[2048], app[256], body[2400];
    if (zalo_form_escape(t->refresh, rt, sizeof rt) < 0 || zalo_form_escape(t->app_id, app, sizeof app) < 0) {
        log_error("event=zalo_token_refresh_failed gateway=%s reason=\"refresh token or app_id too long\"", t->gateway);
        token_release(t);
        token_set_state(t, TOK_WAITING);
        waiters_call(t, false);
        timer_in(t, 300);
        return;
    }
    int n = snprintf(body, sizeof body, "refresh_token=%s&app_id=%s&grant_type=refresh_token", rt, app);
    char secret_hdr[600];
    snprintf(secret_hdr, sizeof secret_hdr, "secret_key: %s", t->app_secret);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", secret_hdr, NULL};
    struct httpc_request r = {
        .method = "POST", .url = t->oauth_url, .headers = headers,
        .body = body, .body_len = (size_t)n, .timeout_ms = t->timeout_ms,
    };
    token_set_state(t, TOK_CALLING);
    /* From here until token_store_done the single-use refresh token may be consumed. */
    log_info("event=zalo_token_refresh_start gateway=%s instance=%s", t->gateway, t->h->instance);
    if (httpc_request(t->h->http, &r, token_call_done, t) == 0) {
        t->pending++;
        return;
    }
    t->failures++;
    token_release(t);
    token_set_state(t, TOK_WAITING);
    waiters_call(t, false);
    timer_in(t, backoff(t));
}

/* ---- storing the new pair ---- */

/* One statement: the three keys are written only if the refresh token used is still the stored
 * one, and the lease is dropped with them. */
static const char SQL_STORE[] =
    "WITH cur AS ("
    "  SELECT 1 FROM gateway_state WHERE gateway = $1 AND key = 'refresh_token' AND value = $2 FOR UPDATE),"
    " up AS ("
    "  INSERT INTO gateway_state AS g (gateway, key, value, updated_at)"
    "  SELECT $1, k, v, now() FROM (VALUES ('refresh_token', $3), ('access_token', $4), ('expires_at', $5)) t(k, v)"
    "   WHERE EXISTS (SELECT 1 FROM cur)"
    "  ON CONFLICT (gateway, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
    "  RETURNING 1),"
    " rel AS ("
    "  DELETE FROM gateway_state WHERE gateway = $1 AND key = 'refresh_lease' AND value = $6"
    "     AND EXISTS (SELECT 1 FROM cur)) "
    "SELECT count(*)::text FROM up";

static void token_store_done(void *arg, PGresult *res, const char *err)
{
    struct zalo_token *t = arg;
    t->pending--;
    if (t->closing) {
        if (err)
            log_error("event=zalo_token_lost gateway=%s reason=\"shutdown before the refreshed token was stored\"",
                      t->gateway);
        maybe_free(t);
        return;
    }
    if (err) {
        /* Keep the pair in memory and keep trying: losing it would need an operator. Meanwhile
         * the new access token is used. */
        t->failures++;
        log_error("event=zalo_token_store_failed gateway=%s error=\"%s\" retry_in_s=2", t->gateway, err);
        adopt(t, t->new_access, NULL, t->new_expires_at);
        t->failures = 1;
        waiters_call(t, true);
        timer_in(t, 2);
        return;
    }
    bool stored = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    if (stored) {
        log_info("event=zalo_token_refresh_stored gateway=%s expires_in_s=%ld", t->gateway,
                 (long)(t->new_expires_at - time(NULL)));
        adopt(t, t->new_access, t->new_refresh, t->new_expires_at);
    } else {
        /* The stored refresh token changed while ours was in flight (an operator's new token or a
         * lease taken over after lease_s): the stored chain wins; ours is dropped. */
        log_error("event=zalo_token_store_conflict gateway=%s reason=\"stored refresh token changed during the "
                  "refresh; keeping the stored one\"", t->gateway);
        replace(&t->access, NULL);
        t->expires_at = 0;
    }
    replace(&t->new_access, NULL);
    replace(&t->new_refresh, NULL);
    replace(&t->refused, NULL);
    schedule_next(t);
    waiters_call(t, stored);
}

static void token_store(struct zalo_token *t)
{
    char exp[24];
    snprintf(exp, sizeof exp, "%lld", (long long)t->new_expires_at);
    const char *p[6] = {t->gateway, t->refresh, t->new_refresh, t->new_access, exp, t->h->instance};
    token_set_state(t, TOK_STORING);
    if (pgpool_query(t->h->db, SQL_STORE, 6, p, token_store_done, t) == 0) {
        t->pending++;
        return;
    }
    timer_in(t, 2);
}

/* ---- public ---- */

void zalo_token_refused(struct zalo_token *t, const char *access, zalo_token_cb cb, void *arg)
{
    struct waiter *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->cb = cb;
    w->arg = arg;
    w->next = t->waiters;
    t->waiters = w;
    switch (t->state) {
    case TOK_LEASING:
    case TOK_CALLING:
    case TOK_STORING:
    case TOK_LOADING:
        return;             /* joins the refresh under way */
    case TOK_IDLE:
    case TOK_WAITING:
        break;
    }
    if (access && t->access && strcmp(access, t->access) != 0 && zalo_token_ready(t)) {
        /* Already replaced since that call went out. */
        waiters_call(t, true);
        return;
    }
    log_info("event=zalo_token_refused gateway=%s action=refresh", t->gateway);
    replace(&t->refused, access);
    uv_timer_stop(&t->timer);
    token_lease(t);
}

static void on_timer_close(uv_handle_t *h)
{
    struct zalo_token *t = h->data;
    t->pending--;
    maybe_free(t);
}

struct zalo_token *zalo_token_new(struct gw_host *host, const struct zalo_token_conf *c)
{
    struct zalo_token *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->h = host;
    t->gateway = xstrdup(c->gateway);
    t->oauth_url = xstrdup(c->oauth_url);
    t->app_id = xstrdup(c->app_id);
    t->app_secret = xstrdup(c->app_secret);
    t->initial_refresh = xstrdup(c->initial_refresh);
    t->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000;
    t->margin_s = c->margin_s > 0 ? c->margin_s : 600;
    t->lease_s = c->lease_s > 0 ? c->lease_s : 60;
    t->proof = c->appsecret_proof;
    uv_timer_init(host->loop, &t->timer);
    t->timer.data = t;
    t->pending = 1;         /* the timer, until its close callback */
    token_load(t);
    return t;
}

void zalo_token_free(struct zalo_token *t)
{
    if (!t || t->closing)
        return;
    t->closing = true;
    waiters_call(t, false);
    uv_timer_stop(&t->timer);
    uv_close((uv_handle_t *)&t->timer, on_timer_close);
}
