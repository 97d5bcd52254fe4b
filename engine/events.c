#include "engine/events.h"
#include "core/config.h"
#include "engine/engine.h"
#include "core/log.h"
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

static void batch_step_done(void *arg, PGresult *res, const char *err)
{
    struct batch *b = arg;
    if (err) {
        b->rc = -1;
        log_warn("event=event_apply_failed gw=%s error=\"%s\"", b->gateway, err);
    } else if (PQntuples(res) == 1 && PQnfields(res) == 1) {
        log_debug("event=event_applied gw=%s result=%s", b->gateway, PQgetvalue(res, 0, 0));
    }
    if (--b->left == 0) {
        in_flight--;
        outcomes[b->rc < 0 ? ENGINE_EVENTS_FAILED : ENGINE_EVENTS_APPLIED]++;
        b->cb(b->arg, b->rc);
        free(b);
    }
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

static int queue_one(struct engine *e, struct gateway *gw, const struct gw_event *ev, struct batch *b)
{
    char cid[24], mid[24];
    snprintf(cid, sizeof cid, "%" PRId64, ev->campaign_id);
    snprintf(mid, sizeof mid, "%" PRId64, ev->message_id);
    bool ids = ev->campaign_id > 0 && ev->message_id > 0;
    switch (ev->kind) {
    case GW_EV_DELIVERY: {
        if (is_answer(ev)) {
            const char *q[3] = {gw->name, mid, dlr_final(ev->dlr)};
            return pgpool_query(e->db, "SELECT loa_answer_dlr($1, $2::bigint, $3)", 3, q, batch_step_done, b);
        }
        const char *p[8] = {gw->name, ids ? cid : NULL, ids ? mid : NULL, ev->gateway_msg_id,
                            strcmp(gw->type->channel, "zalo") == 0 ? "zns_receipt" : "dlr",
                            ev->status, ev->raw ? ev->raw : "", dlr_final(ev->dlr)};
        return pgpool_query_prepared(e->db, "loa_apply_dlr", "SELECT loa_apply_dlr($1, $2::bigint, $3::bigint, $4, $5, $6, $7, $8)",
                            8, p, batch_step_done, b);
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
