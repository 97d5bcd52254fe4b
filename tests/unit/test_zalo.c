/* Zalo: the error-code table, answer classification, request bodies, webhook signatures,
 * freshness and parsing. Pure functions only; the token chain is in test_zalo_token.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateways/zalo_oa.h"
#include "gateways/zalo_webhook.h"
#include "gateways/zalo_zns.h"

enum { VN = 7 * 3600 };
/* 2026-05-01 23:30 in Ha Noi (16:30 UTC). */
static const time_t NIGHT = 1777653000;
static const time_t MORNING_6 = 1777676400;   /* 2026-05-02 06:00 local */
static const time_t MIDNIGHT = 1777654800;    /* 2026-05-02 00:00 local */

struct code_case {
    int code;
    enum gw_outcome outcome;
    enum gw_action action;
    bool no_zalo, bad_phone;
    time_t pause_until;
};

static const struct code_case codes[] = {
    {0, GW_ACCEPTED, GW_ACT_NONE, false, false, 0},
    {-108, GW_PERMFAIL, GW_ACT_NONE, false, true, 0},
    {-114, GW_FALLBACK, GW_ACT_NONE, false, false, 0},
    {-118, GW_FALLBACK, GW_ACT_NONE, true, false, 0},
    {-119, GW_FALLBACK, GW_ACT_NONE, false, false, 0},
    {-124, GW_TEMPFAIL, GW_ACT_NONE, false, false, 0},
    {-216, GW_TEMPFAIL, GW_ACT_NONE, false, false, 0},
    {-115, GW_FALLBACK, GW_ACT_PAUSE, false, false, MIDNIGHT},
    {-131, GW_FALLBACK, GW_ACT_STOP_STEP, false, false, 0},
    {-133, GW_TEMPFAIL, GW_ACT_PAUSE, false, false, MORNING_6},
    {-144, GW_FALLBACK, GW_ACT_PAUSE, false, false, MIDNIGHT},
    {-230, GW_FALLBACK, GW_ACT_NONE, false, false, 0},
    {-32, GW_TEMPFAIL, GW_ACT_BACKOFF, false, false, 0},
    /* Codes the table does not know: retried, then the next channel (fallback_when_spent). */
    {-201, GW_TEMPFAIL, GW_ACT_NONE, false, false, 0},
    {-999, GW_TEMPFAIL, GW_ACT_NONE, false, false, 0},
};

static void test_zalo_error_table(void **state)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct gw_result r;
        memset(&r, 0, sizeof r);
        zalo_error_map(codes[i].code, NIGHT, VN, &r);
        if (r.outcome != codes[i].outcome || r.action != codes[i].action ||
            r.no_zalo_account != codes[i].no_zalo || r.phone_invalid != codes[i].bad_phone ||
            (codes[i].pause_until && r.pause_until != codes[i].pause_until))
            fail_msg("code %d: outcome %d action %d pause %lld", codes[i].code, r.outcome, r.action,
                     (long long)r.pause_until);
        assert_int_equal(r.fallback_when_spent, codes[i].code == -201 || codes[i].code == -999);
        if (codes[i].code != 0) {
            char want[16];
            snprintf(want, sizeof want, "%d", codes[i].code);
            assert_non_null(strstr(r.reason, want));
        }
    }
}

static void test_zalo_night_ban_retries_at_six(void **state)
{
    struct gw_result r;
    memset(&r, 0, sizeof r);
    zalo_error_map(-133, NIGHT, VN, &r);
    assert_int_equal(r.retry_after_s, MORNING_6 - NIGHT);   /* 6.5 hours */
    assert_int_equal(r.retry_after_s, 6 * 3600 + 1800);
}

static void test_zalo_next_local_hour(void **state)
{
    assert_int_equal(zalo_next_local_hour(NIGHT, VN, 6), MORNING_6);
    assert_int_equal(zalo_next_local_hour(NIGHT, VN, 0), MIDNIGHT);
    /* At 06:00 exactly the next 06:00 is tomorrow's. */
    assert_int_equal(zalo_next_local_hour(MORNING_6, VN, 6), MORNING_6 + 86400);
    /* 05:59 local → a minute later. */
    assert_int_equal(zalo_next_local_hour(MORNING_6 - 60, VN, 6), MORNING_6);
    /* UTC zone: 16:30 UTC → 00:00 UTC next day. */
    assert_int_equal(zalo_next_local_hour(NIGHT, 0, 0), MIDNIGHT + VN);
    assert_int_equal(zalo_tz_offset("Asia/Ho_Chi_Minh"), VN);
    assert_int_equal(zalo_tz_offset("UTC"), 0);
}

static int classify(const char *body, struct gw_result *r)
{
    return zalo_zns_classify(CURLE_OK, 200, body, strlen(body), NIGHT, VN, r);
}

static void test_zns_classify_success_and_quota(void **state)
{
    struct gw_result r;
    assert_int_equal(classify("{\"error\":0,\"message\":\"Success\",\"data\":{\"msg_id\":\"abc123\",\"sent_time\":\"1\","
                              "\"quota\":{\"dailyQuota\":\"5000\",\"remainingQuota\":\"4321\"}}}", &r), 0);
    assert_int_equal(r.outcome, GW_ACCEPTED);
    assert_string_equal(r.gateway_msg_id, "abc123");
    assert_int_equal(r.quota_remaining, 4321);
    assert_int_equal(classify("{\"error\":0,\"data\":{\"msg_id\":\"x\",\"quota\":{\"remainingQuota\":17}}}", &r), 0);
    assert_int_equal(r.quota_remaining, 17);
    assert_int_equal(classify("{\"error\":0,\"data\":{\"msg_id\":\"x\"}}", &r), 0);
    assert_int_equal(r.quota_remaining, -1);
    /* The quota comes back with errors too. */
    assert_int_equal(classify("{\"error\":-118,\"message\":\"x\",\"data\":{\"quota\":{\"remainingQuota\":\"9\"}}}", &r), -118);
    assert_int_equal(r.outcome, GW_FALLBACK);
    assert_true(r.no_zalo_account);
    assert_int_equal(r.quota_remaining, 9);
}

static void test_zns_classify_in_doubt_only_once_the_request_may_have_left(void **state)
{
    struct gw_result r;
    const char *bad[] = {"", "not json", "{\"error\":0", "[1,2]", "{\"message\":\"ok\"}", "{\"error\":\"0\"}",
                         "{\"error\":5}", "<html>502</html>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(classify(bad[i], &r), ZALO_ERR_TRANSPORT);
        assert_int_equal(r.outcome, GW_TEMPFAIL);
    }
    /* ZNS does not promise to de-duplicate tracking_id: what may have reached Zalo is in doubt. */
    assert_int_equal(zalo_zns_classify(CURLE_OPERATION_TIMEDOUT, 0, NULL, 0, NIGHT, VN, &r), ZALO_ERR_TRANSPORT);
    assert_int_equal(r.outcome, GW_IN_DOUBT);
    assert_int_equal(zalo_zns_classify(CURLE_GOT_NOTHING, 0, NULL, 0, NIGHT, VN, &r), ZALO_ERR_TRANSPORT);
    assert_int_equal(r.outcome, GW_IN_DOUBT);
    assert_int_equal(zalo_zns_classify(CURLE_FILESIZE_EXCEEDED, 200, "{\"err", 5, NIGHT, VN, &r), ZALO_ERR_TRANSPORT);
    assert_int_equal(r.outcome, GW_IN_DOUBT);
    assert_int_equal(zalo_zns_classify(CURLE_COULDNT_CONNECT, 0, NULL, 0, NIGHT, VN, &r), ZALO_ERR_TRANSPORT);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
    assert_int_equal(zalo_zns_classify(CURLE_OK, 502, "bad gateway", 11, NIGHT, VN, &r), ZALO_ERR_TRANSPORT);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
}

static void test_zns_classify_token_refused(void **state)
{
    struct gw_result r;
    assert_int_equal(classify("{\"error\":-124,\"message\":\"Access token is invalid\"}", &r), -124);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
    assert_int_equal(r.retry_after_s, 0);
}

static void test_zns_body_fields(void **state)
{
    struct gw_message m = {.campaign_id = 12, .message_id = 3456, .phone = "84912345678",
                           .zns_template_id = "231945", .zns_data_json = "{\"name\":\"Nguyễn Văn A\",\"due\":\"01/06/2026\"}"};
    char why[96];
    char *s = zalo_zns_body(&m, false, why, sizeof why);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"phone\":\"84912345678\""));
    assert_non_null(strstr(s, "\"template_id\":\"231945\""));
    assert_non_null(strstr(s, "\"tracking_id\":\"12.3456\""));
    assert_non_null(strstr(s, "\"template_data\":{\"name\":\"Nguyễn Văn A\""));
    assert_null(strstr(s, "mode"));
    free(s);
    s = zalo_zns_body(&m, true, why, sizeof why);
    assert_non_null(strstr(s, "\"mode\":\"development\""));
    free(s);
    /* Refusals. */
    struct gw_message bad = m;
    bad.phone = NULL;
    assert_null(zalo_zns_body(&bad, false, why, sizeof why));
    bad = m;
    bad.zns_data_json = "[1]";
    assert_null(zalo_zns_body(&bad, false, why, sizeof why));
    bad = m;
    bad.zns_data_json = "{\"a\":";
    assert_null(zalo_zns_body(&bad, false, why, sizeof why));
    bad = m;
    bad.zns_template_id = "";
    assert_null(zalo_zns_body(&bad, false, why, sizeof why));
    /* The largest ids still fit Zalo's 48 characters. */
    bad = m;
    bad.campaign_id = INT64_MAX;
    bad.message_id = INT64_MAX;
    s = zalo_zns_body(&bad, false, why, sizeof why);
    assert_non_null(s);
    free(s);
}

static void test_oa_classify(void **state)
{
    struct gw_result r;
    const char *ok = "{\"error\":0,\"message\":\"Success\",\"data\":{\"message_id\":\"m1\",\"user_id\":\"u\"}}";
    assert_int_equal(zalo_oa_classify(CURLE_OK, 200, ok, strlen(ok), NIGHT, VN, &r), 0);
    assert_int_equal(r.outcome, GW_ACCEPTED);
    assert_string_equal(r.gateway_msg_id, "m1");
    const char *win = "{\"error\":-230,\"message\":\"User has not interacted in last 7 days\"}";
    assert_int_equal(zalo_oa_classify(CURLE_OK, 200, win, strlen(win), NIGHT, VN, &r), -230);
    assert_int_equal(r.outcome, GW_FALLBACK);
    const char *tok = "{\"error\":-216,\"message\":\"Access token is invalid\"}";
    assert_int_equal(zalo_oa_classify(CURLE_OK, 200, tok, strlen(tok), NIGHT, VN, &r), -216);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
    /* No idempotency key: a lost answer is in doubt, a refused connection is not. */
    assert_int_equal(zalo_oa_classify(CURLE_OPERATION_TIMEDOUT, 0, NULL, 0, NIGHT, VN, &r), ZALO_ERR_TRANSPORT);
    assert_int_equal(r.outcome, GW_IN_DOUBT);
    assert_int_equal(zalo_oa_classify(CURLE_COULDNT_CONNECT, 0, NULL, 0, NIGHT, VN, &r), ZALO_ERR_TRANSPORT);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
    assert_int_equal(zalo_oa_classify(CURLE_OK, 200, "garbage", 7, NIGHT, VN, &r), ZALO_ERR_TRANSPORT);
    assert_int_equal(r.outcome, GW_IN_DOUBT);
}

static void test_oa_body_limits(void **state)
{
    char text[2001 * 3 + 1];
    /* 2,000 Vietnamese letters of 2 bytes each are allowed; 2,001 are not. */
    size_t n = 0;
    for (int i = 0; i < 2000; i++) {
        memcpy(text + n, "ă", 2);
        n += 2;
    }
    text[n] = '\0';
    struct gw_message m = {.campaign_id = 1, .message_id = 2, .zalo_user_id = "u123", .text = text, .text_len = n};
    int fb = 0;
    char why[96];
    char *s = zalo_oa_body(&m, &fb, why, sizeof why);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"recipient\":{\"user_id\":\"u123\"}"));
    free(s);
    memcpy(text + n, "a", 2);
    m.text_len = n + 1;
    assert_null(zalo_oa_body(&m, &fb, why, sizeof why));
    assert_int_equal(fb, 0);
    m.text_len = n;
    m.zalo_user_id = NULL;
    assert_null(zalo_oa_body(&m, &fb, why, sizeof why));
    assert_int_equal(fb, 1);
}

/* ---- webhooks ---- */

static const char *const RECEIPT =
    "{\"event_name\":\"user_received_message\",\"app_id\":\"12345\",\"timestamp\":\"1700000000000\","
    "\"message\":{\"msg_id\":\"zmsg1\",\"tracking_id\":\"7.99\",\"delivery_time\":\"1700000000000\"}}";

static void test_zalo_signature_known_vector(void **state)
{
    const char *body = "{\"a\":1}";
    char mac[70];
    zalo_wh_signature_make("12345", body, strlen(body), "1700000000000", "oakey", mac);
    assert_string_equal(mac, "mac=7ffb0a03a43db8f63d862ed0e863b74db97e2f9d6e94066e48366134b1f1089a");
    assert_true(zalo_wh_signature_ok(mac, "12345", body, strlen(body), "1700000000000", "oakey"));
    /* Upper-case hex and surrounding blanks are the same signature. */
    assert_true(zalo_wh_signature_ok(" mac=7FFB0A03A43DB8F63D862ED0E863B74DB97E2F9D6E94066E48366134B1F1089A ", "12345",
                                     body, strlen(body), "1700000000000", "oakey"));
}

static void test_zalo_signature_refusals(void **state)
{
    size_t len = strlen(RECEIPT);
    char mac[70];
    zalo_wh_signature_make("12345", RECEIPT, len, "1700000000000", "oakey", mac);
    assert_true(zalo_wh_signature_ok(mac, "12345", RECEIPT, len, "1700000000000", "oakey"));
    assert_false(zalo_wh_signature_ok(mac, "99999", RECEIPT, len, "1700000000000", "oakey"));   /* wrong id */
    assert_false(zalo_wh_signature_ok(mac, "12345", RECEIPT, len, "1700000000000", "appkey"));  /* wrong key */
    assert_false(zalo_wh_signature_ok(mac, "12345", RECEIPT, len, "1700000000001", "oakey"));   /* timestamp */
    assert_false(zalo_wh_signature_ok(mac, "12345", RECEIPT, len - 1, "1700000000000", "oakey")); /* body */
    assert_false(zalo_wh_signature_ok(NULL, "12345", RECEIPT, len, "1700000000000", "oakey"));
    assert_false(zalo_wh_signature_ok("", "12345", RECEIPT, len, "1700000000000", "oakey"));
    assert_false(zalo_wh_signature_ok(mac + 4, "12345", RECEIPT, len, "1700000000000", "oakey")); /* no mac= */
    char shortmac[70];
    snprintf(shortmac, sizeof shortmac, "%.67s", mac);
    assert_false(zalo_wh_signature_ok(shortmac, "12345", RECEIPT, len, "1700000000000", "oakey"));
    char longmac[80];
    snprintf(longmac, sizeof longmac, "%s00", mac);
    assert_false(zalo_wh_signature_ok(longmac, "12345", RECEIPT, len, "1700000000000", "oakey"));
    char badhex[70];
    snprintf(badhex, sizeof badhex, "%s", mac);
    badhex[10] = 'g';
    assert_false(zalo_wh_signature_ok(badhex, "12345", RECEIPT, len, "1700000000000", "oakey"));
    /* An unconfigured gateway accepts nothing, even a signature made with empty parts. */
    zalo_wh_signature_make("", RECEIPT, len, "1700000000000", "", mac);
    assert_false(zalo_wh_signature_ok(mac, "", RECEIPT, len, "1700000000000", ""));
}

static void test_zalo_freshness(void **state)
{
    int64_t now = 1700000000000;
    assert_true(zalo_wh_fresh(now, now, 900));
    assert_true(zalo_wh_fresh(now - 900000, now, 900));
    assert_false(zalo_wh_fresh(now - 900001, now, 900));   /* replay */
    assert_true(zalo_wh_fresh(now + 900000, now, 900));
    assert_false(zalo_wh_fresh(now + 900001, now, 900));   /* from the future */
}

static void test_zalo_check_statuses(void **state)
{
    size_t len = strlen(RECEIPT);
    int64_t now = 1700000000000 + 5000;
    char mac[70];
    zalo_wh_signature_make("12345", RECEIPT, len, "1700000000000", "oakey", mac);
    struct zalo_wh_event ev;
    struct zalo_wh_verdict v;

    zalo_wh_check(RECEIPT, len, mac, "12345", "oakey", 900, now, &ev, &v);
    assert_int_equal(v.status, 200);
    assert_int_equal(ev.kind, ZALO_WH_RECEIPT);
    assert_string_equal(ev.msg_id, "zmsg1");
    assert_int_equal(ev.campaign_id, 7);
    assert_int_equal(ev.message_id, 99);
    assert_string_equal(ev.timestamp, "1700000000000");
    zalo_wh_event_free(&ev);

    zalo_wh_check(RECEIPT, len, NULL, "12345", "oakey", 900, now, &ev, &v);
    assert_int_equal(v.status, 403);
    zalo_wh_check(RECEIPT, len, mac, "54321", "oakey", 900, now, &ev, &v);
    assert_int_equal(v.status, 403);
    zalo_wh_check(RECEIPT, len, mac, "12345", "other", 900, now, &ev, &v);
    assert_int_equal(v.status, 403);
    /* Replayed a day later with its valid signature. */
    zalo_wh_check(RECEIPT, len, mac, "12345", "oakey", 900, now + 86400000, &ev, &v);
    assert_int_equal(v.status, 403);
    /* Signed but malformed. */
    const char *junk = "{\"event_name\":";
    zalo_wh_signature_make("12345", junk, strlen(junk), "", "oakey", mac);
    zalo_wh_check(junk, strlen(junk), mac, "12345", "oakey", 900, now, &ev, &v);
    assert_int_equal(v.status, 400);
}

static void test_zalo_check_number_timestamp(void **state)
{
    const char *body = "{\"event_name\":\"follow\",\"timestamp\":1700000000000,\"follower\":{\"id\":\"u77\"}}";
    char mac[70];
    zalo_wh_signature_make("oa1", body, strlen(body), "1700000000000", "k", mac);
    struct zalo_wh_event ev;
    struct zalo_wh_verdict v;
    zalo_wh_check(body, strlen(body), mac, "oa1", "k", 900, 1700000000000, &ev, &v);
    assert_int_equal(v.status, 200);
    assert_int_equal(ev.kind, ZALO_WH_FOLLOW);
    assert_string_equal(ev.user_id, "u77");
    assert_string_equal(ev.timestamp, "1700000000000");
    zalo_wh_event_free(&ev);
}

struct parse_case {
    const char *body;
    int rc;
    enum zalo_wh_kind kind;
};

static const struct parse_case parses[] = {
    {"{\"event_name\":\"user_send_text\",\"timestamp\":\"1\",\"sender\":{\"id\":\"u1\"},\"recipient\":{\"id\":\"oa\"},"
     "\"message\":{\"text\":\"TC\",\"msg_id\":\"m1\"}}", 0, ZALO_WH_REPLY},
    {"{\"event_name\":\"unfollow\",\"timestamp\":\"1\",\"follower\":{\"id\":\"u1\"}}", 0, ZALO_WH_UNFOLLOW},
    {"{\"event_name\":\"user_seen_message\",\"timestamp\":\"1\",\"message\":{\"msg_ids\":[\"a\"]}}", 0, ZALO_WH_SEEN},
    {"{\"event_name\":\"user_seen_message\",\"timestamp\":\"1\",\"message\":{\"msg_ids\":[]}}", 0, ZALO_WH_SEEN},
    {"{\"event_name\":\"something_new\",\"timestamp\":\"1\"}", 0, ZALO_WH_IGNORED},
    {"{\"event_name\":\"user_received_message\",\"timestamp\":\"1\",\"message\":{\"msg_id\":\"m\"}}", 0, ZALO_WH_RECEIPT},
    {"{\"event_name\":\"user_received_message\",\"timestamp\":\"1\",\"message\":{\"msg_id\":\"m\",\"tracking_id\":\"x.y\"}}", 0, ZALO_WH_RECEIPT},
    /* refused */
    {"", -1, 0},
    {"null", -1, 0},
    {"[]", -1, 0},
    {"\"text\"", -1, 0},
    {"{}", -1, 0},
    {"{\"event_name\":\"follow\"}", -1, 0},
    {"{\"event_name\":5,\"timestamp\":\"1\"}", -1, 0},
    {"{\"event_name\":\"follow\",\"timestamp\":\"-1\",\"follower\":{\"id\":\"u\"}}", -1, 0},
    {"{\"event_name\":\"follow\",\"timestamp\":\"12a\",\"follower\":{\"id\":\"u\"}}", -1, 0},
    {"{\"event_name\":\"follow\",\"timestamp\":1.5,\"follower\":{\"id\":\"u\"}}", -1, 0},
    {"{\"event_name\":\"follow\",\"timestamp\":\"1\"}", -1, 0},
    {"{\"event_name\":\"follow\",\"timestamp\":\"1\",\"follower\":{\"id\":7}}", -1, 0},
    {"{\"event_name\":\"user_send_text\",\"timestamp\":\"1\",\"sender\":{\"id\":\"u1\"},\"message\":{\"text\":\"hi\"}}", -1, 0},
    {"{\"event_name\":\"user_send_text\",\"timestamp\":\"1\",\"message\":{\"text\":\"hi\",\"msg_id\":\"m\"}}", -1, 0},
    {"{\"event_name\":\"user_received_message\",\"timestamp\":\"1\",\"message\":{}}", -1, 0},
    {"{\"event_name\":\"user_received_message\",\"timestamp\":\"1\",\"message\":\"m\"}", -1, 0},
    {"{\"event_name\":\"user_seen_message\",\"timestamp\":\"1\",\"message\":{}}", -1, 0},
    {"{\"event_name\":\"user_seen_message\",\"timestamp\":\"1\",\"message\":{\"msg_ids\":\"a\"}}", -1, 0},
};

/* The msg_ids of a read receipt: strings only, empty ones dropped, at most ZALO_WH_MAX_SEEN. */
static void test_zalo_seen_ids(void **state)
{
    (void)state;
    const char *body = "{\"event_name\":\"user_seen_message\",\"timestamp\":\"1\","
                       "\"message\":{\"msg_ids\":[\"a\",7,\"\",null,\"b\"]}}";
    struct zalo_wh_event ev;
    char why[96];
    assert_int_equal(zalo_wh_parse(body, strlen(body), &ev, why, sizeof why), 0);
    assert_int_equal(ev.n_seen, 2);
    assert_string_equal(ev.seen[0], "a");
    assert_string_equal(ev.seen[1], "b");
    zalo_wh_event_free(&ev);

    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"event_name\":\"user_seen_message\",\"timestamp\":\"1\","
                                "\"message\":{\"msg_ids\":[");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"id%d\"", i ? "," : "", i);
    snprintf(big + n, sizeof big - n, "]}}");
    assert_int_equal(zalo_wh_parse(big, strlen(big), &ev, why, sizeof why), 0);
    assert_int_equal(ev.n_seen, ZALO_WH_MAX_SEEN);
    assert_string_equal(ev.seen[ZALO_WH_MAX_SEEN - 1], "id63");
    zalo_wh_event_free(&ev);
}

static void test_zalo_parse_table(void **state)
{
    for (size_t i = 0; i < sizeof parses / sizeof parses[0]; i++) {
        struct zalo_wh_event ev;
        char why[96] = "";
        int rc = zalo_wh_parse(parses[i].body, strlen(parses[i].body), &ev, why, sizeof why);
        if (rc != parses[i].rc || (rc == 0 && ev.kind != parses[i].kind))
            fail_msg("case %zu: rc %d kind %d (%s)", i, rc, rc == 0 ? (int)ev.kind : -1, why);
        if (rc == 0)
            zalo_wh_event_free(&ev);
        else
            assert_true(why[0] != '\0');
    }
}

static void test_zalo_reply_fields(void **state)
{
    const char *b = parses[0].body;
    struct zalo_wh_event ev;
    char why[96];
    assert_int_equal(zalo_wh_parse(b, strlen(b), &ev, why, sizeof why), 0);
    assert_string_equal(ev.user_id, "u1");
    assert_string_equal(ev.text, "TC");
    assert_string_equal(ev.msg_id, "m1");
    zalo_wh_event_free(&ev);
    /* A foreign tracking id leaves the ids at 0: matched by msg_id alone. */
    b = parses[5].body;
    assert_int_equal(zalo_wh_parse(b, strlen(b), &ev, why, sizeof why), 0);
    assert_int_equal(ev.campaign_id, 0);
    assert_int_equal(ev.message_id, 0);
    assert_string_equal(ev.msg_id, "m");
    zalo_wh_event_free(&ev);
}

static void test_zalo_tracking_parse(void **state)
{
    int64_t c, m;
    assert_int_equal(zalo_tracking_parse("12.345", &c, &m), 0);
    assert_int_equal(c, 12);
    assert_int_equal(m, 345);
    const char *bad[] = {"", ".", "1.", ".1", "1..2", "a.1", "1.a", "0.1", "1.0", "-1.2", "1.2.3", " 1.2",
                         "1234567890123456789.1", "+1.2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (zalo_tracking_parse(bad[i], &c, &m) == 0)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(zalo_tracking_parse(NULL, &c, &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zalo_error_table),
        cmocka_unit_test(test_zalo_night_ban_retries_at_six),
        cmocka_unit_test(test_zalo_next_local_hour),
        cmocka_unit_test(test_zns_classify_success_and_quota),
        cmocka_unit_test(test_zns_classify_in_doubt_only_once_the_request_may_have_left),
        cmocka_unit_test(test_zns_classify_token_refused),
        cmocka_unit_test(test_zns_body_fields),
        cmocka_unit_test(test_oa_classify),
        cmocka_unit_test(test_oa_body_limits),
        cmocka_unit_test(test_zalo_signature_known_vector),
        cmocka_unit_test(test_zalo_signature_refusals),
        cmocka_unit_test(test_zalo_freshness),
        cmocka_unit_test(test_zalo_check_statuses),
        cmocka_unit_test(test_zalo_check_number_timestamp),
        cmocka_unit_test(test_zalo_parse_table),
        cmocka_unit_test(test_zalo_seen_ids),
        cmocka_unit_test(test_zalo_reply_fields),
        cmocka_unit_test(test_zalo_tracking_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
