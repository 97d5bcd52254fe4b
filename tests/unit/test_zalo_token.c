/* Zalo token keeping: the pure parts, then the whole refresh chain on a real loop against a real
 * database (LOA_TEST_DB_URL) and an OAuth endpoint served on the same loop that, like Zalo,
 * accepts each refresh token once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateways/gateway.h"
#include "core/httpc.h"
#include "core/httpd.h"
#include "core/pgasync.h"
#include "gateways/zalo_token.h"

/* ---- pure parts ---- */

static void test_zalo_token_answer_parse(void **state)
{
    char *a, *r, why[160];
    long exp;
    int zerr;
    const char *ok_str = "{\"access_token\":\"AAA\",\"refresh_token\":\"RRR\",\"expires_in\":\"90000\"}";
    assert_int_equal(zalo_token_answer_parse(ok_str, strlen(ok_str), &a, &r, &exp, &zerr, why, sizeof why), 0);
    assert_string_equal(a, "AAA");
    assert_string_equal(r, "RRR");
    assert_int_equal(exp, 90000);
    free(a);
    free(r);
    const char *ok_num = "{\"access_token\":\"A\",\"refresh_token\":\"R\",\"expires_in\":3600}";
    assert_int_equal(zalo_token_answer_parse(ok_num, strlen(ok_num), &a, &r, &exp, &zerr, why, sizeof why), 0);
    assert_int_equal(exp, 3600);
    free(a);
    free(r);
    const char *refused = "{\"error_name\":\"Invalid parameter\",\"error_reason\":\"Invalid refresh token\",\"error\":-14014}";
    assert_int_equal(zalo_token_answer_parse(refused, strlen(refused), &a, &r, &exp, &zerr, why, sizeof why), -1);
    assert_int_equal(zerr, -14014);
    assert_null(a);
    assert_null(r);
    const char *bad[] = {"", "x", "[]", "{\"access_token\":\"A\",\"expires_in\":1}",
                         "{\"access_token\":\"A\",\"refresh_token\":\"R\"}",
                         "{\"access_token\":\"A\",\"refresh_token\":\"R\",\"expires_in\":\"soon\"}",
                         "{\"access_token\":\"A\",\"refresh_token\":\"R\",\"expires_in\":0}",
                         "{\"access_token\":\"\",\"refresh_token\":\"R\",\"expires_in\":5}",
                         "{\"access_token\":1,\"refresh_token\":\"R\",\"expires_in\":5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zerr = 99;
        if (zalo_token_answer_parse(bad[i], strlen(bad[i]), &a, &r, &exp, &zerr, why, sizeof why) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(zerr, 0);
    }
}

static void test_zalo_token_refresh_at(void **state)
{
    time_t now = 1000000;
    /* A 25 h token is refreshed 10 minutes before it expires. */
    assert_int_equal(zalo_token_refresh_at(now, now + 90000, 600), now + 90000 - 600);
    /* One that lives less than twice the margin: at half its remaining life. */
    assert_int_equal(zalo_token_refresh_at(now, now + 1000, 600), now + 500);
    /* Expired or expiring now: at once. */
    assert_int_equal(zalo_token_refresh_at(now, now, 600), now);
    assert_int_equal(zalo_token_refresh_at(now, now - 5, 600), now);
    assert_int_equal(zalo_token_refresh_at(now, 0, 600), now);
}

static void test_zalo_token_proof_vector(void **state)
{
    char out[65];
    zalo_token_proof("ACCESS123", "app-secret", out);
    assert_string_equal(out, "aefda3a55b11cda9b96de4c7a69d7a625da1efea22787c4289672594107cb2db");
}

static void test_zalo_form_escape(void **state)
{
    char out[64];
    assert_int_equal(zalo_form_escape("a+b/c=d&e f~", out, sizeof out), (int)strlen("a%2Bb%2Fc%3Dd%26e%20f~"));
    assert_string_equal(out, "a%2Bb%2Fc%3Dd%26e%20f~");
    char tiny[4];
    assert_int_equal(zalo_form_escape("abcd", tiny, sizeof tiny), -1);
    assert_int_equal(zalo_form_escape("a&", tiny, sizeof tiny), -1);
}

/* ---- the chain, end to end on one loop ---- */

static const char *db_url(void)
{
    const char *u = getenv("LOA_TEST_DB_URL");
    if (!u || !*u)
        fail_msg("LOA_TEST_DB_URL is not set: run through `make test`");
    return u;
}

/* An OAuth endpoint like Zalo's: each refresh token works once and yields the next pair. */
struct oauth {
    char current[32];
    int issued;
    int calls;
    int refused;
    int bad_secret;
};

static void oauth_handler(void *arg, struct http_req *req)
{
    struct oauth *o = arg;
    size_t len;
    const char *body = http_req_body(req, &len);
    o->calls++;
    const char *sk = http_req_header(req, "secret_key");
    if (!sk || strcmp(sk, "s3cret") != 0) {
        o->bad_secret++;
        http_reply_json(req, 200, "{\"error\":-14002,\"error_name\":\"Invalid app secret\"}");
        return;
    }
    char want[96];
    snprintf(want, sizeof want, "refresh_token=%s&", o->current);
    if (!strstr(body, want) || !strstr(body, "grant_type=refresh_token") || !strstr(body, "app_id=app1")) {
        o->refused++;
        http_reply_json(req, 200, "{\"error\":-14014,\"error_name\":\"Invalid refresh token\"}");
        return;
    }
    o->issued++;
    snprintf(o->current, sizeof o->current, "R%d", o->issued);
    char ans[256];
    snprintf(ans, sizeof ans, "{\"access_token\":\"A%d\",\"refresh_token\":\"R%d\",\"expires_in\":\"90000\"}",
             o->issued, o->issued);
    http_reply_json(req, 200, ans);
}

struct rig {
    uv_loop_t loop;
    uv_timer_t tick;
    struct gw_host e;
    char instance[32];
    struct httpd *d;
    struct oauth o;
    char url[128];
};

static void tick(uv_timer_t *t) {}

/* Runs the loop until *FLAG or 10 s. */
static void run_until(struct rig *r, const int *flag)
{
    uint64_t end = uv_now(&r->loop) + 10000;
    while (!*flag && uv_now(&r->loop) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    if (!*flag)
        fail_msg("timed out");
}

struct q {
    int done;
    char value[128];
    int rows;
};

static void q_cb(void *arg, PGresult *res, const char *err)
{
    struct q *q = arg;
    if (err)
        fail_msg("query failed: %s", err);
    q->rows = PQntuples(res);
    q->value[0] = '\0';
    if (q->rows > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
        snprintf(q->value, sizeof q->value, "%s", PQgetvalue(res, 0, 0));
    q->done = 1;
}

static const char *state_get(struct rig *r, const char *key, struct q *q)
{
    const char *p[2] = {"tz", key};
    memset(q, 0, sizeof *q);
    assert_int_equal(pgpool_query(r->e.db, "SELECT value FROM gateway_state WHERE gateway = $1 AND key = $2", 2, p,
                                  q_cb, q), 0);
    run_until(r, &q->done);
    return q->rows ? q->value : NULL;
}

static struct zalo_token *keeper(struct rig *r, const char *initial)
{
    struct zalo_token_conf c = {
        .gateway = "tz", .oauth_url = r->url, .app_id = "app1", .app_secret = "s3cret",
        .initial_refresh = initial, .timeout_ms = 5000, .margin_s = 600, .lease_s = 30,
    };
    return zalo_token_new(&r->e, &c);
}

static int ready_flag(struct rig *r, struct zalo_token *t)
{
    uint64_t end = uv_now(&r->loop) + 10000;
    while (!zalo_token_ready(t) && uv_now(&r->loop) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    return zalo_token_ready(t);
}

struct wait {
    int done;
    bool ok;
};

static void waited(void *arg, bool ok)
{
    struct wait *w = arg;
    w->done = 1;
    w->ok = ok;
}

static void closed(void *arg) { (*(int *)arg)++; }

static void test_zalo_token_refresh_rotates(void **state)
{
    struct rig *r = calloc(1, sizeof *r);
    char err[256];
    uv_loop_init(&r->loop);
    uv_timer_init(&r->loop, &r->tick);
    uv_timer_start(&r->tick, tick, 20, 20);
    r->e.loop = &r->loop;
    snprintf(r->instance, sizeof r->instance, "test:1");
    r->e.instance = r->instance;
    r->e.db = pgpool_new(&r->loop, db_url(), 2, 5000);
    r->e.http = httpc_new(&r->loop, 65536);
    r->d = httpd_new(&r->loop, "127.0.0.1:0", 65536, err, sizeof err);
    assert_non_null(r->d);
    httpd_route(r->d, "POST", "/oauth", oauth_handler, &r->o);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%u/oauth", httpd_port(r->d));
    snprintf(r->o.current, sizeof r->o.current, "R0");
    struct q q;
    const char *p[1] = {"tz"};
    memset(&q, 0, sizeof q);
    pgpool_query(r->e.db, "DELETE FROM gateway_state WHERE gateway = $1", 1, p, q_cb, &q);
    run_until(r, &q.done);

    /* First start: the configured R0 is seeded, used once, and the new pair stored. */
    struct zalo_token *t = keeper(r, "R0");
    assert_true(ready_flag(r, t));
    assert_string_equal(zalo_token_access(t), "A1");
    assert_int_equal(r->o.issued, 1);
    assert_string_equal(state_get(r, "refresh_token", &q), "R1");
    assert_string_equal(state_get(r, "access_token", &q), "A1");
    long exp = atol(state_get(r, "expires_at", &q));
    assert_true(exp > time(NULL) + 89000 && exp <= time(NULL) + 90000);
    assert_null(state_get(r, "refresh_lease", &q));      /* released with the store */

    /* Zalo refuses A1 (-124): one refresh; calls made meanwhile join it. */
    struct wait w1 = {0}, w2 = {0};
    zalo_token_refused(t, "A1", waited, &w1);
    zalo_token_refused(t, "A1", waited, &w2);
    run_until(r, &w1.done);
    run_until(r, &w2.done);
    assert_true(w1.ok && w2.ok);
    assert_int_equal(r->o.issued, 2);
    assert_int_equal(r->o.refused, 0);
    assert_string_equal(zalo_token_access(t), "A2");
    assert_string_equal(state_get(r, "refresh_token", &q), "R2");
    /* A late refusal of the old token does not refresh again. */
    struct wait w3 = {0};
    zalo_token_refused(t, "A1", waited, &w3);
    run_until(r, &w3.done);
    assert_true(w3.ok);
    assert_int_equal(r->o.calls, 2);

    /* A restart (same configured R0) loads the rotated pair: no call, no reseed. */
    zalo_token_free(t);
    r->instance[5] = '2';
    struct zalo_token *t2 = keeper(r, "R0");
    assert_true(ready_flag(r, t2));
    assert_string_equal(zalo_token_access(t2), "A2");
    assert_int_equal(r->o.calls, 2);

    /* Another daemon refreshed behind t2's back: t2's refusal adopts the stored token. */
    const char *np[1] = {"tz"};
    memset(&q, 0, sizeof q);
    pgpool_query(r->e.db,
                 "UPDATE gateway_state SET value = CASE key WHEN 'access_token' THEN 'A-other' "
                 "WHEN 'refresh_token' THEN 'R-other' ELSE value END WHERE gateway = $1", 1, np, q_cb, &q);
    run_until(r, &q.done);
    struct wait w4 = {0};
    zalo_token_refused(t2, "A2", waited, &w4);
    run_until(r, &w4.done);
    assert_true(w4.ok);
    assert_string_equal(zalo_token_access(t2), "A-other");
    assert_int_equal(r->o.calls, 2);
    zalo_token_free(t2);

    /* The chain broke (Zalo no longer knows R-other): the refresh is refused and the token is
     * not ready; an operator's new refresh token in the configuration repairs it. */
    memset(&q, 0, sizeof q);
    pgpool_query(r->e.db, "DELETE FROM gateway_state WHERE gateway = $1 AND key IN ('access_token','expires_at')",
                 1, np, q_cb, &q);
    run_until(r, &q.done);
    struct zalo_token *t3 = keeper(r, "R0");
    uint64_t end = uv_now(&r->loop) + 3000;
    while (r->o.refused == 0 && uv_now(&r->loop) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_int_equal(r->o.refused, 1);
    assert_false(zalo_token_ready(t3));
    zalo_token_free(t3);
    snprintf(r->o.current, sizeof r->o.current, "R-console");
    struct zalo_token *t4 = keeper(r, "R-console");
    assert_true(ready_flag(r, t4));
    assert_string_equal(zalo_token_access(t4), "A3");
    assert_string_equal(state_get(r, "refresh_token", &q), "R3");
    assert_int_equal(r->o.bad_secret, 0);
    zalo_token_free(t4);

    int c = 0;
    httpd_close(r->d);
    httpc_close(r->e.http, closed, &c);
    pgpool_close(r->e.db, closed, &c);
    uv_close((uv_handle_t *)&r->tick, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(c, 2);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zalo_token_answer_parse),
        cmocka_unit_test(test_zalo_token_refresh_at),
        cmocka_unit_test(test_zalo_token_proof_vector),
        cmocka_unit_test(test_zalo_form_escape),
        cmocka_unit_test(test_zalo_token_refresh_rotates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
