#include "core/log.h"
#include "core/pgasync.h"
#include "engine/answers.h"
#include "engine/dispatch.h"
#include "engine/engine.h"
#include "gateways/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The per-gateway pump: submit rendered messages while the throttle has room, and lease ahead so
 * that some are always ready: dispatch_row() renders each leased row into the gateway's ready
 * queue, dispatch_submit_ready() sends from it. A lease is a round trip to the database; were it
 * started only once the window had room, the window would stand half empty for that round trip
 * after every few answers (at concurrency 10 against Kannel, 115 a second of a rate of 300).
 * Every answer pumps again, and so do the timer (tokens refill, a pause ends, the gateway becomes
 * ready), a kick (a tick, a NOTIFY, a campaign loaded) and the end of a lease. */

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
        else if (strncmp(key, "breaker:", 8) == 0)
            dispatch_breaker_load(g, key + 8, val, dispatch_now_ms());
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
                     "key IN ('pause_until', 'quota:' || to_char(loa_now() AT TIME ZONE $2, 'YYYY-MM-DD'))"
                     " UNION ALL SELECT 'breaker:' || state, COALESCE(reason, '') FROM gateway_breakers"
                     " WHERE gateway = $1",
                     2, p, state_loaded, g) == 0)
        pump_set_state(g, PUMP_LOADING);
}

/* ---- leasing ---- */

static void lease_done(void *arg, PGresult *res, const char *err)
{
    struct dispatch_gw *g = arg;
    struct dispatcher *d = g->d;
    bool held_back = g->lease_held_back;
    g->lease_held_back = false;
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
        /* Leased after the stop and never sent: returned to pending by the drain. */
        for (int i = 0; i < n; i++)
            dispatch_drain_unsent(d, res, i);
        dispatch_drain_check(d);
        return;
    }
    int64_t now = dispatch_now_ms();
    long day = dispatch_today(d, now);
    for (int i = 0; i < n; i++)
        dispatch_row(g, res, i, now, day);
    /* The queue was empty when the '*' came (dispatch_optout.c dropped it): what is in it now is
     * this lease's, and goes back for the next lease, which suppresses whoever opted out. */
    if (held_back && n > 0)
        dispatch_ready_drop(g, NULL, NULL, MSG_PENDING, "held back: opt-outs arrived");
    /* Nothing leased: nothing more is due now; wait for the next tick or kick. */
    if (n == 0)
        pump_set_state(g, PUMP_IDLE);
    dispatch_pump(g);
}

/* Rendered messages to keep behind the window: what the rate consumes in a quarter of a second
 * (a lease round trip, even on a loaded server, waiting behind delivery reports), at most eight
 * windows and one lease batch. Kept small: they are leased, so a crash leaves them in doubt
 * like those in flight. Eight windows, not four: at a rate of thousands a second a lease of
 * 200 rows takes 20-25 ms, about what the window sends meanwhile, so the pump waited on its
 * own leases; a real gateway's few hundred a second stay under the quarter second. */
static int lease_ahead(const struct dispatch_gw *g)
{
    int cap = 8 * throttle_window(&g->th);
    if (cap > g->d->e->settings.engine.lease_batch)
        cap = g->d->e->settings.engine.lease_batch;
    double r = g->th.rate / 4.0;
    return r < 1.0 ? 1 : r > cap ? cap : (int)r;
}

static void dispatch_lease(struct dispatch_gw *g, int room);

static void on_timer(uv_timer_t *t)
{
    struct dispatch_gw *g = t->data;
    dispatch_pump(g);
}

/* How many rows to lease now: enough to fill the window and the ready queue behind it, 0 when
 * paused or when waiting for more answers is better than leasing a few (each answer pumps
 * again). */
static int lease_size(struct dispatch_gw *g, int64_t now)
{
    const struct dispatcher *d = g->d;
    if (throttle_paused(&g->th, now))
        return 0;
    int w = throttle_window(&g->th);
    int ahead = lease_ahead(g);
    int want = w + ahead - g->th.in_flight - g->n_ready;
    /* Lease once the queue behind the window is half gone, and not for a row or two at a time
     * (except the last few of the day's quota). */
    int least = (w + ahead) / 4;
    if (least < 1)
        least = 1;
    if (g->th.daily_quota > 0 && g->th.daily_quota - g->th.used_today - g->n_ready < want) {
        want = (int)(g->th.daily_quota - g->th.used_today - g->n_ready);
        least = 1;
    }
    int batch = d->e->settings.engine.lease_batch;
    if (want > batch)
        want = batch;
    if (want < least || g->n_ready > ahead / 2)
        return 0;
    return want;
}

/* The circuit breaker's say: -1 closed (send freely), 1 one probe may go now, 0 nothing (open
 * until its next probe, whose timer is then set, or half open until the probe's answer). */
static int breaker_say(struct dispatch_gw *g, int64_t now)
{
    int probe = breaker_room(&g->br, now);
    if (probe == 0) {
        int64_t w = breaker_wait_ms(&g->br, now);
        if (w > 0)
            uv_timer_start(&g->timer, on_timer, (uint64_t)w, 0);
    }
    /* A probe goes alone: the answers of messages still in flight decide first. */
    if (probe == 1 && g->th.in_flight > 0)
        return 0;
    return probe;
}

void dispatch_pump(struct dispatch_gw *g)
{
    struct dispatcher *d = g->d;
    if (!dispatch_running(d))
        return;
    int64_t now = dispatch_now_ms();
    if (!dispatch_owner_holds(g)) {
        /* Another daemon sends through this gateway, or our hold ran out unrenewed: nothing is
         * leased or sent; the renewal kicks when it holds the gateway again. */
        if (g->n_ready > 0)
            dispatch_ready_requeue(g, 0, "gateway not held by this daemon");
        return;
    }
    dispatch_paused_handover(g, now);
    if (g->gw->type->ready && !g->gw->type->ready(g->gw)) {
        uv_timer_start(&g->timer, on_timer, 1000, 0);
        return;
    }
    long day = dispatch_today(d, now);
    int probe = breaker_say(g, now);
    if (probe == 0)
        return;
    /* Confirmations and answers to citizens go ahead of campaign traffic on the same gateway:
     * they take the throttle's room (the ready queue waits), and the campaign goes on once none
     * is due (engine/answers.h). */
    if (g->state == PUMP_READY && answers_due(d->e->answers, g->gw)) {
        int room = probe == 1 ? 1 : throttle_room(&g->th, now, day);
        int64_t wait = throttle_wait_ms(&g->th, now, day);
        if (room > 0)
            answers_pump(d->e->answers, g->gw, room);
        else if (wait > 0)
            uv_timer_start(&g->timer, on_timer, (uint64_t)wait, 0);
        return;
    }
    if (probe == 1 && g->n_ready == 0) {
        /* The probe is one leased row: it goes as soon as it is rendered. */
        if (g->state == PUMP_READY && campaign_cache_ready_count(&d->campaigns) > 0 &&
            !throttle_paused(&g->th, now))
            dispatch_lease(g, 1);
        return;
    }
    dispatch_submit_ready(g, now, day, probe == 1 ? 1 : -1);
    /* Short of tokens or paused: the timer pumps when that ends. -1: only an answer (which
     * pumps) or a new day (the tick kicks) opens the window. */
    int64_t wait = throttle_wait_ms(&g->th, now, day);
    if (wait > 0)
        uv_timer_start(&g->timer, on_timer, (uint64_t)wait, 0);
    if (probe == 1 || g->state != PUMP_READY || campaign_cache_ready_count(&d->campaigns) == 0)
        return;
    int room = lease_size(g, now);
    if (room > 0)
        dispatch_lease(g, room);
}

/* Leases up to ROOM rows of the ready campaigns for G; lease_done() renders them. */
static void dispatch_lease(struct dispatch_gw *g, int room)
{
    struct dispatcher *d = g->d;
    const struct settings *set = &d->e->settings;
    char n[16], secs[16], cap_n[16], cap_days[16];
    snprintf(n, sizeof n, "%d", room);
    snprintf(secs, sizeof secs, "%d", set->engine.lease_seconds);
    snprintf(cap_n, sizeof cap_n, "%d", set->policy.cap_count);
    snprintf(cap_days, sizeof cap_days, "%d", set->policy.cap_days);
    const char *p[11] = {g->gw->name, d->e->instance, n, secs, campaign_cache_ready_ids(&d->campaigns),
                         set->policy.timezone, set->policy.window_start, set->policy.window_end,
                         g->gw->type->idempotent ? "true" : "false", cap_n, cap_days};
    if (pgpool_query_prepared(d->e->db, "loa_lease",
                     "SELECT * FROM loa_lease($1, $2, $3::int, $4::int, $5::bigint[], $6, $7::time, $8::time, $9::boolean,"
                     " $10::int, $11::int)",
                     11, p, lease_done, g) == 0)
        pump_set_state(g, PUMP_LEASING);
}
