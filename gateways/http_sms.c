#include "gateways/http_sms.h"
#include "core/clock.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/httpc.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/utf8.h"
#include "gateways/zalo_webhook.h"

/* An empty value means "the preset's"; a field name of "-" leaves the field out. */
static const struct cfg_key http_sms_keys[] = {
    {"gateway", "preset", CFG_STR, "esms", 0, 16, "defaults for the keys below (empty: the preset's; a field name \"-\" leaves the field out): esms"},
    {"gateway", "url", CFG_STR, "", 0, 1024, "the send endpoint (POST JSON)"},
    {"gateway", "api_key", CFG_SECRET, "", 0, 256, "the account's API key"},
    {"gateway", "secret_key", CFG_SECRET, "", 0, 256, "the account's secret key"},
    {"gateway", "brandname", CFG_STR, "", 0, 31, "the registered brandname (sender)"},
    {"gateway", "sms_type", CFG_STR, "", 0, 15, "the provider's SMS type (eSMS: 2 = customer care)"},
    {"gateway", "sandbox", CFG_BOOL, "false", 0, 0, "ask the provider not to deliver (test accounts)"},
    {"gateway", "pause_s", CFG_INT, "600", 10, 86400, "pause after an account-wide refusal (credentials, balance, brandname)"},
    {"gateway", "field_api_key", CFG_STR, "", 0, 31, "request field of api_key"},
    {"gateway", "field_secret_key", CFG_STR, "", 0, 31, "request field of secret_key"},
    {"gateway", "field_phone", CFG_STR, "", 0, 31, "request field of the phone number"},
    {"gateway", "field_content", CFG_STR, "", 0, 31, "request field of the text"},
    {"gateway", "field_brandname", CFG_STR, "", 0, 31, "request field of brandname"},
    {"gateway", "field_sms_type", CFG_STR, "", 0, 31, "request field of sms_type"},
    {"gateway", "field_unicode", CFG_STR, "", 0, 31, "request field set to 1 for UCS-2 text, 0 otherwise"},
    {"gateway", "field_request_id", CFG_STR, "", 0, 31, "request field of the idempotency key <campaign>.<message>"},
    {"gateway", "field_callback", CFG_STR, "", 0, 31, "request field of the delivery report URL"},
    {"gateway", "field_sandbox", CFG_STR, "", 0, 31, "request field of sandbox"},
    {"gateway", "result_field", CFG_STR, "", 0, 31, "answer field holding the result code"},
    {"gateway", "id_field", CFG_STR, "", 0, 31, "answer field holding the provider's message id"},
    {"gateway", "success_codes", CFG_STR, "", 0, 63, "result codes meaning accepted"},
    {"gateway", "duplicate_codes", CFG_STR, "", 0, 63, "result codes meaning this request id was accepted before"},
    {"gateway", "permanent_codes", CFG_STR, "", 0, 127, "result codes that no retry can fix for this message"},
    {"gateway", "invalid_phone_codes", CFG_STR, "", 0, 63, "result codes that also flag the citizen's phone invalid"},
    {"gateway", "pause_codes", CFG_STR, "", 0, 127, "result codes that stop the whole account for pause_s; other codes are temporary"},
    {"gateway", "throttle_codes", CFG_STR, "", 0, 63, "result codes meaning too many requests: retried, and the rate shrinks"},
    {"gateway", "dlr_id_param", CFG_STR, "", 0, 31, "callback parameter of the provider's message id"},
    {"gateway", "dlr_status_param", CFG_STR, "", 0, 31, "callback parameter of the status"},
    {"gateway", "dlr_request_id_param", CFG_STR, "", 0, 31, "callback parameter of the request id"},
    {"gateway", "dlr_delivered", CFG_STR, "", 0, 63, "status values meaning delivered"},
    {"gateway", "dlr_undelivered", CFG_STR, "", 0, 63, "status values meaning not delivered; others are intermediate"},
    {NULL, NULL, 0, NULL, 0, 0, NULL},
};

struct preset {
    const char *name;
    const char *kv[64];      /* key, value, …, NULL */
};

/* eSMS (its SendMultipleMessage_V4_post_json API). 101 (credentials), 103 (balance) and 104 (brandname) refuse every
 * message of the account, so they pause the gateway rather than fail one message after another. */
static const struct preset presets[] = {
    {"esms", {
        "url", "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/",
        "sms_type", "2",
        "field_api_key", "ApiKey", "field_secret_key", "SecretKey", "field_phone", "Phone",
        "field_content", "Content", "field_brandname", "Brandname", "field_sms_type", "SmsType",
        "field_unicode", "IsUnicode", "field_request_id", "RequestId", "field_callback", "CallbackUrl",
        "field_sandbox", "Sandbox",
        "result_field", "CodeResult", "id_field", "SMSID",
        "success_codes", "100", "duplicate_codes", "124", "permanent_codes", "99,108",
        "invalid_phone_codes", "108", "pause_codes", "101,103,104",
        "dlr_id_param", "SMSID", "dlr_status_param", "SendStatus", "dlr_request_id_param", "RequestId",
        "dlr_delivered", "5", "dlr_undelivered", "4",
        NULL}},
};

static const char *preset_value(const struct preset *p, const char *key)
{
    for (size_t i = 0; p->kv[i]; i += 2)
        if (strcmp(p->kv[i], key) == 0)
            return p->kv[i + 1];
    return "";
}

static void get(const struct config *cfg, const char *sec, const struct preset *p, const char *key,
                char *out, size_t len)
{
    const char *v = config_str(cfg, sec, key);
    snprintf(out, len, "%s", v[0] ? v : preset_value(p, key));
}

int http_sms_conf_load(const struct config *cfg, const char *sec, const char *name,
                       struct http_sms_conf *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    const char *pname = config_str(cfg, sec, "preset");
    const struct preset *p = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, pname) == 0)
            p = &presets[i];
    if (!p) {
        snprintf(err, errlen, "[%s] preset: unknown preset '%s' (esms)", sec, pname);
        return -1;
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    get(cfg, sec, p, "url", c->url, sizeof c->url);
    get(cfg, sec, p, "api_key", c->api_key, sizeof c->api_key);
    get(cfg, sec, p, "secret_key", c->secret_key, sizeof c->secret_key);
    get(cfg, sec, p, "brandname", c->brandname, sizeof c->brandname);
    get(cfg, sec, p, "sms_type", c->sms_type, sizeof c->sms_type);
    c->sandbox = config_bool(cfg, sec, "sandbox");
    c->pause_s = (int)config_int(cfg, sec, "pause_s");
    c->timeout_ms = config_int(cfg, sec, "timeout_ms");
    snprintf(c->secret, sizeof c->secret, "%s", config_str(cfg, sec, "webhook_secret"));
    gateway_url_copy(c->public_url, sizeof c->public_url, config_str(cfg, "http", "public_url"));
    struct { const char *key; char *out; size_t len; } f[] = {
        {"field_api_key", c->f_api_key, sizeof c->f_api_key},
        {"field_secret_key", c->f_secret_key, sizeof c->f_secret_key},
        {"field_phone", c->f_phone, sizeof c->f_phone},
        {"field_content", c->f_content, sizeof c->f_content},
        {"field_brandname", c->f_brandname, sizeof c->f_brandname},
        {"field_sms_type", c->f_sms_type, sizeof c->f_sms_type},
        {"field_unicode", c->f_unicode, sizeof c->f_unicode},
        {"field_request_id", c->f_request_id, sizeof c->f_request_id},
        {"field_callback", c->f_callback, sizeof c->f_callback},
        {"field_sandbox", c->f_sandbox, sizeof c->f_sandbox},
        {"result_field", c->f_result, sizeof c->f_result},
        {"id_field", c->f_id, sizeof c->f_id},
        {"success_codes", c->success_codes, sizeof c->success_codes},
        {"duplicate_codes", c->duplicate_codes, sizeof c->duplicate_codes},
        {"permanent_codes", c->permanent_codes, sizeof c->permanent_codes},
        {"invalid_phone_codes", c->invalid_phone_codes, sizeof c->invalid_phone_codes},
        {"pause_codes", c->pause_codes, sizeof c->pause_codes},
        {"throttle_codes", c->throttle_codes, sizeof c->throttle_codes},
        {"dlr_id_param", c->d_id, sizeof c->d_id},
        {"dlr_status_param", c->d_status, sizeof c->d_status},
        {"dlr_request_id_param", c->d_request_id, sizeof c->d_request_id},
        {"dlr_delivered", c->delivered_codes, sizeof c->delivered_codes},
        {"dlr_undelivered", c->undelivered_codes, sizeof c->undelivered_codes},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        get(cfg, sec, p, f[i].key, f[i].out, f[i].len);
        if (strcmp(f[i].out, "-") == 0)
            f[i].out[0] = '\0';
    }
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0) {
        snprintf(err, errlen, "[%s] url: '%s' is not an http:// or https:// URL", sec, c->url);
        return -1;
    }
    /* Without these the gateway could neither send nor tell success from failure. */
    if (!c->f_phone[0] || !c->f_content[0] || !c->f_result[0] || !c->success_codes[0]) {
        snprintf(err, errlen, "[%s] field_phone, field_content, result_field and success_codes must not be empty", sec);
        return -1;
    }
    if (!c->f_request_id[0]) {
        snprintf(err, errlen, "[%s] field_request_id: required (the idempotency key is what makes resending safe)", sec);
        return -1;
    }
    if (c->f_callback[0] && !c->secret[0]) {
        snprintf(err, errlen, "[%s] webhook_secret: required to sign the delivery report URL", sec);
        return -1;
    }
    return 0;
}

/* ---- pure parts ---- */

bool http_sms_code_in(const char *list, const char *code)
{
    if (!list || !code)
        return false;
    while (*code == ' ')
        code++;
    size_t cl = strlen(code);
    while (cl > 0 && code[cl - 1] == ' ')
        cl--;
    if (cl == 0)
        return false;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && e[-1] == ' ')
            e--;
        if ((size_t)(e - s) == cl && memcmp(s, code, cl) == 0)
            return true;
    }
    return false;
}

void http_sms_token(const char *secret, const char *request_id, char out[33])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)request_id, strlen(request_id), mac, &n);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[32] = '\0';
}

static void add(cJSON *o, const char *field, const char *value)
{
    if (field[0])
        cJSON_AddStringToObject(o, field, value);
}

char *http_sms_body(const struct http_sms_conf *c, const struct gw_message *m)
{
    if (!m->phone || !m->phone[0] || !m->text)
        return NULL;
    char rid[48], tok[33], cb[1400];
    snprintf(rid, sizeof rid, "%" PRId64 ".%" PRId64, m->campaign_id, m->message_id);
    char *text = strndup(m->text, m->text_len);
    if (!text)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    add(o, c->f_api_key, c->api_key);
    add(o, c->f_secret_key, c->secret_key);
    add(o, c->f_phone, m->phone);
    add(o, c->f_content, text);
    add(o, c->f_brandname, c->brandname);
    add(o, c->f_sms_type, c->sms_type);
    add(o, c->f_unicode, m->coding == SMS_UCS2 ? "1" : "0");
    add(o, c->f_request_id, rid);
    if (c->f_callback[0]) {
        http_sms_token(c->secret, rid, tok);
        snprintf(cb, sizeof cb, "%s/hooks/http_sms/%s/dlr?t=%s", c->public_url, c->name, tok);
        add(o, c->f_callback, cb);
    }
    add(o, c->f_sandbox, c->sandbox ? "1" : "0");
    free(text);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* A provider's text (its message id, from its answer or its delivery report, and its result code)
 * as stored and logged: bytes that are not UTF-8 escaped, cut on a character, control characters
 * and quotes (it goes into log lines) as '?'. The id of the answer and of the report both come
 * through here, so that they stay equal. */
static void outside_text(char *out, size_t len, const char *s)
{
    utf8_escape(out, len, s, strlen(s));
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"')
            *p = '?';
}

/* A field that providers send as a string or a number, as text. */
static void field_text(const cJSON *o, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    if (!name[0])
        return;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v) && v->valuestring)
        outside_text(out, len, v->valuestring);      /* outside text, stored */
    else if (cJSON_IsNumber(v))
        snprintf(out, len, "%.0f", v->valuedouble);
}

void http_sms_classify(const struct http_sms_conf *c, CURLcode cc, long status, const char *body,
                       size_t len, time_t now, struct gw_result *r)
{
    memset(r, 0, sizeof *r);
    r->quota_remaining = -1;
    /* A request that may have reached the provider is in doubt: the message is counted as such,
     * and because the gateway is idempotent the dispatcher resends it with the same request id,
     * which the provider answers with its duplicate code. A late delivery report settles it
     * either way. A refused connection reached nobody (core/httpc.h reports it only when no
     * byte of the request left). */
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST) {
        r->outcome = GW_TEMPFAIL;
        snprintf(r->reason, sizeof r->reason, "%s unreachable: %s", c->name, curl_easy_strerror(cc));
        return;
    }
    if (cc != CURLE_OK) {
        r->outcome = GW_IN_DOUBT;
        snprintf(r->reason, sizeof r->reason, "%s: %s", c->name, curl_easy_strerror(cc));
        return;
    }
    if (status != 200) {
        r->outcome = status >= 400 && status < 500 && status != 408 && status != 429 ? GW_PERMFAIL : GW_TEMPFAIL;
        if (status == 429)
            r->action = GW_ACT_BACKOFF;
        if (status == 401 || status == 403 || status == 404) {
            /* Credentials refused or the endpoint moved: every message would get the same. */
            r->outcome = GW_TEMPFAIL;
            r->fault = GW_FAULT_AUTH;
        }
        snprintf(r->reason, sizeof r->reason, "%s: http %ld", c->name, status);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(body ? body : "", len);
    char code[32], id[96];
    field_text(root, c->f_result, code, sizeof code);
    field_text(root, c->f_id, id, sizeof id);
    cJSON_Delete(root);
    if (!code[0]) {
        r->outcome = GW_IN_DOUBT;       /* answered, but we cannot tell whether it took it */
        snprintf(r->reason, sizeof r->reason, "%s: answer without %s", c->name, c->f_result);
        return;
    }
    snprintf(r->gateway_msg_id, sizeof r->gateway_msg_id, "%s", id);
    if (http_sms_code_in(c->success_codes, code)) {
        r->outcome = GW_ACCEPTED;
    } else if (http_sms_code_in(c->duplicate_codes, code)) {
        r->outcome = GW_ACCEPTED;
        snprintf(r->reason, sizeof r->reason, "%s %s: request id accepted before", c->name, code);
    } else if (http_sms_code_in(c->pause_codes, code)) {
        r->outcome = GW_TEMPFAIL;
        r->action = GW_ACT_PAUSE;
        r->pause_until = (int64_t)now + c->pause_s;
        r->retry_after_s = c->pause_s;
        snprintf(r->reason, sizeof r->reason, "%s %s: account refused, paused", c->name, code);
    } else if (http_sms_code_in(c->throttle_codes, code)) {
        r->outcome = GW_TEMPFAIL;
        r->action = GW_ACT_BACKOFF;
        snprintf(r->reason, sizeof r->reason, "%s %s: too many requests", c->name, code);
    } else if (http_sms_code_in(c->permanent_codes, code)) {
        r->outcome = GW_PERMFAIL;
        r->phone_invalid = http_sms_code_in(c->invalid_phone_codes, code);
        snprintf(r->reason, sizeof r->reason, "%s %s: refused", c->name, code);
    } else {
        r->outcome = GW_TEMPFAIL;
        snprintf(r->reason, sizeof r->reason, "%s %s: temporary", c->name, code);
    }
}

int http_sms_dlr_check(const struct http_sms_conf *c, const char *token, const char *request_id,
                       const char *status, const char *id, struct http_sms_dlr *out)
{
    memset(out, 0, sizeof *out);
    if (!token || !*token)
        return 403;
    if (!request_id || zalo_tracking_parse(request_id, &out->campaign_id, &out->message_id) < 0)
        return 400;
    char want[33];
    http_sms_token(c->secret, request_id, want);
    if (strlen(token) != 32 || CRYPTO_memcmp(want, token, 32) != 0)
        return 403;
    if (!status || !*status || gateway_field_copy(out->status, sizeof out->status, status) < 0)
        return 400;
    /* The report of a message whose id the provider gave in bytes that are not UTF-8, or too
     * long, still settles it: it is found by its request id, and the id kept as the answer's was. */
    if (id)
        outside_text(out->id, sizeof out->id, id);
    if (http_sms_code_in(c->delivered_codes, status))
        out->dlr = GW_DLR_DELIVERED;
    else if (http_sms_code_in(c->undelivered_codes, status))
        out->dlr = GW_DLR_UNDELIVERED;
    else
        out->dlr = GW_DLR_INTERMEDIATE;
    return 200;
}

/* ---- the gateway ---- */

static int hs_load(struct gateway *gw, void *impl, char *err, size_t errlen)
{
    return http_sms_conf_load(gw->cfg, gw->section, gw->name, impl, err, errlen);
}

static int hs_open(struct gateway *gw, char *err, size_t errlen)
{
    return gateway_open_impl(gw, sizeof(struct http_sms_conf), hs_load, err, errlen);
}

static int hs_reload(struct gateway *gw, const struct config *cfg, bool apply, char *err, size_t errlen)
{
    return gateway_reload_impl(gw, cfg, sizeof(struct http_sms_conf), hs_load, apply, err, errlen);
}

static void hs_answer(struct gateway *gw, CURLcode cc, long status, const char *body, size_t len,
                      struct gw_result *r)
{
    http_sms_classify(gw->impl, cc, status, body, len, (time_t)(clock_now_ms() / 1000), r);
}

static int hs_submit(struct gateway *gw, const struct gw_message *m, gw_submit_cb cb, void *arg)
{
    struct http_sms_conf *c = gw->impl;
    char *body = http_sms_body(c, m);
    if (!body)
        return -1;
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct httpc_request hr = {
        .method = "POST", .url = c->url, .headers = headers,
        .body = body, .body_len = strlen(body), .timeout_ms = c->timeout_ms,
    };
    int rc = gateway_http_submit(gw, &hr, hs_answer, cb, arg);
    free(body);
    return rc;
}

static void hs_hook_done(void *arg, int rc)
{
    struct http_req *req = arg;
    http_reply_text(req, rc < 0 ? 500 : 200, rc < 0 ? "error\n" : "ok\n");
}

static void hs_webhook(struct gateway *gw, struct http_req *req, const char *subpath)
{
    struct http_sms_conf *c = gw->impl;
    const char *sp = subpath && subpath[0] == '/' ? subpath + 1 : subpath;
    if (!sp || strcmp(sp, "dlr") != 0) {
        http_reply_text(req, 404, "not found\n");
        return;
    }
    struct http_sms_dlr d;
    int rc = http_sms_dlr_check(c, http_req_query(req, "t"), http_req_query(req, c->d_request_id),
                                http_req_query(req, c->d_status), http_req_query(req, c->d_id), &d);
    if (rc != 200) {
        gateway_hook_refuse(gw, req, "dlr", rc, rc == 403 ? "bad_token" : "malformed");
        return;
    }
    char raw[300];
    /* The raw record keeps what the provider said, without the token. */
    snprintf(raw, sizeof raw, "%s=%" PRId64 ".%" PRId64 "&%s=%s&%s=%s", c->d_request_id, d.campaign_id,
             d.message_id, c->d_status, d.status, c->d_id, d.id);
    struct gw_event ev = {
        .kind = GW_EV_DELIVERY,
        .campaign_id = d.campaign_id,
        .message_id = d.message_id,
        .gateway_msg_id = d.id[0] ? d.id : NULL,
        .dlr = d.dlr,
        .status = d.status,
        .external_id = d.id[0] ? d.id : NULL,
        .raw = raw,
    };
    if (gw->host->events_apply(gw->host, gw, &ev, 1, hs_hook_done, req) < 0)
        http_reply_text(req, 503, "unavailable\n");
}

static void hs_close(struct gateway *gw) { gateway_impl_free(gw, sizeof(struct http_sms_conf)); }

const struct gateway_type http_sms_type = {
    .name = "http_sms", .channel = "sms", .keys = http_sms_keys, .idempotent = true,
    .open = hs_open, .submit = hs_submit, .webhook = hs_webhook, .close = hs_close,
    .reload = hs_reload,
};
