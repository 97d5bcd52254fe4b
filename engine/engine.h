#ifndef LOA_ENGINE_H
#define LOA_ENGINE_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "engine/settings.h"
#include "gateways/gateway.h"

/* The daemon's parts, passed to whoever needs them. Owned by engine/serve.c, which creates them
 * in order (settings, database pool, HTTP client, HTTP server, gateways, dispatcher, answers, scheduler)
 * and closes them in reverse on SIGTERM. Gateways are looked up with engine/gateway_table.h. */

struct config;
struct pgpool;
struct httpc;
struct httpd;
struct gateway;
struct scheduler;
struct dispatcher;
struct answers;

struct engine {
    uv_loop_t *loop;
    const struct config *cfg;
    struct settings settings;   /* the configuration, read once at start */
    struct pgpool *db;
    struct httpc *http;
    struct httpd *httpd;
    struct gateway **gateways;
    size_t ngateways;
    struct scheduler *scheduler;
    struct dispatcher *dispatcher;
    struct answers *answers;    /* answers to citizens' replies (engine/answers.h) */
    struct gw_host host;        /* what the gateways see of the daemon */
    char instance[96];          /* host:pid, written into leases */
    bool stopping;              /* SIGTERM received: take no new work */
};

#endif
