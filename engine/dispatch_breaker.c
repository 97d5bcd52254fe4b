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

static void saved(void *arg, PGresult *res, const char *err)
{
    char *gw = arg;
    if (err)
        log_warn("event=breaker_save_failed gw=%s error=\"%s\"", gw, err);
    free(gw);
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
    char *name = strdup(g->gw->name);
    if (!name || breaker_save(b, g->d->e->db, g->gw->name, now, saved, name) < 0)
        free(name);
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
