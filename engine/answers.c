#include "engine/answers.h"
#include "core/clock.h"
#include "campaigns/answer.h"
#include "campaigns/message.h"
#include "core/config.h"
#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "core/tz.h"
#include "engine/dispatcher.h"
#include "engine/engine.h"
#include "engine/outcome.h"
#include "engine/throttle.h"
#include "gateways/gateway.h"
#include "gateways/smstext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One gateway as the answers see it. */
struct answer_gw {
    struct answers *a;
    struct gateway *gw;
    struct throttle *th;            /* the dispatcher's, shared with the campaigns */
    const struct gateway_settings *set;
    const char *channel;            /* "sms" or "zalo" */
    bool sender;                    /* it can send answers of its channel */
    bool catch_all;                 /* it also sends those of gateways that cannot */
    bool due;                       /* answers may wait: lease before any campaign row */
    bool leasing;
    int asked;                      /* rows the running lease asked for */
    unsigned long n_sent, n_failed, n_retried;
};

struct answers {
    struct engine *e;
    struct answer_gw *g;
    size_t ng;
    struct pgarray sms_senders, zalo_senders;
    const char *sms_list, *zalo_list;   /* their literals, owned by the two arrays */
    uv_timer_t timer;
    bool stopping;
    unsigned busy;
    struct answers_settings set;
    struct address_rules rules;
};

/* One answer between submit and its answer; its strings live in BUF until then. */
struct answer_req {
    struct answer_gw *g;
    int64_t id;
    int attempts, parts;
    char kind[16];
    char to[LOG_MASK_LEN];
    char buf[];
};

static int64_t now_ms(void) { return clock_now_ms(); }

struct answers_settings answers_settings(const struct answers *a, const struct engine *e)
{
    if (a)
        return a->set;
    return (struct answers_settings){
        .attribution_days = (int)config_int(e->cfg, "replies", "attribution_days"),
        .per_hour = (int)config_int(e->cfg, "replies", "answers_per_hour"),
        .help_hours = (int)config_int(e->cfg, "replies", "help_hours"),
    };
}

static struct answer_gw *find(struct answers *a, const struct gateway *gw)
{
    for (size_t i = 0; a && i < a->ng; i++)
        if (a->g[i].gw == gw)
            return &a->g[i];
    return NULL;
}

static void kick(struct answers *a)
{
    if (a->e->dispatcher)
        dispatcher_kick(a->e->dispatcher);
}

static void all_due(struct answers *a)
{
    for (size_t i = 0; i < a->ng; i++)
        a->g[i].due = a->g[i].sender;
    kick(a);
}

static void on_notify(void *arg, const char *channel, const char *payload)
{
    struct answers *a = arg;
    if (!a->stopping)
        all_due(a);
}

static void on_timer(uv_timer_t *t)
{
    all_due(t->data);
}

struct answers *answers_new(struct engine *e)
{
    struct answers *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->e = e;
    a->set = answers_settings(NULL, e);
    a->rules.elder_age = (int)config_int(e->cfg, "policy", "elder_age");
    snprintf(a->rules.neutral, sizeof a->rules.neutral, "%s", config_str(e->cfg, "policy", "neutral_salutation"));
    a->ng = e->ngateways;
    a->g = calloc(a->ng ? a->ng : 1, sizeof *a->g);
    if (!a->g) {
        free(a);
        return NULL;
    }
    pgarray_init(&a->sms_senders);
    pgarray_init(&a->zalo_senders);
    bool first_sms = true, first_oa = true;
    for (size_t i = 0; i < a->ng; i++) {
        struct answer_gw *g = &a->g[i];
        g->a = a;
        g->gw = e->gateways[i];
        g->set = &e->settings.gw[i];
        g->th = dispatcher_throttle(e->dispatcher, g->gw);
        g->channel = g->gw->type->channel;
        if (strcmp(g->channel, "sms") == 0) {
            g->sender = true;
            g->catch_all = first_sms;
            first_sms = false;
            pgarray_text(&a->sms_senders, g->gw->name);
        } else if (strcmp(g->gw->type->name, "zalo_oa") == 0) {
            g->sender = true;
            g->catch_all = first_oa;
            first_oa = false;
            pgarray_text(&a->zalo_senders, g->gw->name);
        }
        g->sender = g->sender && g->th;
        g->due = g->sender;
    }
    a->sms_list = pgarray_end(&a->sms_senders);
    a->zalo_list = pgarray_end(&a->zalo_senders);
    pgpool_listen(e->db, "loa_answers", on_notify, a);
    uv_timer_init(e->loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, on_timer, ANSWERS_POLL_MS, ANSWERS_POLL_MS);
    return a;
}

bool answers_due(struct answers *a, const struct gateway *gw)
{
    struct answer_gw *g = find(a, gw);
    return g && !a->stopping && g->sender && (g->due || g->leasing);
}

/* ---- results ---- */

static void result_done(void *arg, PGresult *res, const char *err)
{
    struct answers *a = arg;
    a->busy--;
    if (err)
        log_warn("event=answer_result_failed error=\"%s\"", err);
}

static void result_write(struct answers *a, int64_t id, const char *state, const char *gwid, const char *reason,
                         int parts, int delay_s)
{
    char ids[24], p[16], d[16];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    snprintf(p, sizeof p, "%d", parts);
    snprintf(d, sizeof d, "%d", delay_s);
    const char *params[6] = {ids, state, gwid ? gwid : "", reason ? reason : "", p, d};
    if (pgpool_query(a->e->db, "SELECT loa_answer_result($1::bigint, $2, $3, $4, $5::int, $6::int)", 6, params,
                     result_done, a) == 0)
        a->busy++;
    else
        log_warn("event=answer_result_failed answer=%" PRId64 " error=\"pool closing\"", id);
}

/* ---- one answer ---- */

static void answer_done(void *arg, const struct gw_result *r)
{
    struct answer_req *q = arg;
    struct answer_gw *g = q->g;
    struct answers *a = g->a;
    a->busy--;
    const struct engine_settings *es = &a->e->settings.engine;
    struct outcome o;
    outcome_decide(r, q->attempts, es->max_attempts, es->retry_min_s, es->retry_max_s,
                   (double)random() / ((double)RAND_MAX + 1.0), &o);
    throttle_done(g->th, o.feedback, o.sent);
    const char *state = message_state_name(o.state);
    log_info("event=answer_submit answer=%" PRId64 " kind=%s gw=%s to=%s parts=%d attempt=%d outcome=%s state=%s"
             " gw_msg_id=%s reason=\"%s\"",
             q->id, q->kind, g->gw->name, q->to, q->parts, q->attempts, gateway_outcome_name(r->outcome), state,
             r->gateway_msg_id[0] ? r->gateway_msg_id : "-", o.reason);
    result_write(a, q->id, state, r->gateway_msg_id, o.reason, q->parts, o.delay_s);
    if (o.sent)
        g->n_sent++;
    else if (o.state == MSG_RETRY_WAIT)
        g->n_retried++;
    else
        g->n_failed++;
    free(q);
    kick(a);
}

/* Row ROW of a lease: id, kind, address, body, attempts, full_name, gender, birth_date. */
static void answer_submit(struct answer_gw *g, PGresult *res, int row, const struct tm *today, int64_t now,
                          long day)
{
    struct answers *a = g->a;
    int64_t id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    const char *addr = PQgetvalue(res, row, 2);
    struct answer_citizen c = {
        .full_name = PQgetisnull(res, row, 5) ? NULL : PQgetvalue(res, row, 5),
        .gender = PQgetisnull(res, row, 6) ? NULL : PQgetvalue(res, row, 6),
        .birth_date = PQgetisnull(res, row, 7) ? NULL : PQgetvalue(res, row, 7),
    };
    char text[4096];
    int n = answer_render(PQgetvalue(res, row, 3), &c, &a->rules, today->tm_year + 1900, today->tm_mon + 1,
                          today->tm_mday, text, sizeof text);
    if (n < 0) {
        result_write(a, id, "failed", NULL, "answer too long", 0, 0);
        return;
    }
    bool sms = strcmp(g->channel, "sms") == 0;
    struct sms_info info = {.coding = SMS_GSM7, .parts = 1};
    if (sms)
        smstext_measure(text, (size_t)n, &info);
    if (sms && info.parts > g->set->max_parts) {
        char why[64];
        snprintf(why, sizeof why, "too many parts (%d > %d)", info.parts, g->set->max_parts);
        result_write(a, id, "failed", NULL, why, info.parts, 0);
        return;
    }
    size_t alen = strlen(addr);
    struct answer_req *q = malloc(sizeof *q + alen + 1 + (size_t)n + 1);
    if (!q) {
        result_write(a, id, "retry_wait", NULL, "out of memory", 0, a->e->settings.engine.retry_min_s);
        return;
    }
    *q = (struct answer_req){.g = g, .id = id, .attempts = atoi(PQgetvalue(res, row, 4)), .parts = info.parts};
    snprintf(q->kind, sizeof q->kind, "%s", PQgetvalue(res, row, 1));
    log_mask_phone(addr, q->to, sizeof q->to);
    memcpy(q->buf, addr, alen + 1);
    memcpy(q->buf + alen + 1, text, (size_t)n + 1);
    struct gw_message m = {.campaign_id = 0, .message_id = id, .attempts = q->attempts - 1,
                           .phone = sms ? q->buf : NULL, .zalo_user_id = sms ? NULL : q->buf,
                           .text = q->buf + alen + 1, .text_len = (size_t)n, .coding = info.coding,
                           .parts = info.parts, .priority = true};
    throttle_start(g->th, now, day, info.parts);
    a->busy++;
    if (g->gw->type->submit(g->gw, &m, answer_done, q) == 0)
        return;
    a->busy--;
    throttle_done(g->th, THROTTLE_OK, false);
    result_write(a, id, "retry_wait", NULL, "submit could not start", 0, a->e->settings.engine.retry_min_s);
    free(q);
}

/* ---- leasing ---- */

/* Rows leased while stopping go back to pending: nothing was sent. */
static void return_unsent(struct answers *a, PGresult *res)
{
    struct pgarray ids;
    pgarray_init(&ids);
    for (int i = 0; i < PQntuples(res); i++)
        pgarray_int(&ids, strtoll(PQgetvalue(res, i, 0), NULL, 10));
    const char *p[2] = {a->e->instance, pgarray_end(&ids)};
    if (pgpool_query(a->e->db, "SELECT loa_answer_return($1, $2::bigint[])", 2, p, result_done, a) == 0)
        a->busy++;
    pgarray_free(&ids);
}

static void lease_done(void *arg, PGresult *res, const char *err)
{
    struct answer_gw *g = arg;
    struct answers *a = g->a;
    a->busy--;
    g->leasing = false;
    if (err) {
        /* Tried again on the next poll; the campaigns go on meanwhile. */
        log_warn("event=answer_lease_failed gw=%s error=\"%s\"", g->gw->name, err);
        g->due = false;
        kick(a);
        return;
    }
    int n = PQntuples(res);
    if (a->stopping) {
        if (n > 0)
            return_unsent(a, res);
        return;
    }
    if (n < g->asked)
        g->due = false;
    int64_t now = now_ms();
    long day = dispatcher_today(a->e->dispatcher, now);
    struct tm today;
    tz_localtime(a->e->settings.policy.timezone, now / 1000, &today);
    for (int i = 0; i < n; i++)
        answer_submit(g, res, i, &today, now, day);
    kick(a);
}

void answers_pump(struct answers *a, const struct gateway *gw, int room)
{
    struct answer_gw *g = find(a, gw);
    if (!g || a->stopping || g->leasing || !g->due || room <= 0)
        return;
    g->asked = room > ANSWERS_LEASE_MAX ? ANSWERS_LEASE_MAX : room;
    char n[16], secs[16];
    snprintf(n, sizeof n, "%d", g->asked);
    snprintf(secs, sizeof secs, "%d", a->e->settings.engine.lease_seconds);
    bool sms = strcmp(g->channel, "sms") == 0;
    const char *p[7] = {g->gw->name, g->channel, g->catch_all ? "true" : "false",
                        sms ? a->sms_list : a->zalo_list, a->e->instance, n, secs};
    if (pgpool_query(a->e->db,
                     "SELECT * FROM loa_answer_lease($1, $2, $3::boolean, $4::text[], $5, $6::int, $7::int)", 7,
                     p, lease_done, g) == 0) {
        g->leasing = true;
        a->busy++;
    }
}

/* ---- stop ---- */

void answers_stop(struct answers *a)
{
    if (!a || a->stopping)
        return;
    a->stopping = true;
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, NULL);
}

void answers_metrics_write(const struct answers *a, FILE *f)
{
    static const char *const names[] = {"loa_answers_sent_total", "loa_answers_failed_total",
                                        "loa_answers_retried_total"};
    for (int m = 0; a && m < 3; m++) {
        fprintf(f, "# TYPE %s counter\n", names[m]);
        for (size_t i = 0; i < a->ng; i++) {
            const struct answer_gw *g = &a->g[i];
            if (g->sender)
                fprintf(f, "%s{gateway=\"%s\"} %lu\n", names[m], g->gw->name,
                        m == 0 ? g->n_sent : m == 1 ? g->n_failed : g->n_retried);
        }
    }
}

unsigned answers_busy(const struct answers *a) { return a ? a->busy : 0; }

void answers_free(struct answers *a)
{
    if (!a)
        return;
    pgarray_free(&a->sms_senders);
    pgarray_free(&a->zalo_senders);
    free(a->g);
    free(a);
}
