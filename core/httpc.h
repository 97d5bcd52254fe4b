#ifndef LOA_HTTPC_H
#define LOA_HTTPC_H
#include <curl/curl.h>
#include <stddef.h>
#include <uv.h>

/* libcurl's multi-socket interface on the libuv loop (curl docs/examples/multi-uv.c): every
 * gateway request runs here, never blocking the loop. Connections are reused across requests. */

struct httpc;

struct httpc_request {
    const char *method;             /* "GET" or "POST" */
    const char *url;
    const char *const *headers;     /* "Name: value" strings, ended by NULL; may be NULL */
    const char *body;               /* POST body (copied), may be NULL */
    size_t body_len;
    long timeout_ms;
};

/* CURL_CODE is CURLE_OK when an HTTP answer came (any status). BODY is NUL-terminated and
 * valid only during the callback; answers over max_body bytes are cut and flagged by
 * CURLE_FILESIZE_EXCEEDED. Called exactly once, from the loop.
 *
 * CURLE_COULDNT_CONNECT and CURLE_COULDNT_RESOLVE_HOST mean that no byte of the request left:
 * safe to send again. Every other error means the server may have received it (and curl never
 * resends a request by itself: its retry of a request whose reused connection died is refused,
 * and reported as CURLE_GOT_NOTHING). */
typedef void (*httpc_cb)(void *arg, CURLcode curl_code, long status, const char *body, size_t len);

struct httpc *httpc_new(uv_loop_t *loop, size_t max_body);
/* 0, or -1 when the request could not be started (CB not called). */
int httpc_request(struct httpc *h, const struct httpc_request *r, httpc_cb cb, void *arg);
unsigned httpc_in_flight(const struct httpc *h);
/* Aborts nothing: waits for requests in flight to finish (their callbacks run), then frees the
 * client and calls DONE. */
void httpc_close(struct httpc *h, void (*done)(void *arg), void *arg);

#endif
