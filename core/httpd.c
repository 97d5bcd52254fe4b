#include "core/httpd.h"
#include "core/config.h"
#include "core/connlimit.h"
#include "core/fdlimit.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* libmicrohttpd runs with no thread of its own (MHD_USE_EPOLL): its epoll descriptor is
 * readable whenever any of its sockets or its wake-up pipe is, so one uv_poll on it plus a
 * timer for its connection time-outs is enough to drive it from the daemon's loop.
 *
 * MHD only lets a response be queued from inside its access handler. A handler that must wait
 * (for the database) therefore returns with nothing queued; the connection is suspended, and
 * http_reply() later stores the response and resumes the connection, whereupon MHD calls the
 * access handler again and the stored response is queued.
 *
 * Closing: the listening socket goes first; requests their handlers still hold are waited for
 * (up to close_grace_ms), then answered 503 by the server. A request the server answered
 * while its handler still holds it is not freed when its connection ends but detached: the
 * handler's late http_reply() frees it and sends nothing. */

enum { SWEEP_MS = 1000 };

struct route {
    char *method;
    char *prefix;
    size_t plen;
    httpd_handler handler;
    void *arg;
};

struct httpd {
    uv_loop_t *loop;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
    uv_timer_t sweep;              /* request deadlines; on close, the end of the grace */
    size_t max_body;
    struct route routes[64];
    int nroutes;
    unsigned long nrequests;
    unsigned live;                 /* requests begun and not yet completed by MHD */
    struct http_req *suspended;    /* requests waiting for their handler's answer */
    struct connlimit *limit;
    unsigned max_conns;            /* connlimit's ceiling; MHD's own limit is a little higher */
    unsigned close_grace_ms;
    unsigned short port;
    struct connlimit_stats logged; /* counters as last logged */
    bool closing;
    uint64_t close_deadline;
    int open_handles;
};

struct http_req {
    struct httpd *d;
    struct MHD_Connection *conn;
    char *method;
    char *path;
    const char *subpath;
    char *body;
    size_t len, cap;
    bool too_big;
    bool dispatched;
    bool suspended;
    bool answered;                 /* a response was made (by the handler, or the server) */
    bool owed;                     /* the handler holds the request and has not answered it */
    bool detached;                 /* the connection is gone; only the handler's answer is left */
    struct MHD_Response *response;
    unsigned status;
    char *raw_query;
    char *hdr[HTTP_REPLY_HEADERS][2];   /* headers for the answer, from http_reply_header() */
    int nhdr;
    struct http_req *snext, *sprev;
};

static void drive(struct httpd *d);
static void httpd_stop(struct httpd *d);

static void on_timer(uv_timer_t *t)
{
    drive(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    drive(p->data);
}

/* Lets MHD work, then re-arms the timer for its next time-out. */
static void drive(struct httpd *d)
{
    if (!d->mhd)
        return;
    MHD_run(d->mhd);
    if (d->closing && d->live == 0) {
        httpd_stop(d);
        return;
    }
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(d->mhd, &to) == MHD_YES)
        uv_timer_start(&d->timer, on_timer, to, 0);
    else
        uv_timer_stop(&d->timer);
}

static void unlink_suspended(struct http_req *r)
{
    if (r->sprev)
        r->sprev->snext = r->snext;
    else if (r->d->suspended == r)
        r->d->suspended = r->snext;
    if (r->snext)
        r->snext->sprev = r->sprev;
    r->snext = r->sprev = NULL;
}

static struct connlimit_conn *conn_limit_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void req_free(struct http_req *r)
{
    if (r->response)
        MHD_destroy_response(r->response);
    free(r->method);
    free(r->path);
    free(r->body);
    free(r->raw_query);
    for (int i = 0; i < r->nhdr; i++) {
        free(r->hdr[i][0]);
        free(r->hdr[i][1]);
    }
    free(r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct httpd *d = cls;
    struct connlimit_conn *lc = conn_limit_of(c);
    if (lc)
        connlimit_idle(d->limit, lc, uv_now(d->loop));
    struct http_req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    d->live--;
    if (r->suspended)
        unlink_suspended(r);
    if (r->owed) {
        r->detached = true;
        r->conn = NULL;
        r->d = NULL;
        return;
    }
    req_free(r);
}

/* Accepted connections are counted per address (connlimit); every connection carries its
 * connlimit handle as MHD's socket context. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *sa, socklen_t len)
{
    struct httpd *d = cls;
    if (sa->sa_family != AF_INET)
        return MHD_YES;
    return connlimit_admit(d->limit, ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)) ? MHD_YES : MHD_NO;
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct httpd *d = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        uint32_t addr = 0;
        if (ad && ad->client_addr && ad->client_addr->sa_family == AF_INET)
            addr = ntohl(((const struct sockaddr_in *)ad->client_addr)->sin_addr.s_addr);
        *socket_context = connlimit_open(d->limit, addr, fd ? fd->connect_fd : -1, uv_now(d->loop));
    } else if (*socket_context) {
        connlimit_close(d->limit, *socket_context);
        *socket_context = NULL;
    }
}

/* Logs what the flood protection did, at most once per sweep, only when something changed. */
static void log_limits(struct httpd *d)
{
    struct connlimit_stats s = connlimit_stats(d->limit);
    if (s.refused == d->logged.refused && s.evicted == d->logged.evicted && s.timed_out == d->logged.timed_out)
        return;
    log_warn("event=http_connections_shed open=%u refused=%lu evicted=%lu timed_out=%lu", s.open,
             s.refused - d->logged.refused, s.evicted - d->logged.evicted, s.timed_out - d->logged.timed_out);
    d->logged = s;
}

static void on_sweep(uv_timer_t *t)
{
    struct httpd *d = t->data;
    if (!d->mhd)
        return;
    if (d->closing && uv_now(d->loop) >= d->close_deadline) {
        httpd_stop(d);
        return;
    }
    if (connlimit_sweep(d->limit, uv_now(d->loop)))
        drive(d);
    log_limits(d);
}

static struct route *route_find(struct httpd *d, const char *method, const char *path, bool *method_mismatch)
{
    struct route *best = NULL;
    *method_mismatch = false;
    for (int i = 0; i < d->nroutes; i++) {
        struct route *rt = &d->routes[i];
        if (strncmp(path, rt->prefix, rt->plen) != 0)
            continue;
        if (rt->method && strcmp(rt->method, method) != 0) {
            *method_mismatch = true;
            continue;
        }
        if (!best || rt->plen > best->plen)
            best = rt;
    }
    return best;
}

static enum MHD_Result queue_stored(struct http_req *r)
{
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, r->response);
    MHD_destroy_response(r->response);
    r->response = NULL;
    return ret;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls)
{
    struct httpd *d = cls;
    struct http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->d = d;
        r->conn = conn;
        r->method = strdup(method);
        r->path = strdup(url);
        *con_cls = r;
        d->nrequests++;
        d->live++;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > d->max_body)
            r->too_big = true;
        return MHD_YES;
    }
    if (r->response)
        return queue_stored(r);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->len + n > d->max_body) {
            r->too_big = true;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            r->cap = (r->len + n + 1) * 2;
            r->body = realloc(r->body, r->cap);
            if (!r->body)
                return MHD_NO;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    if (r->dispatched) {
        /* Resumed without a response: cannot happen through http_reply; answer rather than hang. */
        http_reply_text(r, 500, "internal error");
        return queue_stored(r);
    }
    r->dispatched = true;
    struct connlimit_conn *lc = conn_limit_of(conn);
    if (lc)
        connlimit_busy(d->limit, lc);
    if (r->too_big) {
        http_reply_text(r, 413, "request body too large");
        return queue_stored(r);
    }
    if (d->closing) {
        http_reply_text(r, 503, "shutting down");
        return queue_stored(r);
    }
    bool mismatch;
    struct route *rt = route_find(d, r->method, r->path, &mismatch);
    if (!rt) {
        http_reply_text(r, mismatch ? 405 : 404, mismatch ? "method not allowed" : "not found");
        return queue_stored(r);
    }
    r->subpath = r->path + rt->plen;
    rt->handler(rt->arg, r);
    if (r->response)
        return queue_stored(r);
    MHD_suspend_connection(conn);
    r->owed = true;
    r->suspended = true;
    r->snext = d->suspended;
    if (d->suspended)
        d->suspended->sprev = r;
    d->suspended = r;
    return MHD_YES;
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)atoi(colon + 1));
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (strcmp(host, "*") == 0 || host[0] == '\0')
        snprintf(host, sizeof host, "0.0.0.0");
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* The listening socket is made here rather than by MHD so that a port in use is reported as
 * such, and so that it never gets SO_REUSEPORT: two daemons on one port would each take half
 * the webhooks. SO_REUSEADDR only allows a restart over connections in TIME_WAIT. */
static int listen_socket(const struct sockaddr_in *sa, const char *where, unsigned short *port, char *err,
                         size_t errlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 || listen(fd, 511) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s: %s%s", where, strerror(e),
                 e == EADDRINUSE ? " (another loa serve, or another server, has this port)" : "");
        close(fd);
        return -1;
    }
    struct sockaddr_in got;
    socklen_t len = sizeof got;
    *port = getsockname(fd, (struct sockaddr *)&got, &len) == 0 ? ntohs(got.sin_port) : 0;
    return fd;
}

struct httpd *httpd_new(uv_loop_t *loop, const char *listen, size_t max_body, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa) < 0) {
        snprintf(err, errlen, "cannot listen on '%s': give an IPv4 address and port", listen);
        return NULL;
    }
    struct httpd *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    int lfd = listen_socket(&sa, listen, &d->port, err, errlen);
    if (lfd < 0) {
        free(d);
        return NULL;
    }
    d->loop = loop;
    d->max_body = max_body;
    /* Connections may take what the open-file limit leaves after the reserve for libpq and
     * curl. MHD refuses connections beyond its limit before we see them, so our ceiling, where
     * eviction starts, stays a little below it. */
    unsigned long fds = fdlimit_current(), reserve = fdlimit_reserve(fds);
    unsigned long mhd_limit = fds > reserve + 64 ? fds - reserve : 64;
    if (mhd_limit > 16384)
        mhd_limit = 16384;
    d->max_conns = (unsigned)(mhd_limit - (mhd_limit / 16 > 8 ? mhd_limit / 16 : 8));
    d->limit = connlimit_new();
    struct httpd_limits def = {.per_address = 64, .trusted = "127.0.0.1", .header_timeout_ms = 10000,
                               .close_grace_ms = 5000};
    httpd_set_limits(d, &def, err, errlen);
    d->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, accept_policy, d,
                              access_handler, d,
                              MHD_OPTION_LISTEN_SOCKET, lfd,
                              MHD_OPTION_NOTIFY_COMPLETED, completed, d,
                              MHD_OPTION_NOTIFY_CONNECTION, conn_notify, d,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned int)mhd_limit,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                              MHD_OPTION_END);
    if (!d->mhd) {
        snprintf(err, errlen, "cannot serve HTTP on %s: libmicrohttpd refused to start", listen);
        close(lfd);
        connlimit_free(d->limit);
        free(d);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(loop, &d->poll, info->epoll_fd);
    d->poll.data = d;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    uv_timer_init(loop, &d->sweep);
    d->sweep.data = d;
    d->open_handles = 3;
    uv_poll_start(&d->poll, UV_READABLE, on_poll);
    uv_timer_start(&d->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    drive(d);
    return d;
}

int httpd_set_limits(struct httpd *d, const struct httpd_limits *l, char *err, size_t errlen)
{
    if (connlimit_configure(d->limit, l->per_address, l->trusted, d->max_conns, l->header_timeout_ms, err,
                            errlen) < 0)
        return -1;
    d->close_grace_ms = l->close_grace_ms;
    return 0;
}

int httpd_config_limits(struct httpd *d, const struct config *cfg, char *err, size_t errlen)
{
    struct httpd_limits l = {
        .per_address = (unsigned)config_int(cfg, "http", "max_connections_per_address"),
        .trusted = config_str(cfg, "http", "trusted_addresses"),
        .header_timeout_ms = (unsigned)config_int(cfg, "http", "header_timeout_ms"),
        .close_grace_ms = d->close_grace_ms,
    };
    if (httpd_set_limits(d, &l, err, errlen) < 0)
        return -1;
    log_info("event=http_limits max_connections=%u per_address=%u header_timeout_ms=%u trusted=\"%s\"",
             d->max_conns, l.per_address, l.header_timeout_ms, l.trusted);
    return 0;
}

unsigned httpd_connections(const struct httpd *d) { return connlimit_stats(d->limit).open; }
unsigned httpd_max_connections(const struct httpd *d) { return d->max_conns; }

unsigned short httpd_port(const struct httpd *d) { return d->port; }

int httpd_route(struct httpd *d, const char *method, const char *prefix, httpd_handler handler, void *arg)
{
    if (d->nroutes == 64)
        return -1;
    struct route *rt = &d->routes[d->nroutes++];
    rt->method = method ? strdup(method) : NULL;
    rt->prefix = strdup(prefix);
    rt->plen = strlen(prefix);
    rt->handler = handler;
    rt->arg = arg;
    return 0;
}

const char *http_req_method(const struct http_req *r) { return r->method; }
const char *http_req_path(const struct http_req *r) { return r->path; }
const char *http_req_subpath(const struct http_req *r) { return r->subpath ? r->subpath : ""; }

const char *http_req_query(const struct http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_req_cookie(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

int http_reply_header(struct http_req *r, const char *name, const char *value)
{
    /* A line break would let a value smuggle a header of its own into the answer. */
    if (r->nhdr == HTTP_REPLY_HEADERS || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return -1;
    r->hdr[r->nhdr][0] = strdup(name);
    r->hdr[r->nhdr][1] = strdup(value);
    if (!r->hdr[r->nhdr][0] || !r->hdr[r->nhdr][1])
        abort();
    r->nhdr++;
    return 0;
}

const char *http_req_body(const struct http_req *r, size_t *len)
{
    if (len)
        *len = r->len;
    return r->body ? r->body : "";
}

struct qbuf {
    char *s;
    size_t n, cap;
};

static enum MHD_Result append_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct qbuf *b = cls;
    size_t need = strlen(key) + (value ? strlen(value) : 0) + 2;
    if (b->n + need + 1 > b->cap)
        return MHD_NO; /* raw copies are for the record, 4 KB is plenty */
    b->n += (size_t)snprintf(b->s + b->n, b->cap - b->n, "%s%s=%s", b->n ? "&" : "", key, value ? value : "");
    return MHD_YES;
}

const char *http_req_raw_query(struct http_req *r)
{
    if (!r->raw_query) {
        struct qbuf b = {.s = calloc(1, 4096), .cap = 4096};
        if (!b.s)
            abort();
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, append_arg, &b);
        r->raw_query = b.s;
    }
    return r->raw_query;
}

/* Stores the response and lets MHD send it. */
static void req_answer(struct http_req *r, int status, const char *content_type, const char *body, size_t len)
{
    r->answered = true;
    r->response = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (content_type)
        MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (int i = 0; i < r->nhdr; i++)
        MHD_add_response_header(r->response, r->hdr[i][0], r->hdr[i][1]);
    r->status = (unsigned)status;
    if (r->suspended) {
        unlink_suspended(r);
        r->suspended = false;
        MHD_resume_connection(r->conn);
        /* MHD's wake-up pipe does not reliably reach our poll in external-epoll mode: drive it
         * ourselves on the next loop iteration. */
        if (r->d->mhd)
            uv_timer_start(&r->d->timer, on_timer, 0, 0);
    }
}

void http_reply(struct http_req *r, int status, const char *content_type, const char *body, size_t len)
{
    if (r->detached) {
        req_free(r);   /* the server answered it on closing and its connection is gone */
        return;
    }
    r->owed = false;
    if (r->answered)
        return; /* answered already (by the server on closing, or a second answer: keep the first) */
    req_answer(r, status, content_type, body, len);
}

void http_reply_text(struct http_req *r, int status, const char *text)
{
    http_reply(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

void http_reply_json(struct http_req *r, int status, const char *json)
{
    http_reply(r, status, "application/json", json, strlen(json));
}

unsigned long httpd_requests(const struct httpd *d) { return d->nrequests; }

static void handle_closed(uv_handle_t *h)
{
    struct httpd *d = h->data;
    if (--d->open_handles == 0) {
        for (int i = 0; i < d->nroutes; i++) {
            free(d->routes[i].method);
            free(d->routes[i].prefix);
        }
        connlimit_free(d->limit);
        free(d);
    }
}

/* The end of closing: whatever handlers still hold is answered 503 (they keep their request,
 * detached, for their own late answer), MHD sends what it can, then stops. */
static void httpd_stop(struct httpd *d)
{
    if (d->suspended)
        log_warn("event=http_closed note=\"handlers still answering after the grace were answered 503\"");
    for (struct http_req *r = d->suspended; r; r = d->suspended)
        req_answer(r, 503, "text/plain; charset=utf-8", "shutting down", 13);
    for (int i = 0; i < 3; i++)
        MHD_run(d->mhd);
    MHD_stop_daemon(d->mhd);
    d->mhd = NULL;
    log_limits(d);
    uv_poll_stop(&d->poll);
    uv_timer_stop(&d->timer);
    uv_timer_stop(&d->sweep);
    uv_close((uv_handle_t *)&d->poll, handle_closed);
    uv_close((uv_handle_t *)&d->timer, handle_closed);
    uv_close((uv_handle_t *)&d->sweep, handle_closed);
}

void httpd_close(struct httpd *d)
{
    d->closing = true;
    d->close_deadline = uv_now(d->loop) + d->close_grace_ms;
    /* Stop accepting now, so that the port is free for the next daemon at once. */
    MHD_socket lfd = MHD_quiesce_daemon(d->mhd);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    if (d->live == 0) {
        httpd_stop(d);
        return;
    }
    log_info("event=http_closing requests_in_progress=%u grace_ms=%u", d->live, d->close_grace_ms);
    uv_timer_start(&d->sweep, on_sweep, d->close_grace_ms < 100 ? d->close_grace_ms : 100, 100);
}
