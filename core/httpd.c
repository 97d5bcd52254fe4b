#include "core/httpd.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libmicrohttpd runs with no thread of its own (MHD_USE_EPOLL): its epoll descriptor is
 * readable whenever any of its sockets or its wake-up pipe is, so one uv_poll on it plus a
 * timer for its connection time-outs is enough to drive it from the daemon's loop.
 *
 * MHD only lets a response be queued from inside its access handler. A handler that must wait
 * (for the database) therefore returns with nothing queued; the connection is suspended, and
 * http_reply() later stores the response and resumes the connection, whereupon MHD calls the
 * access handler again and the stored response is queued. */

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
    size_t max_body;
    struct route routes[64];
    int nroutes;
    unsigned long nrequests;
    struct http_req *suspended;    /* list of suspended requests, answered 503 on close */
    bool closing;
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
    struct MHD_Response *response;
    unsigned status;
    char *raw_query;
    char *hdr[8][2];               /* headers for the answer, from http_reply_header() */
    int nhdr;
    struct http_req *snext, *sprev;
};

static void drive(struct httpd *d);

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

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct http_req *r = *con_cls;
    if (!r)
        return;
    if (r->suspended)
        unlink_suspended(r);
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
    *con_cls = NULL;
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
    d->loop = loop;
    d->max_body = max_body;
    d->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, NULL, NULL,
                              access_handler, d,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_NOTIFY_COMPLETED, completed, d,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                              MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
                              MHD_OPTION_END);
    if (!d->mhd) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not permitted)", listen);
        free(d);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    uv_poll_init(loop, &d->poll, info->epoll_fd);
    d->poll.data = d;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->open_handles = 2;
    uv_poll_start(&d->poll, UV_READABLE, on_poll);
    drive(d);
    return d;
}

unsigned short httpd_port(const struct httpd *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return info ? (unsigned short)info->port : 0;
}

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

int http_reply_header(struct http_req *r, const char *name, const char *value)
{
    /* A line break would let a value smuggle a header of its own into the answer. */
    if (r->nhdr == 8 || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return -1;
    r->hdr[r->nhdr][0] = strdup(name);
    r->hdr[r->nhdr][1] = strdup(value);
    if (!r->hdr[r->nhdr][0] || !r->hdr[r->nhdr][1])
        abort();
    r->nhdr++;
    return 0;
}

void http_reply(struct http_req *r, int status, const char *content_type, const char *body, size_t len)
{
    if (r->response)
        return; /* answered already: a second answer is a bug in the caller, keep the first */
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
        free(d);
    }
}

void httpd_close(struct httpd *d)
{
    d->closing = true;
    while (d->suspended)
        http_reply_text(d->suspended, 503, "shutting down");
    /* Let MHD send what was just queued before the sockets close. */
    for (int i = 0; i < 3; i++)
        MHD_run(d->mhd);
    MHD_stop_daemon(d->mhd);
    d->mhd = NULL;
    uv_poll_stop(&d->poll);
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->poll, handle_closed);
    uv_close((uv_handle_t *)&d->timer, handle_closed);
}
