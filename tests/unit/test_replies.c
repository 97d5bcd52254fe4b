/* Storing citizens' replies: text that is not UTF-8 is kept as received, its bad bytes escaped,
 * so that PostgreSQL takes it. (Reading replies: test_keywords.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "campaigns/replies.h"
#include "segments/csvfile.h"

static void expect_escaped(const char *in, size_t len, const char *want)
{
    char *out = reply_text_escape(in, len);
    assert_non_null(out);
    assert_string_equal(out, want);
    size_t bad;
    assert_true(csvfile_utf8_valid(out, strlen(out), &bad));
    free(out);
}

static void test_reply_text_escape_keeps_utf8_and_escapes_the_rest(void **state)
{
    expect_escaped("Từ chối", strlen("Từ chối"), "Từ chối");
    expect_escaped("", 0, "");
    expect_escaped("a\\b", 3, "a\\b");                       /* a backslash stays */
    expect_escaped("\xff\xfe TC", 5, "\\xFF\\xFE TC");
    expect_escaped("T\xe1\xbb", 3, "T\\xE1\\xBB");            /* a character cut short */
    expect_escaped("\xc0\xaf", 2, "\\xC0\\xAF");             /* an overlong '/' */
    expect_escaped("\xed\xa0\x80", 3, "\\xED\\xA0\\x80");    /* a UTF-16 surrogate */
    expect_escaped("a\0b", 3, "a\\x00b");                    /* NUL: PostgreSQL refuses it */
    /* Windows-1258 "Từ chối": every byte above 0x7F escaped, the ASCII ones kept. */
    expect_escaped("T\xdd ch\xd4i", 7, "T\\xDD ch\\xD4i");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_text_escape_keeps_utf8_and_escapes_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
