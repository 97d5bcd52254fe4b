#include "gateways/zalo_oa.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <uv.h>

#include "core/config.h"
#include "core/httpc.h"
#include "core/httpd.h"
#include "core/log.h"
#include "gateways/zalo_token.h"
#include "gateways/zalo_zns.h"

static const struct cfg_key oa_keys[] = {
    {"gateway", "api_url", CFG_URL, "https://openapi.zalo.me", 0, 0, "Zalo OA API base URL"},
    {"gateway", "token_from", CFG_STR, "", 0, 63, "name of a zalo_zns gateway of the same app whose tokens to share"},
    {"gateway", "oauth_url", CFG_URL, "https://oauth.zaloapp.com/v4/oa/access_token", 0, 0, "Zalo OAuth token endpoint (without token_from)"},
    {"gateway", "app_id", CFG_STR, "", 0, 64, "Zalo app id (without token_from; signs webhooks when webhook_sig_id = app_id)"},
    {"gateway", "app_secret", CFG_SECRET, "", 0, 256, "Zalo app secret (without token_from)"},
    {"gateway", "oa_id", CFG_STR, "", 0, 64, "Official Account id"},
    {"gateway", "oa_secret", CFG_SECRET, "", 0, 256, "OA secret key (signs webhooks)"},
    {"gateway", "refresh_token", CFG_SECRET, "", 0, 2048, "first refresh token (without token_from)"},
    {"gateway", "webhook_sig_id", CFG_STR, "app_id", 0, 16, "which id starts the signed string: app_id or oa_id"},
    {"gateway", "webhook_sig_key", CFG_STR, "oa_secret", 0, 16, "which secret ends the signed string: oa_secret or app_secret"},
    {"gateway", "webhook_max_age_s", CFG_INT, "900", 10, 86400, "webhooks with an older timestamp are refused as replays"},
    {"gateway", "token_margin_s", CFG_INT, "600", 30, 43200, "refresh the access token this long before it expires"},
    {"gateway", "appsecret_proof", CFG_BOOL, "false", 0, 0, "send the appsecret_proof header"},
    {NULL, NULL, 0, NULL, 0, 0, NULL},
};

struct oa {
    char api_url[1100];
    char token_from[64];
    long timeout_ms;
    long utc_offset_s;
    char sig_id[80], sig_key[260];
    struct zalo_hook_conf hook;
    struct zalo_token *own;      /* our own keeper, or NULL with token_from */
};

/* ---- pure parts ---- */

int zalo_oa_classify(CURLcode cc, long status, const char *body, size_t len, time_t now,
                     long utc_offset_s, struct gw_result *r)
{
    memset(r, 0, sizeof *r);
    r->quota_remaining = -1;
    if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT) {
        r->outcome = GW_TEMPFAIL;
        snprintf(r->reason, sizeof r->reason, "zalo oa unreachable: %s", curl_easy_strerror(cc));
        return ZALO_ERR_TRANSPORT;
    }
    if (cc != CURLE_OK) {
        /* No idempotency key: the message may have gone out. */
        r->outcome = GW_IN_DOUBT;
        snprintf(r->reason, sizeof r->reason, "zalo oa: %s", curl_easy_strerror(cc));
        return ZALO_ERR_TRANSPORT;
    }
    if (status != 200) {
        /* Zalo's API answers 200 with the outcome inside; anything else came from in front of it. */
        r->outcome = GW_TEMPFAIL;
        snprintf(r->reason, sizeof r->reason, "zalo oa: http %ld", status);
        return ZALO_ERR_TRANSPORT;
    }
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!cJSON_IsObject(root) || !cJSON_IsNumber(err)) {
        cJSON_Delete(root);
        r->outcome = GW_IN_DOUBT;
        snprintf(r->reason, sizeof r->reason, "zalo oa: answer is not JSON with an error field");
        return ZALO_ERR_TRANSPORT;
    }
    int code = err->valueint;
    if (code == 0) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "message_id");
        r->outcome = GW_ACCEPTED;
        if (cJSON_IsString(id) && id->valuestring)
            snprintf(r->gateway_msg_id, sizeof r->gateway_msg_id, "%s", id->valuestring);
    } else if (code > 0) {
        r->outcome = GW_IN_DOUBT;
        snprintf(r->reason, sizeof r->reason, "zalo oa: unexpected error %d", code);
        code = ZALO_ERR_TRANSPORT;
    } else {
        zalo_error_map(code, now, utc_offset_s, r);
    }
    cJSON_Delete(root);
    return code;
}

/* Characters (code points) of valid UTF-8, or -1. */
static long utf8_chars(const char *s, size_t len)
{
    long n = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0)
            return -1;
        i += (size_t)k;
        n++;
    }
    return n;
}

char *zalo_oa_body(const struct gw_message *m, int *fallback, char *why, size_t whylen)
{
    *fallback = 0;
    if (!m->zalo_user_id || !m->zalo_user_id[0]) {
        *fallback = 1;
        snprintf(why, whylen, "no zalo user id");
        return NULL;
    }
    if (!m->text || m->text_len == 0) {
        snprintf(why, whylen, "empty text");
        return NULL;
    }
    long chars = utf8_chars(m->text, m->text_len);
    if (chars < 0 || chars > ZALO_OA_MAX_CHARS) {
        snprintf(why, whylen, chars < 0 ? "text is not UTF-8" : "text longer than %d characters", ZALO_OA_MAX_CHARS);
        return NULL;
    }
    char *text = strndup(m->text, m->text_len);
    if (!text) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *rcp = cJSON_AddObjectToObject(o, "recipient");
    cJSON_AddStringToObject(rcp, "user_id", m->zalo_user_id);
    cJSON *msg = cJSON_AddObjectToObject(o, "message");
    cJSON_AddStringToObject(msg, "text", text);
    free(text);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        snprintf(why, whylen, "out of memory");
    return s;
}

/* ---- the gateway ---- */

/* The token keeper: our own, or the zalo_zns gateway's named by token_from, looked up when first
 * needed because gateways are opened one after another. */
static struct zalo_token *oa_token(struct gateway *gw)
{
    struct oa *z = gw->impl;
    if (z->own)
        return z->own;
    struct gateway *from = gw->host->find(gw->host, z->token_from);
    return from ? zalo_zns_token(from) : NULL;
}

struct oa_req {
    struct gateway *gw;
    gw_submit_cb cb;
    void *arg;
    bool retried;
    char *access;
    char *url;
    char *body;
    int64_t campaign_id, message_id;
};

static void oa_req_free(struct oa_req *rq)
{
    free(rq->access);
    free(rq->url);
    free(rq->body);
    free(rq);
}

static void oa_finish(struct oa_req *rq, const struct gw_result *r)
{
    rq->cb(rq->arg, r);
    oa_req_free(rq);
}

static int oa_send(struct oa_req *rq);

static void oa_token_back(void *arg, bool ok)
{
    struct oa_req *rq = arg;
    if (ok && oa_send(rq) == 0)
        return;
    struct gw_result r = {.outcome = GW_TEMPFAIL, .quota_remaining = -1};
    snprintf(r.reason, sizeof r.reason, "zalo oa: access token invalid; refresh %s", ok ? "done but resend failed" : "failed");
    oa_finish(rq, &r);
}

static void oa_submit_done(void *arg, CURLcode cc, long status, const char *body, size_t len)
{
    struct oa_req *rq = arg;
    struct oa *z = rq->gw->impl;
    struct gw_result r;
    int code = zalo_oa_classify(cc, status, body, len, time(NULL), z->utc_offset_s, &r);
    struct zalo_token *tok = oa_token(rq->gw);
    /* A refused token means the message was not taken: refresh once and send again. */
    if ((code == -216 || code == -124) && !rq->retried && tok) {
        rq->retried = true;
        zalo_token_refused(tok, rq->access, oa_token_back, rq);
        return;
    }
    oa_finish(rq, &r);
}

static int oa_send(struct oa_req *rq)
{
    struct oa *z = rq->gw->impl;
    struct zalo_token *tok = oa_token(rq->gw);
    char hbuf[4096];
    const char *th[3];
    if (!tok || zalo_token_headers(tok, hbuf, sizeof hbuf, th) < 0)
        return -1;
    free(rq->access);
    rq->access = strdup(zalo_token_access(tok));
    const char *headers[] = {"Content-Type: application/json", th[0], th[1], NULL};
    struct httpc_request hr = {
        .method = "POST", .url = rq->url, .headers = headers,
        .body = rq->body, .body_len = strlen(rq->body), .timeout_ms = z->timeout_ms,
    };
    return httpc_request(rq->gw->host->http, &hr, oa_submit_done, rq);
}

static int oa_submit(struct gateway *gw, const struct gw_message *m, gw_submit_cb cb, void *arg)
{
    struct oa *z = gw->impl;
    char why[96];
    int fallback = 0;
    char *body = zalo_oa_body(m, &fallback, why, sizeof why);
    if (!body)
        return gateway_defer_result(gw, cb, arg, fallback ? GW_FALLBACK : GW_PERMFAIL, why);
    if (!zalo_token_ready(oa_token(gw))) {
        free(body);
        return gateway_defer_result(gw, cb, arg, GW_TEMPFAIL, "zalo oa: no valid access token yet");
    }
    struct oa_req *rq = calloc(1, sizeof *rq);
    size_t ulen = strlen(z->api_url) + 32;
    char *url = malloc(ulen);
    if (!rq || !url) {
        free(rq);
        free(url);
        free(body);
        return -1;
    }
    snprintf(url, ulen, "%s/v3.0/oa/message/cs", z->api_url);
    rq->gw = gw;
    rq->cb = cb;
    rq->arg = arg;
    rq->url = url;
    rq->body = body;
    rq->campaign_id = m->campaign_id;
    rq->message_id = m->message_id;
    if (oa_send(rq) < 0) {
        oa_req_free(rq);
        return -1;
    }
    return 0;
}

static void oa_webhook(struct gateway *gw, struct http_req *req, const char *subpath)
{
    struct oa *z = gw->impl;
    if (subpath && *subpath && strcmp(subpath, "/") != 0) {
        http_reply_text(req, 404, "not found\n");
        return;
    }
    zalo_hook_handle(gw, req, &z->hook);
}

static bool oa_ready(struct gateway *gw)
{
    return gw->impl && zalo_token_ready(oa_token(gw));
}

static int oa_open(struct gateway *gw, char *err, size_t errlen)
{
    const struct config *cfg = gw->cfg;
    const char *sec = gw->section;
    const char *idk = config_str(cfg, sec, "webhook_sig_id");
    const char *keyk = config_str(cfg, sec, "webhook_sig_key");
    if ((strcmp(idk, "app_id") != 0 && strcmp(idk, "oa_id") != 0) ||
        (strcmp(keyk, "oa_secret") != 0 && strcmp(keyk, "app_secret") != 0)) {
        snprintf(err, errlen, "[%s] webhook_sig_id must be app_id or oa_id, webhook_sig_key oa_secret or app_secret", sec);
        return -1;
    }
    struct oa *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(z->api_url, sizeof z->api_url, "%s", config_str(cfg, sec, "api_url"));
    size_t n = strlen(z->api_url);
    while (n > 0 && z->api_url[n - 1] == '/')
        z->api_url[--n] = '\0';
    snprintf(z->token_from, sizeof z->token_from, "%s", config_str(cfg, sec, "token_from"));
    snprintf(z->sig_id, sizeof z->sig_id, "%s", config_str(cfg, sec, idk));
    snprintf(z->sig_key, sizeof z->sig_key, "%s", config_str(cfg, sec, keyk));
    z->hook.sig_id = z->sig_id;
    z->hook.sig_key = z->sig_key;
    z->hook.max_age_s = config_int(cfg, sec, "webhook_max_age_s");
    z->timeout_ms = config_int(cfg, sec, "timeout_ms");
    z->utc_offset_s = zalo_tz_offset(config_str(cfg, "policy", "timezone"));
    if (!z->sig_id[0] || !z->sig_key[0])
        log_warn("event=zalo_oa_webhooks_off gw=%s reason=\"%s or %s not set: every webhook will be refused\"",
                 gw->name, idk, keyk);
    if (!z->token_from[0]) {
        const char *app_id = config_str(cfg, sec, "app_id"), *secret = config_str(cfg, sec, "app_secret");
        if (!app_id[0] || !secret[0]) {
            snprintf(err, errlen, "[%s] set token_from (a zalo_zns gateway) or app_id and app_secret", sec);
            free(z);
            return -1;
        }
        long tmo = z->timeout_ms;
        struct zalo_token_conf tc = {
            .gateway = gw->name,
            .oauth_url = config_str(cfg, sec, "oauth_url"),
            .app_id = app_id,
            .app_secret = secret,
            .initial_refresh = config_str(cfg, sec, "refresh_token"),
            .timeout_ms = tmo,
            .margin_s = (int)config_int(cfg, sec, "token_margin_s"),
            .lease_s = (int)(tmo / 1000 * 3 + 30),
            .appsecret_proof = config_bool(cfg, sec, "appsecret_proof"),
        };
        z->own = zalo_token_new(gw->host, &tc);
    } else if (strcmp(z->token_from, gw->name) == 0) {
        snprintf(err, errlen, "[%s] token_from: names this gateway itself", sec);
        free(z);
        return -1;
    }
    gw->impl = z;
    return 0;
}

static void oa_close(struct gateway *gw)
{
    struct oa *z = gw->impl;
    if (!z)
        return;
    zalo_token_free(z->own);
    OPENSSL_cleanse(z, sizeof *z);
    free(z);
    gw->impl = NULL;
}

const struct gateway_type zalo_oa_type = {
    .name = "zalo_oa",
    .channel = "zalo",
    .keys = oa_keys,
    .idempotent = false,
    .open = oa_open,
    .submit = oa_submit,
    .webhook = oa_webhook,
    .ready = oa_ready,
    .close = oa_close,
};
