#include "engine/scheduler.h"
#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "engine/engine.h"
#include "engine/fallback.h"
#include "engine/gateway_table.h"
#include "gateways/gateway.h"
#include "segments/filter.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scheduler {
    struct engine *e;
    struct scheduler_hooks hooks;
    uv_timer_t timer;
    bool running, again, closing, closed;
    bool refreshing;            /* running_now()'s statement is out */
    bool timer_closed;
    struct pgarray idem;        /* "{"a","b"}": the idempotent gateways */
    /* The campaign being materialised: its statement is built once (the filter compiled). */
    int64_t mat_id;
    char *mat_sql;
    char **mat_params;          /* 8 fixed + the filter's */
    int mat_nparams;
    int64_t warned_no_gateway;
};

static void pass_done(struct scheduler *s);
static void step_end(struct scheduler *s);
static void step_leases(struct scheduler *s);
static void step_reports(struct scheduler *s);
static void step_complete(struct scheduler *s);
static void step_running(struct scheduler *s);
static void step_materialise(struct scheduler *s);

/* Runs SQL and continues with NEXT whatever happened: a failed step is logged and the pass goes
 * on, so one bad statement never stalls the others. */
struct hop {
    struct scheduler *s;
    const char *name;
    void (*next)(struct scheduler *s);
    void (*use)(struct scheduler *s, PGresult *res);
};

static void hop_done(void *arg, PGresult *res, const char *err)
{
    struct hop *h = arg;
    struct scheduler *s = h->s;
    if (err)
        log_warn("event=scheduler_step_failed step=%s error=\"%s\"", h->name, err);
    else if (h->use)
        h->use(s, res);
    void (*next)(struct scheduler *) = h->next;
    free(h);
    if (s->closing) {
        pass_done(s);
        return;
    }
    next(s);
}

static void hop(struct scheduler *s, const char *name, const char *sql, int n, const char *const *p,
                void (*use)(struct scheduler *, PGresult *), void (*next)(struct scheduler *))
{
    struct hop *h = malloc(sizeof *h);
    if (!h) {
        pass_done(s);
        return;
    }
    *h = (struct hop){s, name, next, use};
    if (pgpool_query(s->e->db, sql, n, p, hop_done, h) < 0) {
        free(h);
        pass_done(s);
    }
}

/* ---- the steps ---- */

static void log_started(struct scheduler *s, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++)
        log_info("event=campaign_running campaign=%s", PQgetvalue(res, i, 0));
}

static void step_start_due(struct scheduler *s)
{
    hop(s, "start_due",
        "SELECT id FROM loa_campaign_start_due()",
        0, NULL, log_started, step_end);
}

static void log_ended(struct scheduler *s, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++)
        log_info("event=campaign_completed campaign=%s reason=ends_at expired=%s", PQgetvalue(res, i, 0),
                 PQgetvalue(res, i, 1));
}

static void step_end(struct scheduler *s)
{
    /* Leased messages are left to finish: their answer is recorded whatever the campaign's status. */
    hop(s, "end",
        "SELECT id, expired FROM loa_campaign_end()",
        0, NULL, log_ended, step_leases);
}

static void log_leases(struct scheduler *s, PGresult *res)
{
    if (atoi(PQcmdTuples(res)) > 0)
        log_warn("event=leases_expired rows=%s", PQcmdTuples(res));
}

static void step_leases(struct scheduler *s)
{
    const char *p[1] = {s->idem.p};
    hop(s, "leases",
        "SELECT campaign_id, id FROM loa_expire_leases($1::text[])",
        1, p, log_leases, step_reports);
}

static void step_reports(struct scheduler *s)
{
    fallback_sweep(s->e);
    hop(s, "reports", "SELECT loa_dlr_reconcile()", 0, NULL, NULL, step_complete);
}

static void log_completed(struct scheduler *s, PGresult *res)
{
    for (int i = 0; i < PQntuples(res); i++)
        log_info("event=campaign_completed campaign=%s reason=all_sent", PQgetvalue(res, i, 0));
}

static void step_complete(struct scheduler *s)
{
    char settle[16];
    snprintf(settle, sizeof settle, "%d", s->e->settings.engine.settle_s);
    const char *p[2] = {settle, s->idem.p};
    /* Nothing waiting (by the counters, cheap) and no submission younger than the settle time (so
     * that most reports have arrived); in_doubt rows of an idempotent gateway are still waiting,
     * since they will be resent. */
    hop(s, "complete",
        "SELECT id FROM loa_campaign_complete($1::int, $2::text[])",
        2, p, log_completed, step_running);
}

static void use_running(struct scheduler *s, PGresult *res)
{
    int n = PQntuples(res);
    int64_t *ids = calloc((size_t)(n ? n : 1), sizeof *ids);
    if (!ids)
        return;
    for (int i = 0; i < n; i++)
        ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    s->hooks.campaigns_running(s->hooks.arg, ids, (size_t)n);
    s->hooks.work_due(s->hooks.arg);
    free(ids);
}

#define RUNNING_SQL "SELECT id FROM campaigns WHERE status = 'running' ORDER BY id LIMIT 500"

static void step_running(struct scheduler *s)
{
    hop(s, "running", RUNNING_SQL, 0, NULL, use_running, step_materialise);
}

static void running_now_done(void *arg, PGresult *res, const char *err)
{
    struct scheduler *s = arg;
    s->refreshing = false;
    if (err)
        log_warn("event=scheduler_step_failed step=running_now error=\"%s\"", err);
    else if (!s->closing)
        use_running(s, res);
    if (s->closing && !s->running && s->timer_closed)
        s->closed = true;
}

/* A campaign paused, cancelled or resumed while a pass is busy (materialising a large campaign
 * takes seconds): the dispatcher learns of it now, not when the pass ends, so that a pause holds
 * back what waits in its queues within a fraction of a second. */
static void running_now(struct scheduler *s)
{
    if (s->refreshing || s->closing || !s->e->db)
        return;
    if (pgpool_query(s->e->db, RUNNING_SQL, 0, NULL, running_now_done, s) == 0)
        s->refreshing = true;
}

/* ---- materialisation ---- */

static void mat_reset(struct scheduler *s)
{
    free(s->mat_sql);
    if (s->mat_params)
        for (int i = 0; i < s->mat_nparams; i++)
            free(s->mat_params[i]);
    free(s->mat_params);
    s->mat_sql = NULL;
    s->mat_params = NULL;
    s->mat_nparams = 0;
    s->mat_id = 0;
}

static void mat_chunk(struct scheduler *s);

static void mat_chunk_done(void *arg, PGresult *res, const char *err)
{
    struct scheduler *s = arg;
    if (err) {
        log_warn("event=materialise_failed campaign=%" PRId64 " error=\"%s\"", s->mat_id, err);
        mat_reset(s);
        pass_done(s);
        return;
    }
    if (PQntuples(res) == 0) {
        /* Paused, cancelled or finished by someone else meanwhile. */
        mat_reset(s);
        pass_done(s);
        return;
    }
    bool done = PQgetvalue(res, 0, 0)[0] == 't';
    log_info("event=materialised campaign=%" PRId64 " targeted=%s chunk=%s done=%s", s->mat_id, PQgetvalue(res, 0, 1),
             PQgetvalue(res, 0, 2), done ? "yes" : "no");
    s->hooks.work_due(s->hooks.arg);
    if (done || s->closing || s->e->stopping) {
        mat_reset(s);
        pass_done(s);
        return;
    }
    mat_chunk(s);
}

static void mat_chunk(struct scheduler *s)
{
    if (pgpool_query(s->e->db, s->mat_sql, s->mat_nparams, (const char *const *)s->mat_params, mat_chunk_done, s) < 0) {
        mat_reset(s);
        pass_done(s);
    }
}

static void mat_partition_done(void *arg, PGresult *res, const char *err)
{
    struct scheduler *s = arg;
    if (err) {
        log_warn("event=materialise_failed campaign=%" PRId64 " error=\"%s\"", s->mat_id, err);
        mat_reset(s);
        pass_done(s);
        return;
    }
    mat_chunk(s);
}

/* Builds the chunk statement: ONE insert of the next citizens in id order after the cursor,
 * with every citizen who cannot be sent to inserted as suppressed with the reason, and the
 * cursor, targeted and same_phone advanced in the same statement. $1 channel (also
 * segment_sendable_sql's $1), $2 campaign, $3 gateway, $4 step, $5 chunk, $6/$7 frequency cap,
 * $8 per_phone, $9… the filter.
 *
 * With per_phone 'one' each phone number gets one message: `chosen` is, for every phone of the
 * chunk, the reachable member of the segment that segment_household_order_sql() puts first,
 * looked up over the whole segment (not the chunk), so the choice does not depend on where the
 * chunks fall. The frequency cap is not part of the choice: the same member is chosen by every
 * campaign, so the cap of that member is the household's. */
static int mat_build(struct scheduler *s, int64_t id, const char *filter_json, const char *channel,
                     const char *gateway, const char *step, const char *per_phone)
{
    struct filter_sql fs = {0};
    char err[300];
    if (filter_compile(filter_json, 8, &fs, err, sizeof err) < 0) {
        log_error("event=materialise_refused campaign=%" PRId64 " reason=\"segment filter: %s\"", id, err);
        return -1;
    }
    /* The frequency cap's count, one lookup of the citizen's messages in every live partition
     * (6 µs a citizen, a quarter of a chunk), runs only when some citizen could have reached the
     * cap: a citizen has at most one message per campaign and step (the unique key), so with
     * fewer steps than the cap in all the campaigns that may have sent within its days (not
     * finished, or finished within them), nobody can (`capped`).
     * Each chunk costs the same wherever the cursor is: the cursor is a scalar subquery, so it
     * bounds the index scan of citizens (a join with `cur` only filtered, and every chunk read
     * the table from its first citizen: a 1,000,000-citizen campaign read 25 million rows, twice).
     * seg keeps what the reasons need, so citizens are not read again, and the chunk's opt-outs
     * are joined once, not looked up once per citizen (segment_opt_outs_join_after_sql()); seg
     * and batch are MATERIALIZED so that each citizen's checks run once (inlined into the
     * INSERT, the reason was computed again for state, reason and final_at). */
    static const char head[] =
        "WITH cur AS (SELECT material_cursor FROM campaigns WHERE id = $2::bigint AND status = 'running'"
        "              AND NOT materialised FOR UPDATE),"
        " seg AS MATERIALIZED (SELECT c.id, c.phone, %s AS opted, %s AS sendable"
        "  FROM citizens c%s WHERE c.id > (SELECT material_cursor FROM cur) AND (%s)"
        "  ORDER BY c.id LIMIT $5::int),"
        " chosen AS (SELECT DISTINCT ON (c.phone) c.phone, c.id FROM citizens c"
        "   WHERE $8::text = 'one' AND c.phone IN (SELECT x.phone FROM seg x) AND (%s) AND %s"
        "   ORDER BY c.phone, %s),"
        " capped AS MATERIALIZED (SELECT count(*) >= $6::int AS may FROM campaign_channels cc"
        "   JOIN campaigns o ON o.id = cc.campaign_id"
        "  WHERE o.completed_at IS NULL OR o.status IN ('running', 'paused')"
        "     OR o.completed_at >= loa_now() - make_interval(days => $7::int)),"
        " batch AS MATERIALIZED (SELECT g.id, CASE"
        "   WHEN g.opted THEN 'opted out'"
        "   WHEN NOT g.sendable THEN 'no usable address'"
        "   WHEN h.id <> g.id THEN 'same phone as citizen ' || h.id"
        "   WHEN (SELECT may FROM capped) AND (SELECT count(*) FROM messages x WHERE x.citizen_id = g.id"
        "           AND x.state IN ('submitted', 'delivered', 'undelivered', 'in_doubt')"
        "           AND x.submitted_at >= loa_now() - make_interval(days => $7::int)) >= $6::int"
        "        THEN 'frequency cap' END AS reason"
        "   FROM seg g LEFT JOIN chosen h ON h.phone = g.phone),"
        " ins AS (INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, reason, final_at)"
        "   SELECT $2::bigint, b.id, $4::smallint, $1::text, $3::text,"
        "          CASE WHEN b.reason IS NULL THEN 'pending' ELSE 'suppressed' END, b.reason,"
        "          CASE WHEN b.reason IS NOT NULL THEN loa_now() END"
        "     FROM batch b ORDER BY b.id"
        "   ON CONFLICT (campaign_id, citizen_id, step) DO NOTHING RETURNING reason)"
        " UPDATE campaigns k SET material_cursor = COALESCE((SELECT max(id) FROM seg), k.material_cursor),"
        "        targeted = k.targeted + (SELECT count(*) FROM ins),"
        "        same_phone = k.same_phone + (SELECT count(*) FROM ins WHERE ins.reason LIKE 'same phone as %%'),"
        "        materialised = (SELECT count(*) FROM seg) < $5::int"
        "   FROM cur WHERE k.id = $2::bigint"
        " RETURNING k.materialised, k.targeted, (SELECT count(*) FROM ins)";
    const char *sendable = segment_sendable_joined_sql(), *order = segment_household_order_sql();
    const char *opted = segment_opted_out_joined_sql();
    /* `chosen` looks the opt-outs up citizen by citizen (segment_sendable_sql()): its citizens
     * are anywhere in the table, and joining all the opt-outs cost a pass over them per chunk. */
    const char *one_sendable = segment_sendable_sql();
    /* The chunk's opt-outs from the cursor on: a join over all of them read the opt-outs of every
     * citizen before the cursor again at each chunk. */
    char *chunk_opt_outs = segment_opt_outs_join_after_sql("SELECT material_cursor FROM cur");
    size_t len = sizeof head + 2 * strlen(fs.where) + strlen(opted) + strlen(sendable) + strlen(one_sendable) +
                 (chunk_opt_outs ? strlen(chunk_opt_outs) : 0) + strlen(order) + 16;
    s->mat_sql = malloc(len);
    s->mat_params = calloc((size_t)(8 + fs.nparams), sizeof *s->mat_params);
    if (!s->mat_sql || !s->mat_params || !chunk_opt_outs) {
        free(chunk_opt_outs);
        filter_sql_free(&fs);
        mat_reset(s);
        return -1;
    }
    snprintf(s->mat_sql, len, head, opted, sendable, chunk_opt_outs, fs.where, fs.where, one_sendable, order);
    free(chunk_opt_outs);
    const struct settings *set = &s->e->settings;
    char buf[3][24];
    snprintf(buf[0], sizeof buf[0], "%" PRId64, id);
    snprintf(buf[1], sizeof buf[1], "%d", set->engine.materialise_chunk);
    s->mat_params[0] = strdup(channel);
    s->mat_params[1] = strdup(buf[0]);
    s->mat_params[2] = strdup(gateway);
    s->mat_params[3] = strdup(step);
    s->mat_params[4] = strdup(buf[1]);
    snprintf(buf[2], sizeof buf[2], "%d", set->policy.cap_count);
    s->mat_params[5] = strdup(buf[2]);
    snprintf(buf[2], sizeof buf[2], "%d", set->policy.cap_days);
    s->mat_params[6] = strdup(buf[2]);
    s->mat_params[7] = strdup(per_phone);
    for (int i = 0; i < fs.nparams; i++)
        s->mat_params[8 + i] = strdup(fs.params[i]);
    s->mat_nparams = 8 + fs.nparams;
    s->mat_id = id;
    filter_sql_free(&fs);
    return 0;
}

static void use_materialise(struct scheduler *s, PGresult *res)
{
    if (PQntuples(res) == 0)
        return;
    int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    const char *filter = PQgetvalue(res, 0, 1);
    const char *step = PQgetvalue(res, 0, 2);
    const char *channel = PQgetvalue(res, 0, 3);
    const char *gateway = PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4);
    const char *per_phone = PQgetvalue(res, 0, 5);
    struct gateway *gw = gateway ? gateway_table_find(s->e, gateway) : gateway_table_for_channel(s->e, channel);
    if (!gw) {
        if (s->warned_no_gateway != id)
            log_error("event=materialise_refused campaign=%" PRId64 " reason=\"no %s gateway configured for its first step\"",
                      id, channel);
        s->warned_no_gateway = id;
        return;
    }
    mat_reset(s);
    if (mat_build(s, id, filter, channel, gw->name, step, per_phone) < 0)
        return;
}

static void step_materialise_go(struct scheduler *s)
{
    if (!s->mat_sql) {
        pass_done(s);
        return;
    }
    char cid[24];
    snprintf(cid, sizeof cid, "%" PRId64, s->mat_id);
    const char *p[1] = {cid};
    if (pgpool_query(s->e->db, "SELECT campaign_partition_ensure($1::bigint)", 1, p, mat_partition_done, s) < 0) {
        mat_reset(s);
        pass_done(s);
    }
}

static void step_materialise(struct scheduler *s)
{
    if (s->e->stopping) {
        pass_done(s);
        return;
    }
    hop(s, "materialise",
        "SELECT k.id, g.filter::text, cc.position, cc.channel, cc.gateway, k.per_phone"
        "  FROM campaigns k JOIN segments g ON g.id = k.segment_id"
        "  CROSS JOIN LATERAL (SELECT position, channel, gateway FROM campaign_channels"
        "                       WHERE campaign_id = k.id ORDER BY position LIMIT 1) cc"
        " WHERE k.status = 'running' AND NOT k.materialised ORDER BY k.id LIMIT 1",
        0, NULL, use_materialise, step_materialise_go);
}

/* ---- the pass ---- */

static void pass_start(struct scheduler *s)
{
    if (s->running || s->closing || !s->e->db)
        return;
    /* While the database is unreachable the pool reconnects and says so; a pass would only fail. */
    if (!pgpool_healthy(s->e->db))
        return;
    s->running = true;
    s->again = false;
    step_start_due(s);
}

static void on_closed(uv_handle_t *h)
{
    struct scheduler *s = h->data;
    s->timer_closed = true;
    s->closed = !s->refreshing;
}

static void pass_done(struct scheduler *s)
{
    s->running = false;
    if (s->closing) {
        uv_close((uv_handle_t *)&s->timer, on_closed);
        return;
    }
    if (s->again)
        pass_start(s);
}

static void on_tick(uv_timer_t *t)
{
    struct scheduler *s = t->data;
    pass_start(s);     /* a tick during a pass is simply skipped */
}

static void on_notify(void *arg, const char *channel, const char *payload)
{
    struct scheduler *s = arg;
    log_debug("event=notify channel=%s", channel);
    if (s->running)
        running_now(s);
    scheduler_wake(s);
}

void scheduler_wake(struct scheduler *s)
{
    if (s->closing)
        return;
    if (s->running)
        s->again = true;
    else
        pass_start(s);
}

struct scheduler *scheduler_new(struct engine *e, const struct scheduler_hooks *hooks)
{
    struct scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->e = e;
    s->hooks = *hooks;
    pgarray_init(&s->idem);
    for (size_t i = 0; i < e->ngateways; i++)
        if (e->gateways[i]->type->idempotent)
            pgarray_text(&s->idem, e->gateways[i]->name);
    pgarray_end(&s->idem);
    uv_timer_init(e->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_tick, 0, (uint64_t)e->settings.engine.tick_ms);
    pgpool_listen(e->db, "loa_campaigns", on_notify, s);
    return s;
}

void scheduler_close(struct scheduler *s)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    uv_timer_stop(&s->timer);
    if (!s->running)
        uv_close((uv_handle_t *)&s->timer, on_closed);
}

bool scheduler_closed(const struct scheduler *s) { return !s || s->closed; }

void scheduler_free(struct scheduler *s)
{
    if (!s)
        return;
    mat_reset(s);
    pgarray_free(&s->idem);
    free(s);
}
