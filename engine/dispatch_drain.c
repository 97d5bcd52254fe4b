#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "engine/dispatch.h"
#include "engine/dispatcher.h"
#include "engine/engine.h"

#include <stdlib.h>

/* Stopping the dispatcher (enum drain_state in engine/dispatch.h). WAITING lasts until no lease
 * statement is running, no request is in flight and every result is written (results.c keeps
 * retrying while the database is away); then the rows leased after the stop began, which were
 * never handed to a gateway, go back to pending (RETURNING) and DONE calls the owner's callback.
 * Nothing else is returned: a row a gateway was given stays leased until its result is written
 * or its lease expires (in_doubt), so a restart cannot send it again. The grace timer bounds
 * each wait: when it fires in WAITING, results so far are sent and what is still in flight or
 * unwritten is left leased for lease expiry; in RETURNING it stops waiting for the statement. */

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
    dispatch_owner_release(d);
    if (d->drain_done)
        d->drain_done(d->drain_arg);
}

/* The loa_return_unsent() statement, apart from the dispatcher: if the grace time gives up on
 * it and the dispatcher is freed, its late answer finds D NULL. */
struct return_call {
    struct dispatcher *d;
};

void dispatch_drain_unsent(struct dispatcher *d, PGresult *res, int row)
{
    dispatch_drain_unsent_row(d, strtoll(PQgetvalue(res, row, 0), NULL, 10), strtoll(PQgetvalue(res, row, 1), NULL, 10));
}

void dispatch_drain_unsent_row(struct dispatcher *d, int64_t campaign_id, int64_t id)
{
    pgarray_int(&d->unsent_cid, campaign_id);
    pgarray_int(&d->unsent_id, id);
}

void dispatch_drain_detach(struct dispatcher *d)
{
    if (d->returning)
        d->returning->d = NULL;
    d->returning = NULL;
}

static void return_done(void *arg, PGresult *res, const char *err)
{
    struct return_call *call = arg;
    struct dispatcher *d = call->d;
    free(call);
    if (!d)
        return;     /* the grace timer gave up on this statement already */
    d->returning = NULL;
    if (err)
        log_error("event=lease_return_failed error=\"%s\" note=rows_become_due_at_lease_expiry", err);
    else if (atoi(PQcmdTuples(res)) > 0)
        log_info("event=lease_returned rows=%s", PQcmdTuples(res));
    drain_finish(d);
}

/* Leased after the stop and never sent: back to pending with the attempt given back. */
static void return_unsent(struct dispatcher *d)
{
    drain_set_state(d, DRAIN_RETURNING);
    if (d->unsent_id.count == 0) {
        drain_finish(d);
        return;
    }
    /* Without a database nothing was leased since it went away, and a statement would wait for
     * a connection for ever. */
    if (!pgpool_healthy(d->e->db)) {
        log_error("event=lease_return_failed error=\"database unreachable\" note=rows_become_due_at_lease_expiry");
        drain_finish(d);
        return;
    }
    struct return_call *call = malloc(sizeof *call);
    if (!call) {
        drain_finish(d);
        return;
    }
    call->d = d;
    uv_timer_start(&d->grace_timer, on_grace, 5000, 0);
    const char *p[3] = {d->e->instance, pgarray_end(&d->unsent_cid), pgarray_end(&d->unsent_id)};
    if (pgpool_query(d->e->db,
                     "SELECT campaign_id, id FROM loa_return_unsent($1, $2::bigint[], $3::bigint[])",
                     3, p, return_done, call) < 0) {
        free(call);
        log_error("event=lease_return_failed error=\"pool closed\" note=rows_become_due_at_lease_expiry");
        drain_finish(d);
        return;
    }
    d->returning = call;
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

static int unwritten(const struct dispatcher *d)
{
    int n = 0;
    for (size_t i = 0; i < d->ng; i++)
        n += result_batch_unwritten(&d->g[i].results);
    return n;
}

static void on_grace(uv_timer_t *t)
{
    struct dispatcher *d = t->data;
    if (d->drain == DRAIN_RETURNING) {
        /* The statement returning unsent leases did not finish in time: lease expiry will. */
        log_error("event=lease_return_failed error=\"timed out\" note=rows_become_due_at_lease_expiry");
        dispatch_drain_detach(d);
        drain_finish(d);
        return;
    }
    if (d->grace_polls == 0)
        log_warn("event=shutdown_grace_over in_flight=%u unwritten=%d note=waiting_5s_more", d->n_inflight,
                 unwritten(d));
    for (size_t i = 0; i < d->ng; i++)
        result_batch_flush(&d->g[i].results);
    bool leasing = false, busy = false;
    for (size_t i = 0; i < d->ng; i++) {
        leasing |= d->g[i].state == PUMP_LEASING;
        busy |= !result_batch_idle(&d->g[i].results);
    }
    if ((leasing || busy) && ++d->grace_polls < 100) {
        /* A statement is still running or results wait for the database; look again shortly
         * (their callbacks may also finish us). After five more seconds stop waiting. */
        uv_timer_start(&d->grace_timer, on_grace, 50, 0);
        return;
    }
    if (busy || d->n_inflight > 0)
        log_error("event=shutdown_results_unwritten rows=%d in_flight=%u note=left_leased_for_lease_expiry",
                  unwritten(d), d->n_inflight);
    if (leasing) {
        /* A lease statement may still answer: its rows expire with the others. */
        drain_set_state(d, DRAIN_RETURNING);
        drain_finish(d);
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
        dispatch_ready_return(&d->g[i]);    /* never sent: returned to pending below */
    }
    log_info("event=draining in_flight=%u grace_ms=%ld", d->n_inflight, grace_ms);
    drain_set_state(d, DRAIN_WAITING);
    uv_timer_start(&d->grace_timer, on_grace, (uint64_t)(grace_ms > 0 ? grace_ms : 1), 0);
    dispatch_drain_check(d);
}
