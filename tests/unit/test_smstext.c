/* SMS encoding, parts at the boundaries, and Vietnamese unaccenting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateways/smstext.h"

/* Returns a static buffer holding PREFIX repeated N times, then MID, then SUFFIX repeated M times. */
static const char *rep(const char *prefix, int n, const char *mid, const char *suffix, int m)
{
    static char buf[8192];
    size_t j = 0;
    for (int i = 0; i < n; i++) { memcpy(buf + j, prefix, strlen(prefix)); j += strlen(prefix); }
    memcpy(buf + j, mid, strlen(mid)); j += strlen(mid);
    for (int i = 0; i < m; i++) { memcpy(buf + j, suffix, strlen(suffix)); j += strlen(suffix); }
    buf[j] = '\0';
    return buf;
}

struct measure_case {
    const char *what;
    const char *prefix; int n; const char *mid; const char *suffix; int m;
    enum sms_coding coding; int units; int parts;
};

static const struct measure_case measure_cases[] = {
    {"empty", "", 0, "", "", 0, SMS_GSM7, 0, 1},
    {"gsm 160 is one part", "a", 160, "", "", 0, SMS_GSM7, 160, 1},
    {"gsm 161 is two parts", "a", 161, "", "", 0, SMS_GSM7, 161, 2},
    {"gsm 153x2 is two parts", "a", 306, "", "", 0, SMS_GSM7, 306, 2},
    {"gsm 153x2+1 is three parts", "a", 307, "", "", 0, SMS_GSM7, 307, 3},
    {"gsm 153x3 is three parts", "a", 459, "", "", 0, SMS_GSM7, 459, 3},
    {"extension counts two: 158+{ fits", "a", 158, "{", "", 0, SMS_GSM7, 160, 1},
    {"extension counts two: 159+€ does not", "a", 159, "€", "", 0, SMS_GSM7, 161, 2},
    {"every extension character", "", 0, "^{}\\[]~|€\f", "", 0, SMS_GSM7, 20, 1},
    {"extension straddling part 1 moves whole", "a", 152, "[", "a", 151, SMS_GSM7, 305, 2},
    {"extension straddling pushes a third part", "a", 152, "[", "a", 152, SMS_GSM7, 306, 3},
    {"extension ending part 1 exactly", "a", 151, "[", "a", 153, SMS_GSM7, 306, 2},
    {"gsm latin-1 letters", "", 0, "£¥èéùìòÇØøÅåÆæßÉÄÖÑÜ§¿äöñüà¡¤", "", 0, SMS_GSM7, 29, 1},
    {"gsm greek capitals", "", 0, "ΔΦΓΛΩΠΨΣΘΞ", "", 0, SMS_GSM7, 10, 1},
    {"newline and carriage return are gsm", "", 0, "a\r\nb", "", 0, SMS_GSM7, 4, 1},
    {"backtick is not gsm", "", 0, "a`b", "", 0, SMS_UCS2, 3, 1},
    {"tab is not gsm", "", 0, "a\tb", "", 0, SMS_UCS2, 3, 1},
    {"one vietnamese letter makes ucs2", "a", 100, "ă", "", 0, SMS_UCS2, 101, 2},
    {"d with stroke is not gsm", "", 0, "đ", "", 0, SMS_UCS2, 1, 1},
    {"ucs2 70 is one part", "ơ", 70, "", "", 0, SMS_UCS2, 70, 1},
    {"ucs2 71 is two parts", "ơ", 71, "", "", 0, SMS_UCS2, 71, 2},
    {"ucs2 67x2 is two parts", "ơ", 134, "", "", 0, SMS_UCS2, 134, 2},
    {"ucs2 67x2+1 is three parts", "ơ", 135, "", "", 0, SMS_UCS2, 135, 3},
    {"extension chars in ucs2 count one", "ơ", 1, "{€", "", 0, SMS_UCS2, 3, 1},
    {"emoji counts two units", "", 0, "😀", "", 0, SMS_UCS2, 2, 1},
    {"emoji at 69+2 overflows one part", "ơ", 69, "😀", "", 0, SMS_UCS2, 71, 2},
    {"emoji at 68+2 fits one part", "ơ", 68, "😀", "", 0, SMS_UCS2, 70, 1},
    {"surrogate pair straddling part 1 moves whole", "ơ", 66, "😀", "ơ", 65, SMS_UCS2, 133, 2},
    {"surrogate pair straddling pushes a third part", "ơ", 66, "😀", "ơ", 66, SMS_UCS2, 134, 3},
    {"invalid utf-8 counts one ucs2 unit", "a", 3, "\xff", "", 0, SMS_UCS2, 4, 1},
    {"truncated utf-8 sequence", "a", 3, "\xe1\xba", "", 0, SMS_UCS2, 5, 1},
};

static void test_smstext_measure_table(void **state)
{
    for (size_t i = 0; i < sizeof measure_cases / sizeof *measure_cases; i++) {
        const struct measure_case *k = &measure_cases[i];
        const char *s = rep(k->prefix, k->n, k->mid, k->suffix, k->m);
        struct sms_info info;
        smstext_measure(s, strlen(s), &info);
        if (info.coding != k->coding || info.units != k->units || info.parts != k->parts)
            fail_msg("%s: got coding %d units %d parts %d, want %d %d %d", k->what, info.coding,
                     info.units, info.parts, k->coding, k->units, k->parts);
    }
}

/* Every Vietnamese vowel with each of the six tones, both cases, and its unaccented base. */
static const struct { const char *forms; const char *base; } vowels[] = {
    {"a à á ả ã ạ", "a"}, {"A À Á Ả Ã Ạ", "A"},
    {"ă ằ ắ ẳ ẵ ặ", "a"}, {"Ă Ằ Ắ Ẳ Ẵ Ặ", "A"},
    {"â ầ ấ ẩ ẫ ậ", "a"}, {"Â Ầ Ấ Ẩ Ẫ Ậ", "A"},
    {"e è é ẻ ẽ ẹ", "e"}, {"E È É Ẻ Ẽ Ẹ", "E"},
    {"ê ề ế ể ễ ệ", "e"}, {"Ê Ề Ế Ể Ễ Ệ", "E"},
    {"i ì í ỉ ĩ ị", "i"}, {"I Ì Í Ỉ Ĩ Ị", "I"},
    {"o ò ó ỏ õ ọ", "o"}, {"O Ò Ó Ỏ Õ Ọ", "O"},
    {"ô ồ ố ổ ỗ ộ", "o"}, {"Ô Ồ Ố Ổ Ỗ Ộ", "O"},
    {"ơ ờ ớ ở ỡ ợ", "o"}, {"Ơ Ờ Ớ Ở Ỡ Ợ", "O"},
    {"u ù ú ủ ũ ụ", "u"}, {"U Ù Ú Ủ Ũ Ụ", "U"},
    {"ư ừ ứ ử ữ ự", "u"}, {"Ư Ừ Ứ Ử Ữ Ự", "U"},
    {"y ỳ ý ỷ ỹ ỵ", "y"}, {"Y Ỳ Ý Ỷ Ỹ Ỵ", "Y"},
};

static void test_smstext_unaccent_every_vowel_and_tone(void **state)
{
    int checked = 0;
    for (size_t i = 0; i < sizeof vowels / sizeof *vowels; i++) {
        char forms[64];
        snprintf(forms, sizeof forms, "%s", vowels[i].forms);
        for (char *save = NULL, *w = strtok_r(forms, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            char out[16];
            size_t n = smstext_unaccent(w, strlen(w), out, sizeof out);
            if (n != 1 || strcmp(out, vowels[i].base) != 0)
                fail_msg("unaccent(%s) = %s (%zu), want %s", w, out, n, vowels[i].base);
            struct sms_info info;
            smstext_measure(out, n, &info);
            assert_int_equal(info.coding, SMS_GSM7);
            checked++;
        }
    }
    assert_int_equal(checked, 12 * 6 * 2);
}

static const struct { const char *in, *want; } unaccent_cases[] = {
    {"", ""},
    {"Đặng Thị Hồng Nhung", "Dang Thi Hong Nhung"},
    {"đồng Đà", "dong Da"},
    {"Soạn TC gửi 8077 để từ chối", "Soan TC gui 8077 de tu choi"},
    {"TRƯỜNG ĐẠI HỌC", "TRUONG DAI HOC"},
    /* Decomposed (NFD) input: the separate combining marks go too. */
    {"a\xcc\x80 e\xcc\x82\xcc\x81 u\xcc\x9b\xcc\xa3", "a e u"},
    /* Other scripts and symbols are kept as they are. */
    {"ខ្មែរ 😀 €", "ខ្មែរ 😀 €"},
    {"330.000 đ", "330.000 d"},
    {"Ñandú ç", "Nandu c"},
};

static void test_smstext_unaccent_cases(void **state)
{
    for (size_t i = 0; i < sizeof unaccent_cases / sizeof *unaccent_cases; i++) {
        char out[128];
        size_t n = smstext_unaccent(unaccent_cases[i].in, strlen(unaccent_cases[i].in), out, sizeof out);
        assert_int_not_equal(n, (size_t)-1);
        assert_string_equal(out, unaccent_cases[i].want);
        assert_int_equal(n, strlen(unaccent_cases[i].want));
    }
}

static void test_smstext_unaccent_respects_capacity(void **state)
{
    const char *in = "Hồ Chí Minh";   /* → "Ho Chi Minh", 11 bytes + NUL */
    char out[32];
    assert_int_equal(smstext_unaccent(in, strlen(in), out, 12), 11);
    assert_string_equal(out, "Ho Chi Minh");
    assert_int_equal(smstext_unaccent(in, strlen(in), out, 11), (size_t)-1);
    assert_int_equal(smstext_unaccent("", 0, out, 1), 0);
    assert_int_equal(smstext_unaccent("", 0, out, 0), (size_t)-1);
}

/* A long Vietnamese message that is three UCS-2 parts becomes one GSM part unaccented. */
static void test_smstext_unaccent_then_measure(void **state)
{
    const char *msg = "Kính gửi Bà Nguyễn Thị Hoa, hạn đóng BHXH tự nguyện của Bà là 31/05/2026. "
                      "Mức đóng thấp nhất 330.000 đ/tháng. Soạn TC gửi 8077 để từ chối";
    struct sms_info a, b;
    smstext_measure(msg, strlen(msg), &a);
    assert_int_equal(a.coding, SMS_UCS2);
    assert_int_equal(a.parts, 3);
    char out[512];
    size_t n = smstext_unaccent(msg, strlen(msg), out, sizeof out);
    smstext_measure(out, n, &b);
    assert_int_equal(b.coding, SMS_GSM7);
    assert_int_equal(b.units, a.units);
    assert_int_equal(b.parts, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smstext_measure_table),
        cmocka_unit_test(test_smstext_unaccent_every_vowel_and_tone),
        cmocka_unit_test(test_smstext_unaccent_cases),
        cmocka_unit_test(test_smstext_unaccent_respects_capacity),
        cmocka_unit_test(test_smstext_unaccent_then_measure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
