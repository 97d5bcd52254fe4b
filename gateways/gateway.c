#include "gateways/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

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
    snprintf(d->r.reason, sizeof d->r.reason, "%s", reason);
    uv_timer_init(gw->host->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, deferred_fire, 0, 0);
    return 0;
}

const char *gateway_outcome_name(enum gw_outcome o)
{
    static const char *const n[] = {"accepted", "delivered", "tempfail", "permfail", "fallback", "in_doubt"};
    return (unsigned)o < sizeof n / sizeof n[0] ? n[o] : "?";
}
