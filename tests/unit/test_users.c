/* Passwords and tokens of the API's users (campaigns/users.c): PBKDF2 hashes that verify only
 * their password, salted anew each time, and refusals of malformed stored hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "campaigns/users.h"

static void test_users_password_verifies_only_its_password(void **state)
{
    char h[USERS_HASH_MAX];
    assert_int_equal(users_password_hash_iter("mật khẩu dài", 1000, h), 0);
    assert_true(strncmp(h, "pbkdf2-sha256$1000$", 19) == 0);
    assert_null(strstr(h, "mật khẩu"));
    assert_true(users_password_verify("mật khẩu dài", h));
    assert_false(users_password_verify("mật khẩu dai", h));
    assert_false(users_password_verify("", h));
    assert_false(users_password_verify(NULL, h));
}

static void test_users_password_salt_differs_each_time(void **state)
{
    char a[USERS_HASH_MAX], b[USERS_HASH_MAX];
    assert_int_equal(users_password_hash_iter("same password", 1000, a), 0);
    assert_int_equal(users_password_hash_iter("same password", 1000, b), 0);
    assert_string_not_equal(a, b);
    assert_true(users_password_verify("same password", a) && users_password_verify("same password", b));
}

static void test_users_password_refuses_malformed_hashes(void **state)
{
    char h[USERS_HASH_MAX];
    assert_int_equal(users_password_hash_iter("secret-123", 1000, h), 0);
    char bad[USERS_HASH_MAX + 8];
    const char *cases[] = {
        "", "plain text", "pbkdf2-sha256$", "pbkdf2-sha256$0$00$00", "md5$1000$aa$bb",
        "pbkdf2-sha256$1000$zz000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000",
        "pbkdf2-sha256$1000$00000000000000000000000000000000$00",
        "pbkdf2-sha256$999999999999$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_false(users_password_verify("secret-123", cases[i]));
    /* One digit of the stored key changed. */
    snprintf(bad, sizeof bad, "%s", h);
    size_t n = strlen(bad);
    bad[n - 1] = bad[n - 1] == '0' ? '1' : '0';
    assert_false(users_password_verify("secret-123", bad));
}

static void test_users_token_hash_is_sha256_of_its_text(void **state)
{
    char tok[USERS_TOKEN_HEX], sha[USERS_TOKEN_HEX], again[USERS_TOKEN_HEX];
    assert_int_equal(users_token_new(tok, sha), 0);
    assert_int_equal(strlen(tok), 64);
    users_token_hash(tok, again);
    assert_string_equal(sha, again);
    users_token_hash("abc", again);
    assert_string_equal(again, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_password_verifies_only_its_password),
        cmocka_unit_test(test_users_password_salt_differs_each_time),
        cmocka_unit_test(test_users_password_refuses_malformed_hashes),
        cmocka_unit_test(test_users_token_hash_is_sha256_of_its_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
