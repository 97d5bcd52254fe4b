#include "gateways/zalo_api.h"
#include "core/clock.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/httpc.h"
#include "core/tz.h"
#include "gateways/zalo_token.h"

/* ---- settings ---- */

void zalo_conf_read(const struct config *cfg, const char *sec, const char *id_key, const char *secret_key,
                    struct zalo_conf *c)
{
    gateway_url_copy(c->api_url, sizeof c->api_url, config_str(cfg, sec, "api_url"));
    snprintf(c->sig_id, sizeof c->sig_id, "%s", config_str(cfg, sec, id_key));
    snprintf(c->sig_key, sizeof c->sig_key, "%s", config_str(cfg, sec, secret_key));
    c->hook.sig_id = c->sig_id;
    c->hook.sig_key = c->sig_key;
    c->hook.max_age_s = config_int(cfg, sec, "webhook_max_age_s");
    c->timeout_ms = config_int(cfg, sec, "timeout_ms");
    c->utc_offset_s = zalo_tz_offset(config_str(cfg, "policy", "timezone"));
}

void zalo_token_conf_read(const struct config *cfg, const char *sec, const char *name, long timeout_ms,
                          struct zalo_token_conf *tc)
{
    *tc = (struct zalo_token_conf){
        .gateway = name,
        .oauth_url = config_str(cfg, sec, "oauth_url"),
        .app_id = config_str(cfg, sec, "app_id"),
        .app_secret = config_str(cfg, sec, "app_secret"),
        .initial_refresh = config_str(cfg, sec, "refresh_token"),
        .timeout_ms = timeout_ms,
        .margin_s = (int)config_int(cfg, sec, "token_margin_s"),
        /* Long enough for a refresh that times out and is retried twice. */
        .lease_s = (int)(timeout_ms / 1000 * 3 + 30),
        .appsecret_proof = config_bool(cfg, sec, "appsecret_proof"),
    };
}

/* ---- answers ---- */

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

/* What each Zalo error code means, for ZNS and consultation answers alike. */
enum { ZC_PHONE_INVALID = 1, ZC_NO_ZALO = 2 };
static const struct zalo_code {
    int code;
    enum gw_outcome outcome;
    enum gw_action action;
    const char *reason;          /* after "zalo CODE: " */
    int pause_hour;              /* PAUSE: until this local hour; a TEMPFAIL is retried then */
    int retry_after_s;
    int flags;                   /* ZC_* */
} zalo_codes[] = {
    {0, GW_ACCEPTED, GW_ACT_NONE, NULL, 0, 0, 0},
    {-108, GW_PERMFAIL, GW_ACT_NONE, "phone number invalid", 0, 0, ZC_PHONE_INVALID},
    {-114, GW_FALLBACK, GW_ACT_NONE, "user inactive or refused", 0, 0, 0},
    {-118, GW_FALLBACK, GW_ACT_NONE, "no zalo account", 0, 0, ZC_NO_ZALO},
    {-119, GW_FALLBACK, GW_ACT_NONE, "account cannot receive", 0, 0, 0},
    /* The caller refreshes the token and retries once. */
    {-124, GW_TEMPFAIL, GW_ACT_NONE, "access token invalid", 0, 0, 0},
    {-216, GW_TEMPFAIL, GW_ACT_NONE, "access token invalid", 0, 0, 0},
    /* Out of quota or balance: nothing more goes through Zalo today; this citizen goes on. */
    {-115, GW_FALLBACK, GW_ACT_PAUSE, "out of quota or balance", 0, 0, 0},
    /* The template is not approved: every message of this step would fail the same way. */
    {-131, GW_FALLBACK, GW_ACT_STOP_STEP, "template not approved", 0, 0, 0},
    /* Night ban (22:00-06:00): the same message goes at 06:00. */
    {-133, GW_TEMPFAIL, GW_ACT_PAUSE, "no sending at night", 6, 0, 0},
    {-144, GW_FALLBACK, GW_ACT_PAUSE, "OA daily limit reached", 0, 0, 0},
    {-230, GW_FALLBACK, GW_ACT_NONE, "user not interacted within 7 days", 0, 0, 0},
    {-32, GW_TEMPFAIL, GW_ACT_BACKOFF, "rate limited", 0, 60, 0},
};

void zalo_error_map(int code, time_t now, long utc_offset_s, struct gw_result *r)
{
    /* A code Zalo does not document (or this table does not know yet) says nothing certain
     * about the citizen: retried, then handed to the next channel (fallback_when_spent). */
    static const struct zalo_code unknown = {0, GW_TEMPFAIL, GW_ACT_NONE, "unknown error", 0, 0, 0};
    const struct zalo_code *e = &unknown;
    for (size_t i = 0; i < sizeof zalo_codes / sizeof zalo_codes[0]; i++)
        if (zalo_codes[i].code == code)
            e = &zalo_codes[i];
    r->outcome = e->outcome;
    r->action = e->action;
    r->retry_after_s = e->retry_after_s;
    if (e->flags & ZC_PHONE_INVALID)
        r->phone_invalid = true;
    if (e->flags & ZC_NO_ZALO)
        r->no_zalo_account = true;
    if (e->action == GW_ACT_PAUSE) {
        r->pause_until = zalo_next_local_hour(now, utc_offset_s, e->pause_hour);
        if (e->outcome == GW_TEMPFAIL)
            r->retry_after_s = (int)(r->pause_until - now);
    }
    if (e == &unknown)
        r->fallback_when_spent = true;
    if (e->reason)
        snprintf(r->reason, sizeof r->reason, "zalo %d: %s", code, e->reason);
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

int zalo_answer_read(const struct zalo_answer_spec *s, const char *body, size_t len, time_t now,
                     long utc_offset_s, struct gw_result *r)
{
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!cJSON_IsObject(root) || !cJSON_IsNumber(err)) {
        cJSON_Delete(root);
        r->outcome = s->unreadable;
        snprintf(r->reason, sizeof r->reason, "%s: answer is not JSON with an error field", s->label);
        return ZALO_ERR_TRANSPORT;
    }
    int code = err->valueint;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (s->quota) {
        const cJSON *quota = cJSON_GetObjectItemCaseSensitive(data, "quota");
        r->quota_remaining = json_long(cJSON_GetObjectItemCaseSensitive(quota, "remainingQuota"));
    }
    if (code == 0) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, s->id_field);
        r->outcome = GW_ACCEPTED;
        if (cJSON_IsString(id) && id->valuestring)
            snprintf(r->gateway_msg_id, sizeof r->gateway_msg_id, "%s", id->valuestring);
    } else if (code > 0) {
        /* Not a code Zalo documents: do not guess that it succeeded. */
        r->outcome = s->unreadable;
        snprintf(r->reason, sizeof r->reason, "%s: unexpected error %d", s->label, code);
        code = ZALO_ERR_TRANSPORT;
    } else {
        zalo_error_map(code, now, utc_offset_s, r);
    }
    cJSON_Delete(root);
    return code;
}

/* ---- one call ---- */

struct zalo_call {
    struct gateway *gw;
    const struct zalo_endpoint *ep;
    const struct zalo_conf *conf;
    gw_submit_cb cb;
    void *arg;
    bool retried;                /* the token was refreshed once already for this message */
    char *access;                /* the token this request carried */
    char *url;
    char *body;
};

static void call_free(struct zalo_call *c)
{
    free(c->access);
    free(c->url);
    free(c->body);
    free(c);
}

static void call_finish(struct zalo_call *c, const struct gw_result *r)
{
    c->cb(c->arg, r);
    call_free(c);
}

static bool token_refused(const struct zalo_endpoint *ep, int code)
{
    for (const int *t = ep->token_codes; *t; t++)
        if (*t == code)
            return true;
    return false;
}

static int call_send(struct zalo_call *c);

static void call_token_back(void *arg, bool ok)
{
    struct zalo_call *c = arg;
    if (ok && call_send(c) == 0)
        return;
    struct gw_result r = {.outcome = GW_TEMPFAIL, .quota_remaining = -1};
    snprintf(r.reason, sizeof r.reason, "%s: access token invalid; refresh %s", c->ep->refused_label,
             ok ? "done but resend failed" : "failed");
    call_finish(c, &r);
}

static void call_done(void *arg, CURLcode cc, long status, const char *body, size_t len)
{
    struct zalo_call *c = arg;
    struct gw_result r;
    int code = c->ep->classify(cc, status, body, len, (time_t)(clock_now_ms() / 1000), c->conf->utc_offset_s, &r);
    if (r.fault == GW_FAULT_NONE && r.action != GW_ACT_BACKOFF)
        r.fault = gateway_http_fault(cc, status);
    if (c->ep->answered)
        c->ep->answered(c->gw, &r);
    struct zalo_token *tok = c->ep->token(c->gw);
    if (token_refused(c->ep, code) && !c->retried && tok) {
        c->retried = true;
        zalo_token_refused(tok, c->access, call_token_back, c);
        return;
    }
    call_finish(c, &r);
}

static int call_send(struct zalo_call *c)
{
    struct zalo_token *tok = c->ep->token(c->gw);
    char hbuf[4096];
    const char *th[3];
    if (!tok || zalo_token_headers(tok, hbuf, sizeof hbuf, th) < 0)
        return -1;
    free(c->access);
    c->access = strdup(zalo_token_access(tok));
    const char *headers[] = {"Content-Type: application/json", th[0], th[1], NULL};
    struct httpc_request hr = {
        .method = "POST", .url = c->url, .headers = headers,
        .body = c->body, .body_len = strlen(c->body), .timeout_ms = c->conf->timeout_ms,
    };
    return httpc_request(c->gw->host->http, &hr, call_done, c);
}

int zalo_call_submit(struct gateway *gw, const struct zalo_endpoint *ep, const struct zalo_conf *conf,
                     char *body, gw_submit_cb cb, void *arg)
{
    if (!zalo_token_ready(ep->token(gw))) {
        free(body);
        char why[64];
        snprintf(why, sizeof why, "%s: no valid access token yet", ep->label);
        return gateway_defer_result(gw, cb, arg, GW_TEMPFAIL, why);
    }
    struct zalo_call *c = calloc(1, sizeof *c);
    size_t ulen = strlen(conf->api_url) + strlen(ep->path) + 1;
    char *url = malloc(ulen);
    if (!c || !url) {
        free(c);
        free(url);
        free(body);
        return -1;
    }
    snprintf(url, ulen, "%s%s", conf->api_url, ep->path);
    *c = (struct zalo_call){.gw = gw, .ep = ep, .conf = conf, .cb = cb, .arg = arg, .url = url, .body = body};
    if (call_send(c) < 0) {
        call_free(c);
        return -1;
    }
    return 0;
}
