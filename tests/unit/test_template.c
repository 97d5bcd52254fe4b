/* Template compilation (refusals with their reasons) and rendering of every placeholder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/unit/tpl_fixture.h"

static const struct tpl_citizen hoa = {
    .id = 1, .full_name = "Nguyễn Thị Hoa", .phone = "84912345678", .commune_code = "30280",
    .commune_name = "Phường Rạch Giá", .province_code = "91", .gender = "female",
    .birth_date = "1970-06-15", .group_code = "informal_worker", .language = "vi",
    .bhxh_code = "7912345678", .participation = "voluntary", .voluntary_due_date = "2026-05-31",
    .zalo_user_id = "z123", .tags = "{near_poor}",
};

static const struct tpl_citizen nam = {
    .id = 2, .full_name = "  Trần   Văn Nam  ", .gender = "male", .birth_date = "2000-01-01",
    .language = "vi", .tags = "{}",
};

static const struct tpl_citizen ksor = {
    .id = 3, .full_name = "Ksor H'Blin", .gender = NULL, .birth_date = NULL, .language = "jra",
};

static const struct tpl_citizen mono = {.id = 4, .full_name = "Út", .gender = "male", .language = "vi"};

struct render_case {
    const char *body;
    const struct tpl_citizen *c;
    const char *want;
};

static const struct render_case render_cases[] = {
    {"Kính gửi {{salutation}} {{full_name}}", &hoa, "Kính gửi Bà Nguyễn Thị Hoa"},
    {"Chào {{ given_name }}!", &hoa, "Chào Hoa!"},
    {"{{given_name}}|{{salutation}}", &nam, "Nam|Anh"},
    {"{{given_name}}|{{salutation}}", &ksor, "H'Blin|Anh/Chị"},
    {"{{given_name}}|{{salutation}}", &mono, "Út|Ông"},
    {"Hạn đóng: {{voluntary_due_date}}, sinh {{birth_date}}", &hoa, "Hạn đóng: 31/05/2026, sinh 15/06/1970"},
    {"Hạn: {{voluntary_due_date}}.", &nam, "Hạn: ."},
    {"Mức đóng thấp nhất {{min_contribution_vnd}}/tháng", &hoa, "Mức đóng thấp nhất 330.000 đ/tháng"},
    {"hỗ trợ {{state_support_pct}}%", &hoa, "hỗ trợ 40%"},
    {"hỗ trợ {{state_support_pct}}%", &nam, "hỗ trợ 20%"},
    {"hỗ trợ {{state_support_pct}}%", &ksor, "hỗ trợ 30%"},
    {"{{opt_out_hint}}", &hoa, "Soạn TC gửi 8077 để từ chối"},
    {"{{phone}} {{commune_code}} {{commune_name}} {{province_code}} {{gender}} {{group_code}}",
     &hoa, "84912345678 30280 Phường Rạch Giá 91 female informal_worker"},
    {"{{language}} {{bhxh_code}} {{participation}} {{zalo_user_id}}", &hoa, "vi 7912345678 voluntary z123"},
    {"{{phone}}{{commune_name}}", &ksor, ""},
    {"single { and } braces stay", &hoa, "single { and } braces stay"},
    {"", &hoa, ""},
    {"{{\tgiven_name\t}}", &hoa, "Hoa"},
    /* NFD text in the template is stored composed (NFC). */
    {"Vie\xcc\xa3\xcc\x82t", &hoa, "Việt"},
    {"😀 {{given_name}}", &hoa, "😀 Hoa"},
};

static void test_template_render_cases(void **state)
{
    struct tpl_env *env = fixture_env(2026, 4, 1, 1);
    for (size_t i = 0; i < sizeof render_cases / sizeof *render_cases; i++) {
        char err[256], out[512];
        struct template *t = template_compile(render_cases[i].body, err, sizeof err);
        if (!t) fail_msg("compile %s: %s", render_cases[i].body, err);
        int n = template_render(t, render_cases[i].c, env, out, sizeof out);
        if (n < 0 || strcmp(out, render_cases[i].want) != 0)
            fail_msg("render %s: got '%s' (%d), want '%s'", render_cases[i].body, out, n, render_cases[i].want);
        assert_int_equal(n, strlen(render_cases[i].want));
        template_free(t);
    }
    tpl_env_free(env);
}

struct refuse_case {
    const char *body;
    const char *reason;   /* a substring of the error */
};

static const struct refuse_case refuse_cases[] = {
    {"Chào {{given_name}", "'{{' at byte 6 is not closed"},
    {"Chào {{given_name", "'{{' at byte 6 is not closed"},
    {"{{a {{given_name}}", "'{{' at byte 0 is not closed"},
    {"Chào given_name}} nhé", "'}}' at byte 16 closes nothing"},
    {"Xin chào {{ho_ten}}", "unknown placeholder 'ho_ten' at byte 10"},
    {"{{full_name}} {{tags}}", "unknown placeholder 'tags' at byte 14"},
    {"{{Full_Name}}", "unknown placeholder 'Full_Name' at byte 0"},
    {"{{}}", "empty placeholder at byte 0"},
    {"{{   }}", "empty placeholder at byte 0"},
    {"{{{given_name}}}", "unknown placeholder '{given_name' at byte 0"},
    {"abc\xff", "invalid UTF-8 at byte 3"},
    {"abc\xc3", "invalid UTF-8 at byte 3"},
    {"\xed\xa0\x80", "invalid UTF-8 at byte 0"},
    {"\xcc\x81" "abc", "starts with a lone combining mark U+0301"},
    {"{{given_name}}\xcc\x81", "lone combining mark U+0301 at byte 14"},
    {"ab\xe2\x80\x8b" "c", "U+200B at byte 2"},
    {"ab\xe2\x80\x8c" "c", "U+200C at byte 2"},
    {"ab\xe2\x80\x8d" "c", "U+200D at byte 2"},
    {"\xef\xbb\xbf" "abc", "U+FEFF at byte 0"},
    {"a\xe2\x80\x8e", "U+200E at byte 1"},
    {"a\xe2\x80\x8f", "U+200F at byte 1"},
    {"a\xe2\x80\xaa", "U+202A at byte 1"},
    {"a\xe2\x80\xae", "U+202E at byte 1"},
    {"a\xe2\x81\xa6", "U+2066 at byte 1"},
    {"a\xe2\x81\xa9", "U+2069 at byte 1"},
    {"bell\a", "control character U+0007 at byte 4"},
};

static void test_template_compile_refusals(void **state)
{
    for (size_t i = 0; i < sizeof refuse_cases / sizeof *refuse_cases; i++) {
        char err[256] = "";
        struct template *t = template_compile(refuse_cases[i].body, err, sizeof err);
        if (t) fail_msg("compiled %s", refuse_cases[i].body);
        if (!strstr(err, refuse_cases[i].reason))
            fail_msg("case %zu: error '%s' does not say '%s'", i, err, refuse_cases[i].reason);
    }
}

static void test_template_render_does_not_overflow(void **state)
{
    struct tpl_env *env = fixture_env(2026, 4, 1, 0);
    char err[128], out[40];
    struct template *t = template_compile("Kính gửi {{full_name}}", err, sizeof err);
    assert_non_null(t);
    /* "Kính gửi Nguyễn Thị Hoa" is 30 bytes: 31 fit with the NUL, 30 do not. */
    assert_int_equal(template_render(t, &hoa, env, out, 31), 30);
    assert_int_equal(template_render(t, &hoa, env, out, 30), -1);
    assert_int_equal(template_render(t, &hoa, env, out, 10), -1);
    template_free(t);
    tpl_env_free(env);
}

static void test_template_policy_figures_need_a_loaded_policy(void **state)
{
    struct tpl_env *env = fixture_env(2026, 4, 1, 0);
    char err[128], out[128];
    struct template *t = template_compile("{{state_support_pct}}", err, sizeof err);
    struct template *plain = template_compile("{{given_name}}", err, sizeof err);
    assert_true(template_uses_policy(t));
    assert_false(template_uses_policy(plain));
    assert_int_equal(template_render(t, &hoa, env, out, sizeof out), -1);
    assert_int_equal(template_render(plain, &hoa, env, out, sizeof out), 3);
    template_free(t);
    template_free(plain);
    tpl_env_free(env);
}

/* The figures follow the law in force on the env's day: before 1 July 2025 the support for a
 * near-poor household was 25%, from that day 40%. */
static void test_template_policy_follows_validity_dates(void **state)
{
    char err[128], out[64];
    struct template *t = template_compile("{{state_support_pct}}|{{min_contribution_vnd}}", err, sizeof err);
    struct tpl_env *before = fixture_env(2025, 6, 30, 1), *after = fixture_env(2025, 7, 1, 1);
    template_render(t, &hoa, before, out, sizeof out);
    assert_string_equal(out, "25|330.000 đ");
    template_render(t, &hoa, after, out, sizeof out);
    assert_string_equal(out, "40|330.000 đ");
    template_free(t);
    tpl_env_free(before);
    tpl_env_free(after);
}

static void test_template_counts_emoji(void **state)
{
    char err[128];
    struct template *t = template_compile("😀 chào {{given_name}} 🎉 ☎", err, sizeof err);
    assert_non_null(t);
    assert_int_equal(template_emoji_count(t), 2);
    template_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_render_cases),
        cmocka_unit_test(test_template_compile_refusals),
        cmocka_unit_test(test_template_render_does_not_overflow),
        cmocka_unit_test(test_template_policy_figures_need_a_loaded_policy),
        cmocka_unit_test(test_template_policy_follows_validity_dates),
        cmocka_unit_test(test_template_counts_emoji),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
