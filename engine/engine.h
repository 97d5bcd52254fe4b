#ifndef LOA_ENGINE_H
#define LOA_ENGINE_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "gateways/gateway.h"

/* The daemon's parts, passed to whoever needs them. Owned by engine/serve.c, which creates them
 * in order (database pool, HTTP client, HTTP server, gateways, scheduler, dispatcher) and closes
 * them in reverse on SIGTERM. */

struct config;
struct pgpool;
struct httpc;
struct httpd;
struct gateway;
struct scheduler;
struct dispatcher;

struct engine {
    uv_loop_t *loop;
    const struct config *cfg;
    struct pgpool *db;
    struct httpc *http;
    struct httpd *httpd;
    struct gateway **gateways;
    size_t ngateways;
    struct scheduler *scheduler;
    struct dispatcher *dispatcher;
    struct gw_host host;        /* what the gateways see of the daemon */
    char instance[96];          /* host:pid, written into leases */
    bool stopping;              /* SIGTERM received: take no new work */
};

/* The gateway called NAME, or NULL. */
struct gateway *engine_gateway_find(struct engine *e, const char *name);
/* The first configured gateway of CHANNEL ("sms" / "zalo"), or NULL. */
struct gateway *engine_gateway_for_channel(struct engine *e, const char *channel);

#endif
