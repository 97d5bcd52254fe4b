#ifndef LOA_WEB_H
#define LOA_WEB_H
#include <uv.h>

/* The supervisors' side of the daemon: the JSON API under /api/v1/ and the dashboard at /
 * (its files embedded in the binary from web/static/). Every handler answers from the loop
 * through the asynchronous pool; password checks, which are slow on purpose, run on libuv's
 * thread pool and touch no database or network there.
 *
 * Owned by engine/serve.c: created after the database pool and the HTTP server, its routes
 * registered with web_routes(); the HTTP server must not close while web_in_flight() > 0 (a
 * request waiting for the database would be freed under its callback); freed after the pool
 * has closed. */

struct web;
struct pgpool;
struct httpd;
struct config;

struct web *web_new(uv_loop_t *loop, struct pgpool *db, const struct config *cfg);
/* A configuration taken by SIGHUP, read by the requests from now on (the policy's time zone,
 * window and approval threshold, the sessions' length). CFG outlives W, as the first one does;
 * a request in flight may still hold strings of the one before, which lives as long. */
void web_config_set(struct web *w, const struct config *cfg);
/* Registers /api/v1/ and / on D. 0, or -1 when D has no room for more routes. */
int web_routes(struct web *w, struct httpd *d);
/* Requests being answered (waiting for the database or a password check). */
unsigned web_in_flight(const struct web *w);
void web_free(struct web *w);

#endif
