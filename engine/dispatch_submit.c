#include "campaigns/template.h"
#include "core/log.h"
#include "engine/dispatch.h"
#include "engine/engine.h"
#include "engine/outcome.h"
#include "engine/settings.h"
#include "gateways/gateway.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One leased row, in order: dispatch_row reads it and finds its campaign step (row_step),
 * renders it (row_render), copies what the gateway needs into an in-flight record (inflight_new)
 * and submits it (submit_start); the gateway's answer comes to dispatch_submit_done, which
 * decides the message's state (outcome.c), records the result, logs the attempt and acts on
 * what the answer asks of the gateway. */

/* What a row renders to. TEXT is the SMS; a ZNS has its data as JSON and its template id. */
struct rendered {
    char text[TPL_RENDER_MAX];
    size_t text_len;
    char *zns;                  /* cJSON_PrintUnformatted; freed by the caller */
    const char *zns_tid;        /* lives in the template set */
    struct sms_info info;
};

static void inflight_link(struct dispatcher *d, struct inflight *f)
{
    f->prev = NULL;
    f->next = d->inflight;
    if (d->inflight)
        d->inflight->prev = f;
    d->inflight = f;
    d->n_inflight++;
}

static void inflight_unlink(struct dispatcher *d, struct inflight *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        d->inflight = f->next;
    if (f->next)
        f->next->prev = f->prev;
    d->n_inflight--;
}

static void count_outcome(struct dispatch_gw *g, enum msg_state st)
{
    switch (st) {
    case MSG_SUBMITTED: g->n_submitted++; break;
    case MSG_DELIVERED: g->n_submitted++; g->n_delivered++; break;
    case MSG_FAILED: g->n_failed++; break;
    case MSG_RETRY_WAIT: g->n_tempfail++; break;
    case MSG_IN_DOUBT: g->n_in_doubt++; break;
    case MSG_FALLBACK: g->n_fallback++; break;
    default: break;
    }
}

/* The one line per delivery attempt, key=value: the address masked, never a name. */
static void log_attempt(const struct dispatch_gw *g, const struct inflight *f, const struct outcome *o,
                        const struct gw_result *r)
{
    log_info("event=submit campaign=%" PRId64 " msg=%" PRId64 " gw=%s to=%s parts=%d attempt=%d outcome=%s"
             " state=%s gw_msg_id=%s reason=\"%s\"",
             f->campaign_id, f->id, g->gw->name, f->to, f->parts, f->attempts, gateway_outcome_name(r->outcome),
             message_state_name(o->state), r->gateway_msg_id[0] ? r->gateway_msg_id : "-", o->reason);
}

static void dispatch_submit_done(void *arg, const struct gw_result *r)
{
    struct inflight *f = arg;
    struct dispatch_gw *g = f->g;
    struct dispatcher *d = g->d;
    inflight_unlink(d, f);
    const struct engine_settings *es = &d->e->settings.engine;
    struct outcome o;
    outcome_decide(r, f->attempts, es->max_attempts, es->retry_min_s, es->retry_max_s,
                   (double)random() / ((double)RAND_MAX + 1.0), &o);
    struct result res = {.campaign_id = f->campaign_id, .id = f->id, .state = o.state, .parts = f->parts,
                         .cost = o.sent ? f->cost : 0, .delay = o.delay_s,
                         .flags = (r->no_zalo_account ? 1 : 0) | (r->phone_invalid ? 2 : 0)};
    snprintf(res.reason, sizeof res.reason, "%s", o.reason);
    snprintf(res.gwid, sizeof res.gwid, "%s", r->gateway_msg_id);
    result_batch_push(&g->results, &res);
    if (d->drain == DRAIN_DONE) {
        /* The daemon stopped waiting, but the pool is still open until the HTTP client has
         * closed: write the answer now, while it can be; unwritten, lease expiry settles it. */
        log_warn("event=submit_after_shutdown campaign=%" PRId64 " msg=%" PRId64 " gw=%s outcome=%s",
                 f->campaign_id, f->id, g->gw->name, gateway_outcome_name(r->outcome));
        result_batch_flush(&g->results);
        free(f);
        return;
    }
    double rate_before = g->th.rate;
    throttle_done(&g->th, o.feedback, o.sent);
    if (rate_before < g->th.rate_max && g->th.rate >= g->th.rate_max)
        log_info("event=gateway_rate_restored gw=%s rate=%g", g->gw->name, g->th.rate);
    count_outcome(g, o.state);
    log_attempt(g, f, &o, r);
    dispatch_act_on(g, f, r);
    dispatch_breaker_note(g, r, dispatch_now_ms());
    free(f);
    if (dispatch_running(d))
        dispatch_pump(g);
    else
        dispatch_drain_check(d);
}

/* A result decided here, before anything was sent, counted under its state. */
static void row_result(struct dispatch_gw *g, int64_t cid, int64_t id, enum msg_state st, int delay,
                       const char *reason)
{
    result_batch_simple(&g->results, cid, id, st, delay, reason);
    if (st == MSG_FAILED)
        g->n_failed++;
    else if (st == MSG_FALLBACK)
        g->n_fallback++;
}

/* A leased row whose campaign stopped running (paused, cancelled, ended) before it was handed
 * to the gateway: held back, never sent. loa_flush makes it pending again with its attempt given
 * back (cancelled or expired when its campaign was cancelled or has ended), so that a pause
 * takes effect at once and a resume sends it without delay. */
static void row_held(struct dispatch_gw *g, int64_t cid, int64_t id)
{
    row_result(g, cid, id, MSG_PENDING, 0, "campaign not running");
}

/* The step of the row's campaign, or NULL when a result was recorded instead. */
static struct cached_step *row_step(struct dispatch_gw *g, int64_t cid, int64_t id, int position,
                                    struct cached_campaign **kp)
{
    struct cached_campaign *k = campaign_cache_find(&g->d->campaigns, cid);
    struct cached_step *s = k && k->st == CACHED_READY ? cached_campaign_step(k, position) : NULL;
    if (!s) {
        /* Its templates went away between the lease and now (the campaign stopped running). */
        row_held(g, cid, id);
        return NULL;
    }
    if (s->stopped) {
        row_result(g, cid, id, MSG_FALLBACK, 0, s->stop_reason);
        return NULL;
    }
    *kp = k;
    return s;
}

/* Renders the row for its step's channel. -1 when a result (failed) was recorded instead. */
static int row_render(struct dispatch_gw *g, int64_t cid, int64_t id, const struct cached_campaign *k,
                      const struct cached_step *s, const struct tpl_citizen *c, struct rendered *out)
{
    char why[200];
    out->zns = NULL;
    out->zns_tid = NULL;
    out->text_len = 0;
    out->info = (struct sms_info){.coding = SMS_GSM7, .units = 0, .parts = 1};
    if (s->set->channel == TPL_SMS) {
        int n = template_set_render_sms(s->set, c, k->env, out->text, sizeof out->text, &out->info);
        if (n < 0) {
            row_result(g, cid, id, MSG_FAILED, 0, "template cannot be rendered for this citizen");
            return -1;
        }
        out->text_len = (size_t)n;
        if (out->info.parts > g->set->max_parts) {
            struct result r = {.campaign_id = cid, .id = id, .state = MSG_FAILED, .parts = out->info.parts};
            snprintf(r.reason, sizeof r.reason, "too many parts (%d > %d)", out->info.parts, g->set->max_parts);
            result_batch_push(&g->results, &r);
            g->n_failed++;
            return -1;
        }
        return 0;
    }
    cJSON *data = NULL;
    if (template_render_zns(s->set, c, k->env, &data, why, sizeof why) < 0) {
        row_result(g, cid, id, MSG_FAILED, 0, why);
        return -1;
    }
    out->zns = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    const struct tpl_variant *v = template_set_pick(s->set, c->language);
    out->zns_tid = v ? v->zns_template_id : NULL;
    out->text[0] = '\0';
    return 0;
}

static char *copy_in(char **p, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *at = memcpy(*p, s, n);
    *p += n;
    return at;
}

/* The in-flight record of row ID of campaign CID, holding every string M points to; NULL
 * without memory. */
static struct inflight *inflight_new(struct dispatch_gw *g, int64_t cid, int64_t id, int attempts, int position,
                                     const struct tpl_citizen *c, const struct rendered *rd)
{
    size_t len = (c->phone ? strlen(c->phone) + 1 : 0) + (c->zalo_user_id ? strlen(c->zalo_user_id) + 1 : 0) +
                 (rd->zns_tid ? strlen(rd->zns_tid) + 1 : 0) + (rd->zns ? strlen(rd->zns) + 1 : 0) + rd->text_len + 1;
    struct inflight *f = malloc(sizeof *f + len);
    if (!f)
        return NULL;
    struct gw_message *m = &f->m;
    *m = (struct gw_message){.campaign_id = cid, .message_id = id, .attempts = attempts - 1,
                             .coding = rd->info.coding, .parts = rd->info.parts};
    char *p = f->buf;
    m->phone = copy_in(&p, c->phone);
    m->zalo_user_id = copy_in(&p, c->zalo_user_id);
    m->zns_template_id = copy_in(&p, rd->zns_tid);
    m->zns_data_json = copy_in(&p, rd->zns);
    memcpy(p, rd->text, rd->text_len);
    p[rd->text_len] = '\0';
    m->text = p;
    m->text_len = rd->text_len;
    f->g = g;
    f->campaign_id = cid;
    f->id = id;
    f->citizen_id = c->id;
    f->attempts = attempts;
    f->parts = rd->info.parts;
    f->step = position;
    f->cost = rd->info.parts * g->set->price_per_part_vnd;
    log_mask_phone(c->phone ? c->phone : c->zalo_user_id, f->to, sizeof f->to);
    return f;
}

/* Hands F to the gateway. When the submit cannot start nothing was sent: a missing address is
 * permanent for this channel, anything else is tried later. */
static void submit_start(struct dispatch_gw *g, struct inflight *f, int64_t now, long day)
{
    struct dispatcher *d = g->d;
    inflight_link(d, f);
    throttle_start(&g->th, now, day, f->parts);
    if (g->gw->type->submit(g->gw, &f->m, dispatch_submit_done, f) == 0) {
        /* While the circuit is open the pump sends one message at a time: this is its probe. */
        dispatch_breaker_probe(g);
        return;
    }
    inflight_unlink(d, f);
    throttle_done(&g->th, THROTTLE_OK, false);
    if (f->no_addr) {
        row_result(g, f->campaign_id, f->id, MSG_FAILED, 0, "no usable address");
    } else {
        row_result(g, f->campaign_id, f->id, MSG_RETRY_WAIT, d->e->settings.engine.retry_min_s,
                   "submit could not start");
        g->n_tempfail++;
    }
    free(f);
}

void dispatch_row(struct dispatch_gw *g, PGresult *res, int row, int64_t now, long day)
{
    int64_t cid = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    int64_t id = strtoll(PQgetvalue(res, row, 1), NULL, 10);
    int position = atoi(PQgetvalue(res, row, 2));
    int attempts = atoi(PQgetvalue(res, row, 3));
    struct tpl_citizen c;
    tpl_citizen_from_row(res, row, 4, &c);
    struct cached_campaign *k = NULL;
    struct cached_step *s = row_step(g, cid, id, position, &k);
    if (!s)
        return;
    if (dispatch_optout_has(g->d, c.id, s->channel, now)) {
        /* Opted out while this lease was running: its opt-out could not see the row. */
        row_result(g, cid, id, MSG_SUPPRESSED, 0, "opted out while leased");
        return;
    }
    struct rendered rd;
    if (row_render(g, cid, id, k, s, &c, &rd) < 0)
        return;
    struct inflight *f = inflight_new(g, cid, id, attempts, position, &c, &rd);
    free(rd.zns);       /* copied into F */
    if (!f) {
        row_result(g, cid, id, MSG_RETRY_WAIT, g->d->e->settings.engine.retry_min_s, "out of memory");
        return;
    }
    f->no_addr = strcmp(s->channel, "sms") == 0 ? !c.phone : !c.phone && !c.zalo_user_id;
    snprintf(f->channel, sizeof f->channel, "%s", s->channel);
    /* Into the ready queue; dispatch_submit_ready() sends it as soon as the throttle has room. */
    f->next = NULL;
    if (g->ready_tail)
        g->ready_tail->next = f;
    else
        g->ready_head = f;
    g->ready_tail = f;
    g->n_ready++;
}

static struct inflight *ready_pop(struct dispatch_gw *g)
{
    struct inflight *f = g->ready_head;
    if (!f)
        return NULL;
    g->ready_head = f->next;
    if (!g->ready_head)
        g->ready_tail = NULL;
    g->n_ready--;
    return f;
}

void dispatch_submit_ready(struct dispatch_gw *g, int64_t now, long day, int max)
{
    const struct engine_settings *es = &g->d->e->settings.engine;
    int64_t left_ms = g->th.pause_until_ms - now;
    if (g->ready_head && now < g->handover_until_ms && now < g->th.pause_until_ms) {
        /* Leased while the pause that handed the gateway's messages over began. */
        dispatch_ready_hand_over(g, "gateway paused");
        return;
    }
    if (g->ready_head && left_ms > (int64_t)es->lease_seconds * 500) {
        /* A pause the leases would not outlast (a short one is waited out here): what waits is
         * due again when it ends. A pause that hands the gateway's messages over has taken them
         * already (dispatch_ready_hand_over). */
        int64_t left_s = (left_ms + 999) / 1000;
        dispatch_ready_requeue(g, left_s > 86400 ? 86400 : (int)left_s, "gateway paused");
        return;
    }
    const struct policy_settings *pol = &g->d->e->settings.policy;
    int minute = dispatch_local_minute(g->d, now);
    for (int sent = 0; g->ready_head && (max < 0 || sent < max) && throttle_room(&g->th, now, day) > 0; sent++) {
        struct inflight *f = ready_pop(g);
        struct cached_campaign *k = campaign_cache_find(&g->d->campaigns, f->campaign_id);
        const struct cached_step *s = k && k->st == CACHED_READY ? cached_campaign_step(k, f->step) : NULL;
        if (s && !cached_campaign_sending(k, now, minute, pol->window_start_min, pol->window_end_min)) {
            /* Its window closed (or its end came) while it waited here. */
            row_held(g, f->campaign_id, f->id);
            free(f);
        } else if (!s) {
            /* The campaign stopped running while its message waited here. */
            row_held(g, f->campaign_id, f->id);
            free(f);
        } else if (s->stopped) {
            /* The gateway refused the step (Zalo -131) while the message waited. */
            row_result(g, f->campaign_id, f->id, MSG_FALLBACK, 0, s->stop_reason);
            free(f);
        } else {
            submit_start(g, f, now, day);
        }
    }
}

void dispatch_ready_hand_over(struct dispatch_gw *g, const char *reason)
{
    struct inflight *f;
    while ((f = ready_pop(g))) {
        row_result(g, f->campaign_id, f->id, MSG_FALLBACK, 0, reason);
        free(f);
    }
}

void dispatch_ready_requeue(struct dispatch_gw *g, int delay_s, const char *reason)
{
    struct inflight *f;
    while ((f = ready_pop(g))) {
        row_result(g, f->campaign_id, f->id, MSG_RETRY_WAIT, delay_s, reason);
        g->n_tempfail++;
        free(f);
    }
}

void dispatch_ready_return(struct dispatch_gw *g)
{
    struct inflight *f;
    while ((f = ready_pop(g))) {
        dispatch_drain_unsent_row(g->d, f->campaign_id, f->id);
        free(f);
    }
}

void dispatch_ready_drop(struct dispatch_gw *g, bool (*match)(void *arg, const struct inflight *f), void *arg,
                         enum msg_state st, const char *reason)
{
    struct inflight *keep_head = NULL, *keep_tail = NULL, *f;
    int kept = 0;
    while ((f = ready_pop(g))) {
        if (!match || match(arg, f)) {
            row_result(g, f->campaign_id, f->id, st, 0, reason);
            free(f);
            continue;
        }
        f->next = NULL;
        if (keep_tail)
            keep_tail->next = f;
        else
            keep_head = f;
        keep_tail = f;
        kept++;
    }
    g->ready_head = keep_head;
    g->ready_tail = keep_tail;
    g->n_ready = kept;
}

void dispatch_ready_discard(struct dispatch_gw *g)
{
    struct inflight *f;
    while ((f = ready_pop(g)))
        free(f);
}
