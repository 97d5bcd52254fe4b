#include "engine/settings.h"
#include "core/config.h"
#include "core/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void engine_read(struct engine_settings *e, const struct config *cfg)
{
    e->lease_batch = (int)config_int(cfg, "engine", "lease_batch");
    e->lease_seconds = (int)config_int(cfg, "engine", "lease_seconds");
    e->max_attempts = (int)config_int(cfg, "engine", "max_attempts");
    e->retry_min_s = (int)config_int(cfg, "engine", "retry_min_seconds");
    e->retry_max_s = (int)config_int(cfg, "engine", "retry_max_seconds");
    e->shutdown_grace_s = (int)config_int(cfg, "engine", "shutdown_grace_seconds");
    e->tick_ms = (int)config_int(cfg, "engine", "tick_ms");
    e->settle_s = (int)config_int(cfg, "engine", "settle_seconds");
    e->materialise_chunk = (int)config_int(cfg, "engine", "materialise_chunk");
}

static int policy_read(struct policy_settings *p, const struct config *cfg, char *err, size_t errlen)
{
    const char *tz = config_str(cfg, "policy", "timezone");
    long off;
    if (strlen(tz) >= sizeof p->timezone || tz_offset(tz, 0, &off) < 0) {
        snprintf(err, errlen, "[policy] timezone: unknown time zone '%s'", tz);
        return -1;
    }
    snprintf(p->timezone, sizeof p->timezone, "%s", tz);
    const char *w = config_str(cfg, "policy", "window");
    if (config_parse_window(w, &p->window_start_min, &p->window_end_min) < 0) {
        snprintf(err, errlen, "[policy] window: '%s' is not HH:MM-HH:MM", w);
        return -1;
    }
    snprintf(p->window_start, sizeof p->window_start, "%02d:%02d", p->window_start_min / 60, p->window_start_min % 60);
    snprintf(p->window_end, sizeof p->window_end, "%02d:%02d", p->window_end_min / 60, p->window_end_min % 60);
    const char *cap = config_str(cfg, "policy", "frequency_cap");
    if (config_parse_cap(cap, &p->cap_count, &p->cap_days) < 0) {
        snprintf(err, errlen, "[policy] frequency_cap: '%s' is not N/Dd", cap);
        return -1;
    }
    return 0;
}

static void gateway_read(struct gateway_settings *g, const struct config *cfg, size_t i)
{
    const char *sec = config_gateway_section(cfg, i);
    g->rate = config_double(cfg, sec, "rate");
    g->concurrency = (int)config_int(cfg, sec, "concurrency");
    g->max_parts = (int)config_int(cfg, sec, "max_parts");
    g->price_per_part_vnd = (int)config_int(cfg, sec, "price_per_part_vnd");
    g->daily_quota = config_int(cfg, sec, "daily_quota");
    g->timeout_ms = config_int(cfg, sec, "timeout_ms");
    g->breaker_failures = (int)config_int(cfg, sec, "breaker_failures");
    g->breaker_probe_min_s = (int)config_int(cfg, sec, "breaker_probe_min_seconds");
    g->breaker_probe_max_s = (int)config_int(cfg, sec, "breaker_probe_max_seconds");
    /* A key of the zalo_zns type's own table: reading it from another type would abort. */
    g->receipt_timeout_s = strcmp(config_gateway_type(cfg, i), "zalo_zns") == 0 ? config_int(cfg, sec, "receipt_timeout_s") : 0;
}

int settings_load(struct settings *s, const struct config *cfg, char *err, size_t errlen)
{
    size_t n = config_gateway_count(cfg);
    memset(s, 0, sizeof *s);
    engine_read(&s->engine, cfg);
    if (policy_read(&s->policy, cfg, err, errlen) < 0)
        return -1;
    s->gw = calloc(n ? n : 1, sizeof *s->gw);
    if (!s->gw) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->ngw = n;
    for (size_t i = 0; i < n; i++)
        gateway_read(&s->gw[i], cfg, i);
    return 0;
}

void settings_free(struct settings *s)
{
    free(s->gw);
    s->gw = NULL;
    s->ngw = 0;
}
