/* The /api/v1/ dispatcher: every request is authenticated (a bearer token or the dashboard's
 * session cookie, both compared as SHA-256 in the database), matched against the route table,
 * checked against the route's role, and only then handed to its handler. So a refused request
 * (401, 403, 404) never reaches code that changes anything. Also serves the dashboard's files. */
#include "web/web.h"
#include "web/api.h"
#include "campaigns/users.h"
#include "core/embedded.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/api/v1/"

struct api_route {
    const char *method;
    const char *path;           /* segments; ":id" matches a number */
    enum web_role role;         /* the least role that may */
    void (*fn)(struct api_call *c);
};

/* Who may do what (contract.md): officers run campaigns and answer replies; supervisors also
 * approve and export reports and read the audit log; admins also manage users. */
static const struct api_route routes[] = {
    {"GET", "me", WEB_OFFICER, api_me},
    {"POST", "logout", WEB_OFFICER, api_logout},
    {"GET", "campaigns", WEB_OFFICER, api_campaigns_list},
    {"POST", "campaigns", WEB_OFFICER, api_campaign_create},
    {"GET", "campaigns/:id", WEB_OFFICER, api_campaign_show},
    {"GET", "campaigns/:id/breakdown", WEB_OFFICER, api_campaign_breakdown},
    {"GET", "campaigns/:id/conversions", WEB_OFFICER, api_campaign_conversions},
    {"POST", "campaigns/:id/approve", WEB_SUPERVISOR, api_campaign_approve},
    {"POST", "campaigns/:id/start", WEB_OFFICER, api_campaign_start},
    {"POST", "campaigns/:id/pause", WEB_OFFICER, api_campaign_pause},
    {"POST", "campaigns/:id/resume", WEB_OFFICER, api_campaign_resume},
    {"POST", "campaigns/:id/cancel", WEB_OFFICER, api_campaign_cancel},
    {"GET", "segments", WEB_OFFICER, api_segments_list},
    {"GET", "segments/:id/count", WEB_OFFICER, api_segment_count},
    {"GET", "templates", WEB_OFFICER, api_templates_list},
    {"GET", "templates/:id/preview", WEB_OFFICER, api_template_preview},
    {"GET", "replies", WEB_OFFICER, api_replies_list},
    {"POST", "replies/:id/answer", WEB_OFFICER, api_reply_answer},
    {"GET", "coverage", WEB_OFFICER, api_coverage},
    {"GET", "report", WEB_SUPERVISOR, api_report},
    {"GET", "audit", WEB_SUPERVISOR, api_audit_list},
    {"GET", "users", WEB_ADMIN, api_users_list},
};

static const char *const role_names[] = {"", "officer", "supervisor", "admin"};

const char *web_role_name(enum web_role r)
{
    return (unsigned)r <= WEB_ADMIN ? role_names[r] : "";
}

static enum web_role role_parse(const char *s)
{
    for (int i = WEB_OFFICER; i <= WEB_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0)
            return (enum web_role)i;
    return WEB_NOBODY;
}

/* ---- calls ---- */

static void call_free(struct api_call *c)
{
    for (int i = 0; i < API_KEEP; i++)
        PQclear(c->keep[i]);
    free(c->data);
    c->w->in_flight--;
    free(c);
}

void api_reply_raw(struct api_call *c, int status, const char *type, const char *body, size_t len)
{
    http_reply_header(c->req, "Cache-Control", "no-store");
    http_reply(c->req, status, type, body, len);
    call_free(c);
}

void api_reply(struct api_call *c, int status, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    api_reply_raw(c, status, "application/json; charset=utf-8", s, strlen(s));
    free(s);
}

void api_error(struct api_call *c, int status, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    api_reply(c, status, o);
}

static void query_done(void *arg, PGresult *res, const char *err)
{
    struct api_call *c = arg;
    if (!res) {
        log_warn("event=api_db_error path=%s error=\"%s\"", http_req_path(c->req), err);
        api_error(c, 503, "the database did not answer: %s", err);
        return;
    }
    c->next(c, res);
}

void api_query(struct api_call *c, const char *sql, int nparams, const char *const *params, api_step next)
{
    c->next = next;
    if (pgpool_query(c->w->db, sql, nparams, params, query_done, c) < 0)
        api_error(c, 503, "the daemon is stopping");
}

void api_keep(struct api_call *c, int i, const PGresult *res)
{
    PQclear(c->keep[i]);
    c->keep[i] = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    if (!c->keep[i])
        abort();
}

cJSON *api_body_object(struct api_call *c)
{
    size_t len;
    const char *b = http_req_body(c->req, &len);
    cJSON *o = cJSON_ParseWithLength(b, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        api_error(c, 400, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

int api_query_int(struct api_call *c, const char *key, long long lo, long long hi, long long *out)
{
    const char *v = http_req_query(c->req, key);
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        api_error(c, 400, "%s must be a whole number from %lld to %lld, not '%.40s'", key, lo, hi, v);
        return -1;
    }
    *out = n;
    return 1;
}

/* ---- routing ---- */

/* Matches PATH against PATTERN; a ":id" segment takes 1 to 18 digits into ID. */
static bool route_match(const char *pattern, const char *path, char id[24])
{
    while (*pattern) {
        if (strncmp(pattern, ":id", 3) == 0) {
            size_t n = strspn(path, "0123456789");
            if (n == 0 || n > 18)
                return false;
            memcpy(id, path, n);
            id[n] = '\0';
            path += n;
            pattern += 3;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return *path == '\0';
}

static void dispatch(struct api_call *c)
{
    const char *sub = http_req_path(c->req) + strlen(API_PREFIX);
    bool other_method = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct api_route *rt = &routes[i];
        if (!route_match(rt->path, sub, c->id))
            continue;
        if (strcmp(rt->method, http_req_method(c->req)) != 0) {
            other_method = true;
            continue;
        }
        if (c->user.role < rt->role) {
            api_error(c, 403, "role %s may not do this; it needs role %s", web_role_name(c->user.role),
                      web_role_name(rt->role));
            return;
        }
        rt->fn(c);
        return;
    }
    if (other_method)
        api_error(c, 405, "method %s not allowed here", http_req_method(c->req));
    else
        api_error(c, 404, "no such API path");
}

static void authenticated(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) != 1) {
        api_error(c, 401, "unknown, expired or disabled credentials");
        return;
    }
    snprintf(c->user.id, sizeof c->user.id, "%s", PQgetvalue(r, 0, 0));
    snprintf(c->user.name, sizeof c->user.name, "%s", PQgetvalue(r, 0, 1));
    c->user.role = role_parse(PQgetvalue(r, 0, 2));
    dispatch(c);
}

#define USER_COLS "SELECT u.id, u.name, u.role FROM users u WHERE u.disabled_at IS NULL AND "

/* Credentials: "Authorization: Bearer TOKEN" for scripts, else the session cookie. */
static void authenticate(struct api_call *c)
{
    const char *auth = http_req_header(c->req, "Authorization");
    const char *cookie = http_req_cookie(c->req, "loa_session");
    const char *secret = NULL;
    bool bearer = false;
    if (auth) {
        if (strncasecmp(auth, "Bearer ", 7) != 0) {
            api_error(c, 401, "Authorization must be 'Bearer TOKEN'");
            return;
        }
        secret = auth + 7;
        bearer = true;
    } else
        secret = cookie;
    if (!secret || !*secret || strlen(secret) > 256) {
        api_error(c, 401, "log in, or send Authorization: Bearer TOKEN");
        return;
    }
    char sha[USERS_TOKEN_HEX];
    users_token_hash(secret, sha);
    if (!bearer)
        snprintf(c->user.session, sizeof c->user.session, "%s", sha);
    const char *p[1] = {sha};
    api_query(c, bearer ? USER_COLS "u.token_sha256 = $1"
                        : USER_COLS "u.id = (SELECT user_id FROM sessions"
                                    " WHERE token_sha256 = $1 AND expires_at > now())",
              1, p, authenticated);
}

static void on_api(void *arg, struct http_req *req)
{
    struct web *w = arg;
    struct api_call *c = calloc(1, sizeof *c);
    if (!c) {
        http_reply_text(req, 500, "out of memory\n");
        return;
    }
    c->w = w;
    c->req = req;
    w->in_flight++;
    if (strcmp(http_req_path(req), API_PREFIX "login") == 0) {
        if (strcmp(http_req_method(req), "POST") != 0)
            api_error(c, 405, "log in with POST");
        else
            api_login(c);
        return;
    }
    authenticate(c);
}

void api_me(struct api_call *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)strtoll(c->user.id, NULL, 10));
    cJSON_AddStringToObject(o, "name", c->user.name);
    cJSON_AddStringToObject(o, "role", web_role_name(c->user.role));
    api_reply(c, 200, o);
}

/* ---- the dashboard's files ---- */

static const struct {
    const char *url, *file, *type;
} statics[] = {
    {"/", "web/static/index.html", "text/html; charset=utf-8"},
    {"/app.js", "web/static/app.js", "application/javascript; charset=utf-8"},
    {"/charts.js", "web/static/charts.js", "application/javascript; charset=utf-8"},
    {"/app.css", "web/static/app.css", "text/css; charset=utf-8"},
};

static void on_static(void *arg, struct http_req *req)
{
    if (strcmp(http_req_method(req), "GET") != 0 && strcmp(http_req_method(req), "HEAD") != 0) {
        http_reply_text(req, 404, "not found\n");
        return;
    }
    for (size_t i = 0; i < sizeof statics / sizeof statics[0]; i++) {
        if (strcmp(http_req_path(req), statics[i].url) != 0)
            continue;
        const struct embedded_file *f = embedded_find(statics[i].file);
        if (!f)
            break;
        /* Nothing from elsewhere: scripts, styles and images only from this server. */
        http_reply_header(req, "Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
        http_reply_header(req, "X-Content-Type-Options", "nosniff");
        http_reply(req, 200, statics[i].type, f->data, f->len);
        return;
    }
    http_reply_text(req, 404, "not found\n");
}

/* ---- life ---- */

struct web *web_new(uv_loop_t *loop, struct pgpool *db, const struct config *cfg)
{
    struct web *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->loop = loop;
    w->db = db;
    w->cfg = cfg;
    return w;
}

void web_config_set(struct web *w, const struct config *cfg)
{
    w->cfg = cfg;
}

int web_routes(struct web *w, struct httpd *d)
{
    if (httpd_route(d, NULL, API_PREFIX, on_api, w) < 0 || httpd_route(d, NULL, "/", on_static, w) < 0)
        return -1;
    return 0;
}

unsigned web_in_flight(const struct web *w)
{
    return w ? w->in_flight : 0;
}

void web_free(struct web *w)
{
    free(w);
}
