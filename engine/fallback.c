#include "engine/fallback.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "engine/engine.h"
#include "core/log.h"
#include "core/pgasync.h"
#include "gateways/gateway.h"

/* One sweep at a time per process: the statement skips rows another daemon holds, so overlap
 * between daemons is harmless, but within one daemon a slow sweep must not queue another behind
 * it every tick. */
static bool sweep_running;

int fallback_array_literal(const char *const *items, size_t n, char *out, size_t cap)
{
    size_t j = 0;
    if (cap < 3)
        return -1;
    out[j++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i) {
            if (j + 1 >= cap)
                return -1;
            out[j++] = ',';
        }
        if (j + 1 >= cap)
            return -1;
        out[j++] = '"';
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\') {
                if (j + 1 >= cap)
                    return -1;
                out[j++] = '\\';
            }
            if (j + 1 >= cap)
                return -1;
            out[j++] = *p;
        }
        if (j + 1 >= cap)
            return -1;
        out[j++] = '"';
    }
    if (j + 2 > cap)
        return -1;
    out[j++] = '}';
    out[j] = '\0';
    return (int)j;
}

static void sweep_done(void *arg, PGresult *res, const char *err)
{
    sweep_running = false;
    if (err) {
        log_warn("event=fallback_sweep_failed error=\"%s\"", err);
        return;
    }
    int n = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
    if (n > 0)
        log_info("event=fallback_sweep moved=%d reason=no_receipt", n);
}

/* The first gateway of CHANNEL in configuration order, for steps that name none. A Zalo step is
 * a ZNS template, so it goes to a zalo_zns gateway, never to a consultation (zalo_oa) one. */
static const char *first_of(struct engine *e, const char *channel)
{
    for (size_t i = 0; i < e->ngateways; i++) {
        const struct gateway *gw = e->gateways[i];
        if (!gw || strcmp(gw->type->channel, channel) != 0)
            continue;
        if (strcmp(channel, "zalo") == 0 && strcmp(gw->type->name, "zalo_zns") != 0)
            continue;
        return gw->name;
    }
    return "";
}

int fallback_sweep(struct engine *e)
{
    if (sweep_running || e->stopping || !e->db)
        return 0;
    const char *names[64];
    char secs[64][16];
    const char *timeouts[64];
    size_t n = 0;
    for (size_t i = 0; i < e->ngateways && n < 64; i++) {
        struct gateway *gw = e->gateways[i];
        if (!gw || strcmp(gw->type->name, "zalo_zns") != 0)
            continue;
        long t = config_int(e->cfg, gw->section, "receipt_timeout_s");
        if (t <= 0)
            continue;       /* 0: wait for receipts forever */
        names[n] = gw->name;
        snprintf(secs[n], sizeof secs[n], "%ld", t);
        timeouts[n] = secs[n];
        n++;
    }
    if (n == 0)
        return 0;
    char gws[64 * 140], tos[64 * 20], batch[16];
    if (fallback_array_literal(names, n, gws, sizeof gws) < 0 ||
        fallback_array_literal(timeouts, n, tos, sizeof tos) < 0)
        return -1;
    snprintf(batch, sizeof batch, "%d", FALLBACK_SWEEP_BATCH);
    const char *p[5] = {gws, tos, first_of(e, "sms"), first_of(e, "zalo"), batch};
    if (pgpool_query(e->db, "SELECT zalo_fallback_sweep($1::text[], $2::int[], $3, $4, $5::int)", 5, p,
                     sweep_done, NULL) < 0)
        return -1;
    sweep_running = true;
    return 0;
}
