#include "core/log.h"
#include "engine/dispatch.h"
#include "engine/engine.h"
#include "gateways/gateway.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The circuit breaker of each gateway in the daemon: every answer goes through
 * dispatch_breaker_note, the pump leases only a probe while it is open (lease_size in
 * dispatch_pump.c), and each change of state is logged once and saved to gateway_breakers, where
 * `loa gateway status`, `loa campaign show` and the next start read it. The decisions are in
 * gateways/breaker.c. */

/* The saves of one gateway are written one at a time, the newest last: the pool runs
 * statements on whichever connection is free, so a probe's half_open and the closed of its answer
 * a millisecond later could otherwise commit in either order and leave the table saying
 * half_open for good. While one save runs, later changes only replace the state still to write.
 * The saver has no pointer into the dispatcher, so a save still running when the dispatcher is
 * freed ends on memory of its own (dispatch_breaker_detach). */
struct breaker_saver {
    struct pgpool *db;
    char *gw;
    struct breaker next;    /* the newest state not yet sent */
    bool running, dirty, orphan;
};

static void saver_free(struct breaker_saver *s)
{
    free(s->gw);
    free(s);
}

static void save_next(struct breaker_saver *s);

static void saved(void *arg, PGresult *res, const char *err)
{
    (void)res;
    struct breaker_saver *s = arg;
    s->running = false;
    if (err)
        log_warn("event=breaker_save_failed gw=%s error=\"%s\"", s->gw, err);
    if (s->orphan) {
        saver_free(s);
        return;
    }
    if (s->dirty)
        save_next(s);
}

static void save_next(struct breaker_saver *s)
{
    s->dirty = false;
    s->running = breaker_save(&s->next, s->db, s->gw, dispatch_now_ms(), saved, s) == 0;
}

static void save(struct dispatch_gw *g)
{
    struct breaker_saver *s = g->saver;
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || !(s->gw = strdup(g->gw->name))) {
            free(s);
            log_warn("event=breaker_save_failed gw=%s error=\"out of memory\"", g->gw->name);
            return;
        }
        s->db = g->d->e->db;
        g->saver = s;
    }
    s->next = g->br;
    s->dirty = true;
    if (!s->running)
        save_next(s);
}

void dispatch_breaker_detach(struct dispatch_gw *g)
{
    struct breaker_saver *s = g->saver;
    g->saver = NULL;
    if (!s)
        return;
    if (s->running)
        s->orphan = true;
    else
        saver_free(s);
}

static void changed(struct dispatch_gw *g, enum breaker_state from, int64_t now)
{
    const struct breaker *b = &g->br;
    int64_t wait = breaker_wait_ms(b, now);
    if (b->state == BREAKER_OPEN && from == BREAKER_CLOSED)
        log_warn("event=breaker gw=%s from=%s to=%s failures=%d probe_in_s=%" PRId64 " reason=\"%s\"",
                 g->gw->name, breaker_state_name(from), breaker_state_name(b->state), b->failures,
                 wait / 1000, b->reason);
    else
        log_info("event=breaker gw=%s from=%s to=%s failures=%d probe_in_s=%" PRId64 " reason=\"%s\"",
                 g->gw->name, breaker_state_name(from), breaker_state_name(b->state), b->failures,
                 wait < 0 ? 0 : wait / 1000, b->reason);
    if (b->state == BREAKER_OPEN && g->ready_head) {
        /* Rendered and leased, but the gateway is down: back to waiting, due at the probe,
         * rather than held leased through a wait that may outlast the lease. */
        int64_t s = (wait < 0 ? 0 : wait + 999) / 1000;
        dispatch_ready_requeue(g, s > 86400 ? 86400 : (int)s, b->reason);
    }
    save(g);
}

void dispatch_breaker_note(struct dispatch_gw *g, const struct gw_result *r, int64_t now)
{
    /* Decided without asking the gateway (no token yet): says nothing of its health. */
    if (r->untried)
        return;
    char why[sizeof g->br.reason];
    snprintf(why, sizeof why, "%s: %s", gateway_fault_name(r->fault), r->reason);
    enum breaker_state from = g->br.state;
    if (breaker_record(&g->br, r->fault != GW_FAULT_NONE, why, now))
        changed(g, from, now);
}

void dispatch_breaker_probe(struct dispatch_gw *g)
{
    enum breaker_state from = g->br.state;
    if (breaker_probe_started(&g->br))
        changed(g, from, dispatch_now_ms());
}

void dispatch_breaker_load(struct dispatch_gw *g, const char *state, const char *reason, int64_t now)
{
    enum breaker_state st;
    if (breaker_state_parse(state, &st) < 0 || st == BREAKER_CLOSED)
        return;
    breaker_restore(&g->br, st, reason, now);
    log_warn("event=breaker gw=%s from=closed to=open note=restored probe_in_s=0 reason=\"%s\"", g->gw->name,
             g->br.reason);
}
