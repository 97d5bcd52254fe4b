#include "engine/fallback.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "engine/engine.h"
#include "engine/gateway_table.h"
#include "gateways/gateway.h"

/* One sweep at a time per process: the statement skips rows another daemon holds, so overlap
 * between daemons is harmless, but within one daemon a slow sweep must not queue another behind
 * it every tick. */
static bool sweep_running;

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

int fallback_sweep(struct engine *e)
{
    if (sweep_running || e->stopping || !e->db)
        return 0;
    struct pgarray gws, tos;
    pgarray_init(&gws);
    pgarray_init(&tos);
    for (size_t i = 0; i < e->ngateways; i++) {
        long t = e->settings.gw[i].receipt_timeout_s;   /* 0 for types other than zalo_zns */
        if (strcmp(e->gateways[i]->type->name, "zalo_zns") != 0 || t <= 0)
            continue;       /* 0: wait for receipts forever */
        pgarray_text(&gws, e->gateways[i]->name);
        pgarray_int(&tos, t);
    }
    int rc = 0;
    if (gws.count > 0) {
        char batch[16];
        snprintf(batch, sizeof batch, "%d", FALLBACK_SWEEP_BATCH);
        /* A step without a gateway goes to the first of its channel, as materialisation does. */
        const char *p[5] = {pgarray_end(&gws), pgarray_end(&tos), gateway_table_name_for_channel(e, "sms"),
                            gateway_table_name_for_channel(e, "zalo"), batch};
        if (pgpool_query(e->db, "SELECT zalo_fallback_sweep($1::text[], $2::int[], $3, $4, $5::int)", 5, p,
                         sweep_done, NULL) < 0)
            rc = -1;
        else
            sweep_running = true;
    }
    pgarray_free(&gws);
    pgarray_free(&tos);
    return rc;
}
