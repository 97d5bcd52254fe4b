#include "engine/dispatcher.h"
#include "core/clock.h"
#include "core/tz.h"
#include "engine/dispatch.h"
#include "engine/engine.h"
#include "gateways/gateway.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int64_t dispatch_now_ms(void) { return clock_now_ms(); }

long dispatch_today(const struct dispatcher *d, int64_t now)
{
    long off = 0;
    tz_offset(d->e->settings.policy.timezone, now / 1000, &off);   /* checked at start */
    return throttle_day(now, off);
}

int dispatch_local_minute(const struct dispatcher *d, int64_t now)
{
    long off = 0;
    tz_offset(d->e->settings.policy.timezone, now / 1000, &off);
    int64_t s = now / 1000 + off;
    return (int)(((s % 86400) + 86400) % 86400 / 60);
}

long dispatcher_today(const struct dispatcher *d, int64_t now) { return dispatch_today(d, now); }

struct throttle *dispatcher_throttle(struct dispatcher *d, const struct gateway *gw)
{
    for (size_t i = 0; d && i < d->ng; i++)
        if (d->g[i].gw == gw)
            return &d->g[i].th;
    return NULL;
}

static void campaign_ready(void *arg) { dispatcher_kick(arg); }

static void results_flushed(void *arg)
{
    struct dispatch_gw *g = arg;
    dispatch_drain_check(g->d);
}

struct dispatcher *dispatcher_new(struct engine *e)
{
    struct dispatcher *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->e = e;
    d->ng = e->ngateways;
    d->g = calloc(d->ng ? d->ng : 1, sizeof *d->g);
    if (!d->g) {
        free(d);
        return NULL;
    }
    campaign_cache_init(&d->campaigns, e, campaign_ready, d);
    pgarray_init(&d->unsent_cid);
    pgarray_init(&d->unsent_id);
    srandom((unsigned)dispatch_now_ms() ^ (unsigned)getpid());
    int64_t now = dispatch_now_ms();
    for (size_t i = 0; i < d->ng; i++) {
        struct dispatch_gw *g = &d->g[i];
        g->d = d;
        g->gw = e->gateways[i];
        g->set = &e->settings.gw[i];
        throttle_init(&g->th, g->set->rate, g->set->concurrency, g->set->daily_quota, now);
        breaker_init(&g->br, g->set->breaker_failures, g->set->breaker_probe_min_s, g->set->breaker_probe_max_s);
        result_batch_init(&g->results, e, g->gw->name, results_flushed, g);
        uv_timer_init(e->loop, &g->timer);
        g->timer.data = g;
        /* Its saved state is loaded once this daemon holds it (dispatch_owner.c). */
    }
    uv_timer_init(e->loop, &d->grace_timer);
    d->grace_timer.data = d;
    dispatch_owner_start(d);
    dispatch_optout_start(d);
    return d;
}

void dispatcher_kick(struct dispatcher *d)
{
    for (size_t i = 0; i < d->ng; i++) {
        struct dispatch_gw *g = &d->g[i];
        if (g->state == PUMP_IDLE)
            pump_set_state(g, PUMP_READY);
        else if (g->state == PUMP_UNLOADED && g->owned)
            pump_state_load(g);
        dispatch_pump(g);
    }
}

void dispatcher_settings_changed(struct dispatcher *d)
{
    int64_t now = dispatch_now_ms();
    for (size_t i = 0; i < d->ng; i++) {
        struct dispatch_gw *g = &d->g[i];
        throttle_set_rate(&g->th, g->set->rate, g->set->concurrency, g->set->daily_quota, now);
        breaker_configure(&g->br, g->set->breaker_failures, g->set->breaker_probe_min_s,
                          g->set->breaker_probe_max_s);
    }
    dispatcher_kick(d);
}

void dispatcher_campaigns_sync(struct dispatcher *d, const int64_t *ids, size_t n)
{
    if (!dispatch_running(d))
        return;
    campaign_cache_sync(&d->campaigns, ids, n, dispatch_today(d, dispatch_now_ms()));
}

/* The timers live inside the dispatcher: it is freed from the last close callback. */
static void handle_closed(uv_handle_t *h)
{
    struct dispatcher *d = h->data;
    if (--d->pending_closes > 0)
        return;
    for (size_t i = 0; i < d->ng; i++)
        result_batch_free(&d->g[i].results);
    campaign_cache_free(&d->campaigns);
    dispatch_optout_free(d);
    pgarray_free(&d->unsent_cid);
    pgarray_free(&d->unsent_id);
    while (d->inflight) {
        struct inflight *f = d->inflight;
        d->inflight = f->next;
        free(f);
    }
    free(d->g);
    free(d);
}

void dispatcher_free(struct dispatcher *d)
{
    if (!d)
        return;
    dispatch_drain_detach(d);
    dispatch_owner_detach(d);
    d->pending_closes = (int)(3 * d->ng + 2);
    for (size_t i = 0; i < d->ng; i++) {
        dispatch_ready_discard(&d->g[i]);
        dispatch_breaker_detach(&d->g[i]);
        d->g[i].timer.data = d;
        d->g[i].results.timer.data = d;
        d->g[i].results.retry.data = d;
        uv_close((uv_handle_t *)&d->g[i].timer, handle_closed);
        uv_close((uv_handle_t *)&d->g[i].results.timer, handle_closed);
        uv_close((uv_handle_t *)&d->g[i].results.retry, handle_closed);
    }
    d->grace_timer.data = d;
    uv_close((uv_handle_t *)&d->grace_timer, handle_closed);
    uv_close((uv_handle_t *)&d->owner_timer, handle_closed);
}

/* One sample of a metric family for gateway G. */
static double metric_value(const struct dispatch_gw *g, int which)
{
    switch (which) {
    case 0: return (double)g->n_submitted;
    case 1: return (double)g->n_failed;
    case 2: return (double)g->n_tempfail;
    case 3: return (double)g->n_in_doubt;
    case 4: return (double)g->n_fallback;
    case 5: return (double)g->n_leased;
    case 6: return g->th.in_flight;
    case 7: return g->th.tokens;
    case 8: return throttle_window(&g->th);
    case 9: return (double)g->th.used_today;
    case 10: return g->th.rate;
    default: return g->br.state == BREAKER_CLOSED ? 0 : 1;
    }
}

void dispatcher_metrics_write(struct dispatcher *d, FILE *f)
{
    /* Prometheus text: each family's TYPE line, then one sample per gateway. The order of the
     * table is the order of metric_value()'s cases. */
    static const struct { const char *name, *type; } families[] = {
        {"loa_messages_submitted_total", "counter"}, {"loa_messages_failed_total", "counter"},
        {"loa_messages_tempfail_total", "counter"},  {"loa_messages_in_doubt_total", "counter"},
        {"loa_messages_fallback_total", "counter"},  {"loa_leases_total", "counter"},
        {"loa_in_flight", "gauge"},                  {"loa_throttle_tokens", "gauge"},
        {"loa_throttle_window", "gauge"},            {"loa_quota_used_today", "gauge"},
        {"loa_throttle_rate", "gauge"},              {"loa_gateway_circuit_open", "gauge"},
    };
    for (int m = 0; m < (int)(sizeof families / sizeof families[0]); m++) {
        fprintf(f, "# TYPE %s %s\n", families[m].name, families[m].type);
        for (size_t i = 0; i < d->ng; i++)
            fprintf(f, "%s{gateway=\"%s\"} %.15g\n", families[m].name, d->g[i].gw->name,
                    metric_value(&d->g[i], m));
    }
}
