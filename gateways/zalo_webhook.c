#include "gateways/zalo_webhook.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string field at PATH ("message", "msg_id"), or NULL when any part is missing or not text. */
static const char *field(const cJSON *root, const char *obj, const char *key)
{
    const cJSON *o = obj ? cJSON_GetObjectItemCaseSensitive(root, obj) : root;
    if (!cJSON_IsObject(o))
        return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* Strictly positive decimal without sign or spaces, fitting int64. */
static int parse_id(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0)
        return -1;
    *out = v;
    return 0;
}

int zalo_tracking_parse(const char *s, int64_t *campaign_id, int64_t *message_id)
{
    if (!s)
        return -1;
    const char *dot = strchr(s, '.');
    if (!dot)
        return -1;
    int64_t c, m;
    if (parse_id(s, (size_t)(dot - s), &c) < 0 || parse_id(dot + 1, strlen(dot + 1), &m) < 0)
        return -1;
    *campaign_id = c;
    *message_id = m;
    return 0;
}

static enum zalo_wh_kind kind_of(const char *name)
{
    if (strcmp(name, "user_received_message") == 0)
        return ZALO_WH_RECEIPT;
    if (strcmp(name, "user_send_text") == 0)
        return ZALO_WH_REPLY;
    if (strcmp(name, "follow") == 0)
        return ZALO_WH_FOLLOW;
    if (strcmp(name, "unfollow") == 0)
        return ZALO_WH_UNFOLLOW;
    if (strcmp(name, "user_seen_message") == 0)
        return ZALO_WH_SEEN;
    return ZALO_WH_IGNORED;
}

/* The timestamp is signed as its text; Zalo sends it as a string of milliseconds, but a number
 * is accepted too (printed back without a fraction, as a sender would have formatted it). */
static int timestamp_read(cJSON *root, struct zalo_wh_event *ev)
{
    cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "timestamp");
    if (cJSON_IsString(t) && t->valuestring) {
        const char *s = t->valuestring;
        size_t n = strlen(s);
        if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
            return -1;
        ev->timestamp = s;
        ev->timestamp_ms = strtoll(s, NULL, 10);
        return 0;
    }
    if (cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble < 1e17 &&
        t->valuedouble == (double)(int64_t)t->valuedouble) {
        ev->timestamp_ms = (int64_t)t->valuedouble;
        snprintf(ev->ts_buf, sizeof ev->ts_buf, "%" PRId64, ev->timestamp_ms);
        ev->timestamp = ev->ts_buf;
        return 0;
    }
    return -1;
}

static int fail(struct zalo_wh_event *ev, cJSON *root, char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    cJSON_Delete(root);
    memset(ev, 0, sizeof *ev);
    return -1;
}

int zalo_wh_parse(const char *body, size_t len, struct zalo_wh_event *ev, char *err, size_t errlen)
{
    memset(ev, 0, sizeof *ev);
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root || !cJSON_IsObject(root))
        return fail(ev, root, err, errlen, "not a JSON object");
    ev->root = root;
    ev->event_name = field(root, NULL, "event_name");
    if (!ev->event_name)
        return fail(ev, root, err, errlen, "no event_name");
    if (timestamp_read(root, ev) < 0)
        return fail(ev, root, err, errlen, "no valid timestamp");
    ev->kind = kind_of(ev->event_name);
    switch (ev->kind) {
    case ZALO_WH_RECEIPT:
        ev->msg_id = field(root, "message", "msg_id");
        ev->tracking_id = field(root, "message", "tracking_id");
        if (!ev->msg_id && !ev->tracking_id)
            return fail(ev, root, err, errlen, "receipt without message.msg_id or tracking_id");
        /* A tracking id that is not ours (another sender on the same OA) leaves the ids at 0:
         * the receipt is then matched by msg_id alone. */
        if (zalo_tracking_parse(ev->tracking_id, &ev->campaign_id, &ev->message_id) < 0)
            ev->campaign_id = ev->message_id = 0;
        break;
    case ZALO_WH_REPLY:
        ev->user_id = field(root, "sender", "id");
        ev->text = field(root, "message", "text");
        ev->msg_id = field(root, "message", "msg_id");
        if (!ev->user_id || !ev->text || !ev->msg_id)
            return fail(ev, root, err, errlen, "user_send_text without sender.id, message.text or message.msg_id");
        break;
    case ZALO_WH_FOLLOW:
    case ZALO_WH_UNFOLLOW:
        ev->user_id = field(root, "follower", "id");
        if (!ev->user_id)
            return fail(ev, root, err, errlen, "follow event without follower.id");
        ev->msg_id = field(root, "message", "msg_id");
        break;
    case ZALO_WH_SEEN: {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
        const cJSON *ids = cJSON_IsObject(msg) ? cJSON_GetObjectItemCaseSensitive(msg, "msg_ids") : NULL;
        if (!cJSON_IsArray(ids))
            return fail(ev, root, err, errlen, "user_seen_message without message.msg_ids");
        const cJSON *id;
        cJSON_ArrayForEach(id, ids) {
            if (ev->n_seen == ZALO_WH_MAX_SEEN)
                break;
            if (cJSON_IsString(id) && id->valuestring && id->valuestring[0])
                ev->seen[ev->n_seen++] = id->valuestring;
        }
        break;
    }
    case ZALO_WH_IGNORED:
        break;
    }
    return 0;
}

void zalo_wh_event_free(struct zalo_wh_event *ev)
{
    if (ev && ev->root)
        cJSON_Delete(ev->root);
    if (ev)
        memset(ev, 0, sizeof *ev);
}

static void digest(const char *sig_id, const char *body, size_t len, const char *timestamp,
                   const char *sig_key, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (!ctx)
        abort();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, sig_id, strlen(sig_id));
    EVP_DigestUpdate(ctx, body, len);
    EVP_DigestUpdate(ctx, timestamp, strlen(timestamp));
    EVP_DigestUpdate(ctx, sig_key, strlen(sig_key));
    EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "mac=<64 hex>" into 32 bytes; surrounding blanks are tolerated. */
static int header_decode(const char *h, unsigned char out[32])
{
    if (!h)
        return -1;
    while (*h == ' ' || *h == '\t')
        h++;
    if (strncmp(h, "mac=", 4) != 0)
        return -1;
    h += 4;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(h[2 * i]), lo = hi < 0 ? -1 : hexval(h[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    h += 64;
    while (*h == ' ' || *h == '\t')
        h++;
    return *h ? -1 : 0;
}

bool zalo_wh_signature_ok(const char *header, const char *sig_id, const char *body, size_t len,
                          const char *timestamp, const char *sig_key)
{
    unsigned char want[32], got[32];
    if (!sig_id || !sig_key || !*sig_id || !*sig_key || !timestamp)
        return false;
    if (header_decode(header, got) < 0)
        return false;
    digest(sig_id, body, len, timestamp, sig_key, want);
    return CRYPTO_memcmp(want, got, sizeof want) == 0;
}

void zalo_wh_signature_make(const char *sig_id, const char *body, size_t len, const char *timestamp,
                            const char *sig_key, char out[70])
{
    unsigned char d[32];
    static const char hex[] = "0123456789abcdef";
    digest(sig_id, body, len, timestamp, sig_key, d);
    memcpy(out, "mac=", 4);
    for (int i = 0; i < 32; i++) {
        out[4 + 2 * i] = hex[d[i] >> 4];
        out[5 + 2 * i] = hex[d[i] & 15];
    }
    out[68] = '\0';
}

bool zalo_wh_fresh(int64_t ts_ms, int64_t now_ms, long max_age_s)
{
    int64_t margin = (int64_t)max_age_s * 1000;
    return ts_ms >= now_ms - margin && ts_ms <= now_ms + margin;
}

void zalo_wh_check(const char *body, size_t len, const char *sig_header, const char *sig_id,
                   const char *sig_key, long max_age_s, int64_t now_ms, struct zalo_wh_event *ev,
                   struct zalo_wh_verdict *v)
{
    unsigned char tmp[32];
    char why[96];
    /* An unsigned request is refused before its body is even looked at. */
    if (header_decode(sig_header, tmp) < 0) {
        v->status = 403;
        snprintf(v->reason, sizeof v->reason, "missing or malformed X-ZEvent-Signature");
        return;
    }
    struct zalo_wh_event e;
    if (zalo_wh_parse(body, len, &e, why, sizeof why) < 0) {
        v->status = 400;
        snprintf(v->reason, sizeof v->reason, "%s", why);
        return;
    }
    if (!zalo_wh_signature_ok(sig_header, sig_id, body, len, e.timestamp, sig_key)) {
        zalo_wh_event_free(&e);
        v->status = 403;
        snprintf(v->reason, sizeof v->reason, "signature mismatch");
        return;
    }
    if (!zalo_wh_fresh(e.timestamp_ms, now_ms, max_age_s)) {
        zalo_wh_event_free(&e);
        v->status = 403;
        snprintf(v->reason, sizeof v->reason, "timestamp outside %lds: replay or wrong clock", max_age_s);
        return;
    }
    v->status = 200;
    v->reason[0] = '\0';
    *ev = e;
    /* e.timestamp may point into e.ts_buf: re-point it at the copy. */
    if (e.timestamp == e.ts_buf)
        ev->timestamp = ev->ts_buf;
}
