/* Language variants, the SMS path the dispatcher takes, ZNS parameter maps, and loading the
 * policy rows. Results are built in memory, as the database would return them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "tests/unit/tpl_fixture.h"

static struct template_set *load(int nrows, const char *const *cells, char *err, size_t errlen)
{
    PGresult *res = fixture_result(5, nrows, cells);
    struct template_set *set = template_set_from_result(res, err, errlen);
    PQclear(res);
    return set;
}

static const char *const sms_rows[] = {
    "km", "ជម្រាបសួរ {{given_name}}", "sms", "f", NULL,
    "vi", "Kính gửi {{salutation}} {{full_name}}, hạn đóng {{voluntary_due_date}}. {{opt_out_hint}}", "sms", "t", NULL,
};

static void test_template_set_picks_language_else_vi(void **state)
{
    char err[256];
    struct template_set *set = load(2, sms_rows, err, sizeof err);
    assert_non_null(set);
    assert_int_equal(set->channel, TPL_SMS);
    assert_string_equal(template_set_pick(set, "km")->language, "km");
    assert_string_equal(template_set_pick(set, "vi")->language, "vi");
    assert_string_equal(template_set_pick(set, "jra")->language, "vi");
    assert_string_equal(template_set_pick(set, NULL)->language, "vi");
    assert_true(template_set_pick(set, "vi")->unaccent);
    assert_false(template_set_pick(set, "km")->unaccent);
    template_set_free(set);
}

static void test_template_set_render_sms_unaccents_and_measures(void **state)
{
    char err[256], out[TPL_RENDER_MAX];
    struct template_set *set = load(2, sms_rows, err, sizeof err);
    struct tpl_env *env = fixture_env(2026, 4, 1, 1);
    struct tpl_citizen c = {.full_name = "Đặng Thị Hồng", .gender = "female", .birth_date = "1990-01-01",
                            .language = "vi", .voluntary_due_date = "2026-05-31"};
    struct sms_info info;
    int n = template_set_render_sms(set, &c, env, out, sizeof out, &info);
    assert_true(n > 0);
    assert_string_equal(out, "Kinh gui Chi Dang Thi Hong, han dong 31/05/2026. Soan TC gui 8077 de tu choi");
    assert_int_equal(info.coding, SMS_GSM7);
    assert_int_equal(info.units, n);
    assert_int_equal(info.parts, 1);
    struct tpl_citizen k = {.full_name = "Thạch Sô Phol", .language = "km"};
    n = template_set_render_sms(set, &k, env, out, sizeof out, &info);
    assert_string_equal(out, "ជម្រាបសួរ Phol");
    assert_int_equal(info.coding, SMS_UCS2);
    /* Too small a buffer is refused, not truncated. */
    assert_int_equal(template_set_render_sms(set, &c, env, out, 20, &info), -1);
    tpl_env_free(env);
    template_set_free(set);
}

static void test_template_set_refuses_without_vi_or_with_a_bad_body(void **state)
{
    char err[256];
    static const char *const no_vi[] = {"km", "hello", "sms", "f", NULL};
    assert_null(load(1, no_vi, err, sizeof err));
    assert_non_null(strstr(err, "no 'vi' variant"));
    static const char *const bad[] = {"vi", "hello {{nope}}", "sms", "f", NULL};
    assert_null(load(1, bad, err, sizeof err));
    assert_non_null(strstr(err, "variant vi: unknown placeholder 'nope'"));
    assert_null(load(0, no_vi, err, sizeof err));
}

/* Each variant renders the opt-out hint of its own language (opt_out_hints, the sixth column),
 * with the keyword and number of [policy]; a km citizen on the vi variant reads the vi hint. */
static const char *const hint_rows[] = {
    "jra", "Rơ Mah {{given_name}}. {{opt_out_hint}}", "sms", "f", NULL,
    "Soạn {{opt_out_keyword}} gửi {{opt_out_number}} để từ chối",
    "km", "ជម្រាបសួរ {{given_name}}. {{opt_out_hint}} {{ opt_out_hint }}", "sms", "f", NULL,
    "ផ្ញើ {{opt_out_keyword}} ទៅ {{opt_out_number}} ដើម្បីឈប់ទទួលសារ",
    "vi", "Kính gửi {{full_name}}. {{opt_out_hint}}", "sms", "f", NULL, NULL,
};

static void test_template_set_variant_renders_the_hint_of_its_language(void **state)
{
    char err[256], out[TPL_RENDER_MAX];
    PGresult *res = fixture_result(6, 3, hint_rows);
    struct template_set *set = template_set_from_result(res, err, sizeof err);
    PQclear(res);
    assert_non_null(set);
    struct tpl_env *env = fixture_env(2026, 4, 1, 1);
    struct sms_info info;
    struct tpl_citizen k = {.full_name = "Thạch Sô Phol", .language = "km"};
    assert_true(template_set_render_sms(set, &k, env, out, sizeof out, &info) > 0);
    assert_string_equal(out, "ជម្រាបសួរ Phol. ផ្ញើ TC ទៅ 8077 ដើម្បីឈប់ទទួលសារ ផ្ញើ TC ទៅ 8077 ដើម្បីឈប់ទទួលសារ");
    struct tpl_citizen j = {.full_name = "Rơ Mah Thuận", .language = "jra"};
    assert_true(template_set_render_sms(set, &j, env, out, sizeof out, &info) > 0);
    assert_string_equal(out, "Rơ Mah Thuận. Soạn TC gửi 8077 để từ chối");
    /* No hint row for vi: the built-in text from [policy]. */
    struct tpl_citizen v = {.full_name = "Lê Văn Tám", .language = "vi"};
    assert_true(template_set_render_sms(set, &v, env, out, sizeof out, &info) > 0);
    assert_string_equal(out, "Kính gửi Lê Văn Tám. Soạn TC gửi 8077 để từ chối");
    template_set_free(set);
    tpl_env_free(env);

    /* A ZNS parameter gets the hint of its variant too. */
    static const char *const zns[] = {"km", "{\"note\": \"{{opt_out_hint}}\"}", "zns", "f", "1",
                                      "ផ្ញើ {{opt_out_keyword}}", "vi", "{\"note\": \"x\"}", "zns", "f",
                                      "1", NULL};
    res = fixture_result(6, 2, zns);
    set = template_set_from_result(res, err, sizeof err);
    PQclear(res);
    assert_non_null(set);
    env = fixture_env(2026, 4, 1, 1);
    cJSON *data;
    assert_int_equal(template_render_zns(set, &k, env, &data, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItem(data, "note")->valuestring, "ផ្ញើ TC");
    cJSON_Delete(data);
    template_set_free(set);
    tpl_env_free(env);

    /* A hint an officer broke makes the template unusable, naming the table. */
    static const char *const bad[] = {"vi", "x {{opt_out_hint}}", "sms", "f", NULL, "Soạn {{keyword}}"};
    res = fixture_result(6, 1, bad);
    assert_null(template_set_from_result(res, err, sizeof err));
    PQclear(res);
    if (!strstr(err, "variant vi: its opt-out hint (table opt_out_hints) does not compile: unknown placeholder 'keyword'"))
        fail_msg("%s", err);
}

static void test_template_zns_builds_template_data(void **state)
{
    char err[256];
    static const char *const rows[] = {
        "vi", "{\"customer_name\":\"{{full_name}}\",\"due_date\":\"{{voluntary_due_date}}\","
              "\"amount\":{\"expr\":\"{{min_contribution_vnd}}\",\"max\":12}}", "zns", "f", "231456",
    };
    struct template_set *set = load(1, rows, err, sizeof err);
    if (!set) fail_msg("%s", err);
    assert_int_equal(set->channel, TPL_ZNS);
    assert_string_equal(set->variants[0].zns_template_id, "231456");
    assert_int_equal(set->variants[0].nparams, 3);
    assert_int_equal(set->variants[0].params[0].max_chars, 30);    /* a name */
    assert_int_equal(set->variants[0].params[1].max_chars, 200);
    assert_int_equal(set->variants[0].params[2].max_chars, 12);
    struct tpl_env *env = fixture_env(2026, 4, 1, 1);
    struct tpl_citizen c = {.full_name = "Nguyễn Thị Hoa", .voluntary_due_date = "2026-05-31"};
    cJSON *data;
    assert_int_equal(template_render_zns(set, &c, env, &data, err, sizeof err), 0);
    char *text = cJSON_PrintUnformatted(data);
    assert_string_equal(text, "{\"customer_name\":\"Nguyễn Thị Hoa\",\"due_date\":\"31/05/2026\","
                              "\"amount\":\"330.000 đ\"}");
    free(text);
    cJSON_Delete(data);
    /* 31 characters (not bytes) is over the 30-character limit for a name. */
    struct tpl_citizen longer = {.full_name = "Nguyễn Thị Hoa Nguyễn Thị Hoaaa"};
    assert_int_equal(template_render_zns(set, &longer, env, &data, err, sizeof err), -1);
    assert_null(data);
    assert_non_null(strstr(err, "'customer_name' is 31 characters, Zalo's limit is 30"));
    struct tpl_citizen exactly = {.full_name = "Nguyễn Thị Hoa Nguyễn Thị Hoaa"};
    assert_int_equal(template_render_zns(set, &exactly, env, &data, err, sizeof err), 0);
    cJSON_Delete(data);
    tpl_env_free(env);
    template_set_free(set);
}

static void test_template_zns_refusals(void **state)
{
    static const struct { const char *json, *reason; } cases[] = {
        {"[1,2]", "JSON object"},
        {"not json", "JSON object"},
        {"{}", "1..64 parameters"},
        {"{\"bad-name\":\"x\"}", "parameter name 'bad-name'"},
        {"{\"\":\"x\"}", "parameter name ''"},
        {"{\"a234567890123456789012345678901\":\"x\"}", "1..30 characters"},
        {"{\"a\":\"{{nope}}\"}", "parameter 'a': unknown placeholder 'nope'"},
        {"{\"a\":1}", "parameter 'a' needs an expression"},
        {"{\"a\":{\"max\":5}}", "parameter 'a' needs an expression"},
        {"{\"a\":{\"expr\":\"x\",\"max\":0}}", "\"max\": 1..2000"},
        {"{\"a\":{\"expr\":\"x\",\"max\":2.5}}", "\"max\": 1..2000"},
        {"{\"a\":{\"expr\":\"x\",\"other\":1}}", "'other' must be"},
        {"{\"a\":\"x\",\"a\":\"y\"}", "'a' is given twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct tpl_zns_param *ps;
        int n;
        char err[256] = "";
        if (template_zns_compile(cases[i].json, &ps, &n, err, sizeof err) == 0)
            fail_msg("accepted %s", cases[i].json);
        if (!strstr(err, cases[i].reason)) fail_msg("%s: '%s' does not say '%s'", cases[i].json, err, cases[i].reason);
        assert_null(ps);
    }
}

static void test_policy_load_refuses_gaps(void **state)
{
    char err[256];
    struct tpl_env *env = fixture_env(2021, 6, 1, 0);
    /* On 2021-06-01 no row of the fixture is in force yet. */
    PGresult *res = fixture_result(9, FIXTURE_POLICY_ROWS, fixture_policy_rows);
    assert_int_equal(tpl_env_load_policy(env, res, err, sizeof err), -1);
    assert_non_null(strstr(err, "no figures valid on 2021-06-01"));
    PQclear(res);
    /* Without a catch-all rule. */
    tpl_env_set_today(env, 2026, 1, 1);
    res = fixture_result(9, 2, fixture_policy_rows);
    assert_int_equal(tpl_env_load_policy(env, res, err, sizeof err), -1);
    assert_non_null(strstr(err, "matches everybody"));
    PQclear(res);
    /* A rule naming a policy that has no rows at all (LEFT JOIN gives NULLs). */
    static const char *const orphan[] = {"5", "tag", "x", "ghost", NULL, NULL, NULL, NULL, NULL};
    res = fixture_result(9, 1, orphan);
    assert_int_equal(tpl_env_load_policy(env, res, err, sizeof err), -1);
    assert_non_null(strstr(err, "policy 'ghost'"));
    PQclear(res);
    tpl_env_free(env);
}

static void test_policy_rules_first_match_wins(void **state)
{
    struct tpl_env *env = fixture_env(2026, 1, 1, 1);
    static const struct { struct tpl_citizen c; const char *code; } cases[] = {
        {{.tags = "{poor,near_poor}", .language = "km"}, "poor"},
        {{.tags = "{near_poor}", .group_code = "ethnic_minority"}, "near_poor"},
        {{.group_code = "poor_household"}, "poor"},
        {{.group_code = "ethnic_minority", .language = "vi"}, "ethnic_minority"},
        {{.tags = "{\"ethnic_minority\"}"}, "ethnic_minority"},
        {{.language = "bdq"}, "ethnic_minority"},
        {{.language = "vi", .tags = "{poorish}"}, "other"},
        {{.language = NULL}, "other"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct policy_rule *r = policy_rule_for(env, &cases[i].c);
        assert_non_null(r);
        if (strcmp(r->code, cases[i].code) != 0) fail_msg("case %zu: %s, want %s", i, r->code, cases[i].code);
    }
    tpl_env_free(env);
}

static void test_policy_formats_money_and_percent(void **state)
{
    static const struct { long vnd; const char *want; } money[] = {
        {0, "0 đ"}, {750, "750 đ"}, {1000, "1.000 đ"}, {330000, "330.000 đ"}, {1500000, "1.500.000 đ"},
        {-2500, "-2.500 đ"},
    };
    for (size_t i = 0; i < sizeof money / sizeof *money; i++) {
        char buf[32];
        policy_format_vnd(money[i].vnd, buf, sizeof buf);
        assert_string_equal(buf, money[i].want);
    }
    struct tpl_env *env = fixture_env(2026, 1, 1, 0);
    static const char *const rows[] = {"1", "any", "", "x", "2020-01-01", "", "1234567", "12.5", "12.25"};
    PGresult *res = fixture_result(9, 1, rows);
    char err[128];
    assert_int_equal(tpl_env_load_policy(env, res, err, sizeof err), 0);
    PQclear(res);
    assert_string_equal(env->rules[0].support_text, "12,25");
    assert_int_equal(env->rules[0].min_contribution_vnd, 154321);   /* 1,234,567 × 12.5% rounded */
    assert_string_equal(env->rules[0].contribution_text, "154.321 đ");
    tpl_env_free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_set_picks_language_else_vi),
        cmocka_unit_test(test_template_set_render_sms_unaccents_and_measures),
        cmocka_unit_test(test_template_set_refuses_without_vi_or_with_a_bad_body),
        cmocka_unit_test(test_template_set_variant_renders_the_hint_of_its_language),
        cmocka_unit_test(test_template_zns_builds_template_data),
        cmocka_unit_test(test_template_zns_refusals),
        cmocka_unit_test(test_policy_load_refuses_gaps),
        cmocka_unit_test(test_policy_rules_first_match_wins),
        cmocka_unit_test(test_policy_formats_money_and_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
