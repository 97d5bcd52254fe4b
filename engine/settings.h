#ifndef LOA_SETTINGS_H
#define LOA_SETTINGS_H
#include <stddef.h>

/* The daemon's configuration, read once at start into typed fields (engine/serve.c calls
 * settings_load() before anything runs), so that no callback looks a key up by its name and a
 * key that cannot be read stops the start, never a message. The values were already checked
 * against the configuration table (core/config.c) when the file was loaded; settings_load()
 * refuses only what a table row cannot say (a window that does not parse, a zone core/tz.h does
 * not know). Owned by struct engine; gw[] is allocated and freed with settings_free(). */

struct config;

struct engine_settings {
    int lease_batch;            /* [engine] lease_batch: rows per loa_lease() */
    int lease_seconds;
    int max_attempts;
    int retry_min_s, retry_max_s;
    int shutdown_grace_s;
    int tick_ms;
    int settle_s;
    int materialise_chunk;
};

struct policy_settings {
    char timezone[72];          /* known to core/tz.h */
    int window_start_min, window_end_min;   /* minutes since local midnight */
    char window_start[8], window_end[8];     /* "HH:MM", as loa_lease() takes them */
    int cap_count, cap_days;    /* frequency_cap N/Dd */
};

/* The common keys of one [gateway.NAME] section. */
struct gateway_settings {
    double rate;
    int concurrency;
    int max_parts;
    int price_per_part_vnd;
    long daily_quota;
    long timeout_ms;
    long receipt_timeout_s;     /* zalo_zns only (fallback.c); 0 for the other types */
    int breaker_failures;       /* gateways/breaker.h */
    int breaker_probe_min_s, breaker_probe_max_s;
};

struct settings {
    struct engine_settings engine;
    struct policy_settings policy;
    struct gateway_settings *gw;
    size_t ngw;
};

/* Reads CFG; gw[i] is the i-th gateway section of the file (config_gateway_section), the order
 * of engine->gateways. Returns 0, or -1 with the reason in ERR (nothing to free then). */
int settings_load(struct settings *s, const struct config *cfg, char *err, size_t errlen);
void settings_free(struct settings *s);

#endif
