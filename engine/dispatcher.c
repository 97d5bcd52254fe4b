#include "engine/dispatcher.h"
#include "campaigns/template.h"
#include "core/config.h"
#include "engine/engine.h"
#include "core/log.h"
#include "engine/outcome.h"
#include "core/pgasync.h"
#include "engine/throttle.h"
#include "gateways/gateway.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Results are written in batches: one statement per FLUSH_MAX rows or FLUSH_MS milliseconds,
 * whichever comes first. This is what makes thousands of messages a second possible. */
enum { FLUSH_MAX = 500, FLUSH_MS = 5, MAX_STEPS = 8 };

/* ---- small growable text buffer for array literals ---- */

struct sbuf {
    char *p;
    size_t n, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort();
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}
static void sb_puts(struct sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_int(struct sbuf *b, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    sb_putn(b, t, (size_t)n);
}
/* An element of a text[] literal: always quoted, with " and \ escaped. */
static void sb_quoted(struct sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_puts(b, "\\");
        sb_putn(b, s, 1);
    }
    sb_puts(b, "\"");
}

/* ---- state ---- */

struct result {
    int64_t campaign_id, id;
    enum msg_state state;
    int parts, cost, delay, flags;
    char reason[160];
    char gwid[96];
};

struct dstep {
    int position;
    char channel[8];
    int64_t template_id;
    struct template_set *set;
    bool stopped;
    char stop_reason[160];
};

enum camp_state { CAMP_LOADING, CAMP_READY, CAMP_BROKEN };

struct dcamp {
    int64_t id;
    enum camp_state st;
    bool dead;                  /* no longer running: freed when its loading finishes */
    bool seen;
    long day;                   /* local day its tpl_env was made for */
    int nsteps, loading;
    struct dstep steps[MAX_STEPS];
    struct tpl_env *env;
    struct dispatcher *d;
    struct dcamp *next;
};

struct dgw;

/* One message between submit and answer. Its strings live here until the answer. */
struct inflight {
    struct dgw *g;
    int64_t campaign_id, id;
    int attempts, parts, cost, step;
    char to[LOG_MASK_LEN];
    struct inflight *prev, *next;
    char buf[];                 /* phone, zalo id, text, zns json */
};

struct dgw {
    struct dispatcher *d;
    struct gateway *gw;
    struct throttle th;
    uv_timer_t timer;           /* wakes the pump when tokens refill or a pause ends */
    uv_timer_t flush_timer;
    bool leasing, idle, state_loaded, loading_state, flushing_armed;
    int max_parts, price;
    struct result *res;         /* FLUSH_MAX pending results */
    int nres;
    unsigned flushes;           /* flush statements running */
    unsigned long n_submitted, n_delivered, n_failed, n_tempfail, n_in_doubt, n_fallback, n_leased;
};

struct dispatcher {
    struct engine *e;
    struct dgw *g;
    size_t ng;
    struct dcamp *camps;
    struct inflight *inflight;
    unsigned n_inflight;
    bool stopping, drained;
    long utc_offset_s;
    int64_t offset_checked_ms;
    char ready_ids[4096];       /* "{1,2,3}": campaigns whose templates are loaded */
    uv_timer_t grace_timer;
    void (*drain_done)(void *arg);
    void *drain_arg;
    int pending_closes;
    bool returning;
    int grace_polls;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The offset of [policy] timezone now, refreshed every ten minutes (daylight saving, if any). */
static long utc_offset(struct dispatcher *d, int64_t now)
{
    if (now - d->offset_checked_ms < 600000 && d->offset_checked_ms)
        return d->utc_offset_s;
    const char *tz = config_str(d->e->cfg, "policy", "timezone");
    char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", tz, 1);
    tzset();
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    d->utc_offset_s = tm.tm_gmtoff;
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
    d->offset_checked_ms = now;
    return d->utc_offset_s;
}

static long today(struct dispatcher *d, int64_t now) { return throttle_day(now, utc_offset(d, now)); }

static void dispatch_pump(struct dgw *g);
static void gw_state_load(struct dgw *g);
static void check_drained(struct dispatcher *d);
static void on_grace(uv_timer_t *t);

/* ---- results, flushed in batches ---- */

static void flush_done(void *arg, PGresult *res, const char *err)
{
    struct dgw *g = arg;
    g->flushes--;
    if (err)
        log_error("event=flush_failed gw=%s error=\"%s\" note=rows_stay_leased_until_expiry", g->gw->name, err);
    check_drained(g->d);
}

static void flush_run(struct dgw *g)
{
    if (g->nres == 0)
        return;
    struct engine *e = g->d->e;
    struct sbuf a[9] = {{0}};
    for (int k = 0; k < 9; k++)
        sb_puts(&a[k], "{");
    for (int i = 0; i < g->nres; i++) {
        struct result *r = &g->res[i];
        if (i)
            for (int k = 0; k < 9; k++)
                sb_puts(&a[k], ",");
        sb_int(&a[0], r->campaign_id);
        sb_int(&a[1], r->id);
        sb_quoted(&a[2], message_state_name(r->state));
        sb_quoted(&a[3], r->reason);
        sb_quoted(&a[4], r->gwid);
        sb_int(&a[5], r->parts);
        sb_int(&a[6], r->cost);
        sb_int(&a[7], r->delay);
        sb_int(&a[8], r->flags);
    }
    for (int k = 0; k < 9; k++)
        sb_puts(&a[k], "}");
    struct gateway *sms = engine_gateway_for_channel(e, "sms"), *zalo = engine_gateway_for_channel(e, "zalo");
    const char *p[13] = {g->gw->name, config_str(e->cfg, "policy", "timezone"), sms ? sms->name : "",
                         zalo ? zalo->name : "", a[0].p, a[1].p, a[2].p, a[3].p, a[4].p, a[5].p, a[6].p,
                         a[7].p, a[8].p};
    if (pgpool_query(e->db,
                     "SELECT loa_flush($1, $2, $3, $4, $5::bigint[], $6::bigint[], $7::text[], $8::text[],"
                     " $9::text[], $10::int[], $11::int[], $12::int[], $13::int[])",
                     13, p, flush_done, g) == 0)
        g->flushes++;
    else
        log_error("event=flush_failed gw=%s rows=%d error=pool_closed", g->gw->name, g->nres);
    g->nres = 0;
    for (int k = 0; k < 9; k++)
        free(a[k].p);
}

static void on_flush_timer(uv_timer_t *t)
{
    struct dgw *g = t->data;
    g->flushing_armed = false;
    flush_run(g);
}

static void result_push(struct dgw *g, const struct result *r)
{
    g->res[g->nres++] = *r;
    if (g->nres >= FLUSH_MAX) {
        if (g->flushing_armed) {
            uv_timer_stop(&g->flush_timer);
            g->flushing_armed = false;
        }
        flush_run(g);
    } else if (!g->flushing_armed) {
        g->flushing_armed = true;
        uv_timer_start(&g->flush_timer, on_flush_timer, FLUSH_MS, 0);
    }
}

static void result_simple(struct dgw *g, int64_t cid, int64_t id, enum msg_state st, int delay,
                          const char *reason)
{
    struct result r = {.campaign_id = cid, .id = id, .state = st, .delay = delay};
    snprintf(r.reason, sizeof r.reason, "%s", reason ? reason : "");
    result_push(g, &r);
}

/* ---- campaigns: templates and environments ---- */

static struct dcamp *camp_find(struct dispatcher *d, int64_t id)
{
    for (struct dcamp *k = d->camps; k; k = k->next)
        if (k->id == id && !k->dead)
            return k;
    return NULL;
}

static void camp_free(struct dcamp *k)
{
    for (int i = 0; i < k->nsteps; i++)
        template_set_free(k->steps[i].set);
    tpl_env_free(k->env);
    free(k);
}

static void camps_rebuild_ids(struct dispatcher *d)
{
    size_t j = 0;
    j += (size_t)snprintf(d->ready_ids + j, sizeof d->ready_ids - j, "{");
    for (struct dcamp *k = d->camps; k; k = k->next)
        if (k->st == CAMP_READY && !k->dead && j + 24 < sizeof d->ready_ids)
            j += (size_t)snprintf(d->ready_ids + j, sizeof d->ready_ids - j, "%s%" PRId64,
                                  d->ready_ids[j - 1] == '{' ? "" : ",", k->id);
    snprintf(d->ready_ids + j, sizeof d->ready_ids - j, "}");
}

/* Unlinks and frees campaigns marked dead whose loading has finished. */
static void camps_reap(struct dispatcher *d)
{
    for (struct dcamp **pp = &d->camps; *pp;) {
        struct dcamp *k = *pp;
        if (k->dead && k->loading == 0) {
            *pp = k->next;
            log_info("event=campaign_unloaded campaign=%" PRId64, k->id);
            camp_free(k);
        } else {
            pp = &k->next;
        }
    }
    camps_rebuild_ids(d);
}

static void camp_broken(struct dcamp *k, const char *why)
{
    k->st = CAMP_BROKEN;
    log_error("event=campaign_unusable campaign=%" PRId64 " reason=\"%s\" note=not_leased_until_fixed", k->id, why);
}

static void camp_load_policy_done(void *arg, PGresult *res, const char *err)
{
    struct dcamp *k = arg;
    k->loading--;
    char why[300];
    if (k->dead) {
        camps_reap(k->d);
        return;
    }
    if (err) {
        camp_broken(k, err);
    } else if (tpl_env_load_policy(k->env, res, why, sizeof why) < 0) {
        camp_broken(k, why);
    } else {
        k->st = CAMP_READY;
        log_info("event=campaign_loaded campaign=%" PRId64 " steps=%d", k->id, k->nsteps);
        camps_rebuild_ids(k->d);
        dispatcher_kick(k->d);
    }
}

static void camp_load_variants_done(void *arg, PGresult *res, const char *err);

/* Loads the variants of the next step without a set, else the policy figures. */
static void camp_load_next(struct dcamp *k)
{
    struct engine *e = k->d->e;
    for (int i = 0; i < k->nsteps; i++) {
        if (k->steps[i].set)
            continue;
        char tid[24];
        snprintf(tid, sizeof tid, "%" PRId64, k->steps[i].template_id);
        const char *p[1] = {tid};
        if (pgpool_query(e->db, TPL_VARIANTS_SQL, 1, p, camp_load_variants_done, k) == 0)
            k->loading++;
        return;
    }
    if (pgpool_query(e->db, TPL_POLICY_SQL, 0, NULL, camp_load_policy_done, k) == 0)
        k->loading++;
}

static void camp_load_variants_done(void *arg, PGresult *res, const char *err)
{
    struct dcamp *k = arg;
    k->loading--;
    if (k->dead) {
        camps_reap(k->d);
        return;
    }
    if (err) {
        camp_broken(k, err);
        return;
    }
    char why[300];
    for (int i = 0; i < k->nsteps; i++) {
        if (k->steps[i].set)
            continue;
        k->steps[i].set = template_set_from_result(res, why, sizeof why);
        if (!k->steps[i].set) {
            camp_broken(k, why);
            return;
        }
        break;
    }
    camp_load_next(k);
}

static void camp_load_steps_done(void *arg, PGresult *res, const char *err)
{
    struct dcamp *k = arg;
    k->loading--;
    if (k->dead) {
        camps_reap(k->d);
        return;
    }
    if (err) {
        camp_broken(k, err);
        return;
    }
    int n = PQntuples(res);
    if (n == 0 || n > MAX_STEPS) {
        camp_broken(k, n ? "more than 8 channel steps" : "no channel steps");
        return;
    }
    for (int i = 0; i < n; i++) {
        struct dstep *s = &k->steps[i];
        s->position = atoi(PQgetvalue(res, i, 0));
        snprintf(s->channel, sizeof s->channel, "%s", PQgetvalue(res, i, 1));
        s->template_id = strtoll(PQgetvalue(res, i, 2), NULL, 10);
    }
    k->nsteps = n;
    camp_load_next(k);
}

static void camp_load(struct dispatcher *d, int64_t id)
{
    struct dcamp *k = calloc(1, sizeof *k);
    if (!k)
        return;
    k->id = id;
    k->d = d;
    k->seen = true;
    k->st = CAMP_LOADING;
    k->day = today(d, now_ms());
    k->env = tpl_env_new(d->e->cfg);
    if (!k->env) {
        free(k);
        return;
    }
    k->next = d->camps;
    d->camps = k;
    char cid[24];
    snprintf(cid, sizeof cid, "%" PRId64, id);
    const char *p[1] = {cid};
    if (pgpool_query(d->e->db,
                     "SELECT position, channel, template_id FROM campaign_channels WHERE campaign_id = $1::bigint ORDER BY position",
                     1, p, camp_load_steps_done, k) == 0)
        k->loading++;
    else
        k->dead = true;
}

void dispatcher_campaigns_sync(struct dispatcher *d, const int64_t *ids, size_t n)
{
    if (d->stopping)
        return;
    long day = today(d, now_ms());
    for (struct dcamp *k = d->camps; k; k = k->next)
        k->seen = false;
    for (size_t i = 0; i < n; i++) {
        struct dcamp *k = camp_find(d, ids[i]);
        /* A new local day: ages and policy figures are recomputed for it. */
        if (k && k->day != day && k->st != CAMP_LOADING) {
            k->dead = true;
            k = NULL;
        }
        if (k)
            k->seen = true;
        else
            camp_load(d, ids[i]);
    }
    for (struct dcamp *k = d->camps; k; k = k->next)
        if (!k->seen)
            k->dead = true;
    camps_reap(d);
}

static struct dstep *camp_step(struct dcamp *k, int position)
{
    for (int i = 0; i < k->nsteps; i++)
        if (k->steps[i].position == position)
            return &k->steps[i];
    return NULL;
}

/* ---- gateway actions beyond one message ---- */

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
static void handover(struct dgw *g, int64_t cid, int step, const char *reason)
{
    struct engine *e = g->d->e;
    struct gateway *sms = engine_gateway_for_channel(e, "sms"), *zalo = engine_gateway_for_channel(e, "zalo");
    char c[24], s[16];
    snprintf(c, sizeof c, "%" PRId64, cid);
    snprintf(s, sizeof s, "%d", step);
    const char *p[6] = {g->gw->name, cid > 0 ? c : NULL, cid > 0 ? s : NULL, reason, sms ? sms->name : "",
                        zalo ? zalo->name : ""};
    char *what = malloc(160);
    if (!what)
        return;
    snprintf(what, 160, "gw=%s campaign=%" PRId64 " step=%d", g->gw->name, cid, step);
    if (pgpool_query(e->db, "SELECT loa_handover($1, $2::bigint, $3::smallint, $4, $5, $6)", 6, p, handover_done, what) < 0)
        free(what);
}

static void state_saved(void *arg, PGresult *res, const char *err)
{
    if (err)
        log_warn("event=gateway_state_save_failed error=\"%s\"", err);
}

/* The end of today's policy window, as unix milliseconds. */
static int64_t window_end_today_ms(struct dispatcher *d, int64_t now)
{
    int ws, we;
    if (config_parse_window(config_str(d->e->cfg, "policy", "window"), &ws, &we) < 0)
        we = 24 * 60;
    long off = utc_offset(d, now);
    int64_t local_midnight_s = (int64_t)throttle_day(now, off) * 86400 - off;
    return (local_midnight_s + (int64_t)we * 60) * 1000;
}

static void act_on(struct dgw *g, const struct inflight *f, int step, const struct gw_result *r)
{
    int64_t now = now_ms();
    switch (r->action) {
    case GW_ACT_NONE:
        break;
    case GW_ACT_BACKOFF: {
        /* Bounded like the refused message's own retry (outcome_decide): the gateway is not kept
         * idle longer than the engine would make that message wait. */
        int secs = r->retry_after_s > 0 ? r->retry_after_s : 1;
        int max_s = (int)config_int(g->d->e->cfg, "engine", "retry_max_seconds");
        if (secs > max_s)
            secs = max_s;
        throttle_pause(&g->th, now + secs * 1000LL);
        log_warn("event=gateway_backoff gw=%s window=%d seconds=%d", g->gw->name, throttle_window(&g->th), secs);
        break;
    }
    case GW_ACT_PAUSE: {
        int64_t until = r->pause_until * 1000;
        throttle_pause(&g->th, until);
        char v[24];
        snprintf(v, sizeof v, "%" PRId64, r->pause_until);
        const char *p[2] = {g->gw->name, v};
        pgpool_query(g->d->e->db,
                     "INSERT INTO gateway_state (gateway, key, value) VALUES ($1, 'pause_until', $2) "
                     "ON CONFLICT (gateway, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                     2, p, state_saved, NULL);
        log_warn("event=gateway_paused gw=%s until=%" PRId64 " reason=\"%s\"", g->gw->name, r->pause_until, r->reason);
        /* A pause that lasts to the end of today's window or past it (a spent quota) would keep
         * citizens waiting until tomorrow while a later channel could reach them today: hand those
         * messages over. A shorter pause is waited out. `>=`, not `>`: with a 00:00-24:00 window
         * the window ends at local midnight, exactly when a daily-limit pause ends, and nothing
         * of today is left to wait for. */
        if (until >= window_end_today_ms(g->d, now))
            handover(g, 0, 0, "gateway paused");
        break;
    }
    case GW_ACT_STOP_STEP: {
        struct dcamp *k = camp_find(g->d, f->campaign_id);
        struct dstep *s = k ? camp_step(k, step) : NULL;
        if (s && !s->stopped) {
            s->stopped = true;
            snprintf(s->stop_reason, sizeof s->stop_reason, "step stopped: %s", r->reason);
            log_warn("event=step_stopped campaign=%" PRId64 " step=%d gw=%s reason=\"%s\"", f->campaign_id, step,
                     g->gw->name, r->reason);
            handover(g, f->campaign_id, step, s->stop_reason);
        }
        break;
    }
    }
}

/* ---- submitting ---- */

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

static void count_outcome(struct dgw *g, enum msg_state st)
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

static void log_submit(const struct dgw *g, const struct inflight *f, const struct outcome *o,
                       enum gw_outcome gwo)
{
    log_info("event=submit campaign=%" PRId64 " msg=%" PRId64 " gw=%s to=%s parts=%d attempt=%d outcome=%s state=%s reason=\"%s\"",
             f->campaign_id, f->id, g->gw->name, f->to, f->parts, f->attempts, gateway_outcome_name(gwo),
             message_state_name(o->state), o->reason);
}

static void dispatch_submit_done(void *arg, const struct gw_result *r)
{
    struct inflight *f = arg;
    struct dgw *g = f->g;
    struct dispatcher *d = g->d;
    inflight_unlink(d, f);
    if (d->drained) {
        /* The daemon stopped waiting: the row stays leased and lease expiry makes it in_doubt. */
        log_warn("event=submit_after_shutdown campaign=%" PRId64 " msg=%" PRId64 " gw=%s outcome=%s",
                 f->campaign_id, f->id, g->gw->name, gateway_outcome_name(r->outcome));
        free(f);
        return;
    }
    const struct config *cfg = d->e->cfg;
    struct outcome o;
    outcome_decide(r, f->attempts, (int)config_int(cfg, "engine", "max_attempts"),
                   (int)config_int(cfg, "engine", "retry_min_seconds"),
                   (int)config_int(cfg, "engine", "retry_max_seconds"), (double)random() / ((double)RAND_MAX + 1.0), &o);
    struct result res = {.campaign_id = f->campaign_id, .id = f->id, .state = o.state, .parts = f->parts,
                         .cost = o.sent ? f->cost : 0, .delay = o.delay_s,
                         .flags = (r->no_zalo_account ? 1 : 0) | (r->phone_invalid ? 2 : 0)};
    snprintf(res.reason, sizeof res.reason, "%s", o.reason);
    snprintf(res.gwid, sizeof res.gwid, "%s", r->gateway_msg_id);
    result_push(g, &res);
    throttle_done(&g->th, o.feedback, o.sent);
    count_outcome(g, o.state);
    log_submit(g, f, &o, r->outcome);
    act_on(g, f, f->step, r);
    free(f);
    if (d->stopping)
        check_drained(d);
    else
        dispatch_pump(g);
}

/* Renders and submits row ROW of a lease result. Every path records exactly one result or
 * leaves an in-flight request that will. */
static void dispatch_row(struct dgw *g, PGresult *res, int row, int64_t now, long day)
{
    struct dispatcher *d = g->d;
    int64_t cid = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    int64_t id = strtoll(PQgetvalue(res, row, 1), NULL, 10);
    int position = atoi(PQgetvalue(res, row, 2));
    int attempts = atoi(PQgetvalue(res, row, 3));
    struct tpl_citizen c;
    tpl_citizen_from_row(res, row, 4, &c);
    struct dcamp *k = camp_find(d, cid);
    struct dstep *s = k && k->st == CAMP_READY ? camp_step(k, position) : NULL;
    int rmin = (int)config_int(d->e->cfg, "engine", "retry_min_seconds");
    if (!s) {
        /* Its templates went away between the lease and now (the campaign stopped running). */
        result_simple(g, cid, id, MSG_RETRY_WAIT, rmin, "campaign not loaded");
        return;
    }
    if (s->stopped) {
        result_simple(g, cid, id, MSG_FALLBACK, 0, s->stop_reason);
        g->n_fallback++;
        return;
    }
    char text[TPL_RENDER_MAX];
    size_t text_len = 0;
    char *zns = NULL;
    const char *zns_tid = NULL;
    struct sms_info info = {.coding = SMS_GSM7, .units = 0, .parts = 1};
    char why[200];
    if (s->set->channel == TPL_SMS) {
        int n = template_set_render_sms(s->set, &c, k->env, text, sizeof text, &info);
        if (n < 0) {
            result_simple(g, cid, id, MSG_FAILED, 0, "template cannot be rendered for this citizen");
            g->n_failed++;
            return;
        }
        text_len = (size_t)n;
        if (info.parts > g->max_parts) {
            snprintf(why, sizeof why, "too many parts (%d > %d)", info.parts, g->max_parts);
            struct result r = {.campaign_id = cid, .id = id, .state = MSG_FAILED, .parts = info.parts};
            snprintf(r.reason, sizeof r.reason, "%s", why);
            result_push(g, &r);
            g->n_failed++;
            return;
        }
    } else {
        cJSON *data = NULL;
        if (template_render_zns(s->set, &c, k->env, &data, why, sizeof why) < 0) {
            result_simple(g, cid, id, MSG_FAILED, 0, why);
            g->n_failed++;
            return;
        }
        zns = cJSON_PrintUnformatted(data);
        cJSON_Delete(data);
        const struct tpl_variant *v = template_set_pick(s->set, c.language);
        zns_tid = v ? v->zns_template_id : NULL;
        text[0] = '\0';
    }
    size_t lp = c.phone ? strlen(c.phone) + 1 : 0, lz = c.zalo_user_id ? strlen(c.zalo_user_id) + 1 : 0;
    size_t lt = zns_tid ? strlen(zns_tid) + 1 : 0, lj = zns ? strlen(zns) + 1 : 0;
    struct inflight *f = malloc(sizeof *f + lp + lz + lt + lj + text_len + 1);
    if (!f) {
        free(zns);
        result_simple(g, cid, id, MSG_RETRY_WAIT, rmin, "out of memory");
        return;
    }
    char *p = f->buf;
    struct gw_message m = {.campaign_id = cid, .message_id = id, .attempts = attempts - 1,
                           .coding = info.coding, .parts = info.parts};
    if (lp) { memcpy(p, c.phone, lp); m.phone = p; p += lp; }
    if (lz) { memcpy(p, c.zalo_user_id, lz); m.zalo_user_id = p; p += lz; }
    if (lt) { memcpy(p, zns_tid, lt); m.zns_template_id = p; p += lt; }
    if (lj) { memcpy(p, zns, lj); m.zns_data_json = p; p += lj; }
    memcpy(p, text, text_len);
    p[text_len] = '\0';
    m.text = p;
    m.text_len = text_len;
    free(zns);
    f->g = g;
    f->campaign_id = cid;
    f->id = id;
    f->attempts = attempts;
    f->parts = info.parts;
    f->step = position;
    f->cost = info.parts * g->price;
    log_mask_phone(c.phone ? c.phone : c.zalo_user_id, f->to, sizeof f->to);
    f->prev = NULL;
    f->next = d->inflight;
    if (d->inflight)
        d->inflight->prev = f;
    d->inflight = f;
    d->n_inflight++;
    throttle_start(&g->th, now, day, info.parts);
    if (g->gw->type->submit(g->gw, &m, dispatch_submit_done, f) < 0) {
        inflight_unlink(d, f);
        throttle_done(&g->th, THROTTLE_OK, false);
        /* Nothing was sent: a missing address is permanent for this channel, else try later. */
        bool no_addr = strcmp(s->channel, "sms") == 0 ? !c.phone : !c.phone && !c.zalo_user_id;
        result_simple(g, cid, id, no_addr ? MSG_FAILED : MSG_RETRY_WAIT, no_addr ? 0 : rmin,
                      no_addr ? "no usable address" : "submit could not start");
        if (no_addr)
            g->n_failed++;
        else
            g->n_tempfail++;
        free(f);
    }
}

static void dispatch_lease_done(void *arg, PGresult *res, const char *err)
{
    struct dgw *g = arg;
    struct dispatcher *d = g->d;
    g->leasing = false;
    if (err) {
        log_warn("event=lease_failed gw=%s error=\"%s\"", g->gw->name, err);
        g->idle = true;
        check_drained(d);
        return;
    }
    int n = PQntuples(res);
    g->n_leased += (unsigned long)n;
    if (d->stopping) {
        /* Leased after the stop: returned to pending by dispatch_return_unsent(). */
        check_drained(d);
        return;
    }
    int64_t now = now_ms();
    long day = today(d, now);
    for (int i = 0; i < n; i++)
        dispatch_row(g, res, i, now, day);
    /* Fewer rows than asked: nothing more is due now; wait for the next tick or kick. */
    g->idle = n == 0;
    dispatch_pump(g);
}

static void on_gw_timer(uv_timer_t *t)
{
    struct dgw *g = t->data;
    dispatch_pump(g);
}

static void dispatch_pump(struct dgw *g)
{
    struct dispatcher *d = g->d;
    if (d->stopping || g->leasing || g->idle || !g->state_loaded)
        return;
    if (strcmp(d->ready_ids, "{}") == 0)
        return;
    if (g->gw->type->ready && !g->gw->type->ready(g->gw)) {
        uv_timer_start(&g->timer, on_gw_timer, 1000, 0);
        return;
    }
    int64_t now = now_ms();
    long day = today(d, now);
    int room = throttle_room(&g->th, now, day);
    if (room <= 0) {
        int64_t w = throttle_wait_ms(&g->th, now, day);
        /* -1: only an answer (which pumps) or a new day (the tick kicks) opens the window. */
        if (w > 0)
            uv_timer_start(&g->timer, on_gw_timer, (uint64_t)w, 0);
        return;
    }
    const struct config *cfg = d->e->cfg;
    long batch = config_int(cfg, "engine", "lease_batch");
    if (room > batch)
        room = (int)batch;
    /* A lease is a round trip: with answers still to come, wait until a good part of the window
     * is free rather than leasing one row per answer (each answer pumps again). */
    long want = throttle_window(&g->th) / 2;
    if (want > batch)
        want = batch;
    if (g->th.in_flight > 0 && room < want)
        return;
    int ws, we;
    if (config_parse_window(config_str(cfg, "policy", "window"), &ws, &we) < 0) {
        ws = 0;
        we = 1440;
    }
    char n[16], secs[16], wstart[8], wend[8];
    snprintf(n, sizeof n, "%d", room);
    snprintf(secs, sizeof secs, "%ld", config_int(cfg, "engine", "lease_seconds"));
    snprintf(wstart, sizeof wstart, "%02d:%02d", ws / 60, ws % 60);
    snprintf(wend, sizeof wend, "%02d:%02d", we / 60, we % 60);
    const char *p[9] = {g->gw->name, d->e->instance, n, secs, d->ready_ids,
                        config_str(cfg, "policy", "timezone"), wstart, wend,
                        g->gw->type->idempotent ? "true" : "false"};
    if (pgpool_query(d->e->db,
                     "SELECT * FROM loa_lease($1, $2, $3::int, $4::int, $5::bigint[], $6, $7::time, $8::time, $9::boolean)",
                     9, p, dispatch_lease_done, g) == 0)
        g->leasing = true;
}

void dispatcher_kick(struct dispatcher *d)
{
    for (size_t i = 0; i < d->ng; i++) {
        d->g[i].idle = false;
        if (!d->g[i].state_loaded)
            gw_state_load(&d->g[i]);
        dispatch_pump(&d->g[i]);
    }
}

/* ---- start: the quota count and pause of today, kept in gateway_state ---- */

static void gw_state_done(void *arg, PGresult *res, const char *err)
{
    struct dgw *g = arg;
    g->loading_state = false;
    if (err) {
        log_warn("event=gateway_state_load_failed gw=%s error=\"%s\" note=retrying", g->gw->name, err);
        return;     /* the next kick tries again; no leasing before the quota is known */
    }
    int64_t now = now_ms();
    long day = today(g->d, now);
    for (int i = 0; i < PQntuples(res); i++) {
        const char *key = PQgetvalue(res, i, 0), *val = PQgetvalue(res, i, 1);
        if (strcmp(key, "pause_until") == 0)
            throttle_pause(&g->th, strtoll(val, NULL, 10) * 1000);
        else
            throttle_quota_restore(&g->th, day, strtol(val, NULL, 10));
    }
    g->state_loaded = true;
    log_info("event=gateway_ready gw=%s rate=%g window=%d daily_quota=%ld used_today=%ld", g->gw->name, g->th.rate,
             throttle_window(&g->th), g->th.daily_quota, g->th.used_today);
    dispatch_pump(g);
}

static void gw_state_load(struct dgw *g)
{
    if (g->state_loaded || g->loading_state)
        return;
    const char *p[2] = {g->gw->name, config_str(g->d->e->cfg, "policy", "timezone")};
    if (pgpool_query(g->d->e->db,
                     "SELECT key, value FROM gateway_state WHERE gateway = $1 AND "
                     "key IN ('pause_until', 'quota:' || to_char(now() AT TIME ZONE $2, 'YYYY-MM-DD'))",
                     2, p, gw_state_done, g) == 0)
        g->loading_state = true;
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
    snprintf(d->ready_ids, sizeof d->ready_ids, "{}");
    srandom((unsigned)now_ms() ^ (unsigned)getpid());
    int64_t now = now_ms();
    for (size_t i = 0; i < d->ng; i++) {
        struct dgw *g = &d->g[i];
        struct gateway *gw = e->gateways[i];
        g->d = d;
        g->gw = gw;
        g->max_parts = (int)config_int(e->cfg, gw->section, "max_parts");
        g->price = (int)config_int(e->cfg, gw->section, "price_per_part_vnd");
        throttle_init(&g->th, config_double(e->cfg, gw->section, "rate"),
                      (int)config_int(e->cfg, gw->section, "concurrency"),
                      config_int(e->cfg, gw->section, "daily_quota"), now);
        g->res = calloc(FLUSH_MAX, sizeof *g->res);
        if (!g->res)
            abort();
        uv_timer_init(e->loop, &g->timer);
        g->timer.data = g;
        uv_timer_init(e->loop, &g->flush_timer);
        g->flush_timer.data = g;
        gw_state_load(g);
    }
    uv_timer_init(e->loop, &d->grace_timer);
    d->grace_timer.data = d;
    return d;
}

/* ---- draining at shutdown ---- */

static void return_done(void *arg, PGresult *res, const char *err)
{
    struct dispatcher *d = arg;
    if (d->drained)
        return;     /* the grace timer gave up on this statement already */
    uv_timer_stop(&d->grace_timer);
    if (err)
        log_error("event=lease_return_failed error=\"%s\" note=rows_become_due_at_lease_expiry", err);
    else if (atoi(PQcmdTuples(res)) > 0)
        log_info("event=lease_returned rows=%s", PQcmdTuples(res));
    d->drained = true;
    if (d->drain_done)
        d->drain_done(d->drain_arg);
}

/* Leased by this instance and not in flight: never sent, so back to pending with the attempt
 * given back. Rows still in flight are left leased on purpose. */
static void dispatch_return_unsent(struct dispatcher *d)
{
    d->returning = true;
    /* Without a database nothing was leased since it went away, and a statement would wait for
     * a connection for ever. The grace timer still runs, in case one is queued anyway. */
    if (!pgpool_healthy(d->e->db)) {
        return_done(d, NULL, "database unreachable");
        return;
    }
    uv_timer_start(&d->grace_timer, on_grace, 5000, 0);
    struct sbuf c = {0}, m = {0};
    sb_puts(&c, "{");
    sb_puts(&m, "{");
    for (struct inflight *f = d->inflight; f; f = f->next) {
        if (f != d->inflight) {
            sb_puts(&c, ",");
            sb_puts(&m, ",");
        }
        sb_int(&c, f->campaign_id);
        sb_int(&m, f->id);
    }
    sb_puts(&c, "}");
    sb_puts(&m, "}");
    const char *p[3] = {d->e->instance, c.p, m.p};
    int rc = pgpool_query(d->e->db,
                          "SELECT campaign_id, id FROM loa_return_unsent($1, $2::bigint[], $3::bigint[])",
                          3, p, return_done, d);
    free(c.p);
    free(m.p);
    if (rc < 0)
        return_done(d, NULL, "pool closed");
}

static void check_drained(struct dispatcher *d)
{
    if (!d->stopping || d->returning)
        return;
    for (size_t i = 0; i < d->ng; i++) {
        struct dgw *g = &d->g[i];
        if (g->leasing)
            return;
        if (g->nres > 0 && d->n_inflight == 0) {
            uv_timer_stop(&g->flush_timer);
            g->flushing_armed = false;
            flush_run(g);
        }
    }
    if (d->n_inflight > 0)
        return;
    for (size_t i = 0; i < d->ng; i++)
        if (d->g[i].flushes > 0 || d->g[i].nres > 0)
            return;
    uv_timer_stop(&d->grace_timer);
    dispatch_return_unsent(d);
}

static void on_grace(uv_timer_t *t)
{
    struct dispatcher *d = t->data;
    if (d->returning) {
        /* The statement returning unsent leases did not finish in time: lease expiry will. */
        return_done(d, NULL, "timed out");
        return;
    }
    log_warn("event=shutdown_grace_over in_flight=%u note=left_leased_for_lease_expiry", d->n_inflight);
    for (size_t i = 0; i < d->ng; i++) {
        struct dgw *g = &d->g[i];
        uv_timer_stop(&g->flush_timer);
        g->flushing_armed = false;
        flush_run(g);
    }
    bool busy = false;
    for (size_t i = 0; i < d->ng; i++)
        busy |= d->g[i].leasing || d->g[i].flushes > 0;
    if (busy && ++d->grace_polls < 100) {
        /* A statement is still running; look again shortly (its callback may also finish us).
         * After five more seconds (the database is gone) stop waiting for it. */
        uv_timer_start(&d->grace_timer, on_grace, 50, 0);
        return;
    }
    if (busy) {
        return_done(d, NULL, "statements still running after the grace time");
        return;
    }
    dispatch_return_unsent(d);
}

void dispatcher_drain(struct dispatcher *d, long grace_ms, void (*done)(void *arg), void *arg)
{
    d->stopping = true;
    d->drain_done = done;
    d->drain_arg = arg;
    for (size_t i = 0; i < d->ng; i++)
        uv_timer_stop(&d->g[i].timer);
    log_info("event=draining in_flight=%u grace_ms=%ld", d->n_inflight, grace_ms);
    uv_timer_start(&d->grace_timer, on_grace, (uint64_t)(grace_ms > 0 ? grace_ms : 1), 0);
    check_drained(d);
}

/* The timers live inside the dispatcher: it is freed from the last close callback. */
static void handle_closed(uv_handle_t *h)
{
    struct dispatcher *d = h->data;
    if (--d->pending_closes > 0)
        return;
    for (size_t i = 0; i < d->ng; i++)
        free(d->g[i].res);
    while (d->camps) {
        struct dcamp *k = d->camps;
        d->camps = k->next;
        camp_free(k);
    }
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
    d->pending_closes = (int)(2 * d->ng + 1);
    for (size_t i = 0; i < d->ng; i++) {
        d->g[i].timer.data = d;
        d->g[i].flush_timer.data = d;
        uv_close((uv_handle_t *)&d->g[i].timer, handle_closed);
        uv_close((uv_handle_t *)&d->g[i].flush_timer, handle_closed);
    }
    d->grace_timer.data = d;
    uv_close((uv_handle_t *)&d->grace_timer, handle_closed);
}

/* One sample of a metric family for gateway G. */
static double metric_value(const struct dgw *g, int which)
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
    default: return (double)g->th.used_today;
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
    };
    for (int m = 0; m < (int)(sizeof families / sizeof families[0]); m++) {
        fprintf(f, "# TYPE %s %s\n", families[m].name, families[m].type);
        for (size_t i = 0; i < d->ng; i++)
            fprintf(f, "%s{gateway=\"%s\"} %.15g\n", families[m].name, d->g[i].gw->name,
                    metric_value(&d->g[i], m));
    }
}
