/* campaigns/answer.c: {{name}} rendered as the citizen's salutation and given name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "campaigns/answer.h"

static const struct address_rules rules = {.elder_age = 50, .neutral = "Anh/Chị"};

static void test_answer_name_is_salutation_and_given_name(void **state)
{
    char out[256];
    struct answer_citizen hoa = {"Trần Thị Hoa", "female", "1958-07-12"};
    int n = answer_render("BHXH: Chào {{name}}. {{name}} đã từ chối.", &hoa, &rules, 2026, 12, 1, out, sizeof out);
    assert_string_equal(out, "BHXH: Chào Bà Hoa. Bà Hoa đã từ chối.");
    assert_int_equal(n, (int)strlen(out));
    struct answer_citizen nam = {"Lê Văn Nam", "male", "1995-01-20"};
    answer_render("Chào {{name}}", &nam, &rules, 2026, 12, 1, out, sizeof out);
    assert_string_equal(out, "Chào Anh Nam");
    struct answer_citizen nogender = {"Lê Nam", NULL, "1995-01-20"};
    answer_render("Chào {{name}}", &nogender, &rules, 2026, 12, 1, out, sizeof out);
    assert_string_equal(out, "Chào Anh/Chị Nam");
}

static void test_answer_to_nobody_known_says_ban(void **state)
{
    char out[64];
    answer_render("Chào {{name}}.", NULL, &rules, 2026, 12, 1, out, sizeof out);
    assert_string_equal(out, "Chào bạn.");
    struct answer_citizen blank = {"  ", "male", NULL};
    answer_render("Chào {{name}}.", &blank, &rules, 2026, 12, 1, out, sizeof out);
    assert_string_equal(out, "Chào bạn.");
}

static void test_answer_other_braces_are_text_and_overflow_is_refused(void **state)
{
    char out[32];
    assert_int_equal(answer_render("{{answer}} {name} {{", NULL, &rules, 2026, 1, 1, out, sizeof out), 20);
    assert_string_equal(out, "{{answer}} {name} {{");
    assert_int_equal(answer_render("Chào {{name}}, chúc một ngày tốt lành", NULL, &rules, 2026, 1, 1, out,
                                   sizeof out), -1);
    assert_int_equal(answer_render("", NULL, &rules, 2026, 1, 1, out, 0), -1);
    assert_int_equal(answer_render("", NULL, &rules, 2026, 1, 1, out, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_name_is_salutation_and_given_name),
        cmocka_unit_test(test_answer_to_nobody_known_says_ban),
        cmocka_unit_test(test_answer_other_braces_are_text_and_overflow_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
