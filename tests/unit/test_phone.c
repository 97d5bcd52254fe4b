/* Phone normalisation and carrier lookup: table-driven, good forms and bad ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "segments/phone.h"

struct good { const char *in, *out, *carrier; };

static const struct good goods[] = {
    {"0912345678", "84912345678", "vinaphone"},
    {"84912345678", "84912345678", "vinaphone"},
    {"+84912345678", "84912345678", "vinaphone"},
    {"0084912345678", "84912345678", "vinaphone"},
    {"0912 345 678", "84912345678", "vinaphone"},
    {"0912.345.678", "84912345678", "vinaphone"},
    {"0912-345-678", "84912345678", "vinaphone"},
    {"(091) 234-5678", "84912345678", "vinaphone"},
    {" +84 (0) 912 345 678 ", "84912345678", "vinaphone"},
    {"+84 0912345678", "84912345678", "vinaphone"},
    {"912345678", "84912345678", "vinaphone"},           /* a spreadsheet dropped the 0 */
    {"0981234567", "84981234567", "viettel"},
    {"0321234567", "84321234567", "viettel"},
    {"0861234567", "84861234567", "viettel"},
    {"0701234567", "84701234567", "mobifone"},
    {"0891234567", "84891234567", "mobifone"},
    {"0521234567", "84521234567", "vietnamobile"},
    {"0921234567", "84921234567", "vietnamobile"},
    {"0591234567", "84591234567", "gmobile"},
    {"0991234567", "84991234567", "gmobile"},
    {"0871234567", "84871234567", "itel"},
    {"0551234567", "84551234567", "reddi"},
    {"0841234567", "84841234567", "vinaphone"},
    {"841234567", "84841234567", "vinaphone"},            /* 084… without its 0 */
    /* Pre-2018 eleven-digit numbers, every row of the official table. */
    {"01201234567", "84701234567", "mobifone"},
    {"01211234567", "84791234567", "mobifone"},
    {"01221234567", "84771234567", "mobifone"},
    {"01261234567", "84761234567", "mobifone"},
    {"01281234567", "84781234567", "mobifone"},
    {"01231234567", "84831234567", "vinaphone"},
    {"01241234567", "84841234567", "vinaphone"},
    {"01251234567", "84851234567", "vinaphone"},
    {"01271234567", "84811234567", "vinaphone"},
    {"01291234567", "84821234567", "vinaphone"},
    {"01621234567", "84321234567", "viettel"},
    {"01631234567", "84331234567", "viettel"},
    {"01641234567", "84341234567", "viettel"},
    {"01651234567", "84351234567", "viettel"},
    {"01661234567", "84361234567", "viettel"},
    {"01671234567", "84371234567", "viettel"},
    {"01681234567", "84381234567", "viettel"},
    {"01691234567", "84391234567", "viettel"},
    {"01861234567", "84561234567", "vietnamobile"},
    {"01881234567", "84581234567", "vietnamobile"},
    {"01991234567", "84591234567", "gmobile"},
    {"+841661234567", "84361234567", "viettel"},
    {"00841661234567", "84361234567", "viettel"},
    {"841661234567", "84361234567", "viettel"},
    {"0166 123 4567", "84361234567", "viettel"},
};

struct bad { const char *in, *reason; };

static const struct bad bads[] = {
    {"", "no phone"},
    {"   ", "no phone"},
    {"không có", "no phone"},
    {"02693822123", "landline"},             /* Gia Lai fixed line */
    {"0269 382 2123", "landline"},
    {"+1 415 555 0100", "foreign number"},
    {"+66812345678", "foreign number"},
    {"0066812345678", "foreign number"},
    {"0912345678 / 0987654321", "two numbers in one cell"},
    {"0912345678,0987654321", "two numbers in one cell"},
    {"0912345678; 0987654321", "two numbers in one cell"},
    {"0912345678 0987654321", "two numbers in one cell"},
    {"091234", "too short"},
    {"09123456", "too short"},
    {"091234567890", "too long"},
    {"0112345678", "not a mobile prefix"},
    {"0301234567", "not a mobile prefix"},
    {"0951234567", "not a mobile prefix"},
    {"01301234567", "not a mobile prefix"},   /* an 11-digit prefix the table never had */
    {"19001234", "service number"},
    {"1800 1234", "service number"},
    {"0912345678 (chồng)", "invalid characters"},
    {"0912x45678", "invalid characters"},
    {"0912/345", "invalid characters"},
    {"++84912345678", "invalid characters"},
};

static void test_phone_normalize_accepts_common_forms(void **state)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        char out[12] = "x";
        const char *reason = NULL;
        int rc = phone_normalize(goods[i].in, out, &reason);
        if (rc != 0)
            fail_msg("'%s' refused: %s", goods[i].in, reason ? reason : "?");
        assert_string_equal(out, goods[i].out);
        assert_string_equal(phone_carrier(out), goods[i].carrier);
    }
}

static void test_phone_normalize_refuses_with_reason(void **state)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        char out[12];
        const char *reason = NULL;
        int rc = phone_normalize(bads[i].in, out, &reason);
        if (rc != -1)
            fail_msg("'%s' accepted as %s", bads[i].in, out);
        assert_non_null(reason);
        if (strcmp(reason, bads[i].reason) != 0)
            fail_msg("'%s': reason '%s', expected '%s'", bads[i].in, reason, bads[i].reason);
        assert_string_equal(out, "");
    }
}

static void test_phone_normalize_null_and_no_reason_pointer(void **state)
{
    char out[12];
    const char *reason = NULL;
    assert_int_equal(phone_normalize(NULL, out, &reason), -1);
    assert_string_equal(reason, "no phone");
    assert_int_equal(phone_normalize("0912", out, NULL), -1);
    assert_int_equal(phone_normalize("0912345678", out, NULL), 0);
}

static void test_phone_normalize_long_garbage_is_bounded(void **state)
{
    char in[4096], out[12];
    memset(in, '9', sizeof in - 1);
    in[sizeof in - 1] = '\0';
    const char *reason = NULL;
    assert_int_equal(phone_normalize(in, out, &reason), -1);
    assert_string_equal(reason, "two numbers in one cell");
}

static void test_phone_carrier_rejects_non_normalised(void **state)
{
    assert_null(phone_carrier(NULL));
    assert_null(phone_carrier("0912345678"));
    assert_null(phone_carrier("8491234567"));
    assert_null(phone_carrier("84951234567"));
    assert_string_equal(phone_carrier("84351234567"), "viettel");
}

static void test_phone_carriers_list_covers_lookup(void **state)
{
    /* Every carrier the lookup can answer is in the published list (the filter checks it). */
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        int found = 0;
        for (const char *const *c = phone_carriers; *c; c++)
            found |= strcmp(*c, goods[i].carrier) == 0;
        assert_true(found);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone_normalize_accepts_common_forms),
        cmocka_unit_test(test_phone_normalize_refuses_with_reason),
        cmocka_unit_test(test_phone_normalize_null_and_no_reason_pointer),
        cmocka_unit_test(test_phone_normalize_long_garbage_is_bounded),
        cmocka_unit_test(test_phone_carrier_rejects_non_normalised),
        cmocka_unit_test(test_phone_carriers_list_covers_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
