/* The http_sms gateway's pure parts: the eSMS preset and overrides, the request body, the answer
 * codes, and delivery report checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateways/gateway.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "gateways/http_sms.h"

static struct config *load(const char *text)
{
    char path[] = "/tmp/loa-test-http-sms-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct config *cfg = NULL;
    char err[512];
    int rc = config_load(path, &cfg, err, sizeof err);
    unlink(path);
    if (rc < 0)
        fail_msg("config: %s", err);
    return cfg;
}

static const char *const ESMS =
    "[http]\npublic_url = https://loa.example.vn/\n"
    "[gateway.esms]\ntype = http_sms\npreset = esms\napi_key = KEY\nsecret_key = SEC\nbrandname = BHXH\n"
    "webhook_secret = hook-secret\n";

static void esms_conf(struct http_sms_conf *c)
{
    struct config *cfg = load(ESMS);
    char err[256];
    assert_int_equal(http_sms_conf_load(cfg, "gateway.esms", "esms", c, err, sizeof err), 0);
    config_free(cfg);
}

static const char *jstr(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_http_sms_esms_body(void **state)
{
    struct http_sms_conf c;
    esms_conf(&c);
    struct gw_message m = {.campaign_id = 3, .message_id = 41, .phone = "84912345678",
                           .text = "Kính gửi Ông", .text_len = strlen("Kính gửi Ông"), .coding = SMS_UCS2};
    char *s = http_sms_body(&c, &m);
    assert_non_null(s);
    cJSON *o = cJSON_Parse(s);
    assert_string_equal(jstr(o, "ApiKey"), "KEY");
    assert_string_equal(jstr(o, "SecretKey"), "SEC");
    assert_string_equal(jstr(o, "Phone"), "84912345678");
    assert_string_equal(jstr(o, "Content"), "Kính gửi Ông");
    assert_string_equal(jstr(o, "Brandname"), "BHXH");
    assert_string_equal(jstr(o, "SmsType"), "2");
    assert_string_equal(jstr(o, "IsUnicode"), "1");
    assert_string_equal(jstr(o, "RequestId"), "3.41");
    assert_string_equal(jstr(o, "Sandbox"), "0");
    char tok[33], want[256];
    http_sms_token("hook-secret", "3.41", tok);
    snprintf(want, sizeof want, "https://loa.example.vn/hooks/http_sms/esms/dlr?t=%s", tok);
    assert_string_equal(jstr(o, "CallbackUrl"), want);
    cJSON_Delete(o);
    free(s);
    m.coding = SMS_GSM7;
    s = http_sms_body(&c, &m);
    o = cJSON_Parse(s);
    assert_string_equal(jstr(o, "IsUnicode"), "0");
    cJSON_Delete(o);
    free(s);
    m.phone = NULL;
    assert_null(http_sms_body(&c, &m));
}

static void test_http_sms_other_provider_by_keys(void **state)
{
    struct config *cfg = load(
        "[gateway.other]\ntype = http_sms\nurl = http://sms.example/api/send\napi_key = K\n"
        "webhook_secret = w\nfield_api_key = token\nfield_secret_key = -\nfield_phone = to\n"
        "field_content = message\nfield_request_id = client_ref\nfield_unicode = unicode\n"
        "field_sandbox = -\nfield_sms_type = -\nresult_field = status\nid_field = id\n"
        "success_codes = OK, QUEUED\nduplicate_codes = DUP\npermanent_codes = BADNUM\n"
        "invalid_phone_codes = BADNUM\npause_codes = NOAUTH\n"
        "dlr_status_param = state\ndlr_request_id_param = ref\ndlr_id_param = mid\n"
        "dlr_delivered = DELIVRD\ndlr_undelivered = UNDELIV,REJECTD\n");
    struct http_sms_conf c;
    char err[256];
    assert_int_equal(http_sms_conf_load(cfg, "gateway.other", "other", &c, err, sizeof err), 0);
    config_free(cfg);
    struct gw_message m = {.campaign_id = 9, .message_id = 8, .phone = "84987654321", .text = "hi", .text_len = 2};
    char *s = http_sms_body(&c, &m);
    cJSON *o = cJSON_Parse(s);
    assert_string_equal(jstr(o, "token"), "K");
    assert_string_equal(jstr(o, "to"), "84987654321");
    assert_string_equal(jstr(o, "message"), "hi");
    assert_string_equal(jstr(o, "client_ref"), "9.8");
    assert_string_equal(jstr(o, "unicode"), "0");
    assert_null(cJSON_GetObjectItem(o, "SecretKey"));
    assert_null(cJSON_GetObjectItem(o, "Sandbox"));
    assert_null(cJSON_GetObjectItem(o, "ApiKey"));
    cJSON_Delete(o);
    free(s);
    struct gw_result r;
    const char *queued = "{\"status\":\"QUEUED\",\"id\":77}";
    http_sms_classify(&c, CURLE_OK, 200, queued, strlen(queued), 1000, &r);
    assert_int_equal(r.outcome, GW_ACCEPTED);
    assert_string_equal(r.gateway_msg_id, "77");
    const char *bad = "{\"status\":\"BADNUM\"}";
    http_sms_classify(&c, CURLE_OK, 200, bad, strlen(bad), 1000, &r);
    assert_int_equal(r.outcome, GW_PERMFAIL);
    assert_true(r.phone_invalid);
    struct http_sms_dlr d;
    char tok[33];
    http_sms_token("w", "9.8", tok);
    assert_int_equal(http_sms_dlr_check(&c, tok, "9.8", "REJECTD", "77", &d), 200);
    assert_int_equal(d.dlr, GW_DLR_UNDELIVERED);
}

static void test_http_sms_conf_refusals(void **state)
{
    char err[256];
    struct http_sms_conf c;
    struct config *cfg = load("[gateway.x]\ntype = http_sms\npreset = nosuch\n");
    assert_int_equal(http_sms_conf_load(cfg, "gateway.x", "x", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "preset"));
    config_free(cfg);
    /* The callback needs a secret to sign its URL. */
    cfg = load("[gateway.x]\ntype = http_sms\n");
    assert_int_equal(http_sms_conf_load(cfg, "gateway.x", "x", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "webhook_secret"));
    config_free(cfg);
    cfg = load("[gateway.x]\ntype = http_sms\nwebhook_secret = w\nfield_request_id = \" \"\nurl = ftp://x\n");
    assert_int_equal(http_sms_conf_load(cfg, "gateway.x", "x", &c, err, sizeof err), -1);
    config_free(cfg);
}

struct code_case {
    const char *body;
    enum gw_outcome outcome;
    enum gw_action action;
    bool bad_phone;
};

static const struct code_case codes[] = {
    {"{\"CodeResult\":\"100\",\"CountRegenerate\":0,\"SMSID\":\"abc-1\"}", GW_ACCEPTED, GW_ACT_NONE, false},
    {"{\"CodeResult\":100,\"SMSID\":\"abc-1\"}", GW_ACCEPTED, GW_ACT_NONE, false},
    {"{\"CodeResult\":\"124\",\"ErrorMessage\":\"Duplicate RequestId\"}", GW_ACCEPTED, GW_ACT_NONE, false},
    {"{\"CodeResult\":\"99\",\"ErrorMessage\":\"blocked\"}", GW_PERMFAIL, GW_ACT_NONE, false},
    {"{\"CodeResult\":\"108\"}", GW_PERMFAIL, GW_ACT_NONE, true},
    {"{\"CodeResult\":\"101\"}", GW_TEMPFAIL, GW_ACT_PAUSE, false},
    {"{\"CodeResult\":\"103\"}", GW_TEMPFAIL, GW_ACT_PAUSE, false},
    {"{\"CodeResult\":\"104\"}", GW_TEMPFAIL, GW_ACT_PAUSE, false},
    {"{\"CodeResult\":\"777\"}", GW_TEMPFAIL, GW_ACT_NONE, false},
    {"{\"SMSID\":\"x\"}", GW_IN_DOUBT, GW_ACT_NONE, false},
    {"not json", GW_IN_DOUBT, GW_ACT_NONE, false},
    {"", GW_IN_DOUBT, GW_ACT_NONE, false},
};

static void test_http_sms_codes(void **state)
{
    struct http_sms_conf c;
    esms_conf(&c);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct gw_result r;
        http_sms_classify(&c, CURLE_OK, 200, codes[i].body, strlen(codes[i].body), 1000, &r);
        if (r.outcome != codes[i].outcome || r.action != codes[i].action || r.phone_invalid != codes[i].bad_phone)
            fail_msg("case %zu (%s): outcome %d action %d", i, codes[i].body, r.outcome, r.action);
        if (r.action == GW_ACT_PAUSE)
            assert_int_equal(r.pause_until, 1000 + 600);
    }
    struct gw_result r;
    http_sms_classify(&c, CURLE_OK, 200, codes[0].body, strlen(codes[0].body), 1000, &r);
    assert_string_equal(r.gateway_msg_id, "abc-1");
    /* A lost answer is in doubt (resent with the same request id); a refused connection is not. */
    http_sms_classify(&c, CURLE_OPERATION_TIMEDOUT, 0, NULL, 0, 1000, &r);
    assert_int_equal(r.outcome, GW_IN_DOUBT);
    http_sms_classify(&c, CURLE_COULDNT_CONNECT, 0, NULL, 0, 1000, &r);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
    http_sms_classify(&c, CURLE_OK, 503, "x", 1, 1000, &r);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
    http_sms_classify(&c, CURLE_OK, 429, "x", 1, 1000, &r);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
    assert_int_equal(r.action, GW_ACT_BACKOFF);
    http_sms_classify(&c, CURLE_OK, 400, "x", 1, 1000, &r);
    assert_int_equal(r.outcome, GW_PERMFAIL);
    assert_int_equal(r.fault, GW_FAULT_NONE);
    /* Refused credentials or a moved endpoint: the gateway is down, the message waits. */
    for (long st = 401; st <= 404; st++) {
        if (st == 402)
            continue;
        http_sms_classify(&c, CURLE_OK, st, "x", 1, 1000, &r);
        assert_int_equal(r.outcome, GW_TEMPFAIL);
        assert_int_equal(r.fault, GW_FAULT_AUTH);
    }
}

static void test_http_sms_throttle_codes_back_off(void **state)
{
    struct http_sms_conf c;
    esms_conf(&c);
    snprintf(c.throttle_codes, sizeof c.throttle_codes, "%s", "429,777");
    struct gw_result r;
    const char *body = "{\"CodeResult\":\"777\"}";
    http_sms_classify(&c, CURLE_OK, 200, body, strlen(body), 1000, &r);
    assert_int_equal(r.outcome, GW_TEMPFAIL);
    assert_int_equal(r.action, GW_ACT_BACKOFF);
    assert_non_null(strstr(r.reason, "too many requests"));
}

static void test_http_sms_code_lists(void **state)
{
    assert_true(http_sms_code_in("99,108", "108"));
    assert_true(http_sms_code_in(" 99 , 108 ", "99"));
    assert_false(http_sms_code_in("99,108", "10"));
    assert_false(http_sms_code_in("99,108", "1089"));
    assert_false(http_sms_code_in("", "1"));
    assert_false(http_sms_code_in("1", ""));
    assert_false(http_sms_code_in(NULL, "1"));
}

static void test_http_sms_dlr_check(void **state)
{
    struct http_sms_conf c;
    esms_conf(&c);
    char tok[33];
    http_sms_token("hook-secret", "3.41", tok);
    struct http_sms_dlr d;
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", "5", "abc-1", &d), 200);
    assert_int_equal(d.campaign_id, 3);
    assert_int_equal(d.message_id, 41);
    assert_int_equal(d.dlr, GW_DLR_DELIVERED);
    assert_string_equal(d.id, "abc-1");
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", "4", NULL, &d), 200);
    assert_int_equal(d.dlr, GW_DLR_UNDELIVERED);
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", "2", NULL, &d), 200);
    assert_int_equal(d.dlr, GW_DLR_INTERMEDIATE);
    /* forged or replayed onto another message */
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.42", "5", NULL, &d), 403);
    assert_int_equal(http_sms_dlr_check(&c, NULL, "3.41", "5", NULL, &d), 403);
    assert_int_equal(http_sms_dlr_check(&c, "", "3.41", "5", NULL, &d), 403);
    char wrong[33];
    memcpy(wrong, tok, 33);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    assert_int_equal(http_sms_dlr_check(&c, wrong, "3.41", "5", NULL, &d), 403);
    char longer[40];
    snprintf(longer, sizeof longer, "%sff", tok);
    assert_int_equal(http_sms_dlr_check(&c, longer, "3.41", "5", NULL, &d), 403);
    /* malformed */
    assert_int_equal(http_sms_dlr_check(&c, tok, NULL, "5", NULL, &d), 400);
    assert_int_equal(http_sms_dlr_check(&c, tok, "341", "5", NULL, &d), 400);
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", NULL, NULL, &d), 400);
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", "", NULL, &d), 400);
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", "5\n", NULL, &d), 400);
    /* An id the provider made badly still settles its message (found by the request id), kept
     * as the send's answer kept it. */
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", "5", "a\tb", &d), 200);
    assert_string_equal(d.id, "a?b");
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", "5", "\xff\xfe-1", &d), 200);
    assert_string_equal(d.id, "\\xFF\\xFE-1");
    char lng[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(lng, "\xe1\xbb\x87");        /* 'ệ', 3 bytes */
    assert_int_equal(http_sms_dlr_check(&c, tok, "3.41", "5", lng, &d), 200);
    assert_int_equal(strlen(d.id), 93);     /* 31 whole characters in 95 bytes */
    assert_memory_equal(d.id, lng, 93);
}

int main(void)
{
    gateway_types_register();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_sms_esms_body),
        cmocka_unit_test(test_http_sms_other_provider_by_keys),
        cmocka_unit_test(test_http_sms_conf_refusals),
        cmocka_unit_test(test_http_sms_codes),
        cmocka_unit_test(test_http_sms_throttle_codes_back_off),
        cmocka_unit_test(test_http_sms_code_lists),
        cmocka_unit_test(test_http_sms_dlr_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
