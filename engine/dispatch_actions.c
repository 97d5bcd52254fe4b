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

/* What a gateway's answer asks beyond its own message (enum gw_action in gateways/gateway.h):
 * back off for a while, pause until a time (saved in gateway_state so that a restart keeps it),
 * or stop a campaign step for good. A pause that lasts past today's window, and a stopped step,
 * hand the waiting messages to the next channel (loa_handover). Runs inside
 * dispatch_submit_done, after the message's own result was recorded. */

static void handover_done(void *arg, PGresult *res, const char *err)
{
    char *what = arg;
    if (err)
        log_error("event=handover_failed %s error=\"%s\"", what, err);
    else
        log_info("event=handover %s moved=%s", what, PQgetvalue(res, 0, 0));
    free(what);
}

/* Hands waiting messages to the next channel (loa_handover): of one campaign step (CID > 0) or
 * of the whole gateway. */
static void handover(struct dispatch_gw *g, int64_t cid, int step, const char *reason)
{
    struct engine *e = g->d->e;
    char c[24], s[16];
    snprintf(c, sizeof c, "%" PRId64, cid);
    snprintf(s, sizeof s, "%d", step);
    const char *p[6] = {g->gw->name, cid > 0 ? c : NULL, cid > 0 ? s : NULL, reason,
                        gateway_table_name_for_channel(e, "sms"), gateway_table_name_for_channel(e, "zalo")};
    char *what = malloc(160);
    if (!what)
        return;
    snprintf(what, 160, "gw=%s campaign=%" PRId64 " step=%d", g->gw->name, cid, step);
    if (pgpool_query(e->db, "SELECT loa_handover($1, $2::bigint, $3::smallint, $4, $5, $6)", 6, p, handover_done, what) < 0)
        free(what);
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
    log_warn("event=gateway_backoff gw=%s window=%d seconds=%d", g->gw->name, throttle_window(&g->th), secs);
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
        handover(g, 0, 0, "gateway paused");
    }
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
    handover(g, f->campaign_id, f->step, s->stop_reason);
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
