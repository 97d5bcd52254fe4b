#include "engine/events.h"
#include "core/config.h"
#include "engine/engine.h"
#include "core/log.h"
#include "core/pgasync.h"
#include "campaigns/keywords.h"
#include "campaigns/kwcache.h"
#include "campaigns/replies.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned in_flight;
/* The keyword table of the pool it was loaded through (one daemon, one pool). */
static struct kw_cache *keywords;

unsigned engine_events_in_flight(void) { return in_flight; }

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
        b->cb(b->arg, b->rc);
        free(b);
    }
}

static const char *dlr_final(enum gw_dlr d)
{
    return d == GW_DLR_DELIVERED ? "delivered" : d == GW_DLR_UNDELIVERED ? "undelivered" : NULL;
}

/* A reply waits for the keyword table (kw_cache_get), then is applied with its intent. */
struct reply_job {
    struct engine *e;
    struct batch *b;
    const char *channel;        /* static: the gateway type's */
    char gateway[64];
    char *from, *text, *external;
};

static void reply_job_free(struct reply_job *j)
{
    free(j->from);
    free(j->text);
    free(j->external);
    free(j);
}

static void reply_classified(void *arg, const struct kw_table *t)
{
    struct reply_job *j = arg;
    struct batch *b = j->b;
    /* Kept as received: bytes that are not UTF-8 are stored escaped, never refused. */
    char *body = reply_text_escape(j->text, strlen(j->text));
    int rc = -1;
    if (t && body) {
        const char *intent = kw_intent_name(kw_classify(t, j->text));
        const char *source = strcmp(j->channel, "zalo") == 0 ? "zalo_reply" : "sms_reply";
        const char *p[7] = {j->gateway, j->channel, j->from, body, j->external, intent, source};
        rc = pgpool_query(j->e->db, "SELECT loa_apply_reply($1, $2, $3, $4, $5, $6, $7)", 7, p,
                          batch_step_done, b);
    }
    free(body);
    reply_job_free(j);
    if (rc < 0)
        batch_step_done(b, NULL, t ? "cannot queue the reply" : "the keyword table could not be loaded");
}

static int queue_reply(struct engine *e, struct gateway *gw, const struct gw_event *ev, struct batch *b)
{
    if (!keywords || kw_cache_db(keywords) != e->db) {
        kw_cache_free(keywords);
        keywords = kw_cache_new(e->db);
    }
    struct reply_job *j = keywords ? calloc(1, sizeof *j) : NULL;
    if (!j)
        return -1;
    *j = (struct reply_job){.e = e, .b = b, .channel = gw->type->channel};
    snprintf(j->gateway, sizeof j->gateway, "%s", gw->name);
    j->from = strdup(ev->from);
    j->text = strdup(ev->text ? ev->text : "");
    j->external = ev->external_id ? strdup(ev->external_id) : NULL;
    if (!j->from || !j->text || (ev->external_id && !j->external)) {
        reply_job_free(j);
        return -1;
    }
    kw_cache_get(keywords, reply_classified, j);
    return 0;
}

static int queue_one(struct engine *e, struct gateway *gw, const struct gw_event *ev, struct batch *b)
{
    char cid[24], mid[24];
    snprintf(cid, sizeof cid, "%" PRId64, ev->campaign_id);
    snprintf(mid, sizeof mid, "%" PRId64, ev->message_id);
    bool ids = ev->campaign_id > 0 && ev->message_id > 0;
    switch (ev->kind) {
    case GW_EV_DELIVERY: {
        const char *p[8] = {gw->name, ids ? cid : NULL, ids ? mid : NULL, ev->gateway_msg_id,
                            strcmp(gw->type->channel, "zalo") == 0 ? "zns_receipt" : "dlr",
                            ev->status, ev->raw ? ev->raw : "", dlr_final(ev->dlr)};
        return pgpool_query_prepared(e->db, "loa_apply_dlr", "SELECT loa_apply_dlr($1, $2::bigint, $3::bigint, $4, $5, $6, $7, $8)",
                            8, p, batch_step_done, b);
    }
    case GW_EV_REPLY:
        return queue_reply(e, gw, ev, b);
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
            (ev[i].kind == GW_EV_DELIVERY && !(ev[i].campaign_id > 0 && ev[i].message_id > 0) && !ev[i].gateway_msg_id))
            return -1;
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
        free(b);
        return -1;
    }
    /* Drop the queueing reference; the pool's callbacks run later from the loop. */
    b->left--;
    return 0;
}
