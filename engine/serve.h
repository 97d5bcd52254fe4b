#ifndef LOA_SERVE_H
#define LOA_SERVE_H
#include <stddef.h>

struct config;

/* The daemon (`loa serve`, cli/cmd_serve.c). Reads the settings (engine/settings.h), creates the
 * engine's parts in order (database pool, HTTP client, HTTP server, gateways, dispatcher,
 * scheduler), serves webhooks under /hooks/TYPE/NAME/…, /healthz and /metrics, and on SIGTERM /
 * SIGINT stops leasing, drains, and closes them in reverse order; returns when the loop has
 * finished. Returns 0 after a clean stop, -1 with the reason in ERR when the configuration cannot
 * be served (a setting or a gateway refuses, the listen address is taken, out of memory). An
 * unreachable database is not fatal: the daemon waits for it, /healthz answering 503 meanwhile.
 * CFG must outlive the call. */
int serve_run(const struct config *cfg, char *err, size_t errlen);

#endif
