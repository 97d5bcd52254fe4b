#include "core/httpc.h"
#include "core/log.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The bridge follows curl's docs/examples/multi-uv.c: curl tells us which sockets to watch
 * (socket callback) and when to wake it (timer callback); we tell curl what happened with
 * curl_multi_socket_action() and then collect finished transfers. */

struct httpc {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    size_t max_body;
    unsigned in_flight;
    bool closing;
    void (*done)(void *);
    void *done_arg;
    CURL *spare[64];            /* easy handles kept for reuse */
    int nspare;
};

struct sockctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct httpc *h;
};

struct hreq {
    struct httpc *h;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    char *buf;
    size_t len, cap;
    bool too_big;
    int prereqs;                /* connections the request was about to be written on */
    httpc_cb cb;
    void *arg;
};

static void check_done(struct httpc *h);

/* What CODE tells the caller (httpc.h): a refused connection or a time-out before the request
 * was written on any connection reached nobody, and says so as CURLE_COULDNT_CONNECT; once it
 * was written the provider may have acted on it, whatever curl says next. The path that needs
 * this: a reused connection that the server closed after reading the request (smsbox stopped
 * while the request was in its hands) gives curl nothing back, curl tries the same request on
 * a fresh connection, and that connection is refused: COULDNT_CONNECT, for a request that
 * reached the server. It becomes CURLE_GOT_NOTHING, as does the fresh attempt's refusal by
 * prereq() below. */
static CURLcode outcome_code(const struct hreq *r, CURLcode code)
{
    bool nothing_sent = r->prereqs == 0;
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return nothing_sent ? CURLE_COULDNT_CONNECT : code;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_ABORTED_BY_CALLBACK:
        return nothing_sent ? code : CURLE_GOT_NOTHING;
    default:
        return code;
    }
}

/* Called by curl on each connection (new or reused) just before it writes the request. A
 * second call is curl resending on a fresh connection a request whose reused connection died
 * without an answer: the server may have acted on the first copy, and a gateway that cannot
 * de-duplicate would send the SMS twice. Refused: the engine decides about resends. */
static int prereq(void *arg, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    struct hreq *r = arg;
    if (r->prereqs++ > 0) {
        log_warn("event=http_resend_refused note=reused_connection_died_after_the_request");
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static void maybe_closed(struct httpc *h);

static void req_finish(struct hreq *r, CURLcode code)
{
    struct httpc *h = r->h;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_WRITE_ERROR && r->too_big)
        code = CURLE_FILESIZE_EXCEEDED;
    code = outcome_code(r, code);
    curl_multi_remove_handle(h->multi, r->easy);
    if (!r->buf) {
        r->buf = malloc(1);
        r->buf[0] = '\0';
    }
    h->in_flight--;
    r->cb(r->arg, code, status, r->buf, r->len);
    curl_slist_free_all(r->hdrs);
    if (h->nspare < 64 && !h->closing) {
        curl_easy_reset(r->easy);
        h->spare[h->nspare++] = r->easy;
    } else
        curl_easy_cleanup(r->easy);
    free(r->body);
    free(r->buf);
    free(r);
}

static void check_done(struct httpc *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct hreq *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        req_finish(r, msg->data.result);
    }
    maybe_closed(h);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sockctx *s = p->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    struct httpc *h = s->h;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    check_done(h);
}

static void on_timer(uv_timer_t *t)
{
    struct httpc *h = t->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct httpc *h = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void sock_closed(uv_handle_t *hd)
{
    free(hd->data);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    struct httpc *h = userp;
    struct sockctx *s = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_closed);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            abort();
        s->fd = fd;
        s->h = h;
        s->poll.data = s;
        uv_poll_init_socket(h->loop, &s->poll, fd);
        curl_multi_assign(h->multi, fd, s);
    }
    int ev = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct hreq *r = userdata;
    size_t n = size * nmemb;
    if (r->len + n > r->h->max_body) {
        r->too_big = true;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        if (r->cap > r->h->max_body + 1)
            r->cap = r->h->max_body + 1;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf)
            abort();
    }
    memcpy(r->buf + r->len, ptr, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return n;
}

struct httpc *httpc_new(uv_loop_t *loop, size_t max_body)
{
    static bool global_done;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = true;
    }
    struct httpc *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    h->loop = loop;
    h->max_body = max_body;
    h->multi = curl_multi_init();
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    /* Gateways are few hosts; keep plenty of connections to each for reuse. */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 256L);
    return h;
}

int httpc_request(struct httpc *h, const struct httpc_request *req, httpc_cb cb, void *arg)
{
    if (h->closing)
        return -1;
    struct hreq *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->h = h;
    r->cb = cb;
    r->arg = arg;
    r->easy = h->nspare ? h->spare[--h->nspare] : curl_easy_init();
    if (!r->easy) {
        free(r);
        return -1;
    }
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms > 0 && req->timeout_ms < 5000 ? req->timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "loa/0.1");
    if (req->headers)
        for (const char *const *hd = req->headers; *hd; hd++)
            r->hdrs = curl_slist_append(r->hdrs, *hd);
    /* No "Expect: 100-continue" round trip for small bodies. */
    r->hdrs = curl_slist_append(r->hdrs, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    if (req->method && strcmp(req->method, "POST") == 0) {
        r->body = malloc(req->body_len + 1);
        if (req->body_len)
            memcpy(r->body, req->body, req->body_len);
        r->body[req->body_len] = '\0';
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        curl_slist_free_all(r->hdrs);
        curl_easy_cleanup(e);
        free(r->body);
        free(r);
        return -1;
    }
    h->in_flight++;
    return 0;
}

unsigned httpc_in_flight(const struct httpc *h) { return h->in_flight; }

static void timer_closed(uv_handle_t *hd)
{
    struct httpc *h = hd->data;
    void (*done)(void *) = h->done;
    void *arg = h->done_arg;
    free(h);
    if (done)
        done(arg);
}

static void maybe_closed(struct httpc *h)
{
    if (!h->closing || h->in_flight || uv_is_closing((uv_handle_t *)&h->timer))
        return;
    while (h->nspare)
        curl_easy_cleanup(h->spare[--h->nspare]);
    curl_multi_cleanup(h->multi);
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, timer_closed);
}

void httpc_close(struct httpc *h, void (*done)(void *arg), void *arg)
{
    h->closing = true;
    h->done = done;
    h->done_arg = arg;
    maybe_closed(h);
}
