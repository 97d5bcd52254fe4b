#include "gateways/zalo_zns.h"
#include "core/clock.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <uv.h>

#include "core/config.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "gateways/gateway_state.h"
#include "gateways/zalo_api.h"
#include "gateways/zalo_token.h"
#include "gateways/zalo_webhook.h"

static const struct cfg_key zns_keys[] = {
    {"gateway", "oauth_url", CFG_URL, "https://oauth.zaloapp.com/v4/oa/access_token", 0, 0, "Zalo OAuth token endpoint"},
    {"gateway", "api_url", CFG_URL, "https://business.openapi.zalo.me", 0, 0, "ZNS API base URL"},
    {"gateway", "app_id", CFG_STR, NULL, 0, 64, "Zalo app id"},
    {"gateway", "app_secret", CFG_SECRET, NULL, 0, 256, "Zalo app secret (OAuth secret_key header)"},
    {"gateway", "oa_id", CFG_STR, "", 0, 64, "Official Account id (signs webhooks when webhook_sig_id = oa_id)"},
    {"gateway", "oa_secret", CFG_SECRET, "", 0, 256, "OA secret key (signs webhooks when webhook_sig_key = oa_secret)"},
    {"gateway", "refresh_token", CFG_SECRET, "", 0, 2048, "first refresh token; later ones are kept in gateway_state"},
    ZALO_SHARED_KEYS,
    {"gateway", "development_mode", CFG_BOOL, "false", 0, 0, "send ZNS with mode=development (only OA admins receive them)"},
    {"gateway", "receipt_timeout_s", CFG_INT, "600", 0, 604800, "no receipt by then: fall back to the next channel; 0: never"},
    {NULL, NULL, 0, NULL, 0, 0, NULL},
};

struct zns {
    struct zalo_conf c;
    bool development;
    struct zalo_token *token;
    char name[64];
    struct gw_host *host;
    uv_timer_t quota_timer;      /* writes a quota that changed since the last write */
    long quota_remaining;        /* lowest reported today, -1 unknown */
    long quota_day;              /* local day (days since the epoch) of quota_remaining */
    long quota_stored;           /* last written to gateway_state */
    time_t quota_stored_at;
};

/* ---- pure parts ---- */

static const struct zalo_answer_spec zns_answer = {
    .label = "zalo", .unreadable = GW_TEMPFAIL, .id_field = "msg_id", .quota = true,
};

int zalo_zns_classify(CURLcode cc, long status, const char *body, size_t len, time_t now,
                      long utc_offset_s, struct gw_result *r)
{
    memset(r, 0, sizeof *r);
    r->quota_remaining = -1;
    /* Zalo documents tracking_id only as coming back in the receipt, not as a key it refuses
     * to send twice: a request that may have reached Zalo (any failure after curl connected,
     * core/httpc.h) is in doubt, and waits for its receipt instead of being sent again. A
     * refused connection reached nobody, and an error status or an unreadable answer is Zalo
     * refusing it. */
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST || (cc == CURLE_OK && status != 200)) {
        r->outcome = GW_TEMPFAIL;
        if (cc != CURLE_OK)
            snprintf(r->reason, sizeof r->reason, "zalo unreachable: %s", curl_easy_strerror(cc));
        else
            snprintf(r->reason, sizeof r->reason, "zalo: http %ld", status);
        return ZALO_ERR_TRANSPORT;
    }
    if (cc != CURLE_OK) {
        r->outcome = GW_IN_DOUBT;
        snprintf(r->reason, sizeof r->reason, "no answer from zalo: %s", curl_easy_strerror(cc));
        return ZALO_ERR_TRANSPORT;
    }
    return zalo_answer_read(&zns_answer, body, len, now, utc_offset_s, r);
}

char *zalo_zns_body(const struct gw_message *m, bool development, char *why, size_t whylen)
{
    if (!m->phone || !m->phone[0]) {
        snprintf(why, whylen, "no phone number");
        return NULL;
    }
    if (!m->zns_template_id || !m->zns_template_id[0]) {
        snprintf(why, whylen, "no ZNS template id");
        return NULL;
    }
    char tracking[64];
    int n = snprintf(tracking, sizeof tracking, "%" PRId64 ".%" PRId64, m->campaign_id, m->message_id);
    if (n < 0 || n > 48) {
        snprintf(why, whylen, "tracking id longer than 48 characters");
        return NULL;
    }
    cJSON *data = cJSON_Parse(m->zns_data_json ? m->zns_data_json : "{}");
    if (!cJSON_IsObject(data)) {
        cJSON_Delete(data);
        snprintf(why, whylen, "template data is not a JSON object");
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "phone", m->phone);
    if (development)
        cJSON_AddStringToObject(o, "mode", "development");
    cJSON_AddStringToObject(o, "template_id", m->zns_template_id);
    cJSON_AddItemToObject(o, "template_data", data);
    cJSON_AddStringToObject(o, "tracking_id", tracking);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        snprintf(why, whylen, "out of memory");
    return s;
}

/* ---- quota ---- */

static void quota_stored(void *arg, PGresult *res, const char *err)
{
    if (err)
        log_warn("event=zalo_state_store_failed error=\"%s\"", err);
}

/* The quota goes to gateway_state for `campaign show` at most every QUOTA_WRITE_S, the latest
 * value written by a timer when it changed meanwhile: a write per message would double the
 * database load of sending. */
enum { QUOTA_WRITE_S = 5 };

static void quota_write(struct zns *z)
{
    if (z->quota_remaining < 0 || z->quota_remaining == z->quota_stored)
        return;
    char v[24];
    snprintf(v, sizeof v, "%ld", z->quota_remaining);
    if (gateway_state_put(z->host->db, z->name, "quota_remaining", v, quota_stored, NULL) == 0) {
        z->quota_stored = z->quota_remaining;
        z->quota_stored_at = time(NULL);
    }
}

static void quota_timer_fire(uv_timer_t *t) { quota_write(t->data); }

static void quota_note(struct gateway *gw, long remaining)
{
    struct zns *z = gw->impl;
    /* Answers complete in any order, so the last one to arrive may carry an older figure. The
     * remaining quota only falls during a day, so the lowest figure of the local day is the
     * latest; a new day starts again from its first answer. */
    long day = (long)((clock_now_ms() / 1000 + z->c.utc_offset_s) / 86400);
    if (remaining < 0 || (day == z->quota_day && z->quota_remaining >= 0 && remaining >= z->quota_remaining))
        return;
    z->quota_remaining = remaining;
    z->quota_day = day;
    time_t since = time(NULL) - z->quota_stored_at;
    if (since >= QUOTA_WRITE_S || remaining == 0)
        quota_write(z);
    else if (!uv_is_active((uv_handle_t *)&z->quota_timer))
        uv_timer_start(&z->quota_timer, quota_timer_fire, (uint64_t)(QUOTA_WRITE_S - since) * 1000, 0);
}

/* ---- submit ---- */

static struct zalo_token *zns_token(struct gateway *gw) { return ((struct zns *)gw->impl)->token; }

static void zns_answered(struct gateway *gw, const struct gw_result *r) { quota_note(gw, r->quota_remaining); }

static const int zns_token_codes[] = {-124, 0};

static const struct zalo_endpoint zns_endpoint = {
    .label = "zalo", .refused_label = "zalo -124", .path = "/message/template",
    .token_codes = zns_token_codes, .classify = zalo_zns_classify, .token = zns_token,
    .answered = zns_answered,
};

static int zns_submit(struct gateway *gw, const struct gw_message *m, gw_submit_cb cb, void *arg)
{
    struct zns *z = gw->impl;
    char why[96];
    char *body = zalo_zns_body(m, z->development, why, sizeof why);
    if (!body) {
        /* No phone: Zalo cannot reach this citizen, the next channel may. Bad template data or
         * an over-long id cannot get better by retrying. */
        bool no_phone = !m->phone || !m->phone[0];
        return gateway_defer_result(gw, cb, arg, no_phone ? GW_FALLBACK : GW_PERMFAIL, why);
    }
    return zalo_call_submit(gw, &zns_endpoint, &z->c, body, cb, arg);
}

/* ---- webhooks, shared with zalo_oa ---- */

/* A webhook is answered 200 only once its event is stored: Zalo stops retrying after a 200, so
 * answering before the commit could lose a receipt or a reply. Zalo wants an answer within 2 s;
 * when the database is slower than HOOK_DEADLINE_MS the request is answered 503 at that moment
 * and the statement still completes. Zalo then retries, and the retry is harmless: receipts
 * and replies are applied idempotently (by message, and by msg_id). */
enum { HOOK_DEADLINE_MS = 1800 };

struct hook_ctx {
    struct http_req *req;        /* NULL once answered */
    uv_timer_t timer;
    int refs;                    /* the timer handle and the database callback */
    char gw[64];
    char kind[16];
};

static void hook_unref(struct hook_ctx *h)
{
    if (--h->refs == 0)
        free(h);
}

static void hook_timer_closed(uv_handle_t *t) { hook_unref(t->data); }

static void hook_answer(struct hook_ctx *h, int status)
{
    if (!h->req)
        return;
    if (status == 200)
        http_reply_json(h->req, 200, "{\"error\":0}");
    else
        http_reply_text(h->req, status, status == 503 ? "busy, retry\n" : "error\n");
    h->req = NULL;
    uv_timer_stop(&h->timer);
}

static void hook_deadline(uv_timer_t *t)
{
    struct hook_ctx *h = t->data;
    log_warn("event=zalo_hook_slow gw=%s kind=%s answered=503", h->gw, h->kind);
    hook_answer(h, 503);
}

static struct hook_ctx *hook_ctx_new(struct gateway *gw, struct http_req *req, const char *kind)
{
    struct hook_ctx *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->req = req;
    h->refs = 2;
    snprintf(h->gw, sizeof h->gw, "%s", gw->name);
    snprintf(h->kind, sizeof h->kind, "%s", kind);
    uv_timer_init(gw->host->loop, &h->timer);
    h->timer.data = h;
    uv_timer_start(&h->timer, hook_deadline, HOOK_DEADLINE_MS, 0);
    return h;
}

static void hook_finish(struct hook_ctx *h, int status)
{
    hook_answer(h, status);
    uv_close((uv_handle_t *)&h->timer, hook_timer_closed);
    hook_unref(h);
}

static void hook_receipt_done(void *arg, PGresult *res, const char *err)
{
    struct hook_ctx *h = arg;
    if (err) {
        log_warn("event=zalo_receipt_failed gw=%s error=\"%s\"", h->gw, err);
        hook_finish(h, 500);
        return;
    }
    const char *what = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?";
    if (strcmp(what, "too_late") == 0)
        log_warn("event=zalo_receipt gw=%s result=too_late note=\"next channel already sending\"", h->gw);
    else
        log_info("event=zalo_receipt gw=%s result=%s", h->gw, what);
    hook_finish(h, 200);
}

static void hook_events_done(void *arg, int rc)
{
    struct hook_ctx *h = arg;
    hook_finish(h, rc < 0 ? 500 : 200);
}

static void hook_receipt(struct gateway *gw, struct http_req *req, const struct zalo_wh_event *ev,
                         const char *raw, size_t rawlen)
{
    struct hook_ctx *h = hook_ctx_new(gw, req, "receipt");
    if (!h) {
        http_reply_text(req, 503, "busy, retry\n");
        return;
    }
    char c[24], m[24];
    snprintf(c, sizeof c, "%" PRId64, ev->campaign_id);
    snprintf(m, sizeof m, "%" PRId64, ev->message_id);
    char *rawz = strndup(raw, rawlen);
    const char *p[5] = {gw->name, c, m, ev->msg_id, rawz ? rawz : ""};
    int rc = pgpool_query(gw->host->db, "SELECT zalo_receipt_apply($1, $2::bigint, $3::bigint, $4, $5)", 5, p,
                          hook_receipt_done, h);
    free(rawz);
    if (rc < 0)
        hook_finish(h, 503);     /* in place of the database callback, which will not run */
}

static void hook_seen_done(void *arg, PGresult *res, const char *err)
{
    struct hook_ctx *h = arg;
    if (err) {
        log_warn("event=zalo_seen_failed gw=%s error=\"%s\"", h->gw, err);
        hook_finish(h, 500);
        return;
    }
    const char *n = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "0";
    if (strcmp(n, "0") != 0)
        log_info("event=zalo_answers_seen gw=%s delivered=%s", h->gw, n);
    hook_finish(h, 200);
}

/* The user read OA messages: the answers among them are delivered (loa_answers_seen). */
static void hook_seen(struct gateway *gw, struct http_req *req, const struct zalo_wh_event *ev)
{
    if (ev->n_seen == 0) {
        http_reply_json(req, 200, "{\"error\":0}");
        return;
    }
    struct hook_ctx *h = hook_ctx_new(gw, req, "seen");
    if (!h) {
        http_reply_text(req, 503, "busy, retry\n");
        return;
    }
    struct pgarray ids;
    pgarray_init(&ids);
    for (size_t i = 0; i < ev->n_seen; i++)
        pgarray_text(&ids, ev->seen[i]);
    const char *p[1] = {pgarray_end(&ids)};
    int rc = pgpool_query(gw->host->db, "SELECT loa_answers_seen($1::text[])", 1, p, hook_seen_done, h);
    pgarray_free(&ids);
    if (rc < 0)
        hook_finish(h, 503);
}

static void hook_event(struct gateway *gw, struct http_req *req, const struct zalo_wh_event *ev,
                       const char *raw, size_t rawlen)
{
    struct hook_ctx *h = hook_ctx_new(gw, req, ev->kind == ZALO_WH_REPLY ? "reply" : "follow");
    if (!h) {
        http_reply_text(req, 503, "busy, retry\n");
        return;
    }
    char *rawz = strndup(raw, rawlen);
    struct gw_event e = {
        .kind = ev->kind == ZALO_WH_REPLY ? GW_EV_REPLY : ev->kind == ZALO_WH_FOLLOW ? GW_EV_FOLLOW : GW_EV_UNFOLLOW,
        .from = ev->user_id,
        .text = ev->text,
        .external_id = ev->msg_id,
        .raw = rawz,
    };
    int rc = gw->host->events_apply(gw->host, gw, &e, 1, hook_events_done, h);
    free(rawz);
    if (rc < 0)
        hook_finish(h, 503);
}

void zalo_hook_handle(struct gateway *gw, struct http_req *req, const char *subpath,
                      const struct zalo_hook_conf *c)
{
    if (subpath && *subpath && strcmp(subpath, "/") != 0) {
        http_reply_text(req, 404, "not found\n");
        return;
    }
    if (strcmp(http_req_method(req), "POST") != 0) {
        http_reply_text(req, 405, "POST only\n");
        return;
    }
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    struct zalo_wh_event ev;
    struct zalo_wh_verdict v;
    zalo_wh_check(body, len, http_req_header(req, "X-ZEvent-Signature"), c->sig_id, c->sig_key, c->max_age_s,
                  now_ms, &ev, &v);
    if (v.status != 200) {
        gateway_hook_refuse(gw, req, "zalo", v.status, v.reason);
        return;
    }
    switch (ev.kind) {
    case ZALO_WH_RECEIPT:
        hook_receipt(gw, req, &ev, body, len);
        break;
    case ZALO_WH_REPLY:
    case ZALO_WH_FOLLOW:
    case ZALO_WH_UNFOLLOW:
        hook_event(gw, req, &ev, body, len);
        break;
    case ZALO_WH_SEEN:
        hook_seen(gw, req, &ev);
        break;
    case ZALO_WH_IGNORED:
        log_debug("event=zalo_hook_ignored gw=%s event_name=%.40s", gw->name, ev.event_name);
        http_reply_json(req, 200, "{\"error\":0}");
        break;
    }
    zalo_wh_event_free(&ev);
}

static void zns_webhook(struct gateway *gw, struct http_req *req, const char *subpath)
{
    zalo_hook_handle(gw, req, subpath, &((struct zns *)gw->impl)->c.hook);
}

/* ---- open / close ---- */

static const char *pick(const struct config *cfg, const char *sec, const char *choice_key, const char *a,
                        const char *b, char *err, size_t errlen)
{
    const char *choice = config_str(cfg, sec, choice_key);
    if (strcmp(choice, a) == 0 || strcmp(choice, b) == 0)
        return choice;
    snprintf(err, errlen, "[%s] %s: '%s' is neither %s nor %s", sec, choice_key, choice, a, b);
    return NULL;
}

static int zns_load(struct gateway *gw, void *impl, char *err, size_t errlen)
{
    const struct config *cfg = gw->cfg;
    const char *sec = gw->section;
    struct zns *z = impl;
    const char *idk = pick(cfg, sec, "webhook_sig_id", "app_id", "oa_id", err, errlen);
    const char *keyk = idk ? pick(cfg, sec, "webhook_sig_key", "oa_secret", "app_secret", err, errlen) : NULL;
    if (!idk || !keyk)
        return -1;
    zalo_conf_read(cfg, sec, idk, keyk, &z->c);
    /* Without both parts any webhook would be refused; say so at start-up, not at 3 a.m. */
    if (!z->c.sig_id[0] || !z->c.sig_key[0]) {
        snprintf(err, errlen, "[%s] webhooks are signed with %s and %s: both must be set", sec, idk, keyk);
        return -1;
    }
    z->development = config_bool(cfg, sec, "development_mode");
    z->quota_remaining = z->quota_stored = -1;
    snprintf(z->name, sizeof z->name, "%s", gw->name);
    z->host = gw->host;
    uv_timer_init(gw->host->loop, &z->quota_timer);
    z->quota_timer.data = z;
    struct zalo_token_conf tc;
    zalo_token_conf_read(cfg, sec, gw->name, z->c.timeout_ms, &tc);
    z->token = zalo_token_new(gw->host, &tc);
    /* The scheduler reads it (zalo_awaiting_receipt()) so as not to complete a campaign whose
     * messages may still fall back. */
    char rt[24];
    snprintf(rt, sizeof rt, "%ld", config_int(cfg, sec, "receipt_timeout_s"));
    gateway_state_put(gw->host->db, gw->name, "receipt_timeout_s", rt, quota_stored, NULL);
    return 0;
}

static int zns_open(struct gateway *gw, char *err, size_t errlen)
{
    return gateway_open_impl(gw, sizeof(struct zns), zns_load, err, errlen);
}

/* The API address, time-out and webhook signature keys are taken on a reload; the token keeper
 * keeps the app secret and refresh token it started with (the refresh token then lives in
 * gateway_state anyway), and the rest of its keys. */
static const char *const zns_restart_keys[] = {"oauth_url", "app_id", "app_secret", "refresh_token",
                                               "token_margin_s", "appsecret_proof", NULL};

static int zns_reload(struct gateway *gw, const struct config *cfg, bool apply, char *err, size_t errlen)
{
    const char *sec = gw->section;
    const char *idk = pick(cfg, sec, "webhook_sig_id", "app_id", "oa_id", err, errlen);
    const char *keyk = idk ? pick(cfg, sec, "webhook_sig_key", "oa_secret", "app_secret", err, errlen) : NULL;
    if (!idk || !keyk)
        return -1;
    if (!config_str(cfg, sec, idk)[0] || !config_str(cfg, sec, keyk)[0]) {
        snprintf(err, errlen, "[%s] webhooks are signed with %s and %s: both must be set", sec, idk, keyk);
        return -1;
    }
    if (apply) {
        struct zns *z = gw->impl;
        zalo_conf_read(cfg, sec, idk, keyk, &z->c);
        z->development = config_bool(cfg, sec, "development_mode");
        gw->cfg = cfg;
    }
    return 0;
}

static bool zns_ready(struct gateway *gw)
{
    struct zns *z = gw->impl;
    return z && zalo_token_ready(z->token);
}

static void zns_freed(uv_handle_t *h)
{
    struct zns *z = h->data;
    OPENSSL_cleanse(z, sizeof *z);
    free(z);
}

static void zns_close(struct gateway *gw)
{
    struct zns *z = gw->impl;
    if (!z)
        return;
    zalo_token_free(z->token);
    quota_write(z);
    uv_timer_stop(&z->quota_timer);
    gw->impl = NULL;
    uv_close((uv_handle_t *)&z->quota_timer, zns_freed);
}

struct zalo_token *zalo_zns_token(struct gateway *gw)
{
    if (!gw || gw->type != &zalo_zns_type || !gw->impl)
        return NULL;
    return ((struct zns *)gw->impl)->token;
}

const struct gateway_type zalo_zns_type = {
    .name = "zalo_zns", .channel = "zalo", .keys = zns_keys, .idempotent = false,
    .open = zns_open, .submit = zns_submit, .webhook = zns_webhook, .ready = zns_ready, .close = zns_close,
    .reload = zns_reload,
    .restart_keys = zns_restart_keys,
};
