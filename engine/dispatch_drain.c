#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "engine/dispatch.h"
#include "engine/dispatcher.h"
#include "engine/engine.h"

#include <stdlib.h>

/* Stopping the dispatcher (enum drain_state in engine/dispatch.h). WAITING lasts until no lease
 * statement is running, no request is in flight and every result is written; then the rows this
 * instance leased but never sent go back to pending (RETURNING) and DONE calls the owner's
 * callback. The grace timer bounds each wait: when it fires in WAITING, results so far are
 * written and what is still in flight is left leased for lease expiry; in RETURNING it stops
 * waiting for the statement. */

static void on_grace(uv_timer_t *t);

static const char *drain_state_name(enum drain_state st)
{
    static const char *const names[] = {"running", "waiting", "returning", "done"};
    return names[st];
}

static void drain_set_state(struct dispatcher *d, enum drain_state st)
{
    log_info("event=drain_state from=%s to=%s in_flight=%u", drain_state_name(d->drain), drain_state_name(st),
             d->n_inflight);
    d->drain = st;
}

bool dispatch_running(const struct dispatcher *d) { return d->drain == DRAIN_RUNNING; }

static void drain_finish(struct dispatcher *d)
{
    uv_timer_stop(&d->grace_timer);
    drain_set_state(d, DRAIN_DONE);
    if (d->drain_done)
        d->drain_done(d->drain_arg);
}

static void return_done(void *arg, PGresult *res, const char *err)
{
    struct dispatcher *d = arg;
    if (d->drain == DRAIN_DONE)
        return;     /* the grace timer gave up on this statement already */
    if (err)
        log_error("event=lease_return_failed error=\"%s\" note=rows_become_due_at_lease_expiry", err);
    else if (atoi(PQcmdTuples(res)) > 0)
        log_info("event=lease_returned rows=%s", PQcmdTuples(res));
    drain_finish(d);
}

/* Leased by this instance and not in flight: never sent, so back to pending with the attempt
 * given back. Rows still in flight are left leased on purpose. */
static void return_unsent(struct dispatcher *d)
{
    drain_set_state(d, DRAIN_RETURNING);
    /* Without a database nothing was leased since it went away, and a statement would wait for
     * a connection for ever. */
    if (!pgpool_healthy(d->e->db)) {
        return_done(d, NULL, "database unreachable");
        return;
    }
    uv_timer_start(&d->grace_timer, on_grace, 5000, 0);
    struct pgarray c, m;
    pgarray_init(&c);
    pgarray_init(&m);
    for (struct inflight *f = d->inflight; f; f = f->next) {
        pgarray_int(&c, f->campaign_id);
        pgarray_int(&m, f->id);
    }
    const char *p[3] = {d->e->instance, pgarray_end(&c), pgarray_end(&m)};
    int rc = pgpool_query(d->e->db,
                          "SELECT campaign_id, id FROM loa_return_unsent($1, $2::bigint[], $3::bigint[])",
                          3, p, return_done, d);
    pgarray_free(&c);
    pgarray_free(&m);
    if (rc < 0)
        return_done(d, NULL, "pool closed");
}

void dispatch_drain_check(struct dispatcher *d)
{
    if (d->drain != DRAIN_WAITING)
        return;
    for (size_t i = 0; i < d->ng; i++) {
        struct dispatch_gw *g = &d->g[i];
        if (g->state == PUMP_LEASING)
            return;
        /* With nothing left in flight, no more results will come: write them now. */
        if (g->results.n > 0 && d->n_inflight == 0)
            result_batch_flush(&g->results);
    }
    if (d->n_inflight > 0)
        return;
    for (size_t i = 0; i < d->ng; i++)
        if (!result_batch_idle(&d->g[i].results))
            return;
    uv_timer_stop(&d->grace_timer);
    return_unsent(d);
}

static void on_grace(uv_timer_t *t)
{
    struct dispatcher *d = t->data;
    if (d->drain == DRAIN_RETURNING) {
        /* The statement returning unsent leases did not finish in time: lease expiry will. */
        return_done(d, NULL, "timed out");
        return;
    }
    log_warn("event=shutdown_grace_over in_flight=%u note=left_leased_for_lease_expiry", d->n_inflight);
    for (size_t i = 0; i < d->ng; i++)
        result_batch_flush(&d->g[i].results);
    bool busy = false;
    for (size_t i = 0; i < d->ng; i++)
        busy |= d->g[i].state == PUMP_LEASING || d->g[i].results.running > 0;
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
    return_unsent(d);
}

void dispatcher_drain(struct dispatcher *d, long grace_ms, void (*done)(void *arg), void *arg)
{
    d->drain_done = done;
    d->drain_arg = arg;
    for (size_t i = 0; i < d->ng; i++) {
        uv_timer_stop(&d->g[i].timer);
        dispatch_ready_discard(&d->g[i]);   /* never sent: returned to pending below */
    }
    log_info("event=draining in_flight=%u grace_ms=%ld", d->n_inflight, grace_ms);
    drain_set_state(d, DRAIN_WAITING);
    uv_timer_start(&d->grace_timer, on_grace, (uint64_t)(grace_ms > 0 ? grace_ms : 1), 0);
    dispatch_drain_check(d);
}
