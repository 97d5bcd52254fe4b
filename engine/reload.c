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

/* Keys read once, at start, by parts a reload does not rebuild (the pool, the HTTP server, the
 * log, the answers to replies): a changed value is said, never silently
 * ignored. The policy's forms of address and opt-out hint are read again by each campaign the
 * dispatcher loads, but the campaigns already running and the answers keep the old ones. */
#define CAMPAIGNS_KEEP "campaigns already running keep the old value; a restart gives it to them"
#define ANSWERS_KEEP                                                                          \
    "campaigns already running and the answers to replies keep the old value; a restart gives it to them"
static const struct {
    const char *section, *key, *note;   /* NOTE: NULL for "kept until loa serve restarts" */
} restart_keys[] = {
    {"database", "url", NULL}, {"database", "pool_size", NULL}, {"database", "query_timeout_ms", NULL},
    {"http", "listen", NULL}, {"http", "max_body", NULL}, {"http", "header_timeout_ms", NULL},
    {"http", "max_connections_per_address", NULL}, {"http", "trusted_addresses", NULL},
    {"engine", "tick_ms", NULL}, {"engine", "log_level", NULL},
    {"replies", "attribution_days", NULL}, {"replies", "answers_per_hour", NULL}, {"replies", "help_hours", NULL},
    {"policy", "elder_age", ANSWERS_KEEP},
    {"policy", "neutral_salutation", ANSWERS_KEEP},
    {"policy", "opt_out_keyword", CAMPAIGNS_KEEP},
    {"policy", "opt_out_number", CAMPAIGNS_KEEP},
};
static void log_restart_key(const struct config *was, const struct config *now, const char *section,
                            const char *key, const char *note)
{
    if (strcmp(config_str(was, section, key), config_str(now, section, key)) != 0)
        log_warn("event=reload_needs_restart key=%s.%s note=\"%s\"", section, key,
                 note ? note : "kept until loa serve restarts");
}

static void log_restart_keys(const struct engine *e, const struct config *was, const struct config *now)
{
    for (size_t i = 0; i < sizeof restart_keys / sizeof restart_keys[0]; i++)
        log_restart_key(was, now, restart_keys[i].section, restart_keys[i].key, restart_keys[i].note);
    for (size_t i = 0; i < e->ngateways; i++) {
        const struct gateway *gw = e->gateways[i];
        for (const char *const *k = gw->type->restart_keys; k && *k; k++)
            log_restart_key(was, now, gw->section, *k, NULL);
    }
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
    log_restart_keys(e, e->cfg, cfg);
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
