#include "gateways/zalo_zns.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <uv.h>

#include "core/config.h"
#include "core/httpc.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/tz.h"
#include "core/pgasync.h"
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
    {"gateway", "webhook_sig_id", CFG_STR, "app_id", 0, 16, "which id starts the signed string: app_id or oa_id"},
    {"gateway", "webhook_sig_key", CFG_STR, "oa_secret", 0, 16, "which secret ends the signed string: oa_secret or app_secret"},
    {"gateway", "webhook_max_age_s", CFG_INT, "900", 10, 86400, "webhooks with an older (or as much newer) timestamp are refused as replays"},
    {"gateway", "development_mode", CFG_BOOL, "false", 0, 0, "send ZNS with mode=development (only OA admins receive them)"},
    {"gateway", "receipt_timeout_s", CFG_INT, "600", 0, 604800, "no receipt by then: fall back to the next channel; 0: never"},
    {"gateway", "token_margin_s", CFG_INT, "600", 30, 43200, "refresh the access token this long before it expires"},
    {"gateway", "appsecret_proof", CFG_BOOL, "false", 0, 0, "send the appsecret_proof header (HMAC-SHA256 of the token)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL},
};

struct zns {
    char api_url[1100];
    bool development;
    long timeout_ms;
    long utc_offset_s;
    struct zalo_hook_conf hook;
    char sig_id[80], sig_key[260];
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

time_t zalo_next_local_hour(time_t now, long utc_offset_s, int hour)
{
    int64_t local = (int64_t)now + utc_offset_s;
    int64_t day = local - ((local % 86400) + 86400) % 86400;
    int64_t at = day + (int64_t)hour * 3600;
    if (at <= local)
        at += 86400;
    return (time_t)(at - utc_offset_s);
}

long zalo_tz_offset(const char *tz)
{
    long off;
    tz_offset(tz, (int64_t)time(NULL), &off);
    return off;
}

void zalo_error_map(int code, time_t now, long utc_offset_s, struct gw_result *r)
{
    r->action = GW_ACT_NONE;
    switch (code) {
    case 0:
        r->outcome = GW_ACCEPTED;
        return;
    case -108:
        r->outcome = GW_PERMFAIL;
        r->phone_invalid = true;
        snprintf(r->reason, sizeof r->reason, "zalo -108: phone number invalid");
        return;
    case -114:
        r->outcome = GW_FALLBACK;
        snprintf(r->reason, sizeof r->reason, "zalo -114: user inactive or refused");
        return;
    case -118:
        r->outcome = GW_FALLBACK;
        r->no_zalo_account = true;
        snprintf(r->reason, sizeof r->reason, "zalo -118: no zalo account");
        return;
    case -119:
        r->outcome = GW_FALLBACK;
        snprintf(r->reason, sizeof r->reason, "zalo -119: account cannot receive");
        return;
    case -124:
    case -216:
        r->outcome = GW_TEMPFAIL;
        r->retry_after_s = 0;
        snprintf(r->reason, sizeof r->reason, "zalo %d: access token invalid", code);
        return;
    case -115:
        /* Out of quota or balance: nothing more goes through Zalo today; this citizen goes on. */
        r->outcome = GW_FALLBACK;
        r->action = GW_ACT_PAUSE;
        r->pause_until = zalo_next_local_hour(now, utc_offset_s, 0);
        snprintf(r->reason, sizeof r->reason, "zalo -115: out of quota or balance");
        return;
    case -131:
        /* The template is not approved: every message of this step would fail the same way. */
        r->outcome = GW_FALLBACK;
        r->action = GW_ACT_STOP_STEP;
        snprintf(r->reason, sizeof r->reason, "zalo -131: template not approved");
        return;
    case -133: {
        /* Night ban (22:00-06:00): the same message goes at 06:00. */
        time_t at = zalo_next_local_hour(now, utc_offset_s, 6);
        r->outcome = GW_TEMPFAIL;
        r->action = GW_ACT_PAUSE;
        r->pause_until = at;
        r->retry_after_s = (int)(at - now);
        snprintf(r->reason, sizeof r->reason, "zalo -133: no sending at night");
        return;
    }
    case -144:
        r->outcome = GW_FALLBACK;
        r->action = GW_ACT_PAUSE;
        r->pause_until = zalo_next_local_hour(now, utc_offset_s, 0);
        snprintf(r->reason, sizeof r->reason, "zalo -144: OA daily limit reached");
        return;
    case -230:
        r->outcome = GW_FALLBACK;
        snprintf(r->reason, sizeof r->reason, "zalo -230: user not interacted within 7 days");
        return;
    case -32:
        r->outcome = GW_TEMPFAIL;
        r->action = GW_ACT_BACKOFF;
        r->retry_after_s = 60;
        snprintf(r->reason, sizeof r->reason, "zalo -32: rate limited");
        return;
    default:
        r->outcome = GW_PERMFAIL;
        snprintf(r->reason, sizeof r->reason, "zalo %d: refused", code);
        return;
    }
}

/* A number Zalo may send as a string or as a number; -1 when absent or not a number. */
static long json_long(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return (long)v->valuedouble;
    if (cJSON_IsString(v) && v->valuestring) {
        char *end;
        long x = strtol(v->valuestring, &end, 10);
        return end != v->valuestring && !*end ? x : -1;
    }
    return -1;
}

int zalo_zns_classify(CURLcode cc, long status, const char *body, size_t len, time_t now,
                      long utc_offset_s, struct gw_result *r)
{
    memset(r, 0, sizeof *r);
    r->quota_remaining = -1;
    /* ZNS de-duplicates by tracking_id, so whatever happened to this request, sending it again
     * is safe: every failure to read an answer is temporary, never in doubt. */
    if (cc != CURLE_OK || status != 200) {
        r->outcome = GW_TEMPFAIL;
        if (cc != CURLE_OK)
            snprintf(r->reason, sizeof r->reason, "zalo: %s", curl_easy_strerror(cc));
        else
            snprintf(r->reason, sizeof r->reason, "zalo: http %ld", status);
        return ZALO_ERR_TRANSPORT;
    }
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!cJSON_IsObject(root) || !cJSON_IsNumber(err)) {
        cJSON_Delete(root);
        r->outcome = GW_TEMPFAIL;
        snprintf(r->reason, sizeof r->reason, "zalo: answer is not JSON with an error field");
        return ZALO_ERR_TRANSPORT;
    }
    int code = err->valueint;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *quota = cJSON_GetObjectItemCaseSensitive(data, "quota");
    r->quota_remaining = json_long(cJSON_GetObjectItemCaseSensitive(quota, "remainingQuota"));
    if (code == 0) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "msg_id");
        r->outcome = GW_ACCEPTED;
        if (cJSON_IsString(id) && id->valuestring)
            snprintf(r->gateway_msg_id, sizeof r->gateway_msg_id, "%s", id->valuestring);
    } else if (code > 0) {
        /* Not a code Zalo documents: do not guess that it succeeded. */
        r->outcome = GW_TEMPFAIL;
        snprintf(r->reason, sizeof r->reason, "zalo: unexpected error %d", code);
        code = ZALO_ERR_TRANSPORT;
    } else {
        zalo_error_map(code, now, utc_offset_s, r);
    }
    cJSON_Delete(root);
    return code;
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
    const char *p[2] = {z->name, v};
    if (pgpool_query(z->host->db,
                     "INSERT INTO gateway_state (gateway, key, value, updated_at) VALUES ($1, 'quota_remaining', $2, now()) "
                     "ON CONFLICT (gateway, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                     2, p, quota_stored, NULL) == 0) {
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
    long day = (long)(((int64_t)time(NULL) + z->utc_offset_s) / 86400);
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

struct zns_req {
    struct gateway *gw;
    gw_submit_cb cb;
    void *arg;
    bool retried;                /* the token was refreshed once already for this message */
    char *access;                /* the token this request carried */
    char *url;
    char *body;
    char masked[LOG_MASK_LEN];
    int64_t campaign_id, message_id;
};

static void zns_req_free(struct zns_req *rq)
{
    free(rq->access);
    free(rq->url);
    free(rq->body);
    free(rq);
}

static void zns_finish(struct zns_req *rq, struct gw_result *r)
{
    rq->cb(rq->arg, r);
    zns_req_free(rq);
}

static int zns_send(struct zns_req *rq);

static void zns_token_back(void *arg, bool ok)
{
    struct zns_req *rq = arg;
    if (ok && zns_send(rq) == 0)
        return;
    struct gw_result r = {.outcome = GW_TEMPFAIL, .quota_remaining = -1};
    snprintf(r.reason, sizeof r.reason, "zalo -124: access token invalid; refresh %s",
             ok ? "done but resend failed" : "failed");
    zns_finish(rq, &r);
}

static void zns_submit_done(void *arg, CURLcode cc, long status, const char *body, size_t len)
{
    struct zns_req *rq = arg;
    struct zns *z = rq->gw->impl;
    struct gw_result r;
    int code = zalo_zns_classify(cc, status, body, len, time(NULL), z->utc_offset_s, &r);
    quota_note(rq->gw, r.quota_remaining);
    if (code == -124 && !rq->retried) {
        /* Refresh once and send again with the new token (joining a refresh under way). */
        rq->retried = true;
        zalo_token_refused(z->token, rq->access, zns_token_back, rq);
        return;
    }
    zns_finish(rq, &r);
}

static int zns_send(struct zns_req *rq)
{
    struct zns *z = rq->gw->impl;
    char hbuf[4096];
    const char *tok[3];
    if (zalo_token_headers(z->token, hbuf, sizeof hbuf, tok) < 0)
        return -1;
    free(rq->access);
    rq->access = strdup(zalo_token_access(z->token));
    const char *headers[] = {"Content-Type: application/json", tok[0], tok[1], NULL};
    struct httpc_request hr = {
        .method = "POST", .url = rq->url, .headers = headers,
        .body = rq->body, .body_len = strlen(rq->body), .timeout_ms = z->timeout_ms,
    };
    return httpc_request(rq->gw->host->http, &hr, zns_submit_done, rq);
}

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
    if (!zalo_token_ready(z->token)) {
        free(body);
        return gateway_defer_result(gw, cb, arg, GW_TEMPFAIL, "zalo: no valid access token yet");
    }
    struct zns_req *rq = calloc(1, sizeof *rq);
    size_t ulen = strlen(z->api_url) + 32;
    char *url = malloc(ulen);
    if (!rq || !url) {
        free(rq);
        free(url);
        free(body);
        return -1;
    }
    snprintf(url, ulen, "%s/message/template", z->api_url);
    rq->gw = gw;
    rq->cb = cb;
    rq->arg = arg;
    rq->url = url;
    rq->body = body;
    rq->campaign_id = m->campaign_id;
    rq->message_id = m->message_id;
    log_mask_phone(m->phone, rq->masked, sizeof rq->masked);
    if (zns_send(rq) < 0) {
        zns_req_free(rq);
        return -1;
    }
    return 0;
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

void zalo_hook_handle(struct gateway *gw, struct http_req *req, const struct zalo_hook_conf *c)
{
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
        log_warn("event=webhook_refused gw=%s hook=zalo status=%d reason=\"%s\"", gw->name, v.status, v.reason);
        http_reply_text(req, v.status, v.status == 403 ? "forbidden\n" : "bad request\n");
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
    case ZALO_WH_IGNORED:
        log_debug("event=zalo_hook_ignored gw=%s event_name=%.40s", gw->name, ev.event_name);
        http_reply_json(req, 200, "{\"error\":0}");
        break;
    }
    zalo_wh_event_free(&ev);
}

static void zns_webhook(struct gateway *gw, struct http_req *req, const char *subpath)
{
    struct zns *z = gw->impl;
    if (subpath && *subpath && strcmp(subpath, "/") != 0) {
        http_reply_text(req, 404, "not found\n");
        return;
    }
    zalo_hook_handle(gw, req, &z->hook);
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

static int zns_open(struct gateway *gw, char *err, size_t errlen)
{
    const struct config *cfg = gw->cfg;
    const char *sec = gw->section;
    const char *idk = pick(cfg, sec, "webhook_sig_id", "app_id", "oa_id", err, errlen);
    const char *keyk = idk ? pick(cfg, sec, "webhook_sig_key", "oa_secret", "app_secret", err, errlen) : NULL;
    if (!idk || !keyk)
        return -1;
    struct zns *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(z->api_url, sizeof z->api_url, "%s", config_str(cfg, sec, "api_url"));
    size_t n = strlen(z->api_url);
    while (n > 0 && z->api_url[n - 1] == '/')
        z->api_url[--n] = '\0';
    snprintf(z->sig_id, sizeof z->sig_id, "%s", config_str(cfg, sec, idk));
    snprintf(z->sig_key, sizeof z->sig_key, "%s", config_str(cfg, sec, keyk));
    /* Without both parts any webhook would be refused; say so at start-up, not at 3 a.m. */
    if (!z->sig_id[0] || !z->sig_key[0]) {
        snprintf(err, errlen, "[%s] webhooks are signed with %s and %s: both must be set", sec, idk, keyk);
        free(z);
        return -1;
    }
    z->hook.sig_id = z->sig_id;
    z->hook.sig_key = z->sig_key;
    z->hook.max_age_s = config_int(cfg, sec, "webhook_max_age_s");
    z->development = config_bool(cfg, sec, "development_mode");
    z->timeout_ms = config_int(cfg, sec, "timeout_ms");
    z->utc_offset_s = zalo_tz_offset(config_str(cfg, "policy", "timezone"));
    z->quota_remaining = z->quota_stored = -1;
    snprintf(z->name, sizeof z->name, "%s", gw->name);
    z->host = gw->host;
    uv_timer_init(gw->host->loop, &z->quota_timer);
    z->quota_timer.data = z;
    struct zalo_token_conf tc = {
        .gateway = gw->name,
        .oauth_url = config_str(cfg, sec, "oauth_url"),
        .app_id = config_str(cfg, sec, "app_id"),
        .app_secret = config_str(cfg, sec, "app_secret"),
        .initial_refresh = config_str(cfg, sec, "refresh_token"),
        .timeout_ms = z->timeout_ms,
        .margin_s = (int)config_int(cfg, sec, "token_margin_s"),
        .lease_s = (int)(z->timeout_ms / 1000 * 3 + 30),
        .appsecret_proof = config_bool(cfg, sec, "appsecret_proof"),
    };
    gw->impl = z;
    z->token = zalo_token_new(gw->host, &tc);
    /* The scheduler reads it (zalo_awaiting_receipt()) so as not to complete a campaign whose
     * messages may still fall back. */
    char rt[24];
    snprintf(rt, sizeof rt, "%ld", config_int(cfg, sec, "receipt_timeout_s"));
    const char *p[2] = {gw->name, rt};
    pgpool_query(gw->host->db,
                 "INSERT INTO gateway_state (gateway, key, value, updated_at) VALUES ($1, 'receipt_timeout_s', $2, now()) "
                 "ON CONFLICT (gateway, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                 2, p, quota_stored, NULL);
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
    .name = "zalo_zns",
    .channel = "zalo",
    .keys = zns_keys,
    .idempotent = true,
    .open = zns_open,
    .submit = zns_submit,
    .webhook = zns_webhook,
    .ready = zns_ready,
    .close = zns_close,
};
