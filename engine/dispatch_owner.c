#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "engine/dispatch.h"
#include "engine/dispatcher.h"
#include "engine/engine.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Several daemons on one database (docs/design.md): each gateway is sent through by one daemon
 * at a time, its owner, so the gateway's rate and daily quota hold for all of them together.
 * Ownership is a lease row (loa_gateway_own, sql/functions/60_gateways.sql) that the owner
 * renews every OWNER_RENEW_MS; a daemon that stops renewing (killed, cut off from the database)
 * loses it OWNER_TTL_S later by the database's clock, and another daemon takes it over. A
 * daemon restarted on the same host takes over at once from an owner of that host whose
 * process is gone (kill -9 and a restart by systemd do not wait out the TTL).
 *
 * The owner stops on its own before anyone can take over: it sends only while its last
 * renewal, counted on the monotonic clock from when the statement was sent, is younger than
 * OWNER_HOLD_MS. The database dates the renewal after that moment and the takeover waits
 * OWNER_TTL_S from then, so two daemons never send through one gateway at once. A gateway
 * taken over starts from the quota count in the database (pump_state_load), which the previous
 * owner's flushes keep. */

enum { OWNER_RENEW_MS = 1000, OWNER_TTL_S = 5, OWNER_HOLD_MS = 4000 };

/* The statement asking, apart from the dispatcher: if the dispatcher is freed while it runs,
 * its late answer finds D NULL. */
struct owner_call {
    struct dispatcher *d;
};

static void ask(struct dispatcher *d);
static void release(struct dispatcher *d);

static void on_owner_timer(uv_timer_t *t) { ask(t->data); }

static int64_t mono_ms(void) { return (int64_t)(uv_hrtime() / 1000000); }

bool dispatch_owner_holds(const struct dispatch_gw *g)
{
    return g->owned && mono_ms() < g->owned_until_ms;
}

/* OWNER ("host:pid") is a daemon of this host whose process has ended. */
static bool owner_dead_here(const struct dispatcher *d, const char *owner)
{
    const char *colon = strrchr(owner, ':'), *mine = strrchr(d->e->instance, ':');
    if (!colon || !mine || colon - owner != mine - d->e->instance ||
        strncmp(owner, d->e->instance, (size_t)(colon - owner)) != 0)
        return false;
    char *end;
    long pid = strtol(colon + 1, &end, 10);
    if (*end || pid <= 0 || pid == (long)getpid())
        return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void owner_changed(struct dispatch_gw *g, bool mine, const char *owner)
{
    if (mine == g->owned && g->owner_known)
        return;
    bool first = !g->owner_known;
    g->owner_known = true;
    g->owned = mine;
    if (mine) {
        log_info("event=gateway_owned gw=%s", g->gw->name);
        /* Another daemon may have used the quota meanwhile: read its count again. */
        if (g->state == PUMP_READY || g->state == PUMP_IDLE)
            pump_set_state(g, PUMP_UNLOADED);
        pump_state_load(g);
    } else {
        log_info("event=gateway_standby gw=%s owner=\"%s\" note=another_daemon_sends", g->gw->name, owner);
        /* What was leased and rendered here goes back, due at once for the owner. */
        if (!first)
            dispatch_ready_requeue(g, 0, "gateway sent by another daemon");
    }
}

static void owned(void *arg, PGresult *res, const char *err)
{
    struct owner_call *call = arg;
    struct dispatcher *d = call->d;
    free(call);
    if (!d)
        return;
    d->owner_call = NULL;
    if (!dispatch_running(d)) {
        if (d->owner_release)
            release(d);
        return;
    }
    if (err) {
        /* Keep what we hold until it runs out (dispatch_owner_holds): a daemon cut off from the
         * database sends nothing more after OWNER_TTL_S / 2, and nobody takes over before
         * OWNER_TTL_S. */
        log_warn("event=gateway_owner_failed error=\"%s\"", err);
    } else {
        bool again = false;
        for (int i = 0; i < PQntuples(res); i++) {
            const char *name = PQgetvalue(res, i, 0);
            bool mine = PQgetvalue(res, i, 2)[0] == 't';
            for (size_t j = 0; j < d->ng; j++) {
                struct dispatch_gw *g = &d->g[j];
                if (strcmp(g->gw->name, name) != 0)
                    continue;
                const char *owner = PQgetvalue(res, i, 1);
                if (mine)
                    g->owned_until_ms = d->owner_sent_ms + OWNER_HOLD_MS;
                else if (owner_dead_here(d, owner) && strcmp(d->owner_dead, owner) != 0) {
                    snprintf(d->owner_dead, sizeof d->owner_dead, "%s", owner);
                    again = true;
                }
                owner_changed(g, mine, owner);
            }
        }
        dispatcher_kick(d);
        if (again) {
            /* Its process is gone: take its gateways now rather than after the TTL. */
            log_info("event=gateway_owner_gone owner=\"%s\" note=taking_over", d->owner_dead);
            ask(d);
            return;
        }
    }
    uv_timer_start(&d->owner_timer, on_owner_timer, OWNER_RENEW_MS, 0);
}

static void ask(struct dispatcher *d)
{
    if (d->owner_call || !dispatch_running(d) || d->ng == 0)
        return;
    struct owner_call *call = malloc(sizeof *call);
    if (!call) {
        uv_timer_start(&d->owner_timer, on_owner_timer, OWNER_RENEW_MS, 0);
        return;
    }
    call->d = d;
    struct pgarray names;
    pgarray_init(&names);
    for (size_t i = 0; i < d->ng; i++)
        pgarray_text(&names, d->g[i].gw->name);
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", OWNER_TTL_S);
    const char *p[4] = {pgarray_end(&names), d->e->instance, ttl, d->owner_dead};
    d->owner_sent_ms = mono_ms();
    if (pgpool_query_prepared(d->e->db, "loa_gateway_own",
                              "SELECT * FROM loa_gateway_own($1::text[], $2, $3::int, NULLIF($4, ''))",
                              4, p, owned, call) == 0) {
        d->owner_call = call;
    } else {
        free(call);
        uv_timer_start(&d->owner_timer, on_owner_timer, OWNER_RENEW_MS, 0);
    }
    pgarray_free(&names);
}

void dispatch_owner_start(struct dispatcher *d)
{
    uv_timer_init(d->e->loop, &d->owner_timer);
    d->owner_timer.data = d;
    ask(d);
}

static void disowned(void *arg, PGresult *res, const char *err)
{
    (void)arg;
    if (err)
        log_warn("event=gateway_disown_failed error=\"%s\" note=others_take_over_after_%ds", err, OWNER_TTL_S);
    else if (atoi(PQgetvalue(res, 0, 0)) > 0)
        log_info("event=gateways_disowned count=%s", PQgetvalue(res, 0, 0));
}

/* Queued on the pool, which runs it before it closes; the callback needs nothing of D. */
static void release(struct dispatcher *d)
{
    d->owner_release = false;
    if (!pgpool_healthy(d->e->db))
        return;
    const char *p[1] = {d->e->instance};
    pgpool_query(d->e->db, "SELECT loa_gateway_disown($1)", 1, p, disowned, NULL);
}

void dispatch_owner_release(struct dispatcher *d)
{
    uv_timer_stop(&d->owner_timer);
    for (size_t i = 0; i < d->ng; i++)
        d->g[i].owned = false;
    /* After the renewal still running, if any: it would take the gateways back. */
    d->owner_release = true;
    if (!d->owner_call)
        release(d);
}

void dispatch_owner_detach(struct dispatcher *d)
{
    if (d->owner_call)
        d->owner_call->d = NULL;
    d->owner_call = NULL;
}
