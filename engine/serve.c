#include "engine/serve.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/fdlimit.h"
#include "core/httpc.h"
#include "core/httpd.h"
#include "core/log.h"
#include "core/pgasync.h"
#include "engine/answers.h"
#include "engine/dispatcher.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/gateway_table.h"
#include "engine/reload.h"
#include "engine/scheduler.h"
#include "gateways/gateway.h"
#include "web/web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int host_events_apply(struct gw_host *h, struct gateway *gw, const struct gw_event *ev, size_t n,
                             void (*cb)(void *arg, int rc), void *arg)
{
    return engine_events_apply(h->owner, gw, ev, n, cb, arg);
}

static struct gateway *host_find(struct gw_host *h, const char *name)
{
    return gateway_table_find(h->owner, name);
}

/* The daemon's own state besides struct engine: signals and the shutdown sequence. */
struct serve {
    struct engine e;
    uv_signal_t sigterm, sigint, sighup;
    struct config **reloaded;       /* configurations taken by SIGHUP, freed when the loop ends:
                                     * gateways and templates may point into any of them */
    size_t nreloaded;
    uv_timer_t wait_timer;          /* polls for webhooks in flight during shutdown */
    uv_timer_t db_timer;            /* says, while it lasts, that the database is unreachable */
    int ngw_opened;
    unsigned long started_ms;
    struct web *web;                /* the API and the dashboard (web/web.h) */
};

/* ---- HTTP routes ---- */

static void on_hooks(void *arg, struct http_req *req)
{
    struct engine *e = arg;
    /* /hooks/TYPE/NAME[/REST] */
    const char *sub = http_req_subpath(req);
    char type[64], name[64];
    const char *slash = strchr(sub, '/');
    if (!slash || (size_t)(slash - sub) >= sizeof type) {
        http_reply_text(req, 404, "not found\n");
        return;
    }
    snprintf(type, sizeof type, "%.*s", (int)(slash - sub), sub);
    const char *rest = slash + 1;
    const char *slash2 = strchr(rest, '/');
    size_t nlen = slash2 ? (size_t)(slash2 - rest) : strlen(rest);
    if (nlen == 0 || nlen >= sizeof name) {
        http_reply_text(req, 404, "not found\n");
        return;
    }
    snprintf(name, sizeof name, "%.*s", (int)nlen, rest);
    struct gateway *gw = gateway_table_find(e, name);
    /* Zalo's hook is /hooks/zalo/NAME for both Zalo types (an OA has one callback URL). */
    bool zalo = strcmp(type, "zalo") == 0 && gw && strcmp(gw->type->channel, "zalo") == 0;
    if (!gw || (strcmp(gw->type->name, type) != 0 && !zalo) || !gw->type->webhook) {
        http_reply_text(req, 404, "no such gateway\n");
        return;
    }
    gw->type->webhook(gw, req, slash2 ? slash2 + 1 : "");
}

static void on_healthz(void *arg, struct http_req *req)
{
    struct engine *e = arg;
    bool db = e->db && pgpool_healthy(e->db);
    char body[256];
    snprintf(body, sizeof body, "{\"status\":\"%s\",\"database\":%s,\"gateways\":%zu,\"stopping\":%s}",
             db ? "ok" : "unavailable", db ? "true" : "false", e->ngateways, e->stopping ? "true" : "false");
    http_reply_json(req, db ? 200 : 503, body);
}

static void on_metrics(void *arg, struct http_req *req)
{
    struct engine *e = arg;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        http_reply_text(req, 500, "out of memory\n");
        return;
    }
    fprintf(f, "# TYPE loa_up gauge\nloa_up 1\n");
    fprintf(f, "# TYPE loa_database_up gauge\nloa_database_up %d\n", e->db && pgpool_healthy(e->db) ? 1 : 0);
    fprintf(f, "# TYPE loa_db_busy gauge\nloa_db_busy %u\n", e->db ? pgpool_busy(e->db) : 0);
    fprintf(f, "# TYPE loa_http_requests_total counter\nloa_http_requests_total %lu\n", httpd_requests(e->httpd));
    fprintf(f, "# TYPE loa_gateway_requests_in_flight gauge\nloa_gateway_requests_in_flight %u\n",
            e->http ? httpc_in_flight(e->http) : 0);
    fprintf(f, "# TYPE loa_webhook_events_in_flight gauge\nloa_webhook_events_in_flight %u\n", engine_events_in_flight());
    engine_events_metrics_write(f);
    if (e->db) {
        /* Database latency as a caller of the pool waits it (queue included): a summary's sum
         * and count, and the longest so far. */
        struct pgpool_latency l = pgpool_latency(e->db);
        fprintf(f, "# HELP loa_db_query_seconds time from asking the pool to the answer\n"
                   "# TYPE loa_db_query_seconds summary\nloa_db_query_seconds_sum %.6f\n"
                   "loa_db_query_seconds_count %llu\n", l.sum_s, l.count);
        fprintf(f, "# TYPE loa_db_query_seconds_max gauge\nloa_db_query_seconds_max %.6f\n", l.max_s);
    }
    /* Each gateway's circuit state (closed / open / half-open) belongs with the dispatcher's
     * per-gateway figures below, where the circuit breaker writes it. */
    if (e->dispatcher)
        dispatcher_metrics_write(e->dispatcher, f);
    answers_metrics_write(e->answers, f);
    fclose(f);
    http_reply(req, 200, "text/plain; version=0.0.4", buf, len);
    free(buf);
}

/* ---- shutdown, in reverse order of creation ---- */

static void pool_closed(void *arg)
{
    struct serve *sv = arg;
    struct engine *e = &sv->e;
    e->db = NULL;
    answers_free(e->answers);
    e->answers = NULL;
    scheduler_free(e->scheduler);
    e->scheduler = NULL;
    uv_close((uv_handle_t *)&sv->wait_timer, NULL);
    uv_close((uv_handle_t *)&sv->db_timer, NULL);
    uv_close((uv_handle_t *)&sv->sigterm, NULL);
    uv_close((uv_handle_t *)&sv->sigint, NULL);
    uv_close((uv_handle_t *)&sv->sighup, NULL);
    log_info("event=stopped");
}

static void http_client_closed(void *arg)
{
    struct serve *sv = arg;
    struct engine *e = &sv->e;
    e->http = NULL;
    /* No submit callback can run any more: the dispatcher and the gateways may go. */
    dispatcher_free(e->dispatcher);
    e->dispatcher = NULL;
    for (size_t i = e->ngateways; i-- > 0;) {
        struct gateway *gw = e->gateways[i];
        if (gw && gw->impl && gw->type->close)
            gw->type->close(gw);
        free(gw);
        e->gateways[i] = NULL;
    }
    pgpool_close(e->db, pool_closed, sv);
}

/* Webhooks still being written answer their suspended requests: the HTTP server closes once none
 * is left, so that each is answered with its real result. (httpd_close() would also be safe
 * earlier: it answers what is left 503 after its grace time, and a handler that replies later
 * only frees its detached request.) */
static void wait_webhooks(uv_timer_t *t)
{
    struct serve *sv = t->data;
    struct engine *e = &sv->e;
    if (engine_events_in_flight() > 0 || web_in_flight(sv->web) > 0 || answers_busy(e->answers) > 0 ||
        !scheduler_closed(e->scheduler)) {
        uv_timer_start(&sv->wait_timer, wait_webhooks, 20, 0);
        return;
    }
    httpd_close(e->httpd);
    e->httpd = NULL;
    httpc_close(e->http, http_client_closed, sv);
}

static void drained(void *arg)
{
    struct serve *sv = arg;
    log_info("event=drained");
    wait_webhooks(&sv->wait_timer);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *sv = h->data;
    struct engine *e = &sv->e;
    if (e->stopping) {
        log_warn("event=signal signal=%d note=already_stopping", signum);
        return;
    }
    e->stopping = true;
    log_info("event=stopping signal=%s", signum == SIGTERM ? "TERM" : "INT");
    uv_signal_stop(&sv->sigterm);
    uv_signal_stop(&sv->sigint);
    uv_signal_stop(&sv->sighup);
    scheduler_close(e->scheduler);
    answers_stop(e->answers);
    dispatcher_drain(e->dispatcher, e->settings.engine.shutdown_grace_s * 1000L, drained, sv);
}

/* ---- SIGHUP: the configuration again ---- */

/* Reads the file again and takes it whole, or refuses it whole and keeps the running one: a bad
 * file (a typo, an unreadable secret) never stops the daemon or leaves it half changed. */
static void on_hangup(uv_signal_t *h, int signum)
{
    struct serve *sv = h->data;
    struct engine *e = &sv->e;
    const char *path = config_path(e->cfg);
    if (e->stopping)
        return;
    if (!path) {
        log_warn("event=reload_refused reason=\"started with the built-in defaults: no file to read again\"");
        return;
    }
    char err[800];
    struct config *cfg = NULL;
    struct config **list = realloc(sv->reloaded, (sv->nreloaded + 1) * sizeof *list);
    if (!list) {
        log_error("event=reload_refused file=%s reason=\"out of memory\"", path);
        return;
    }
    sv->reloaded = list;
    if (config_load(path, &cfg, err, sizeof err) < 0 || engine_reload(e, cfg, err, sizeof err) < 0) {
        log_error("event=reload_refused file=%s reason=\"%s\" note=\"the running configuration is kept\"",
                  path, err);
        config_free(cfg);
        return;
    }
    sv->reloaded[sv->nreloaded++] = cfg;
    if (sv->web)
        web_config_set(sv->web, cfg);
    log_info("event=reloaded file=%s", path);
}

/* ---- start ---- */

static void nothing(void *arg) {}

/* An unreachable database is not fatal: say so clearly, every 30 s, until it answers. */
static void check_database(uv_timer_t *t)
{
    struct serve *sv = t->data;
    if (sv->e.db && !sv->e.stopping && !pgpool_healthy(sv->e.db))
        log_warn("event=waiting_for_database note=\"healthz answers 503 until it is reachable; retrying\"");
    else
        uv_timer_stop(t);
}

static int open_gateways(struct serve *sv, char *err, size_t errlen)
{
    struct engine *e = &sv->e;
    size_t n = config_gateway_count(e->cfg);
    e->gateways = calloc(n ? n : 1, sizeof *e->gateways);
    if (!e->gateways)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct gateway *gw = calloc(1, sizeof *gw);
        if (!gw)
            return -1;
        gw->type = gateway_type_find(config_gateway_type(e->cfg, i));
        snprintf(gw->name, sizeof gw->name, "%s", config_gateway_name(e->cfg, i));
        snprintf(gw->section, sizeof gw->section, "%s", config_gateway_section(e->cfg, i));
        gw->cfg = e->cfg;
        gw->host = &e->host;
        e->gateways[i] = gw;
        e->ngateways = i + 1;
        if (gw->type->open(gw, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* The scheduler's hooks: the dispatcher is created before the scheduler and freed after it is
 * closed, but is NULL while a start-up fails. */
static void hook_campaigns_running(void *arg, const int64_t *ids, size_t n)
{
    struct engine *e = arg;
    if (e->dispatcher)
        dispatcher_campaigns_sync(e->dispatcher, ids, n);
}

static void hook_work_due(void *arg)
{
    struct engine *e = arg;
    if (e->dispatcher)
        dispatcher_kick(e->dispatcher);
}

int serve_run(const struct config *cfg, char *err, size_t errlen)
{
    static struct serve sv;
    memset(&sv, 0, sizeof sv);
    struct engine *e = &sv.e;
    if (settings_load(&e->settings, cfg, err, errlen) < 0)
        return -1;
    uv_loop_t loop;
    uv_loop_init(&loop);
    e->loop = &loop;
    e->cfg = cfg;
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(e->instance, sizeof e->instance, "%s:%d", host, (int)getpid());

    char why[600] = "out of memory";
    fdlimit_raise();
    e->db = pgpool_new(&loop, config_str(cfg, "database", "url"), (int)config_int(cfg, "database", "pool_size"),
                       (unsigned)config_int(cfg, "database", "query_timeout_ms"));
    e->http = httpc_new(&loop, 65536);
    e->httpd = httpd_new(&loop, config_str(cfg, "http", "listen"), (size_t)config_int(cfg, "http", "max_body"), why,
                         sizeof why);
    if (!e->db || !e->http || !e->httpd || httpd_config_limits(e->httpd, cfg, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    e->host = (struct gw_host){.loop = &loop, .db = e->db, .http = e->http, .instance = e->instance,
                               .events_apply = host_events_apply, .find = host_find, .owner = e};
    if (open_gateways(&sv, why, sizeof why) < 0) {
        snprintf(err, errlen, "gateway: %s", why);
        goto fail;
    }
    httpd_route(e->httpd, NULL, "/hooks/", on_hooks, e);
    httpd_route(e->httpd, "GET", "/healthz", on_healthz, e);
    httpd_route(e->httpd, "GET", "/metrics", on_metrics, e);
    sv.web = web_new(&loop, e->db, cfg);
    if (!sv.web || web_routes(sv.web, e->httpd) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    e->dispatcher = dispatcher_new(e);
    e->answers = e->dispatcher ? answers_new(e) : NULL;
    struct scheduler_hooks hooks = {.campaigns_running = hook_campaigns_running, .work_due = hook_work_due, .arg = e};
    e->scheduler = scheduler_new(e, &hooks);
    if (!e->dispatcher || !e->answers || !e->scheduler) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    uv_signal_init(&loop, &sv.sigterm);
    uv_signal_init(&loop, &sv.sigint);
    uv_timer_init(&loop, &sv.wait_timer);
    sv.sigterm.data = sv.sigint.data = sv.wait_timer.data = &sv;
    uv_signal_start(&sv.sigterm, on_signal, SIGTERM);
    uv_signal_start(&sv.sigint, on_signal, SIGINT);
    uv_signal_init(&loop, &sv.sighup);
    sv.sighup.data = &sv;
    uv_signal_start(&sv.sighup, on_hangup, SIGHUP);

    char gws[1024] = "";
    size_t j = 0;
    for (size_t i = 0; i < e->ngateways && j + 140 < sizeof gws; i++)
        j += (size_t)snprintf(gws + j, sizeof gws - j, "%s%s:%s", i ? "," : "", e->gateways[i]->name,
                              e->gateways[i]->type->name);
    log_info("event=started listen=%s port=%u public_url=%s gateways=%s instance=%s",
             config_str(cfg, "http", "listen"), httpd_port(e->httpd), config_str(cfg, "http", "public_url"),
             j ? gws : "(none)", e->instance);
    if (clock_is_test())
        log_warn("event=test_clock file=\"%s\" offset=\"%s\" note=\"LOA_TEST_CLOCK is set: every decision by time "
                 "follows this file, not the real time; never in production\"",
                 clock_test_file(), clock_offset_text());
    uv_timer_init(&loop, &sv.db_timer);
    sv.db_timer.data = &sv;
    uv_timer_start(&sv.db_timer, check_database, 3000, 30000);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(e->gateways);
    web_free(sv.web);
    settings_free(&e->settings);
    for (size_t i = 0; i < sv.nreloaded; i++)
        config_free(sv.reloaded[i]);
    free(sv.reloaded);
    return 0;

fail:
    /* Start-up failed before the loop ran: close what was opened and let the loop finish it. */
    for (size_t i = 0; i < e->ngateways; i++) {
        struct gateway *gw = e->gateways[i];
        if (gw && gw->impl && gw->type->close)
            gw->type->close(gw);
        free(gw);
    }
    free(e->gateways);
    if (e->httpd)
        httpd_close(e->httpd);
    if (e->http)
        httpc_close(e->http, nothing, NULL);
    answers_stop(e->answers);
    if (e->db)
        pgpool_close(e->db, nothing, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    web_free(sv.web);
    answers_free(e->answers);
    settings_free(&e->settings);
    return -1;
}
