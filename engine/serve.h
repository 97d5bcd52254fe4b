#ifndef LOA_SERVE_H
#define LOA_SERVE_H
#include "cli/cli.h"

/* `loa serve`: the daemon. Creates the engine's parts in order (database pool, HTTP client, HTTP
 * server, gateways, dispatcher, scheduler), serves webhooks under /hooks/TYPE/NAME/…, /healthz
 * and /metrics, and on SIGTERM / SIGINT stops leasing, drains, and closes them in reverse order.
 * Exits 0 after a clean stop, 1 when the configuration cannot be served (a gateway refuses its
 * settings, the listen address is taken). An unreachable database is not fatal: the daemon
 * waits for it, /healthz answering 503 meanwhile. */
int cmd_serve(struct cli *c, int argc, char **argv);

#endif
