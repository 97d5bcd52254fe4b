/* Given names, ages and Vietnamese salutations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "campaigns/address.h"

static void test_address_given_name_is_last_word(void **state)
{
    static const struct { const char *full, *given; } cases[] = {
        {"Nguyễn Thị Hoa", "Hoa"},
        {"Trần Văn Nam", "Nam"},
        {"Út", "Út"},
        {"  Lê   Minh  ", "Minh"},
        {"Ksor H'Blin", "H'Blin"},
        {"Thạch Sô\tPhol\r\n", "Phol"},
        {"Danh\xc2\xa0Sơn", "Sơn"},            /* a no-break space from a spreadsheet */
        {"Danh Sơn\xc2\xa0", "Sơn"},
        {"", ""},
        {"   ", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *start;
        size_t n = address_given_name(cases[i].full, &start);
        if (n != strlen(cases[i].given) || memcmp(start, cases[i].given, n) != 0)
            fail_msg("given name of '%s' = '%.*s', want '%s'", cases[i].full, (int)n, start, cases[i].given);
    }
    const char *start;
    assert_int_equal(address_given_name(NULL, &start), 0);
    assert_string_equal(start, "");
}

static void test_address_age_in_whole_years(void **state)
{
    static const struct { const char *birth; int y, m, d, age; } cases[] = {
        {"1976-05-01", 2026, 5, 1, 50},       /* birthday today */
        {"1976-05-02", 2026, 5, 1, 49},       /* tomorrow */
        {"1976-06-01", 2026, 5, 31, 49},
        {"1976-04-30", 2026, 5, 1, 50},
        {"2000-02-29", 2026, 2, 28, 25},
        {"2000-02-29", 2026, 3, 1, 26},
        {"2030-01-01", 2026, 5, 1, -1},       /* in the future */
        {"1976-13-01", 2026, 5, 1, -1},
        {"1976/05/01", 2026, 5, 1, -1},
        {"76-05-01", 2026, 5, 1, -1},
        {"", 2026, 5, 1, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int age = address_age(cases[i].birth, cases[i].y, cases[i].m, cases[i].d);
        if (age != cases[i].age) fail_msg("age of %s = %d, want %d", cases[i].birth, age, cases[i].age);
    }
    assert_int_equal(address_age(NULL, 2026, 1, 1), -1);
}

static void test_address_salutation_by_gender_and_age(void **state)
{
    struct address_rules r = {.elder_age = 50, .neutral = "Anh/Chị"};
    static const struct { const char *gender; int age; const char *want; } cases[] = {
        {"male", 50, "Ông"}, {"male", 49, "Anh"}, {"male", 18, "Anh"}, {"male", 80, "Ông"},
        {"female", 50, "Bà"}, {"female", 49, "Chị"},
        {"male", -1, "Ông"}, {"female", -1, "Bà"},       /* unknown age: the elder form */
        {NULL, 30, "Anh/Chị"}, {"", 70, "Anh/Chị"}, {"other", 30, "Anh/Chị"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_string_equal(address_salutation(&r, cases[i].gender, cases[i].age), cases[i].want);
    /* The threshold and the neutral form are settings. */
    struct address_rules s = {.elder_age = 60, .neutral = "Quý vị"};
    assert_string_equal(address_salutation(&s, "male", 55), "Anh");
    assert_string_equal(address_salutation(&s, "female", 60), "Bà");
    assert_string_equal(address_salutation(&s, NULL, 60), "Quý vị");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_given_name_is_last_word),
        cmocka_unit_test(test_address_age_in_whole_years),
        cmocka_unit_test(test_address_salutation_by_gender_and_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
