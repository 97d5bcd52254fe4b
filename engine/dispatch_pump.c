#include "core/log.h"
#include "core/pgasync.h"
#include "engine/dispatch.h"
#include "engine/engine.h"
#include "gateways/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The per-gateway pump: lease (as many rows as the throttle has room for), hand each row to
 * dispatch_row(), lease again. Every answer pumps again, and so do the timer (tokens refill, a
 * pause ends, the gateway becomes ready), a kick (a tick, a NOTIFY, a campaign loaded) and the
 * end of a lease that found rows. */

const char *pump_state_name(enum pump_state st)
{
    static const char *const names[] = {"unloaded", "loading", "ready", "leasing", "idle"};
    return names[st];
}

void pump_set_state(struct dispatch_gw *g, enum pump_state st)
{
    if (g->state == st)
        return;
    /* READY ⇄ LEASING ⇄ IDLE happen once per lease: traced at debug level only. */
    log_debug("event=pump_state gw=%s from=%s to=%s", g->gw->name, pump_state_name(g->state), pump_state_name(st));
    g->state = st;
}

/* ---- start: the quota count and pause of today, kept in gateway_state ---- */

static void state_loaded(void *arg, PGresult *res, const char *err)
{
    struct dispatch_gw *g = arg;
    if (err) {
        log_warn("event=gateway_state_load_failed gw=%s error=\"%s\" note=retrying", g->gw->name, err);
        pump_set_state(g, PUMP_UNLOADED);  /* the next kick tries again */
        return;
    }
    long day = dispatch_today(g->d, dispatch_now_ms());
    for (int i = 0; i < PQntuples(res); i++) {
        const char *key = PQgetvalue(res, i, 0), *val = PQgetvalue(res, i, 1);
        if (strcmp(key, "pause_until") == 0)
            throttle_pause(&g->th, strtoll(val, NULL, 10) * 1000);
        else
            throttle_quota_restore(&g->th, day, strtol(val, NULL, 10));
    }
    pump_set_state(g, PUMP_READY);
    log_info("event=gateway_ready gw=%s rate=%g window=%d daily_quota=%ld used_today=%ld", g->gw->name, g->th.rate,
             throttle_window(&g->th), g->th.daily_quota, g->th.used_today);
    dispatch_pump(g);
}

void pump_state_load(struct dispatch_gw *g)
{
    if (g->state != PUMP_UNLOADED)
        return;
    struct engine *e = g->d->e;
    const char *p[2] = {g->gw->name, e->settings.policy.timezone};
    if (pgpool_query(e->db,
                     "SELECT key, value FROM gateway_state WHERE gateway = $1 AND "
                     "key IN ('pause_until', 'quota:' || to_char(now() AT TIME ZONE $2, 'YYYY-MM-DD'))",
                     2, p, state_loaded, g) == 0)
        pump_set_state(g, PUMP_LOADING);
}

/* ---- leasing ---- */

static void lease_done(void *arg, PGresult *res, const char *err)
{
    struct dispatch_gw *g = arg;
    struct dispatcher *d = g->d;
    if (err) {
        log_warn("event=lease_failed gw=%s error=\"%s\"", g->gw->name, err);
        pump_set_state(g, PUMP_IDLE);
        dispatch_drain_check(d);
        return;
    }
    pump_set_state(g, PUMP_READY);
    int n = PQntuples(res);
    g->n_leased += (unsigned long)n;
    if (!dispatch_running(d)) {
        /* Leased after the stop: returned to pending by the drain (dispatch_drain.c). */
        dispatch_drain_check(d);
        return;
    }
    int64_t now = dispatch_now_ms();
    long day = dispatch_today(d, now);
    for (int i = 0; i < n; i++)
        dispatch_row(g, res, i, now, day);
    /* Nothing leased: nothing more is due now; wait for the next tick or kick. */
    if (n == 0)
        pump_set_state(g, PUMP_IDLE);
    dispatch_pump(g);
}

static void on_timer(uv_timer_t *t)
{
    struct dispatch_gw *g = t->data;
    dispatch_pump(g);
}

/* How many rows to lease now: 0 when the throttle has no room (the timer is then set for when
 * it may have some) or when waiting for more answers is better than leasing a few. */
static int lease_size(struct dispatch_gw *g)
{
    const struct dispatcher *d = g->d;
    int64_t now = dispatch_now_ms();
    long day = dispatch_today(d, now);
    int room = throttle_room(&g->th, now, day);
    if (room <= 0) {
        int64_t w = throttle_wait_ms(&g->th, now, day);
        /* -1: only an answer (which pumps) or a new day (the tick kicks) opens the window. */
        if (w > 0)
            uv_timer_start(&g->timer, on_timer, (uint64_t)w, 0);
        return 0;
    }
    int batch = d->e->settings.engine.lease_batch;
    if (room > batch)
        room = batch;
    /* A lease is a round trip: with answers still to come, wait until a good part of the window
     * is free rather than leasing one row per answer (each answer pumps again). */
    int want = throttle_window(&g->th) / 2;
    if (want > batch)
        want = batch;
    if (g->th.in_flight > 0 && room < want)
        return 0;
    return room;
}

void dispatch_pump(struct dispatch_gw *g)
{
    struct dispatcher *d = g->d;
    if (!dispatch_running(d) || g->state != PUMP_READY)
        return;
    if (campaign_cache_ready_count(&d->campaigns) == 0)
        return;
    if (g->gw->type->ready && !g->gw->type->ready(g->gw)) {
        uv_timer_start(&g->timer, on_timer, 1000, 0);
        return;
    }
    int room = lease_size(g);
    if (room <= 0)
        return;
    const struct settings *set = &d->e->settings;
    char n[16], secs[16];
    snprintf(n, sizeof n, "%d", room);
    snprintf(secs, sizeof secs, "%d", set->engine.lease_seconds);
    const char *p[9] = {g->gw->name, d->e->instance, n, secs, campaign_cache_ready_ids(&d->campaigns),
                        set->policy.timezone, set->policy.window_start, set->policy.window_end,
                        g->gw->type->idempotent ? "true" : "false"};
    if (pgpool_query_prepared(d->e->db, "loa_lease",
                     "SELECT * FROM loa_lease($1, $2, $3::int, $4::int, $5::bigint[], $6, $7::time, $8::time, $9::boolean)",
                     9, p, lease_done, g) == 0)
        pump_set_state(g, PUMP_LEASING);
}
