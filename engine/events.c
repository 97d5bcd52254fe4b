#include "engine/events.h"
#include "core/config.h"
#include "engine/engine.h"
#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "engine/intake.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned in_flight;

/* Webhook calls by outcome, for /metrics. */
static unsigned long outcomes[ENGINE_EVENTS_NOUTCOMES];
static const char *const outcome_names[ENGINE_EVENTS_NOUTCOMES] = {"applied", "failed", "invalid"};

unsigned engine_events_in_flight(void) { return in_flight; }

void engine_events_metrics_write(FILE *f)
{
    fprintf(f, "# HELP loa_webhook_events_total webhook calls handed to the database, by outcome\n"
               "# TYPE loa_webhook_events_total counter\n");
    for (int i = 0; i < ENGINE_EVENTS_NOUTCOMES; i++)
        fprintf(f, "loa_webhook_events_total{outcome=\"%s\"} %lu\n", outcome_names[i], outcomes[i]);
}

/* One call of engine_events_apply(): its callback runs when the last statement is done. */
struct batch {
    size_t left;
    int rc;
    void (*cb)(void *arg, int rc);
    void *arg;
    char gateway[64];
};

/* One statement of batch B finished: with ERR, or with RESULT (what it answered, for the log). */
static void batch_step_end(struct batch *b, const char *err, const char *result)
{
    if (err) {
        b->rc = -1;
        log_warn("event=event_apply_failed gw=%s error=\"%s\"", b->gateway, err);
    } else if (result) {
        log_debug("event=event_applied gw=%s result=%s", b->gateway, result);
    }
    if (--b->left == 0) {
        in_flight--;
        outcomes[b->rc < 0 ? ENGINE_EVENTS_FAILED : ENGINE_EVENTS_APPLIED]++;
        b->cb(b->arg, b->rc);
        free(b);
    }
}

static void batch_step_done(void *arg, PGresult *res, const char *err)
{
    batch_step_end(arg, err, !err && PQntuples(res) == 1 && PQnfields(res) == 1 ? PQgetvalue(res, 0, 0) : NULL);
}

static const char *dlr_final(enum gw_dlr d)
{
    return d == GW_DLR_DELIVERED ? "delivered" : d == GW_DLR_UNDELIVERED ? "undelivered" : NULL;
}

/* Campaign 0 is no campaign: message_id is the id of an answer to a citizen (engine/answers.c). */
static bool is_answer(const struct gw_event *ev)
{
    return ev->campaign_id == 0 && ev->message_id > 0;
}

/* ---- delivery reports, applied in groups ----
 * Kannel reports and HTTP SMS callbacks (ZNS receipts go their own way, gateways/zalo_zns.c).
 * Every report was its own transaction: a commit (a WAL flush), a statement and a run of the
 * counters trigger each, the first limit of a campaign with delivery reports. The reports that
 * arrive within DLR_GROUP_MS go in one loa_apply_dlrs() statement instead, and each webhook is
 * still answered only after the statement holding its report has committed. A group the
 * server refuses (or cannot take) is applied again report by report with loa_apply_dlr(), so
 * that one bad report fails only its own webhook, which the gateway then sends again. */
enum { DLR_GROUP_MAX = 256, DLR_GROUP_MS = 2 };

struct dlr_item {
    struct batch *b;
    char gateway[64];
    bool ids;
    char cid[24], mid[24];
    char *gwid, *status, *raw;      /* copies; gwid may be NULL */
    const char *kind, *final;       /* static strings; final NULL for an intermediate report */
};

struct dlr_group {
    struct engine *e;
    uv_timer_t *timer;              /* closed when the group is sent */
    size_t n;
    struct dlr_item item[DLR_GROUP_MAX];
};

static struct dlr_group *gathering;     /* the group reports join now, or NULL */

static const char *const APPLY_ONE_SQL = "SELECT loa_apply_dlr($1, $2::bigint, $3::bigint, $4, $5, $6, $7, $8)";

static int apply_one(struct engine *e, const struct dlr_item *it)
{
    const char *p[8] = {it->gateway, it->ids ? it->cid : NULL, it->ids ? it->mid : NULL, it->gwid, it->kind,
                        it->status, it->raw, it->final};
    return pgpool_query_prepared(e->db, "loa_apply_dlr", APPLY_ONE_SQL, 8, p, batch_step_done, it->b);
}

static void group_free(struct dlr_group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->item[i].gwid);
        free(g->item[i].status);
        free(g->item[i].raw);
    }
    free(g);
}

/* The I-th answer in a text[] literal such as {applied,recorded}, for the log. */
static void nth_answer(const char *arr, size_t i, char *out, size_t cap)
{
    out[0] = '\0';
    const char *s = arr && *arr == '{' ? arr + 1 : "";
    for (; i > 0 && *s; s++)
        if (*s == ',')
            i--;
    size_t n = strcspn(s, ",}");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
}

static void group_done(void *arg, PGresult *res, const char *err)
{
    struct dlr_group *g = arg;
    if (err) {
        log_warn("event=dlr_group_failed reports=%zu error=\"%s\" note=applying_one_by_one", g->n, err);
        for (size_t i = 0; i < g->n; i++)
            if (apply_one(g->e, &g->item[i]) < 0)
                batch_step_end(g->item[i].b, "pool closed", NULL);
    } else {
        const char *arr = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL;
        for (size_t i = 0; i < g->n; i++) {
            char answer[16];
            nth_answer(arr, i, answer, sizeof answer);
            batch_step_end(g->item[i].b, NULL, answer);
        }
    }
    group_free(g);
}

static void timer_free(uv_handle_t *h) { free(h); }

/* The columns of loa_apply_dlrs(), one array each. */
enum { DLR_NCOLS = 8 };

static void group_send(uv_timer_t *t)
{
    struct dlr_group *g = t->data;
    if (gathering == g)
        gathering = NULL;
    uv_close((uv_handle_t *)g->timer, timer_free);
    g->timer = NULL;
    struct pgarray a[DLR_NCOLS];
    for (int k = 0; k < DLR_NCOLS; k++)
        pgarray_init(&a[k]);
    for (size_t i = 0; i < g->n; i++) {
        const struct dlr_item *it = &g->item[i];
        pgarray_text(&a[0], it->gateway);
        pgarray_text(&a[1], it->ids ? it->cid : NULL);
        pgarray_text(&a[2], it->ids ? it->mid : NULL);
        pgarray_text(&a[3], it->gwid);
        pgarray_text(&a[4], it->kind);
        pgarray_text(&a[5], it->status);
        pgarray_text(&a[6], it->raw);
        pgarray_text(&a[7], it->final);
    }
    const char *p[DLR_NCOLS];
    for (int k = 0; k < DLR_NCOLS; k++)
        p[k] = pgarray_end(&a[k]);
    int rc = pgpool_query_prepared(g->e->db, "loa_apply_dlrs",
                                   "SELECT loa_apply_dlrs($1::text[], $2::bigint[], $3::bigint[], $4::text[],"
                                   " $5::text[], $6::text[], $7::text[], $8::text[])",
                                   DLR_NCOLS, p, group_done, g);
    for (int k = 0; k < DLR_NCOLS; k++)
        pgarray_free(&a[k]);
    if (rc < 0) {
        for (size_t i = 0; i < g->n; i++)
            batch_step_end(g->item[i].b, "pool closed", NULL);
        group_free(g);
    }
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Adds a delivery report to the group gathering now (a new one, sent in DLR_GROUP_MS, when
 * none is). A full group is sent from the loop, not from here: its other reports' callbacks
 * answer other requests, which must not happen inside this one's handler. */
static int queue_delivery(struct engine *e, struct gateway *gw, const struct gw_event *ev, struct batch *b)
{
    if (!gathering) {
        struct dlr_group *g = calloc(1, sizeof *g);
        uv_timer_t *t = malloc(sizeof *t);
        if (!g || !t) {
            free(g);
            free(t);
            return -1;
        }
        g->e = e;
        g->timer = t;
        uv_timer_init(e->loop, t);
        t->data = g;
        uv_timer_start(t, group_send, DLR_GROUP_MS, 0);
        gathering = g;
    }
    struct dlr_group *g = gathering;
    struct dlr_item *it = &g->item[g->n];
    *it = (struct dlr_item){.b = b, .ids = ev->campaign_id > 0 && ev->message_id > 0,
                            .kind = strcmp(gw->type->channel, "zalo") == 0 ? "zns_receipt" : "dlr",
                            .final = dlr_final(ev->dlr)};
    snprintf(it->gateway, sizeof it->gateway, "%s", gw->name);
    snprintf(it->cid, sizeof it->cid, "%" PRId64, ev->campaign_id);
    snprintf(it->mid, sizeof it->mid, "%" PRId64, ev->message_id);
    it->gwid = dup_or_null(ev->gateway_msg_id);
    it->status = dup_or_null(ev->status);
    it->raw = strdup(ev->raw ? ev->raw : "");
    if ((ev->gateway_msg_id && !it->gwid) || (ev->status && !it->status) || !it->raw) {
        free(it->gwid);
        free(it->status);
        free(it->raw);
        return -1;
    }
    if (++g->n == DLR_GROUP_MAX) {
        gathering = NULL;
        uv_timer_start(g->timer, group_send, 0, 0);
    }
    return 0;
}

static int queue_one(struct engine *e, struct gateway *gw, const struct gw_event *ev, struct batch *b)
{
    char mid[24];
    snprintf(mid, sizeof mid, "%" PRId64, ev->message_id);
    switch (ev->kind) {
    case GW_EV_DELIVERY: {
        if (is_answer(ev)) {
            const char *q[3] = {gw->name, mid, dlr_final(ev->dlr)};
            return pgpool_query(e->db, "SELECT loa_answer_dlr($1, $2::bigint, $3)", 3, q, batch_step_done, b);
        }
        return queue_delivery(e, gw, ev, b);
    }
    case GW_EV_REPLY:
        return intake_reply(e, gw, ev, batch_step_done, b);
    case GW_EV_FOLLOW:
    case GW_EV_UNFOLLOW: {
        const char *p[3] = {gw->name, ev->from, ev->kind == GW_EV_FOLLOW ? "true" : "false"};
        return pgpool_query(e->db,
                            "INSERT INTO zalo_followers (gateway, user_id, following) VALUES ($1, $2, $3::boolean) "
                            "ON CONFLICT (gateway, user_id) DO UPDATE SET following = EXCLUDED.following, updated_at = now()",
                            3, p, batch_step_done, b);
    }
    }
    return -1;
}

int engine_events_apply(struct engine *e, struct gateway *gw, const struct gw_event *ev, size_t n,
                        void (*cb)(void *arg, int rc), void *arg)
{
    if (!e || !e->db || n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((ev[i].kind != GW_EV_DELIVERY && !ev[i].from) ||
            (ev[i].kind == GW_EV_DELIVERY && !(ev[i].campaign_id > 0 && ev[i].message_id > 0) && !is_answer(&ev[i]) &&
             !ev[i].gateway_msg_id)) {
            outcomes[ENGINE_EVENTS_INVALID]++;
            return -1;
        }
    struct batch *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->cb = cb;
    b->arg = arg;
    snprintf(b->gateway, sizeof b->gateway, "%s", gw->name);
    /* One extra reference while queueing, so that a callback cannot finish the batch early. */
    b->left = 1;
    in_flight++;
    for (size_t i = 0; i < n; i++) {
        b->left++;
        if (queue_one(e, gw, &ev[i], b) < 0) {
            b->left--;
            b->rc = -1;
        }
    }
    if (b->left == 1 && b->rc < 0) {
        /* Nothing was queued: the caller answers itself, the callback does not run. */
        in_flight--;
        outcomes[ENGINE_EVENTS_FAILED]++;
        free(b);
        return -1;
    }
    /* Drop the queueing reference; the pool's callbacks run later from the loop. */
    b->left--;
    return 0;
}
