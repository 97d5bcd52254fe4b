#include "engine/reload.h"
#include "core/config.h"
#include "core/log.h"
#include "engine/dispatcher.h"
#include "engine/engine.h"
#include "engine/settings.h"
#include "gateways/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The gateways are the same, in the same order: the dispatcher's per-gateway state, the
 * gateway table and the webhooks' routes are built once, at start. */
static int same_gateways(const struct engine *e, const struct config *cfg, char *err, size_t errlen)
{
    size_t n = config_gateway_count(cfg);
    bool same = n == e->ngateways;
    for (size_t i = 0; i < n && same; i++)
        same = strcmp(config_gateway_name(cfg, i), e->gateways[i]->name) == 0 &&
               strcmp(config_gateway_type(cfg, i), e->gateways[i]->type->name) == 0;
    if (!same)
        snprintf(err, errlen, "gateways were added, removed, renamed or retyped: that needs a restart");
    return same ? 0 : -1;
}

/* Every gateway type that can take its own keys checks them first: either all are taken or none. */
static int gateways_reload(struct engine *e, const struct config *cfg, bool apply, char *err, size_t errlen)
{
    for (size_t i = 0; i < e->ngateways; i++) {
        struct gateway *gw = e->gateways[i];
        char why[512];
        if (gw->type->reload && gw->type->reload(gw, cfg, apply, why, sizeof why) < 0) {
            snprintf(err, errlen, "gateway %s: %s", gw->name, why);
            return -1;
        }
    }
    return 0;
}

/* Keys read once by parts that are not rebuilt: a changed value is said, not silently ignored. */
static void log_restart_keys(const struct config *was, const struct config *now)
{
    static const char *const keys[][2] = {
        {"database", "url"}, {"database", "pool_size"}, {"database", "query_timeout_ms"},
        {"http", "listen"}, {"http", "max_body"}, {"engine", "tick_ms"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(config_str(was, keys[i][0], keys[i][1]), config_str(now, keys[i][0], keys[i][1])) != 0)
            log_warn("event=reload_needs_restart key=%s.%s note=\"kept until loa serve restarts\"", keys[i][0],
                     keys[i][1]);
}

int engine_reload(struct engine *e, const struct config *cfg, char *err, size_t errlen)
{
    struct settings ns;
    if (settings_load(&ns, cfg, err, errlen) < 0)
        return -1;
    if (same_gateways(e, cfg, err, errlen) < 0 || gateways_reload(e, cfg, false, err, errlen) < 0) {
        settings_free(&ns);
        return -1;
    }
    /* From here nothing can fail. The settings are copied into the running ones, whose gateway
     * array the dispatcher points into. */
    gateways_reload(e, cfg, true, err, errlen);
    log_restart_keys(e->cfg, cfg);
    e->settings.engine.lease_batch = ns.engine.lease_batch;
    e->settings.engine.lease_seconds = ns.engine.lease_seconds;
    e->settings.engine.max_attempts = ns.engine.max_attempts;
    e->settings.engine.retry_min_s = ns.engine.retry_min_s;
    e->settings.engine.retry_max_s = ns.engine.retry_max_s;
    e->settings.engine.shutdown_grace_s = ns.engine.shutdown_grace_s;
    e->settings.engine.settle_s = ns.engine.settle_s;
    e->settings.engine.materialise_chunk = ns.engine.materialise_chunk;
    e->settings.policy = ns.policy;
    memcpy(e->settings.gw, ns.gw, ns.ngw * sizeof *ns.gw);
    settings_free(&ns);
    e->cfg = cfg;
    if (e->dispatcher)
        dispatcher_settings_changed(e->dispatcher);
    return 0;
}
