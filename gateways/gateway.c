#include "gateways/gateway.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/httpc.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/utf8.h"

/* A result decided inside submit() still reaches the dispatcher from the loop, never from
 * inside the call that asked for it: the dispatcher may be iterating its batch. */
struct deferred {
    uv_timer_t timer;
    gw_submit_cb cb;
    void *arg;
    struct gw_result r;
};

static void deferred_closed(uv_handle_t *h) { free(h->data); }

static void deferred_fire(uv_timer_t *t)
{
    struct deferred *d = t->data;
    d->cb(d->arg, &d->r);
    uv_close((uv_handle_t *)&d->timer, deferred_closed);
}

int gateway_defer_result(struct gateway *gw, gw_submit_cb cb, void *arg, enum gw_outcome outcome,
                         const char *reason)
{
    struct deferred *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->cb = cb;
    d->arg = arg;
    d->r.outcome = outcome;
    d->r.quota_remaining = -1;
    d->r.untried = true;
    snprintf(d->r.reason, sizeof d->r.reason, "%s", reason);
    uv_timer_init(gw->host->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, deferred_fire, 0, 0);
    return 0;
}

struct http_submit {
    struct gateway *gw;
    gw_http_classify classify;
    gw_submit_cb cb;
    void *arg;
};

static void http_submit_done(void *arg, CURLcode cc, long status, const char *body, size_t len)
{
    struct http_submit *s = arg;
    struct gw_result r;
    s->classify(s->gw, cc, status, body, len, &r);
    /* A throttling answer is the gateway at work, not down: the rate shrinks instead. */
    if (r.fault == GW_FAULT_NONE && r.action != GW_ACT_BACKOFF)
        r.fault = gateway_http_fault(cc, status);
    s->cb(s->arg, &r);
    free(s);
}

int gateway_http_submit(struct gateway *gw, const struct httpc_request *hr, gw_http_classify classify,
                        gw_submit_cb cb, void *arg)
{
    struct http_submit *s = malloc(sizeof *s);
    if (!s)
        return -1;
    *s = (struct http_submit){.gw = gw, .classify = classify, .cb = cb, .arg = arg};
    if (httpc_request(gw->host->http, hr, http_submit_done, s) < 0) {
        free(s);
        return -1;
    }
    return 0;
}

int gateway_open_impl(struct gateway *gw, size_t size, gw_impl_load load, char *err, size_t errlen)
{
    void *impl = calloc(1, size);
    if (!impl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (load(gw, impl, err, errlen) < 0) {
        OPENSSL_cleanse(impl, size);
        free(impl);
        return -1;
    }
    gw->impl = impl;
    return 0;
}

int gateway_reload_impl(struct gateway *gw, const struct config *cfg, size_t size, gw_impl_load load,
                        bool apply, char *err, size_t errlen)
{
    void *scratch = calloc(1, size);
    if (!scratch) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const struct config *was = gw->cfg;
    gw->cfg = cfg;
    int rc = load(gw, scratch, err, errlen);
    gw->cfg = was;
    if (rc == 0 && apply) {
        memcpy(gw->impl, scratch, size);
        gw->cfg = cfg;
    }
    OPENSSL_cleanse(scratch, size);
    free(scratch);
    return rc < 0 ? -1 : 0;
}

void gateway_impl_free(struct gateway *gw, size_t size)
{
    if (gw->impl) {
        OPENSSL_cleanse(gw->impl, size);
        free(gw->impl);
    }
    gw->impl = NULL;
}

int gateway_field_copy(char *out, size_t outlen, const char *s)
{
    size_t n = strlen(s);
    if (n >= outlen)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return -1;
    if (!utf8_valid(s, n))
        return -1;
    memcpy(out, s, n + 1);
    return 0;
}

void gateway_url_copy(char *out, size_t outlen, const char *url)
{
    snprintf(out, outlen, "%s", url);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

void gateway_hook_refuse(struct gateway *gw, struct http_req *req, const char *hook, int status,
                         const char *reason)
{
    log_warn("event=webhook_refused gw=%s hook=%s status=%d reason=\"%s\"", gw->name, hook, status, reason);
    http_reply_text(req, status, status == 403 ? "forbidden\n" : "bad request\n");
}

const char *gateway_outcome_name(enum gw_outcome o)
{
    static const char *const n[] = {"accepted", "delivered", "tempfail", "permfail", "fallback", "in_doubt"};
    return (unsigned)o < sizeof n / sizeof n[0] ? n[o] : "?";
}

const char *gateway_fault_name(enum gw_fault f)
{
    static const char *const n[] = {"none", "auth", "unreachable", "timeout", "server"};
    return (unsigned)f < sizeof n / sizeof n[0] ? n[f] : "?";
}

enum gw_fault gateway_http_fault(CURLcode cc, long status)
{
    switch (cc) {
    case CURLE_OK:
        return status >= 500 && status < 600 ? GW_FAULT_SERVER : GW_FAULT_NONE;
    case CURLE_OPERATION_TIMEDOUT:
        return GW_FAULT_TIMEOUT;
    default:
        /* Refused, reset, nothing received, a name that does not resolve: nobody answers. */
        return GW_FAULT_UNREACHABLE;
    }
}
