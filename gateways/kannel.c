#include "gateways/kannel.h"
#include "core/config.h"
#include "core/httpc.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/utf8.h"
#include "segments/phone.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cfg_key kannel_keys[] = {
    {"gateway", "sendsms_url", CFG_URL, NULL, 0, 0, "smsbox sendsms URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms"},
    {"gateway", "username", CFG_STR, NULL, 0, 127, "sendsms-user username"},
    {"gateway", "password", CFG_SECRET, NULL, 0, 255, "sendsms-user password"},
    {"gateway", "sender", CFG_STR, NULL, 0, 11, "the `from` of every SMS (brandname or short code, at most 11 characters)"},
    {"gateway", "smsc", CFG_STR, "", 0, 63, "smsc-id to route through; empty: Kannel's default"},
    {"gateway", "dlr_mask", CFG_INT, "3", 1, 31, "delivery reports asked for: 1 delivered + 2 undelivered (+4 buffered, 8 SMSC ack, 16 SMSC reject)"},
    {NULL, NULL, 0, NULL, 0, 0, NULL},
};

/* ---- pure parts ---- */

void kannel_token(const char *secret, int64_t campaign_id, int64_t message_id, char out[33])
{
    char msg[48];
    int n = snprintf(msg, sizeof msg, "%" PRId64 ".%" PRId64, campaign_id, message_id);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n, mac, &maclen);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[32] = '\0';
}

int kannel_urlencode(const char *in, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                     ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (j + (plain ? 1 : 3) >= cap)
            return -1;
        if (plain) {
            out[j++] = (char)ch;
        } else {
            out[j++] = '%';
            out[j++] = hex[ch >> 4];
            out[j++] = hex[ch & 15];
        }
    }
    if (j >= cap)
        return -1;
    out[j] = '\0';
    return (int)j;
}

int kannel_dlr_url(const struct kannel_conf *k, int64_t campaign_id, int64_t message_id,
                   char *out, size_t cap)
{
    char tok[33];
    kannel_token(k->secret, campaign_id, message_id, tok);
    int n = snprintf(out, cap, "%s/hooks/kannel/%s/dlr?c=%" PRId64 "&m=%" PRId64 "&t=%s&s=%%d&ts=%%T&id=%%I",
                     k->public_url, k->name, campaign_id, message_id, tok);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

size_t kannel_url_cap(const struct kannel_conf *k, size_t text_len)
{
    return strlen(k->sendsms_url) + 3 * (strlen(k->username) + strlen(k->password) + strlen(k->sender) +
                                         strlen(k->smsc) + 3 * (strlen(k->public_url) + strlen(k->name) + 200) +
                                         text_len + 40) + 256;
}

/* Appends "&KEY=" and the encoded VALUE at *J. */
static int put(char *out, size_t cap, size_t *j, const char *key, const char *value, size_t vlen)
{
    int n = snprintf(out + *j, cap - *j, "%s%s=", *j && out[*j - 1] != '?' ? "&" : "", key);
    if (n < 0 || (size_t)n >= cap - *j)
        return -1;
    *j += (size_t)n;
    int e = kannel_urlencode(value, vlen, out + *j, cap - *j);
    if (e < 0)
        return -1;
    *j += (size_t)e;
    return 0;
}

int kannel_sendsms_url(const struct kannel_conf *k, const struct gw_message *m, char *out, size_t cap)
{
    char dlr[1400], num[16];
    if (!m->phone || kannel_dlr_url(k, m->campaign_id, m->message_id, dlr, sizeof dlr) < 0)
        return -1;
    int n = snprintf(out, cap, "%s%c", k->sendsms_url, strchr(k->sendsms_url, '?') ? '&' : '?');
    if (n < 0 || (size_t)n >= cap)
        return -1;
    size_t j = (size_t)n;
    snprintf(num, sizeof num, "%d", m->coding == SMS_UCS2 ? 2 : 0);
    char mask[8];
    snprintf(mask, sizeof mask, "%d", k->dlr_mask);
    /* The text always travels as UTF-8; with coding=2 smsbox recodes it to UCS-2 itself. */
    if (put(out, cap, &j, "username", k->username, strlen(k->username)) < 0 ||
        put(out, cap, &j, "password", k->password, strlen(k->password)) < 0 ||
        put(out, cap, &j, "from", k->sender, strlen(k->sender)) < 0 ||
        put(out, cap, &j, "to", m->phone, strlen(m->phone)) < 0 ||
        put(out, cap, &j, "text", m->text, m->text_len) < 0 ||
        put(out, cap, &j, "charset", "UTF-8", 5) < 0 ||
        put(out, cap, &j, "coding", num, strlen(num)) < 0 ||
        put(out, cap, &j, "dlr-mask", mask, strlen(mask)) < 0 ||
        put(out, cap, &j, "dlr-url", dlr, strlen(dlr)) < 0)
        return -1;
    if (k->smsc[0] && put(out, cap, &j, "smsc", k->smsc, strlen(k->smsc)) < 0)
        return -1;
    /* An answer to a citizen overtakes the campaign traffic queued inside bearerbox, which orders
     * its outgoing queue by priority (0-3) first. */
    if (m->priority && put(out, cap, &j, "priority", "1", 1) < 0)
        return -1;
    return (int)j;
}

/* Copies the first line of BODY (Kannel's short explanation) as the reason. */
static void reason_from_body(struct gw_result *r, const char *prefix, const char *body, size_t len)
{
    size_t n = 0;
    while (n < len && n < 100 && body[n] != '\n' && body[n] != '\r')
        n++;
    n = utf8_cut(body, n, n);       /* never half a character: the reason is stored as text */
    snprintf(r->reason, sizeof r->reason, "%s%s%.*s", prefix, n ? ": " : "", (int)n, body);
    /* Keep the reason printable: it goes into logs and messages.reason. */
    for (char *p = r->reason; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"')
            *p = ' ';
}

void kannel_classify(CURLcode curl_code, long status, const char *body, size_t len, struct gw_result *r)
{
    memset(r, 0, sizeof *r);
    r->quota_remaining = -1;
    if (!body)
        body = "", len = 0;
    switch (curl_code) {
    case CURLE_OK:
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        /* Nothing reached smsbox (core/httpc.h says these only when no byte of the request
         * left, even on curl's retry of a reused connection): safe to try again. */
        r->outcome = GW_TEMPFAIL;
        snprintf(r->reason, sizeof r->reason, "smsbox unreachable: %s", curl_easy_strerror(curl_code));
        return;
    default:
        /* The request may have reached smsbox, which cannot de-duplicate a resend. */
        r->outcome = GW_IN_DOUBT;
        snprintf(r->reason, sizeof r->reason, "no answer from smsbox: %s", curl_easy_strerror(curl_code));
        return;
    }
    if (status == 202 || status == 200) {
        /* "0: Accepted for delivery" or "3: Queued for later delivery". */
        if (len >= 2 && (body[0] == '0' || body[0] == '3') && body[1] == ':') {
            r->outcome = GW_ACCEPTED;
            return;
        }
        r->outcome = GW_IN_DOUBT;
        reason_from_body(r, "unexpected smsbox answer", body, len);
        return;
    }
    char pre[32];
    snprintf(pre, sizeof pre, "smsbox %ld", status);
    reason_from_body(r, pre, body, len);
    if (status == 403) {
        /* "Authorization failed for sendsms": the password changed, nothing about this citizen.
         * The message waits; the circuit breaker stops the rest. */
        r->outcome = GW_TEMPFAIL;
        r->fault = GW_FAULT_AUTH;
        return;
    }
    if (status >= 400 && status < 500) {
        r->outcome = GW_PERMFAIL;
        return;
    }
    r->outcome = GW_TEMPFAIL;
    /* "Temporal failure, try again later": smsbox's queue is full. Slow down, it is not down. */
    if (status == 503)
        r->action = GW_ACT_BACKOFF;
}

/* A positive decimal integer of at most 18 digits. */
static int parse_id(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 18)
        return -1;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

static int token_equal(const char *want, const char *got)
{
    size_t n = strlen(want);
    if (!got || strlen(got) != n || n == 0)
        return 0;
    return CRYPTO_memcmp(want, got, n) == 0;
}

int kannel_dlr_check(const char *secret, const char *c, const char *m, const char *t,
                     const char *s, const char *ts, const char *id, struct kannel_dlr *out)
{
    memset(out, 0, sizeof *out);
    /* Campaign 0: an answer to a citizen's reply (engine/answers.c), not a campaign's message. */
    bool answer = c && strcmp(c, "0") == 0;
    if ((!answer && parse_id(c, &out->campaign_id) < 0) || parse_id(m, &out->message_id) < 0)
        return t && *t ? 400 : 403;
    char want[33];
    kannel_token(secret, out->campaign_id, out->message_id, want);
    if (!token_equal(want, t))
        return 403;
    int64_t sv;
    if (parse_id(s, &sv) < 0)
        return 400;
    switch (sv) {
    case 1:
        out->dlr = GW_DLR_DELIVERED;
        break;
    case 2:
    case 16:
        out->dlr = GW_DLR_UNDELIVERED;
        break;
    case 4:
    case 8:
        out->dlr = GW_DLR_INTERMEDIATE;
        break;
    default:
        return 400;
    }
    out->status = (int)sv;
    if (ts && *ts && parse_id(ts, &out->ts) < 0)
        return 400;
    if (id && gateway_field_copy(out->id, sizeof out->id, id) < 0)
        return 400;
    return 200;
}

int kannel_mo_token_ok(const char *secret, const char *token)
{
    return secret && *secret && token_equal(secret, token);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int kannel_query_get(const char *raw, size_t rawlen, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key), i = 0;
    while (i < rawlen) {
        size_t end = i;
        while (end < rawlen && raw[end] != '&')
            end++;
        if (end - i > klen && memcmp(raw + i, key, klen) == 0 && raw[i + klen] == '=') {
            size_t j = 0;
            for (size_t p = i + klen + 1; p < end; p++) {
                char ch = raw[p];
                if (ch == '%') {
                    if (p + 2 >= end)
                        return -1;
                    int hi = hexval(raw[p + 1]), lo = hexval(raw[p + 2]);
                    if (hi < 0 || lo < 0)
                        return -1;
                    ch = (char)(hi * 16 + lo);
                    p += 2;
                } else if (ch == '+') {
                    ch = ' ';
                }
                if (j + 1 >= cap)
                    return -1;
                out[j++] = ch;
            }
            if (cap == 0)
                return -1;
            out[j] = '\0';
            return (int)j;
        }
        i = end + 1;
    }
    return -1;
}

/* ---- the gateway ---- */

static int kannel_load(struct gateway *gw, void *impl, char *err, size_t errlen)
{
    const struct config *cfg = gw->cfg;
    const char *sec = gw->section;
    struct kannel_conf *k = impl;
    snprintf(k->name, sizeof k->name, "%s", gw->name);
    snprintf(k->sendsms_url, sizeof k->sendsms_url, "%s", config_str(cfg, sec, "sendsms_url"));
    snprintf(k->username, sizeof k->username, "%s", config_str(cfg, sec, "username"));
    snprintf(k->password, sizeof k->password, "%s", config_str(cfg, sec, "password"));
    snprintf(k->sender, sizeof k->sender, "%s", config_str(cfg, sec, "sender"));
    snprintf(k->smsc, sizeof k->smsc, "%s", config_str(cfg, sec, "smsc"));
    snprintf(k->secret, sizeof k->secret, "%s", config_str(cfg, sec, "webhook_secret"));
    gateway_url_copy(k->public_url, sizeof k->public_url, config_str(cfg, "http", "public_url"));
    k->dlr_mask = (int)config_int(cfg, sec, "dlr_mask");
    k->timeout_ms = config_int(cfg, sec, "timeout_ms");
    /* Without a secret a delivery report or a reply could be forged by anyone who can reach us. */
    if (!k->secret[0]) {
        snprintf(err, errlen, "[%s] webhook_secret: required for kannel (it signs the dlr-url and the MO token)", sec);
        return -1;
    }
    if (!k->sender[0]) {
        snprintf(err, errlen, "[%s] sender: must not be empty", sec);
        return -1;
    }
    return 0;
}

static int kannel_open(struct gateway *gw, char *err, size_t errlen)
{
    return gateway_open_impl(gw, sizeof(struct kannel_conf), kannel_load, err, errlen);
}

static int kannel_reload(struct gateway *gw, const struct config *cfg, bool apply, char *err, size_t errlen)
{
    return gateway_reload_impl(gw, cfg, sizeof(struct kannel_conf), kannel_load, apply, err, errlen);
}

static void kannel_answer(struct gateway *gw, CURLcode cc, long status, const char *body, size_t len,
                          struct gw_result *r)
{
    kannel_classify(cc, status, body, len, r);
}

static int kannel_submit(struct gateway *gw, const struct gw_message *m, gw_submit_cb cb, void *arg)
{
    struct kannel_conf *k = gw->impl;
    if (!m->phone)
        return -1;
    size_t cap = kannel_url_cap(k, m->text_len);
    char *url = malloc(cap);
    if (!url || kannel_sendsms_url(k, m, url, cap) < 0) {
        free(url);
        return -1;
    }
    struct httpc_request hr = {.method = "GET", .url = url, .timeout_ms = k->timeout_ms};
    int rc = gateway_http_submit(gw, &hr, kannel_answer, cb, arg);
    free(url);
    return rc;
}

/* ---- webhooks ---- */

static void hook_done(void *arg, int rc)
{
    struct http_req *req = arg;
    if (rc < 0)
        http_reply(req, 500, "text/plain", "", 0);
    else
        http_reply(req, 200, "text/plain", "", 0);
}

static void kannel_dlr_hook(struct gateway *gw, struct http_req *req)
{
    struct kannel_conf *k = gw->impl;
    struct kannel_dlr d;
    int rc = kannel_dlr_check(k->secret, http_req_query(req, "c"), http_req_query(req, "m"),
                              http_req_query(req, "t"), http_req_query(req, "s"),
                              http_req_query(req, "ts"), http_req_query(req, "id"), &d);
    if (rc != 200) {
        gateway_hook_refuse(gw, req, "dlr", rc, rc == 403 ? "bad_token" : "malformed");
        return;
    }
    char status[16], raw[256];
    snprintf(status, sizeof status, "%d", d.status);
    /* The raw record keeps what Kannel said, not the token. */
    snprintf(raw, sizeof raw, "c=%" PRId64 "&m=%" PRId64 "&s=%d&ts=%" PRId64 "&id=%s", d.campaign_id,
             d.message_id, d.status, d.ts, d.id);
    struct gw_event ev = {
        .kind = GW_EV_DELIVERY,
        .campaign_id = d.campaign_id,
        .message_id = d.message_id,
        .dlr = d.dlr,
        .status = status,
        .external_id = d.id[0] ? d.id : NULL,
        .raw = raw,
    };
    if (gw->host->events_apply(gw->host, gw, &ev, 1, hook_done, req) < 0)
        http_reply_text(req, 503, "unavailable\n");
}

static void kannel_mo_hook(struct gateway *gw, struct http_req *req)
{
    struct kannel_conf *k = gw->impl;
    char masked[LOG_MASK_LEN];
    if (!kannel_mo_token_ok(k->secret, http_req_query(req, "token"))) {
        log_warn("event=webhook_refused gw=%s hook=mo status=403 reason=bad_token", gw->name);
        http_reply(req, 403, "text/plain", "", 0);
        return;
    }
    const char *from = http_req_query(req, "from");
    const char *text = http_req_query(req, "text");
    const char *id = http_req_query(req, "id");
    if (!from || !*from || !text) {
        log_warn("event=webhook_refused gw=%s hook=mo status=400 reason=missing_from_or_text from=%s",
                 gw->name, log_mask_phone(from, masked, sizeof masked));
        http_reply(req, 400, "text/plain", "", 0);
        return;
    }
    char phone[12];
    const char *addr = phone_normalize(from, phone, NULL) == 0 ? phone : from;
    struct gw_event ev = {
        .kind = GW_EV_REPLY,
        .from = addr,
        .text = text,
        .external_id = id && *id ? id : NULL,
        .raw = NULL,
    };
    log_info("event=mo gw=%s from=%s len=%zu", gw->name, log_mask_phone(addr, masked, sizeof masked), strlen(text));
    /* The answer's body goes back to the citizen as an SMS: it is always empty. */
    if (gw->host->events_apply(gw->host, gw, &ev, 1, hook_done, req) < 0)
        http_reply(req, 503, "text/plain", "", 0);
}

static void kannel_webhook(struct gateway *gw, struct http_req *req, const char *subpath)
{
    if (strcmp(subpath, "dlr") == 0)
        kannel_dlr_hook(gw, req);
    else if (strcmp(subpath, "mo") == 0)
        kannel_mo_hook(gw, req);
    else
        http_reply_text(req, 404, "not found\n");
}

static void kannel_close(struct gateway *gw) { gateway_impl_free(gw, sizeof(struct kannel_conf)); }

/* Kannel reports DLR 8 when the SMSC has taken the message (gateways.md). */
static bool kannel_acked(const struct config *cfg, const char *section)
{
    return (config_int(cfg, section, "dlr_mask") & 8) != 0;
}

const struct gateway_type kannel_type = {
    .name = "kannel", .channel = "sms", .keys = kannel_keys, .idempotent = false,
    .open = kannel_open, .submit = kannel_submit, .webhook = kannel_webhook, .close = kannel_close,
    .reload = kannel_reload, .acked = kannel_acked,
};
