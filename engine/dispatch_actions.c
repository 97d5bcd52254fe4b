#include "core/log.h"
#include "core/pgasync.h"
#include "core/tz.h"
#include "engine/dispatch.h"
#include "engine/engine.h"
#include "engine/gateway_table.h"
#include "gateways/gateway.h"
#include "gateways/gateway_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a gateway's answer asks beyond its own message (enum gw_action in gateways/gateway.h):
 * back off for a while, pause until a time (saved in gateway_state so that a restart keeps it),
 * or stop a campaign step for good. A pause that lasts past today's window, and a stopped step,
 * hand the waiting messages to the next channel (loa_handover). Runs inside
 * dispatch_submit_done, after the message's own result was recorded. */

/* How often a gateway paused past the window hands its new arrivals over. */
enum { PAUSED_HANDOVER_MS = 5000 };

/* What a handover statement was for, for its log line. A repeated pass (REPEAT) that moved
 * nothing is not worth a line. */
struct handover_note {
    bool repeat;
    char what[160];
};

static void handover_done(void *arg, PGresult *res, const char *err)
{
    struct handover_note *n = arg;
    if (err)
        log_error("event=handover_failed %s error=\"%s\"", n->what, err);
    else if (!n->repeat || strcmp(PQgetvalue(res, 0, 0), "0") != 0)
        log_info("event=handover %s moved=%s", n->what, PQgetvalue(res, 0, 0));
    free(n);
}

/* Hands waiting messages to the next channel (loa_handover): of one campaign step (CID > 0) or
 * of the whole gateway. STOP (with CID > 0) also records the step as stopped for good
 * (loa_step_stop), so that a restart or a new day does not ask the gateway again. */
enum handover_kind { HANDOVER_PAUSE, HANDOVER_PAUSE_AGAIN, HANDOVER_STOP_STEP };

static void handover(struct dispatch_gw *g, int64_t cid, int step, const char *reason, enum handover_kind kind)
{
    struct engine *e = g->d->e;
    char c[24], s[16];
    snprintf(c, sizeof c, "%" PRId64, cid);
    snprintf(s, sizeof s, "%d", step);
    const char *p[6] = {g->gw->name, cid > 0 ? c : NULL, cid > 0 ? s : NULL, reason,
                        gateway_table_name_for_channel(e, "sms"), gateway_table_name_for_channel(e, "zalo")};
    struct handover_note *n = malloc(sizeof *n);
    if (!n)
        return;
    n->repeat = kind == HANDOVER_PAUSE_AGAIN;
    snprintf(n->what, sizeof n->what, "gw=%s campaign=%" PRId64 " step=%d", g->gw->name, cid, step);
    const char *sql = kind == HANDOVER_STOP_STEP ? "SELECT loa_step_stop($1, $2::bigint, $3::smallint, $4, $5, $6)"
                                                 : "SELECT loa_handover($1, $2::bigint, $3::smallint, $4, $5, $6)";
    if (pgpool_query(e->db, sql, 6, p, handover_done, n) < 0)
        free(n);
}

static void pause_saved(void *arg, PGresult *res, const char *err)
{
    if (err)
        log_warn("event=gateway_state_save_failed error=\"%s\"", err);
}

/* Keeps the pause across a restart (pump_state_load reads it back). */
static void pause_save(struct dispatch_gw *g, int64_t until_s)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, until_s);
    gateway_state_put(g->d->e->db, g->gw->name, "pause_until", v, pause_saved, NULL);
}

/* The end of today's policy window, as unix milliseconds. */
static int64_t window_end_today_ms(const struct dispatcher *d, int64_t now)
{
    const struct policy_settings *pol = &d->e->settings.policy;
    long off = 0;
    tz_offset(pol->timezone, now / 1000, &off);
    int64_t local_midnight_s = (int64_t)throttle_day(now, off) * 86400 - off;
    return (local_midnight_s + (int64_t)pol->window_end_min * 60) * 1000;
}

static void act_backoff(struct dispatch_gw *g, const struct gw_result *r, int64_t now)
{
    /* Bounded like the refused message's own retry (outcome_decide): the gateway is not kept
     * idle longer than the engine would make that message wait. */
    int secs = r->retry_after_s > 0 ? r->retry_after_s : 1;
    int max_s = g->d->e->settings.engine.retry_max_s;
    if (secs > max_s)
        secs = max_s;
    throttle_pause(&g->th, now + secs * 1000LL);
    /* The rate itself shrinks too (AIMD), once per burst of such answers, and grows back with
     * each success (throttle_slow_down): the window alone would let the same rate through. */
    if (throttle_slow_down(&g->th, now))
        log_warn("event=gateway_backoff gw=%s window=%d rate=%g rate_max=%g seconds=%d", g->gw->name,
                 throttle_window(&g->th), g->th.rate, g->th.rate_max, secs);
}

static void act_pause(struct dispatch_gw *g, const struct gw_result *r, int64_t now)
{
    int64_t until = r->pause_until * 1000;
    throttle_pause(&g->th, until);
    pause_save(g, r->pause_until);
    log_warn("event=gateway_paused gw=%s until=%" PRId64 " reason=\"%s\"", g->gw->name, r->pause_until, r->reason);
    /* A pause that lasts to the end of today's window or past it (a spent quota) would keep
     * citizens waiting until tomorrow while a later channel could reach them today: hand those
     * messages over. A shorter pause is waited out. `>=`, not `>`: with a 00:00-24:00 window
     * the window ends at local midnight, exactly when a daily-limit pause ends, and nothing
     * of today is left to wait for. */
    if (until >= window_end_today_ms(g->d, now)) {
        g->handover_until_ms = until;
        dispatch_ready_hand_over(g, "gateway paused");
        handover(g, 0, 0, "gateway paused", HANDOVER_PAUSE);
        g->handover_at_ms = now + PAUSED_HANDOVER_MS;
    }
}

void dispatch_paused_handover(struct dispatch_gw *g, int64_t now)
{
    /* Messages that arrive during such a pause (a campaign materialised since, a retry come due)
     * would wait for its end like the first ones would have: they are handed over too, in
     * passes a few seconds apart (each pump of a paused gateway asks, the tick pumps). This is
     * also the first handover after a restart, which reads the pause from gateway_state. */
    if (!throttle_paused(&g->th, now) || now < g->handover_at_ms ||
        g->th.pause_until_ms < window_end_today_ms(g->d, now))
        return;
    g->handover_at_ms = now + PAUSED_HANDOVER_MS;
    dispatch_ready_hand_over(g, "gateway paused");
    handover(g, 0, 0, "gateway paused", HANDOVER_PAUSE_AGAIN);
}

static void act_stop_step(struct dispatch_gw *g, const struct inflight *f, const struct gw_result *r)
{
    struct cached_campaign *k = campaign_cache_find(&g->d->campaigns, f->campaign_id);
    struct cached_step *s = k ? cached_campaign_step(k, f->step) : NULL;
    if (!s || s->stopped)
        return;
    s->stopped = true;
    snprintf(s->stop_reason, sizeof s->stop_reason, "step stopped: %s", r->reason);
    log_warn("event=step_stopped campaign=%" PRId64 " step=%d gw=%s reason=\"%s\"", f->campaign_id, f->step,
             g->gw->name, r->reason);
    handover(g, f->campaign_id, f->step, s->stop_reason, HANDOVER_STOP_STEP);
}

void dispatch_act_on(struct dispatch_gw *g, const struct inflight *f, const struct gw_result *r)
{
    int64_t now = dispatch_now_ms();
    switch (r->action) {
    case GW_ACT_NONE:
        break;
    case GW_ACT_BACKOFF:
        act_backoff(g, r, now);
        break;
    case GW_ACT_PAUSE:
        act_pause(g, r, now);
        break;
    case GW_ACT_STOP_STEP:
        act_stop_step(g, f, r);
        break;
    }
}
