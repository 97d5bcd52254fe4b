/* Kannel: the sendsms URL, the DLR token, smsbox's answers, and DLR / MO validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateways/kannel.h"

/* printf 42.1001 | openssl dgst -sha256 -hmac hook-secret, first 32 hex digits */
#define KANNEL_TOKEN_42_1001 "ff6b32ece8d6df3cac07219417dd6599"

static struct kannel_conf conf(void)
{
    struct kannel_conf k;
    memset(&k, 0, sizeof k);
    snprintf(k.name, sizeof k.name, "kannel");
    snprintf(k.sendsms_url, sizeof k.sendsms_url, "http://127.0.0.1:13013/cgi-bin/sendsms");
    snprintf(k.username, sizeof k.username, "loa");
    snprintf(k.password, sizeof k.password, "p&ss word");
    snprintf(k.sender, sizeof k.sender, "BHXH");
    snprintf(k.public_url, sizeof k.public_url, "http://10.0.0.5:8080");
    snprintf(k.secret, sizeof k.secret, "hook-secret");
    k.dlr_mask = 3;
    return k;
}

static void test_kannel_token_is_hmac_sha256_prefix(void **state)
{
    char t[33];
    /* printf '42.1001' | openssl dgst -sha256 -hmac hook-secret */
    kannel_token("hook-secret", 42, 1001, t);
    assert_int_equal(strlen(t), 32);
    char t2[33], t3[33], t4[33];
    kannel_token("hook-secret", 42, 1001, t2);
    kannel_token("hook-secret", 42, 1002, t3);
    kannel_token("other", 42, 1001, t4);
    assert_string_equal(t, t2);
    assert_string_not_equal(t, t3);
    assert_string_not_equal(t, t4);
    for (int i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdef", t[i]));
    /* The known value, computed independently with OpenSSL's command line. */
    assert_string_equal(t, KANNEL_TOKEN_42_1001);
}

static void test_kannel_urlencode(void **state)
{
    char out[64];
    assert_int_equal(kannel_urlencode("a b&c=d/é", strlen("a b&c=d/é"), out, sizeof out), 22);
    assert_string_equal(out, "a%20b%26c%3Dd%2F%C3%A9");
    assert_int_equal(kannel_urlencode("abc", 3, out, 3), -1);   /* no room for the NUL */
    assert_int_equal(kannel_urlencode("abc", 3, out, 4), 3);
}

static void test_kannel_sendsms_url_ucs2(void **state)
{
    struct kannel_conf k = conf();
    const char *text = "Bà Lan ơi";
    struct gw_message m = {.campaign_id = 42, .message_id = 1001, .phone = "84912345678",
                           .text = text, .text_len = strlen(text), .coding = SMS_UCS2, .parts = 1};
    char url[4096];
    int n = kannel_sendsms_url(&k, &m, url, sizeof url);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(url));
    assert_non_null(strstr(url, "http://127.0.0.1:13013/cgi-bin/sendsms?username=loa&password=p%26ss%20word&from=BHXH&to=84912345678&"));
    assert_non_null(strstr(url, "&text=B%C3%A0%20Lan%20%C6%A1i&charset=UTF-8&coding=2&dlr-mask=3&"));
    char tok[33], want[512];
    kannel_token("hook-secret", 42, 1001, tok);
    snprintf(want, sizeof want,
             "&dlr-url=http%%3A%%2F%%2F10.0.0.5%%3A8080%%2Fhooks%%2Fkannel%%2Fkannel%%2Fdlr%%3Fc%%3D42%%26m%%3D1001%%26t%%3D%s%%26s%%3D%%25d%%26ts%%3D%%25T%%26id%%3D%%25I",
             tok);
    assert_non_null(strstr(url, want));
    assert_null(strstr(url, "smsc="));
    assert_null(strstr(url, "priority="));
    assert_true(kannel_url_cap(&k, m.text_len) > (size_t)n);
}

/* An answer to a citizen (a STOP's confirmation) overtakes the campaign traffic bearerbox holds:
 * priority=1 on its submission, never on a campaign message's. */
static void test_kannel_sendsms_url_answer_has_priority(void **state)
{
    struct kannel_conf k = conf();
    struct gw_message m = {.campaign_id = 0, .message_id = 7, .phone = "84912345678", .text = "Da tu choi",
                           .text_len = 10, .coding = SMS_GSM7, .parts = 1, .priority = true};
    char url[4096];
    assert_true(kannel_sendsms_url(&k, &m, url, sizeof url) > 0);
    assert_non_null(strstr(url, "&priority=1"));
    assert_non_null(strstr(url, "c%3D0%26m%3D7"));
    m.priority = false;
    m.campaign_id = 3;
    assert_true(kannel_sendsms_url(&k, &m, url, sizeof url) > 0);
    assert_null(strstr(url, "priority="));
}

static void test_kannel_sendsms_url_gsm_with_smsc(void **state)
{
    struct kannel_conf k = conf();
    snprintf(k.smsc, sizeof k.smsc, "viettel");
    k.dlr_mask = 31;
    struct gw_message m = {.campaign_id = 1, .message_id = 2, .phone = "84912345678",
                           .text = "Hello", .text_len = 5, .coding = SMS_GSM7, .parts = 1};
    char url[4096];
    assert_true(kannel_sendsms_url(&k, &m, url, sizeof url) > 0);
    assert_non_null(strstr(url, "&coding=0&dlr-mask=31&"));
    assert_non_null(strstr(url, "&smsc=viettel"));
    assert_int_equal(kannel_sendsms_url(&k, &m, url, 100), -1);
    m.phone = NULL;
    assert_int_equal(kannel_sendsms_url(&k, &m, url, sizeof url), -1);
}

struct answer_case {
    CURLcode cc;
    long status;
    const char *body;
    enum gw_outcome outcome;
    enum gw_action action;
    enum gw_fault fault;        /* the classification's own, before gateway_http_fault */
};

static void test_kannel_classify_answers(void **state)
{
    static const struct answer_case cases[] = {
        {CURLE_OK, 202, "0: Accepted for delivery", GW_ACCEPTED, GW_ACT_NONE, GW_FAULT_NONE},
        {CURLE_OK, 202, "3: Queued for later delivery", GW_ACCEPTED, GW_ACT_NONE, GW_FAULT_NONE},
        {CURLE_OK, 202, "something else", GW_IN_DOUBT, GW_ACT_NONE, GW_FAULT_NONE},
        /* A changed password: the gateway's fault, the message waits (never failed for it). */
        {CURLE_OK, 403, "Authorization failed for sendsms", GW_TEMPFAIL, GW_ACT_NONE, GW_FAULT_AUTH},
        {CURLE_OK, 400, "Missing receiver number", GW_PERMFAIL, GW_ACT_NONE, GW_FAULT_NONE},
        /* smsbox's queue is full: the rate shrinks (AIMD), the circuit does not count it. */
        {CURLE_OK, 503, "Temporal failure, try again later.", GW_TEMPFAIL, GW_ACT_BACKOFF, GW_FAULT_NONE},
        {CURLE_OK, 500, "", GW_TEMPFAIL, GW_ACT_NONE, GW_FAULT_NONE},
        {CURLE_COULDNT_CONNECT, 0, NULL, GW_TEMPFAIL, GW_ACT_NONE, GW_FAULT_NONE},
        {CURLE_COULDNT_RESOLVE_HOST, 0, NULL, GW_TEMPFAIL, GW_ACT_NONE, GW_FAULT_NONE},
        {CURLE_OPERATION_TIMEDOUT, 0, NULL, GW_IN_DOUBT, GW_ACT_NONE, GW_FAULT_NONE},
        {CURLE_GOT_NOTHING, 0, NULL, GW_IN_DOUBT, GW_ACT_NONE, GW_FAULT_NONE},
        {CURLE_RECV_ERROR, 0, NULL, GW_IN_DOUBT, GW_ACT_NONE, GW_FAULT_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_result r;
        const char *b = cases[i].body;
        kannel_classify(cases[i].cc, cases[i].status, b, b ? strlen(b) : 0, &r);
        if (r.outcome != cases[i].outcome)
            fail_msg("case %zu (%ld %s): outcome %d, want %d", i, cases[i].status, b ? b : "", r.outcome, cases[i].outcome);
        assert_int_equal(r.action, cases[i].action);
        assert_int_equal(r.fault, cases[i].fault);
    }
    struct gw_result r;
    kannel_classify(CURLE_OK, 403, "Authorization failed\nmore", 26, &r);
    assert_string_equal(r.reason, "smsbox 403: Authorization failed");
}

/* What gateway_http_submit adds to every HTTP gateway's answer: the transport's faults, which
 * the circuit breaker counts. */
static void test_gateway_http_fault_of_transport_and_5xx(void **state)
{
    assert_int_equal(gateway_http_fault(CURLE_OK, 202), GW_FAULT_NONE);
    assert_int_equal(gateway_http_fault(CURLE_OK, 404), GW_FAULT_NONE);
    assert_int_equal(gateway_http_fault(CURLE_OK, 500), GW_FAULT_SERVER);
    assert_int_equal(gateway_http_fault(CURLE_OK, 502), GW_FAULT_SERVER);
    assert_int_equal(gateway_http_fault(CURLE_COULDNT_CONNECT, 0), GW_FAULT_UNREACHABLE);
    assert_int_equal(gateway_http_fault(CURLE_GOT_NOTHING, 0), GW_FAULT_UNREACHABLE);
    assert_int_equal(gateway_http_fault(CURLE_OPERATION_TIMEDOUT, 0), GW_FAULT_TIMEOUT);
    assert_string_equal(gateway_fault_name(GW_FAULT_AUTH), "auth");
}

static void test_kannel_dlr_valid(void **state)
{
    char t[33];
    kannel_token("hook-secret", 42, 1001, t);
    struct kannel_dlr d;
    assert_int_equal(kannel_dlr_check("hook-secret", "42", "1001", t, "1", "1777600000", "abc-1", &d), 200);
    assert_int_equal(d.campaign_id, 42);
    assert_int_equal(d.message_id, 1001);
    assert_int_equal(d.dlr, GW_DLR_DELIVERED);
    assert_int_equal(d.ts, 1777600000);
    assert_string_equal(d.id, "abc-1");
    static const struct { const char *s; enum gw_dlr dlr; } kinds[] = {
        {"2", GW_DLR_UNDELIVERED}, {"16", GW_DLR_UNDELIVERED}, {"4", GW_DLR_INTERMEDIATE}, {"8", GW_DLR_INTERMEDIATE}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(kannel_dlr_check("hook-secret", "42", "1001", t, kinds[i].s, NULL, NULL, &d), 200);
        assert_int_equal(d.dlr, kinds[i].dlr);
        assert_int_equal(d.status, atoi(kinds[i].s));
    }
}

/* Answers to citizens carry campaign 0 (engine/answers.c): valid with their own token only. */
static void test_kannel_dlr_of_an_answer_has_campaign_0(void **state)
{
    char t[33], msg[33];
    kannel_token("hook-secret", 0, 77, t);
    kannel_token("hook-secret", 42, 77, msg);
    struct kannel_dlr d;
    assert_int_equal(kannel_dlr_check("hook-secret", "0", "77", t, "1", NULL, NULL, &d), 200);
    assert_int_equal(d.campaign_id, 0);
    assert_int_equal(d.message_id, 77);
    assert_int_equal(kannel_dlr_check("hook-secret", "0", "77", msg, "1", NULL, NULL, &d), 403);
    assert_int_equal(kannel_dlr_check("hook-secret", "00", "77", t, "1", NULL, NULL, &d), 400);
    assert_int_equal(kannel_dlr_check("hook-secret", "0", "0", t, "1", NULL, NULL, &d), 400);
}

static void test_kannel_dlr_refused(void **state)
{
    char t[33], other[33];
    kannel_token("hook-secret", 42, 1001, t);
    kannel_token("hook-secret", 42, 1002, other);
    struct kannel_dlr d;
    struct { const char *c, *m, *t, *s, *ts; int want; } cases[] = {
        {"42", "1001", NULL, "1", NULL, 403},           /* missing token */
        {"42", "1001", "", "1", NULL, 403},
        {"42", "1001", other, "1", NULL, 403},          /* another message's token: replay */
        {"42", "1001", "0123456789abcdef0123456789abcdef", "1", NULL, 403},
        {"42", "1001", "short", "1", NULL, 403},
        {"43", "1001", t, "1", NULL, 403},              /* token for another campaign */
        {"42", "x1", t, "1", NULL, 400},                /* non-numeric id */
        {"-42", "1001", t, "1", NULL, 400},
        {"42", "", t, "1", NULL, 400},
        {NULL, "1001", t, "1", NULL, 400},
        {"42", "1001", t, NULL, NULL, 400},             /* missing s */
        {"42", "1001", t, "abc", NULL, 400},
        {"42", "1001", t, "3", NULL, 400},              /* not a DLR value */
        {"42", "1001", t, "1", "yesterday", 400},
        {"99999999999999999999", "1001", t, "1", NULL, 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = kannel_dlr_check("hook-secret", cases[i].c, cases[i].m, cases[i].t, cases[i].s, cases[i].ts, NULL, &d);
        if (rc != cases[i].want)
            fail_msg("case %zu: %d, want %d", i, rc, cases[i].want);
    }
    char longid[200];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_int_equal(kannel_dlr_check("hook-secret", "42", "1001", t, "1", NULL, longid, &d), 400);
}

static void test_kannel_mo_token(void **state)
{
    assert_true(kannel_mo_token_ok("s3cret", "s3cret"));
    assert_false(kannel_mo_token_ok("s3cret", "s3cre"));
    assert_false(kannel_mo_token_ok("s3cret", "s3cretx"));
    assert_false(kannel_mo_token_ok("s3cret", NULL));
    assert_false(kannel_mo_token_ok("", ""));
}

static void test_kannel_query_get(void **state)
{
    const char *q = "c=42&m=1001&text=Xin+ch%C3%A0o&bad=%4&empty=&t=ab";
    char out[64];
    assert_int_equal(kannel_query_get(q, strlen(q), "c", out, sizeof out), 2);
    assert_string_equal(out, "42");
    assert_int_equal(kannel_query_get(q, strlen(q), "text", out, sizeof out), 9);
    assert_string_equal(out, "Xin chào");
    assert_int_equal(kannel_query_get(q, strlen(q), "bad", out, sizeof out), -1);
    assert_int_equal(kannel_query_get(q, strlen(q), "empty", out, sizeof out), 0);
    assert_int_equal(kannel_query_get(q, strlen(q), "missing", out, sizeof out), -1);
    assert_int_equal(kannel_query_get(q, strlen(q), "t", out, 2), -1);
    assert_int_equal(kannel_query_get(q, strlen(q), "t", out, 3), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kannel_token_is_hmac_sha256_prefix),
        cmocka_unit_test(test_kannel_dlr_of_an_answer_has_campaign_0),
        cmocka_unit_test(test_kannel_urlencode),
        cmocka_unit_test(test_kannel_sendsms_url_ucs2),
        cmocka_unit_test(test_kannel_sendsms_url_answer_has_priority),
        cmocka_unit_test(test_kannel_sendsms_url_gsm_with_smsc),
        cmocka_unit_test(test_kannel_classify_answers),
        cmocka_unit_test(test_gateway_http_fault_of_transport_and_5xx),
        cmocka_unit_test(test_kannel_dlr_valid),
        cmocka_unit_test(test_kannel_dlr_refused),
        cmocka_unit_test(test_kannel_mo_token),
        cmocka_unit_test(test_kannel_query_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
