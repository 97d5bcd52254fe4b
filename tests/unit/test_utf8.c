/* core/utf8.c: validity as PostgreSQL's text sees it, cuts on character boundaries (2-, 3-
 * and 4-byte characters at the boundary), and escaping of bytes that are not UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

#define S(lit) lit, sizeof lit - 1

static void test_utf8_valid_accepts_text_and_refuses_what_postgresql_refuses(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        bool valid;
        const char *what;
    } cases[] = {
        {S(""), true, "empty"},
        {S("Xin chào Bà Nguyễn Thị Hương"), true, "Vietnamese"},
        {S("\xF0\x9F\x98\x80 ok"), true, "a 4-byte emoji"},
        {S("\xF4\x8F\xBF\xBF"), true, "U+10FFFF"},
        {S("abc\xC4"), false, "a 2-byte character cut after its lead byte"},
        {S("\xE1\xBB"), false, "a 3-byte character cut"},
        {S("\xF0\x9F\x98"), false, "a 4-byte character cut"},
        {S("\x80"), false, "a lone continuation byte"},
        {S("\xC0\xAF"), false, "an overlong '/'"},
        {S("\xE0\x80\xAF"), false, "an overlong 3-byte '/'"},
        {S("\xED\xA0\x80"), false, "a surrogate"},
        {S("\xF4\x90\x80\x80"), false, "past U+10FFFF"},
        {S("\xFF"), false, "0xFF"},
        {S("Windows-1258: \xE0"), false, "a Latin-1 / cp1258 byte"},
        {S("a\0b"), false, "NUL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (utf8_valid(cases[i].s, cases[i].len) != cases[i].valid)
            fail_msg("%s: expected %s", cases[i].what, cases[i].valid ? "valid" : "invalid");
    }
}

static void test_utf8_cut_never_ends_inside_a_character(void **state)
{
    /* "aé" = 61 C3A9; "ệ" = E1BB87; "😀" = F09F9880. */
    static const struct {
        const char *s;
        size_t len, max, want;
    } cases[] = {
        {S("abc"), 10, 3},
        {S("abc"), 3, 3},
        {S("abc"), 2, 2},
        {S("abc"), 0, 0},
        {S("a\xC3\xA9"), 2, 1},                     /* inside é */
        {S("a\xC3\xA9"), 3, 3},
        {S("\xE1\xBB\x87x"), 1, 0},                 /* inside ệ */
        {S("\xE1\xBB\x87x"), 2, 0},
        {S("\xE1\xBB\x87x"), 3, 3},
        {S("ab\xF0\x9F\x98\x80"), 3, 2},            /* a 4-byte character at the boundary */
        {S("ab\xF0\x9F\x98\x80"), 4, 2},
        {S("ab\xF0\x9F\x98\x80"), 5, 2},
        {S("ab\xF0\x9F\x98\x80"), 6, 6},
        {S("ab\xF0\x9F\x98\x80!"), 6, 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = utf8_cut(cases[i].s, cases[i].len, cases[i].max);
        if (got != cases[i].want)
            fail_msg("case %zu: cut at %zu gave %zu, want %zu", i, cases[i].max, got, cases[i].want);
        assert_true(utf8_valid(cases[i].s, got));
    }
    /* What the gateways do: 100 bytes of a long Vietnamese answer, then 160 of a reason. */
    char text[400] = "";
    while (strlen(text) < 300)
        strcat(text, "Lỗi: thuê bao không tồn tại 😀 ");
    for (size_t max = 0; max < 300; max++) {
        size_t n = utf8_cut(text, strlen(text), max);
        assert_true(n <= max && n + 3 >= max);
        assert_true(utf8_valid(text, n));
    }
}

static void test_utf8_escape_writes_invalid_bytes_as_hex_and_stays_valid(void **state)
{
    static const struct {
        const char *s;
        size_t len, dstsize;
        const char *want;
    } cases[] = {
        {S("plain"), 64, "plain"},
        {S("đã gửi"), 64, "đã gửi"},
        {S("bad \xFF byte"), 64, "bad \\xFF byte"},
        {S("cut \xE1\xBB"), 64, "cut \\xE1\\xBB"},
        {S("nul\0x"), 64, "nul\\x00x"},
        {S("cp1258 \xE0 \xEA"), 64, "cp1258 \\xE0 \\xEA"},
        {S("surrogate \xED\xA0\x80"), 64, "surrogate \\xED\\xA0\\x80"},
        {S("\xF0\x9F\x98\x80\xF0\x9F\x98\x80"), 8, "\xF0\x9F\x98\x80"},  /* 4-byte at the end of DST */
        {S("\xF0\x9F\x98\x80\xF0\x9F\x98\x80"), 9, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80"},
        {S("ab\xFF"), 6, "ab"},                     /* an escape is never cut */
        {S("ab\xFF"), 7, "ab\\xFF"},
        {S("abc"), 1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dst[64];
        memset(dst, '#', sizeof dst);
        size_t n = utf8_escape(dst, cases[i].dstsize, cases[i].s, cases[i].len);
        if (strcmp(dst, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, dst, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
        assert_true(n < cases[i].dstsize);
        assert_true(utf8_valid(dst, n));
    }
    char one = '#';
    assert_int_equal(utf8_escape(&one, 0, "x", 1), 0);
    assert_int_equal(one, '#');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_accepts_text_and_refuses_what_postgresql_refuses),
        cmocka_unit_test(test_utf8_cut_never_ends_inside_a_character),
        cmocka_unit_test(test_utf8_escape_writes_invalid_bytes_as_hex_and_stays_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
