/* The daemon's I/O layer on one real loop: the PostgreSQL pool against a real server
 * (LOA_TEST_DB_URL), the HTTP server answered now and later, and the curl client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/httpc.h"
#include "core/httpd.h"
#include "core/pgasync.h"

static const char *db_url(void)
{
    const char *u = getenv("LOA_TEST_DB_URL");
    if (!u || !*u)
        fail_msg("LOA_TEST_DB_URL is not set: run through `make test`");
    return u;
}

struct qstate {
    int done;
    int sum;
    int errors;
    char lasterr[256];
};

static void sum_cb(void *arg, PGresult *res, const char *err)
{
    struct qstate *s = arg;
    s->done++;
    if (err) {
        s->errors++;
        snprintf(s->lasterr, sizeof s->lasterr, "%s", err);
        return;
    }
    s->sum += atoi(PQgetvalue(res, 0, 0));
}

static void closed(void *arg) { *(int *)arg = 1; }

static void test_pool_runs_queries_in_parallel_with_parameters(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pgpool *p = pgpool_new(&loop, db_url(), 3, 5000);
    struct qstate s = {0};
    for (int i = 1; i <= 200; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *params[1] = {v};
        assert_int_equal(pgpool_query(p, "SELECT $1::int * 2", 1, params, sum_cb, &s), 0);
    }
    while (s.done < 200)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.sum, 200 * 201); /* 2 × (1 + … + 200) */
    assert_true(pgpool_healthy(p));
    int c = 0;
    pgpool_close(p, closed, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_pool_reports_sql_errors_and_keeps_working(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pgpool *p = pgpool_new(&loop, db_url(), 1, 5000);
    struct qstate s = {0};
    pgpool_query(p, "SELECT * FROM no_such_table", 0, NULL, sum_cb, &s);
    const char *params[1] = {"'; DROP TABLE x; --"};
    pgpool_query(p, "SELECT length($1::text)", 1, params, sum_cb, &s);
    while (s.done < 2)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(s.errors, 1);
    assert_non_null(strstr(s.lasterr, "no_such_table"));
    assert_int_equal(s.sum, (int)strlen(params[0]));
    int c = 0;
    pgpool_close(p, closed, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c, 1);
    uv_loop_close(&loop);
}

/* Prepared once per connection: three calls leave one prepared statement on the session; a
 * failed execution is reported and the statement works again afterwards. The session has JIT
 * off. One connection, so every query below runs on the same session. */
static void test_pool_prepares_once_per_connection_and_sessions_have_no_jit(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pgpool *p = pgpool_new(&loop, db_url(), 1, 5000);
    struct qstate s = {0};
    static const char sql[] = "SELECT 12 / $1::int";
    const char *two[1] = {"2"}, *zero[1] = {"0"}, *three[1] = {"3"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pgpool_query_prepared(p, "test_div", sql, 1, two, sum_cb, &s), 0);
    pgpool_query(p, "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT 12 / $1::int'", 0, NULL,
                 sum_cb, &s);
    while (s.done < 4)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.sum, 3 * 6 + 1);
    s = (struct qstate){0};
    pgpool_query_prepared(p, "test_div", sql, 1, zero, sum_cb, &s);
    pgpool_query_prepared(p, "test_div", sql, 1, three, sum_cb, &s);
    pgpool_query(p, "SELECT (current_setting('jit') = 'off')::int", 0, NULL, sum_cb, &s);
    while (s.done < 3)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(s.errors, 1);
    assert_non_null(strstr(s.lasterr, "division by zero"));
    assert_int_equal(s.sum, 4 + 1);
    int c = 0;
    pgpool_close(p, closed, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c, 1);
    uv_loop_close(&loop);
}

static void test_pool_unreachable_server_fails_queries_on_close(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pgpool *p = pgpool_new(&loop, "postgresql:///loa?host=/nonexistent/dir", 1, 5000);
    struct qstate s = {0};
    pgpool_query(p, "SELECT 1", 0, NULL, sum_cb, &s);
    for (int i = 0; i < 5; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_false(pgpool_healthy(p));
    assert_int_equal(s.done, 0);
    int c = 0;
    pgpool_close(p, closed, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.done, 1);
    assert_int_equal(s.errors, 1);
    assert_int_equal(c, 1);
    uv_loop_close(&loop);
}

struct nstate {
    int got;
    char payload[64];
    struct pgpool *p;
};

static void notify_cb(void *arg, const char *channel, const char *payload)
{
    struct nstate *n = arg;
    n->got++;
    snprintf(n->payload, sizeof n->payload, "%s", payload);
}

static void ignore_cb(void *arg, PGresult *res, const char *err) {}

static void send_notify(uv_timer_t *t)
{
    struct nstate *n = t->data;
    const char *params[2] = {"loa_test_chan", "42"};
    pgpool_query(n->p, "SELECT pg_notify($1, $2)", 2, params, ignore_cb, NULL);
}

static void test_pool_listen_receives_notify(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct nstate n = {0};
    n.p = pgpool_new(&loop, db_url(), 1, 5000);
    pgpool_listen(n.p, "loa_test_chan", notify_cb, &n);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &n;
    /* Give the LISTEN time to be registered before notifying. */
    uv_timer_start(&t, send_notify, 300, 0);
    for (int i = 0; i < 2000 && !n.got; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(n.got, 1);
    assert_string_equal(n.payload, "42");
    uv_close((uv_handle_t *)&t, NULL);
    int c = 0;
    pgpool_close(n.p, closed, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c, 1);
    uv_loop_close(&loop);
}

static void run_until(uv_loop_t *loop, const int *done, int n)
{
    while (*done < n)
        uv_run(loop, UV_RUN_ONCE);
}

static double ms_since(uint64_t t0) { return (double)(uv_hrtime() - t0) / 1e6; }

/* The server cancels a query past query_timeout_ms (statement_timeout, lock waits included):
 * its callback gets the error in time and the same connection serves the next query. */
static void test_pool_query_past_its_deadline_fails_and_the_pool_keeps_working(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pgpool *p = pgpool_new(&loop, db_url(), 1, 300);
    struct qstate s = {0};
    uint64_t t0 = uv_hrtime();
    pgpool_query(p, "SELECT 1 FROM pg_sleep(5)", 0, NULL, sum_cb, &s);
    run_until(&loop, &s.done, 1);
    double took = ms_since(t0);
    assert_int_equal(s.errors, 1);
    assert_non_null(strstr(s.lasterr, "statement timeout"));
    assert_true(took < 300 + PGPOOL_GRACE_MS);
    pgpool_query(p, "SELECT 7", 0, NULL, sum_cb, &s);
    run_until(&loop, &s.done, 2);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.sum, 7);
    int c = 0;
    pgpool_close(p, closed, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c, 1);
    uv_loop_close(&loop);
}

/* A server that stops answering (its backend stopped: what a half-open connection looks like
 * from here) fails the query at the deadline; the connection is replaced and the pool goes on. */
static void test_pool_silent_server_connection_is_dropped_and_replaced(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pgpool *p = pgpool_new(&loop, db_url(), 1, 300);
    struct qstate s = {0};
    pgpool_query(p, "SELECT pg_backend_pid()", 0, NULL, sum_cb, &s);
    run_until(&loop, &s.done, 1);
    assert_int_equal(s.errors, 0);
    int pid = s.sum;
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    uint64_t t0 = uv_hrtime();
    pgpool_query(p, "SELECT 1", 0, NULL, sum_cb, &s);
    run_until(&loop, &s.done, 2);
    double took = ms_since(t0);
    kill(pid, SIGCONT);
    assert_int_equal(s.errors, 1);
    assert_non_null(strstr(s.lasterr, "timed out"));
    assert_true(took >= 300 + PGPOOL_GRACE_MS - 50);
    assert_true(took < 300 + PGPOOL_GRACE_MS + 1500);
    s.sum = 0;
    pgpool_query(p, "SELECT pg_backend_pid()", 0, NULL, sum_cb, &s);
    run_until(&loop, &s.done, 3);
    assert_int_equal(s.errors, 1);
    assert_true(s.sum > 0 && s.sum != pid);
    int c = 0;
    pgpool_close(p, closed, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c, 1);
    uv_loop_close(&loop);
}

/* HTTP: one handler answers at once, one answers after a timer (as after a DB round trip). */
struct later {
    uv_timer_t t;
    struct http_req *req;
};

static void later_fire(uv_timer_t *t)
{
    struct later *l = t->data;
    char body[128];
    snprintf(body, sizeof body, "later:%s", http_req_query(l->req, "x") ? http_req_query(l->req, "x") : "-");
    http_reply_text(l->req, 202, body);
    uv_close((uv_handle_t *)&l->t, (uv_close_cb)free);
}

static void h_later(void *arg, struct http_req *req)
{
    struct later *l = calloc(1, sizeof *l);
    uv_timer_init(arg, &l->t);
    l->t.data = l;
    l->req = req;
    uv_timer_start(&l->t, later_fire, 20, 0);
}

static void h_now(void *arg, struct http_req *req)
{
    size_t len;
    const char *body = http_req_body(req, &len);
    char out[256];
    snprintf(out, sizeof out, "now:%s:%zu:%s", http_req_subpath(req), len, len ? body : "");
    http_reply_text(req, 200, out);
}

struct hres {
    int done;
    long status[8];
    char body[8][256];
    CURLcode code[8];
};
struct hslot {
    struct hres *r;
    int i;
};

static void hcb(void *arg, CURLcode code, long status, const char *body, size_t len)
{
    struct hslot *s = arg;
    s->r->code[s->i] = code;
    s->r->status[s->i] = status;
    snprintf(s->r->body[s->i], sizeof s->r->body[0], "%s", body);
    s->r->done++;
}

static void test_http_server_and_client_round_trip(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    struct httpd *d = httpd_new(&loop, "127.0.0.1:0", 1024, err, sizeof err);
    assert_non_null(d);
    unsigned short port = httpd_port(d);
    assert_true(port > 0);
    httpd_route(d, NULL, "/now/", h_now, NULL);
    httpd_route(d, "GET", "/later", h_later, &loop);
    struct httpc *c = httpc_new(&loop, 64);

    char big[2048];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char u[8][128];
    snprintf(u[0], sizeof u[0], "http://127.0.0.1:%u/now/a/b", port);
    snprintf(u[1], sizeof u[1], "http://127.0.0.1:%u/later?x=%%C4%%91", port);
    snprintf(u[2], sizeof u[2], "http://127.0.0.1:%u/nowhere", port);
    snprintf(u[3], sizeof u[3], "http://127.0.0.1:%u/now/post", port);
    snprintf(u[4], sizeof u[4], "http://127.0.0.1:%u/now/big", port);
    snprintf(u[5], sizeof u[5], "http://127.0.0.1:%u/later", port);
    struct hres r = {0};
    struct hslot slots[6];
    struct httpc_request req[6] = {
        {.method = "GET", .url = u[0], .timeout_ms = 5000},
        {.method = "GET", .url = u[1], .timeout_ms = 5000},
        {.method = "GET", .url = u[2], .timeout_ms = 5000},
        {.method = "POST", .url = u[3], .body = "hello", .body_len = 5, .timeout_ms = 5000},
        {.method = "POST", .url = u[4], .body = big, .body_len = strlen(big), .timeout_ms = 5000},
        {.method = "POST", .url = u[5], .body = "x", .body_len = 1, .timeout_ms = 5000},
    };
    for (int i = 0; i < 6; i++) {
        slots[i] = (struct hslot){&r, i};
        assert_int_equal(httpc_request(c, &req[i], hcb, &slots[i]), 0);
    }
    while (r.done < 6)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(r.code[0], CURLE_OK);
    assert_int_equal(r.status[0], 200);
    assert_string_equal(r.body[0], "now:a/b:0:");
    if (r.status[1] != 202) fprintf(stderr, "later: code=%d status=%ld\n", r.code[1], r.status[1]);
    assert_int_equal(r.status[1], 202);
    assert_string_equal(r.body[1], "later:\xc4\x91");
    assert_int_equal(r.status[2], 404);
    assert_string_equal(r.body[3], "now:post:5:hello");
    assert_int_equal(r.status[4], 413);
    assert_int_equal(r.status[5], 405);
    assert_true(httpd_requests(d) >= 6);

    httpd_close(d);
    int closed_flag = 0;
    httpc_close(c, closed, &closed_flag);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(closed_flag, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void h_never(void *arg, struct http_req *req) { *(struct http_req **)arg = req; }

static void test_http_client_timeout_and_body_limit(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    struct httpd *d = httpd_new(&loop, "127.0.0.1:0", 1024, err, sizeof err);
    struct http_req *held = NULL;
    httpd_route(d, NULL, "/never", h_never, &held);
    httpd_route(d, NULL, "/now/", h_now, NULL);
    struct httpc *c = httpc_new(&loop, 8); /* answers over 8 bytes are cut */
    char u1[128], u2[128];
    snprintf(u1, sizeof u1, "http://127.0.0.1:%u/never", httpd_port(d));
    snprintf(u2, sizeof u2, "http://127.0.0.1:%u/now/0123456789", httpd_port(d));
    struct hres r = {0};
    struct hslot s0 = {&r, 0}, s1 = {&r, 1};
    struct httpc_request a = {.method = "GET", .url = u1, .timeout_ms = 300};
    struct httpc_request b = {.method = "GET", .url = u2, .timeout_ms = 3000};
    httpc_request(c, &a, hcb, &s0);
    httpc_request(c, &b, hcb, &s1);
    while (r.done < 2)
        uv_run(&loop, UV_RUN_ONCE);
    /* The request had been sent: the outcome is unknown, so the code says timed out. */
    assert_int_equal(r.code[0], CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(r.code[1], CURLE_FILESIZE_EXCEEDED);
    assert_non_null(held);
    /* Closing waits for the held request for the grace, then answers it 503 itself; the
     * handler's own answer, coming after the server has gone, only frees the request. */
    struct httpd_limits lim = {.per_address = 64, .trusted = "", .header_timeout_ms = 10000, .close_grace_ms = 200};
    assert_int_equal(httpd_set_limits(d, &lim, err, sizeof err), 0);
    uint64_t t0 = uv_hrtime();
    httpd_close(d);
    int closed_flag = 0;
    httpc_close(c, closed, &closed_flag);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(ms_since(t0) >= 190);
    assert_int_equal(closed_flag, 1);
    http_reply_text(held, 200, "too late");
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A bare HTTP/1.1 server that answers the first request and, for the second, reads it, then
 * closes the connection without a word and stops listening: smsbox stopped with a request in
 * its hands. With DROP_IDLE it closes both right after the first answer instead. */
struct dying_server {
    uv_tcp_t listener, conn;
    bool drop_idle;
    int accepted, requests;
    char buf[4096];
};

static void ds_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct dying_server *s = h->data;
    *b = uv_buf_init(s->buf, sizeof s->buf);
}

static void ds_written(uv_write_t *w, int status) { free(w); }

static void ds_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct dying_server *s = st->data;
    if (n <= 0)
        return;
    for (ssize_t i = 0; i + 3 < n; i++)
        if (memcmp(b->base + i, "\r\n\r\n", 4) == 0)
            s->requests++;
    if (s->requests == 1) {
        static char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        uv_write_t *w = malloc(sizeof *w);
        uv_buf_t out = uv_buf_init(ok, sizeof ok - 1);
        uv_write(w, st, &out, 1, ds_written);
        if (!s->drop_idle)
            return;
    }
    uv_read_stop(st);
    uv_close((uv_handle_t *)&s->conn, NULL);
    uv_close((uv_handle_t *)&s->listener, NULL);
}

static void ds_connection(uv_stream_t *l, int status)
{
    struct dying_server *s = l->data;
    s->accepted++;
    uv_tcp_init(l->loop, &s->conn);
    s->conn.data = s;
    uv_accept(l, (uv_stream_t *)&s->conn);
    uv_read_start((uv_stream_t *)&s->conn, ds_alloc, ds_read);
}

/* Two GETs one after the other on one client; the code of the second. */
static CURLcode second_request_code(bool drop_idle, int *requests_seen)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct dying_server s = {.drop_idle = drop_idle};
    uv_tcp_init(&loop, &s.listener);
    s.listener.data = s.conn.data = &s;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&s.listener, (const struct sockaddr *)&a, 0), 0);
    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&s.listener, (struct sockaddr *)&bound, &len);
    assert_int_equal(uv_listen((uv_stream_t *)&s.listener, 8, ds_connection), 0);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%u/cgi-bin/sendsms", ntohs(bound.sin_port));
    struct httpc *c = httpc_new(&loop, 64);
    struct hres r = {0};
    struct hslot s0 = {&r, 0}, s1 = {&r, 1};
    struct httpc_request req = {.method = "GET", .url = u, .timeout_ms = 3000};
    assert_int_equal(httpc_request(c, &req, hcb, &s0), 0);
    while (r.done < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(r.code[0], CURLE_OK);
    /* Let the server's close (DROP_IDLE) reach the client before the second request. */
    uint64_t t0 = uv_hrtime();
    while (ms_since(t0) < 50)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(httpc_request(c, &req, hcb, &s1), 0);
    while (r.done < 2)
        uv_run(&loop, UV_RUN_ONCE);
    int closed_flag = 0;
    httpc_close(c, closed, &closed_flag);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.accepted, 1);
    *requests_seen = s.requests;
    uv_loop_close(&loop);
    return r.code[1];
}

/* A request the server read and never answered is never "could not connect", even though
 * curl's own retry on a fresh connection is refused; a connection that died while idle is
 * not reused, so a refused request there reached nobody. */
static void test_http_client_says_when_a_request_may_have_reached_the_server(void **state)
{
    int seen = 0;
    CURLcode code = second_request_code(false, &seen);
    assert_int_equal(seen, 2);
    assert_int_equal(code, CURLE_GOT_NOTHING);
    code = second_request_code(true, &seen);
    assert_int_equal(seen, 1);
    assert_int_equal(code, CURLE_COULDNT_CONNECT);
}

/* No SO_REUSEPORT: a second server on a port in use is refused, and says why. */
static void test_http_port_in_use_is_refused(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256], listen[64];
    struct httpd *a = httpd_new(&loop, "127.0.0.1:0", 1024, err, sizeof err);
    assert_non_null(a);
    snprintf(listen, sizeof listen, "127.0.0.1:%u", httpd_port(a));
    struct httpd *b = httpd_new(&loop, listen, 1024, err, sizeof err);
    assert_null(b);
    assert_non_null(strstr(err, "Address already in use"));
    httpd_close(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* Closed, the port is free at once. */
    b = httpd_new(&loop, listen, 1024, err, sizeof err);
    assert_non_null(b);
    httpd_close(b);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_queries_in_parallel_with_parameters),
        cmocka_unit_test(test_pool_reports_sql_errors_and_keeps_working),
        cmocka_unit_test(test_pool_prepares_once_per_connection_and_sessions_have_no_jit),
        cmocka_unit_test(test_pool_unreachable_server_fails_queries_on_close),
        cmocka_unit_test(test_pool_listen_receives_notify),
        cmocka_unit_test(test_pool_query_past_its_deadline_fails_and_the_pool_keeps_working),
        cmocka_unit_test(test_pool_silent_server_connection_is_dropped_and_replaced),
        cmocka_unit_test(test_http_port_in_use_is_refused),
        cmocka_unit_test(test_http_server_and_client_round_trip),
        cmocka_unit_test(test_http_client_timeout_and_body_limit),
        cmocka_unit_test(test_http_client_says_when_a_request_may_have_reached_the_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
