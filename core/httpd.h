#ifndef LOA_HTTPD_H
#define LOA_HTTPD_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* The HTTP server (webhooks, /healthz, /metrics, API, dashboard): libmicrohttpd with no thread
 * of its own, its epoll descriptor watched by uv_poll on the daemon's loop. A handler may answer
 * at once or later (after a database round trip): the connection is suspended until
 * http_reply() is called. Every request must be answered exactly once. */

struct httpd;
struct http_req;

typedef void (*httpd_handler)(void *arg, struct http_req *req);

/* LISTEN is "host:port" (port 0: any free port, see httpd_port()). Bodies larger than MAX_BODY
 * are answered 413 without calling a handler. NULL with ERR set on failure, among them a port
 * another process listens on already (no SO_REUSEPORT: a second daemon must not start). The
 * connection limit is sized from the open-file limit (core/fdlimit.h). */
struct httpd *httpd_new(uv_loop_t *loop, const char *listen, size_t max_body, char *err, size_t errlen);
unsigned short httpd_port(const struct httpd *d);

/* Flood protection (core/connlimit.h explains it). httpd_new() starts with the defaults shown. */
struct httpd_limits {
    unsigned per_address;          /* open connections from one untrusted address (64); 0: none */
    const char *trusted;           /* addresses exempt from PER_ADDRESS ("127.0.0.1") */
    unsigned header_timeout_ms;    /* a connection's request must be complete by then (10000) */
    unsigned close_grace_ms;       /* httpd_close() waits this long for handlers (5000) */
};
/* -1 with ERR set when TRUSTED does not parse (the limits are then unchanged). */
int httpd_set_limits(struct httpd *d, const struct httpd_limits *l, char *err, size_t errlen);
/* The same from [http] header_timeout_ms, max_connections_per_address and trusted_addresses. */
struct config;
int httpd_config_limits(struct httpd *d, const struct config *cfg, char *err, size_t errlen);
/* Connections open now, and the ceiling above which the longest-waiting one is evicted. */
unsigned httpd_connections(const struct httpd *d);
unsigned httpd_max_connections(const struct httpd *d);

/* Routes requests whose path starts with PREFIX (longest prefix wins) and whose method is
 * METHOD (NULL: any) to HANDLER. */
int httpd_route(struct httpd *d, const char *method, const char *prefix, httpd_handler handler, void *arg);

const char *http_req_method(const struct http_req *r);
const char *http_req_path(const struct http_req *r);           /* without the query string */
const char *http_req_query(const struct http_req *r, const char *key);  /* decoded, or NULL */
const char *http_req_header(const struct http_req *r, const char *name); /* or NULL */
const char *http_req_body(const struct http_req *r, size_t *len);       /* "" when none */
const char *http_req_cookie(const struct http_req *r, const char *name); /* or NULL */
/* The raw query string ("a=1&b=2", undecoded), rebuilt for logging raw events. */
const char *http_req_raw_query(struct http_req *r);
/* The path after PREFIX of the matched route. */
const char *http_req_subpath(const struct http_req *r);

/* Adds a header (Set-Cookie, Content-Disposition, …) to the answer REQ will get; call it before
 * http_reply(). NAME and VALUE are copied; at most HTTP_REPLY_HEADERS per request (-1 beyond,
 * or on a line break in either). */
enum { HTTP_REPLY_HEADERS = 8 };
int http_reply_header(struct http_req *r, const char *name, const char *value);

/* Answers REQ and frees it. After httpd_close() a request still held by its handler may only
 * be answered: if the server has stopped by then, the answer is dropped and REQ freed. */
void http_reply(struct http_req *r, int status, const char *content_type, const char *body, size_t len);
void http_reply_text(struct http_req *r, int status, const char *text);
void http_reply_json(struct http_req *r, int status, const char *json);

/* Counters for /metrics. */
unsigned long httpd_requests(const struct httpd *d);

/* Stops listening at once (the port is free again), answers new requests on open connections
 * 503, waits up to CLOSE_GRACE_MS for handlers still answering (a webhook waiting for its
 * database write), then answers what is left 503 and stops. The server is freed once its
 * handles have closed, on the loop; requests its handlers still hold stay valid for their
 * http_reply(). */
void httpd_close(struct httpd *d);

#endif
