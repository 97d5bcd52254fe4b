#include "gateways/zalo_oa.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <uv.h>

#include "core/config.h"
#include "core/httpd.h"
#include "core/log.h"
#include "gateways/zalo_api.h"
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
    ZALO_SHARED_KEYS,
    {NULL, NULL, 0, NULL, 0, 0, NULL},
};

struct oa {
    struct zalo_conf c;
    char token_from[64];
    struct zalo_token *own;      /* our own keeper, or NULL with token_from */
};

/* ---- pure parts ---- */

/* No idempotency key: an answer that cannot be read leaves the message in doubt. */
static const struct zalo_answer_spec oa_answer = {
    .label = "zalo oa", .unreadable = GW_IN_DOUBT, .id_field = "message_id", .quota = false,
};

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
    return zalo_answer_read(&oa_answer, body, len, now, utc_offset_s, r);
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

static const int oa_token_codes[] = {-216, -124, 0};

static const struct zalo_endpoint oa_endpoint = {
    .label = "zalo oa", .refused_label = "zalo oa", .path = "/v3.0/oa/message/cs",
    .token_codes = oa_token_codes, .classify = zalo_oa_classify, .token = oa_token,
};

static int oa_submit(struct gateway *gw, const struct gw_message *m, gw_submit_cb cb, void *arg)
{
    struct oa *z = gw->impl;
    char why[96];
    int fallback = 0;
    char *body = zalo_oa_body(m, &fallback, why, sizeof why);
    if (!body)
        return gateway_defer_result(gw, cb, arg, fallback ? GW_FALLBACK : GW_PERMFAIL, why);
    return zalo_call_submit(gw, &oa_endpoint, &z->c, body, cb, arg);
}

static void oa_webhook(struct gateway *gw, struct http_req *req, const char *subpath)
{
    zalo_hook_handle(gw, req, subpath, &((struct oa *)gw->impl)->c.hook);
}

static bool oa_ready(struct gateway *gw)
{
    return gw->impl && zalo_token_ready(oa_token(gw));
}

/* The names of the keys whose values sign the webhooks: 0, or -1 with ERR. */
static int sig_keys(const struct config *cfg, const char *sec, const char **idk, const char **keyk, char *err,
                    size_t errlen)
{
    *idk = config_str(cfg, sec, "webhook_sig_id");
    *keyk = config_str(cfg, sec, "webhook_sig_key");
    if ((strcmp(*idk, "app_id") != 0 && strcmp(*idk, "oa_id") != 0) ||
        (strcmp(*keyk, "oa_secret") != 0 && strcmp(*keyk, "app_secret") != 0)) {
        snprintf(err, errlen, "[%s] webhook_sig_id must be app_id or oa_id, webhook_sig_key oa_secret or app_secret", sec);
        return -1;
    }
    return 0;
}

static int oa_load(struct gateway *gw, void *impl, char *err, size_t errlen)
{
    const struct config *cfg = gw->cfg;
    const char *sec = gw->section;
    struct oa *z = impl;
    const char *idk, *keyk;
    if (sig_keys(cfg, sec, &idk, &keyk, err, errlen) < 0)
        return -1;
    zalo_conf_read(cfg, sec, idk, keyk, &z->c);
    snprintf(z->token_from, sizeof z->token_from, "%s", config_str(cfg, sec, "token_from"));
    if (!z->c.sig_id[0] || !z->c.sig_key[0])
        log_warn("event=zalo_oa_webhooks_off gw=%s reason=\"%s or %s not set: every webhook will be refused\"",
                 gw->name, idk, keyk);
    if (!z->token_from[0]) {
        const char *app_id = config_str(cfg, sec, "app_id"), *secret = config_str(cfg, sec, "app_secret");
        if (!app_id[0] || !secret[0]) {
            snprintf(err, errlen, "[%s] set token_from (a zalo_zns gateway) or app_id and app_secret", sec);
            return -1;
        }
        struct zalo_token_conf tc;
        zalo_token_conf_read(cfg, sec, gw->name, z->c.timeout_ms, &tc);
        z->own = zalo_token_new(gw->host, &tc);
    } else if (strcmp(z->token_from, gw->name) == 0) {
        snprintf(err, errlen, "[%s] token_from: names this gateway itself", sec);
        return -1;
    }
    return 0;
}

static int oa_open(struct gateway *gw, char *err, size_t errlen)
{
    return gateway_open_impl(gw, sizeof(struct oa), oa_load, err, errlen);
}

/* As for ZNS: the API address, time-out and webhook signature keys; the token's source and
 * its keys stay. */
static const char *const oa_restart_keys[] = {"token_from", "oauth_url", "app_id", "app_secret",
                                              "refresh_token", "token_margin_s", "appsecret_proof", NULL};

static int oa_reload(struct gateway *gw, const struct config *cfg, bool apply, char *err, size_t errlen)
{
    const char *sec = gw->section;
    const char *idk, *keyk;
    if (sig_keys(cfg, sec, &idk, &keyk, err, errlen) < 0)
        return -1;
    if (apply) {
        struct oa *z = gw->impl;
        zalo_conf_read(cfg, sec, idk, keyk, &z->c);
        gw->cfg = cfg;
    }
    return 0;
}

static void oa_close(struct gateway *gw)
{
    struct oa *z = gw->impl;
    if (!z)
        return;
    zalo_token_free(z->own);
    gateway_impl_free(gw, sizeof *z);
}

const struct gateway_type zalo_oa_type = {
    .name = "zalo_oa", .channel = "zalo", .keys = oa_keys, .idempotent = false,
    .open = oa_open, .submit = oa_submit, .webhook = oa_webhook, .ready = oa_ready, .close = oa_close,
    .reload = oa_reload,
    .restart_keys = oa_restart_keys,
};
