/* The configuration table: defaults, every kind of value, and an error naming the file, line,
 * section, key and reason for each kind of mistake (contract.md "Configuration"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gateways/gateway.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/loa-test-config-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes TEXT to a file in the test folder and returns its path (static storage). */
static const char *file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads TEXT and expects a refusal whose message contains every one of the NULL-ended parts. */
static void refused(const char *text, ...)
{
    struct config *cfg = NULL;
    char err[600];
    const char *path = file("bad.conf", text);
    assert_int_equal(config_load(path, &cfg, err, sizeof err), -1);
    assert_null(cfg);
    va_list ap;
    va_start(ap, text);
    for (const char *want; (want = va_arg(ap, const char *));)
        if (!strstr(err, want))
            fail_msg("error \"%s\" lacks \"%s\"", err, want);
    va_end(ap);
}

static struct config *loaded(const char *text)
{
    struct config *cfg = NULL;
    char err[600];
    if (config_load(file("good.conf", text), &cfg, err, sizeof err) < 0)
        fail_msg("refused: %s", err);
    return cfg;
}

static void test_defaults_without_a_file(void **state)
{
    struct config *cfg = NULL;
    char err[256];
    assert_int_equal(config_load(NULL, &cfg, err, sizeof err), 0);
    assert_string_equal(config_path(cfg), "(defaults)");
    /* The embedded cluster in ./var/pg. */
    assert_non_null(strstr(config_str(cfg, "database", "url"), "/var/pg/run"));
    assert_string_equal(config_str(cfg, "policy", "window"), "07:00-21:00");
    assert_string_equal(config_str(cfg, "policy", "timezone"), "Asia/Ho_Chi_Minh");
    assert_int_equal(config_int(cfg, "policy", "approval_threshold"), 10000);
    assert_int_equal(config_int(cfg, "database", "pool_size"), 4);
    assert_false(config_given(cfg, "policy", "window"));
    assert_int_equal(config_gateway_count(cfg), 0);
    config_free(cfg);
}

static void test_values_and_gateways_are_read(void **state)
{
    const char *secret = file("kannel.secret", "s3cret\n");
    char text[1024];
    snprintf(text, sizeof text,
             "; a comment\n"
             "[database]\nurl = postgresql:///loa?host=/srv/loa/run\npool_size = 8\n"
             "[http]\nlisten = 0.0.0.0:9090   ; inline comment\n"
             "[policy]\nwindow = 06:30-24:00\nfrequency_cap = 3/14d\n"
             "[gateway.kannel]\ntype = kannel\nsendsms_url = http://127.0.0.1:13013/cgi-bin/sendsms\n"
             "username = loa\npassword = @%s\nsender = BHXH\nrate = 12.5\n",
             secret);
    struct config *cfg = loaded(text);
    assert_string_equal(config_str(cfg, "database", "url"), "postgresql:///loa?host=/srv/loa/run");
    assert_int_equal(config_int(cfg, "database", "pool_size"), 8);
    assert_string_equal(config_str(cfg, "http", "listen"), "0.0.0.0:9090");
    assert_true(config_given(cfg, "policy", "window"));
    assert_int_equal(config_gateway_count(cfg), 1);
    assert_string_equal(config_gateway_name(cfg, 0), "kannel");
    assert_string_equal(config_gateway_type(cfg, 0), "kannel");
    assert_string_equal(config_gateway_section(cfg, 0), "gateway.kannel");
    /* The secret is read from its file, without the trailing newline. */
    assert_string_equal(config_str(cfg, "gateway.kannel", "password"), "s3cret");
    assert_true(config_double(cfg, "gateway.kannel", "rate") == 12.5);
    /* Common gateway keys and the type's own keys get their defaults. */
    assert_int_equal(config_int(cfg, "gateway.kannel", "max_parts"), 3);
    assert_int_equal(config_int(cfg, "gateway.kannel", "dlr_mask"), 3);
    config_free(cfg);
}

static void test_every_mistake_names_file_line_key_and_reason(void **state)
{
    refused("[database]\npool_size = 4\n[polcy]\n", "bad.conf:3:", "[polcy]", "unknown section", NULL);
    refused("[policy]\nwindow = 07:00-21:00\nwindw = 1\n", "bad.conf:3:", "[policy] windw", "unknown key", NULL);
    refused("[policy]\nwindow = 22:00-07:00\n", "bad.conf:2:", "[policy] window", "HH:MM-HH:MM", NULL);
    refused("[policy]\ntimezone = Asia/Nowhere\n", "bad.conf:2:", "[policy] timezone", "not a time zone", NULL);
    refused("[policy]\ntimezone = ../../etc/passwd\n", ":2:", "[policy] timezone", "not a time zone", NULL);
    refused("[policy]\nfrequency_cap = often\n", ":2:", "frequency_cap", "COUNT/DAYSd", NULL);
    refused("[policy]\napproval_threshold = -5\n", ":2:", "approval_threshold", "outside 0..", NULL);
    refused("[database]\npool_size = four\n", ":2:", "pool_size", "not a whole number", NULL);
    refused("[database]\npool_size = 65\n", ":2:", "pool_size", "65 is outside 1..64", NULL);
    refused("[http]\nlisten = localhost\n", ":2:", "listen", "not host:port", NULL);
    refused("[http]\ntrusted_addresses = 127.0.0.1 kannel.local\n", ":2:", "trusted_addresses",
            "'kannel.local' is not an IPv4 address", NULL);
    refused("[http]\ntrusted_addresses = 10.0.0.0/33\n", ":2:", "trusted_addresses", "'10.0.0.0/33'", NULL);
    refused("[http]\npublic_url = ftp://x\n", ":2:", "public_url", "not an http:// or https:// URL", NULL);
    refused("[policy]\nwindow = 07:00-21:00\nwindow = 08:00-20:00\n", ":3:", "given twice", NULL);
    refused("[gateway.k]\nrate = 5\n", ":2:", "[gateway.k] rate", "`type` must come first", NULL);
    refused("[gateway.k]\ntype = carrier_pigeon\n", ":2:", "unknown gateway type 'carrier_pigeon'", NULL);
    refused("[gateway.k]\ntype = kannel\nsendsms_url = http://h/\nusername = u\npassword = p\nsender = BHXH\n"
            "api_key = x\n", ":7:", "[gateway.k] api_key", "unknown key", NULL);
    refused("[gateway.k]\ntype = kannel\nsendsms_url = http://h/\n", "[gateway.k] username", "required", NULL);
    refused("[gateway.k]\ntype = kannel\nsendsms_url = http://h/\nusername = u\npassword = p\n"
            "sender = BHXH-OUTREACH-LONG\n", ":6:", "sender", "longer than 11", NULL);
    refused("[gateway.k]\ntype = kannel\nsendsms_url = http://h/\nusername = u\npassword = @/nonexistent/secret\n",
            ":5:", "cannot read secret file /nonexistent/secret", NULL);
    refused("[gateway.k]\ntype = kannel\nrate = 0\n", ":3:", "rate", "outside", NULL);
    refused("[engine]\nlog_level = debug\nshutdown_grace_seconds = 1e3\n", ":3:", "not a whole number", NULL);
    char longline[400];
    memset(longline, 0, sizeof longline);
    strcpy(longline, "[database]\nurl = postgresql:///loa?host=");
    memset(longline + strlen(longline), 'x', 250);
    strcat(longline, "\n");
    refused(longline, ":2:", "longer than", "@FILE", NULL);
    refused("[database\nurl = x\n", "bad.conf:1:", "closing ]", NULL);
}

static void test_a_secret_file_is_size_limited(void **state)
{
    char *big = malloc(5000);
    memset(big, 'k', 4999);
    big[4999] = '\0';
    const char *path = file("big.secret", big);
    free(big);
    char text[512];
    snprintf(text, sizeof text,
             "[gateway.k]\ntype = kannel\nsendsms_url = http://h/\nusername = u\npassword = @%s\n", path);
    refused(text, "larger than 4096 bytes", NULL);
}

static void test_window_and_cap_parsers(void **state)
{
    int a, b;
    assert_int_equal(config_parse_window("07:00-21:00", &a, &b), 0);
    assert_int_equal(a, 420);
    assert_int_equal(b, 1260);
    assert_int_equal(config_parse_window("00:00-24:00", &a, &b), 0);
    assert_int_equal(b, 1440);
    assert_int_equal(config_parse_window("07:00-07:00", &a, &b), -1);
    assert_int_equal(config_parse_window("24:00-24:30", &a, &b), -1);
    assert_int_equal(config_parse_window("7-21", &a, &b), -1);
    assert_int_equal(config_parse_window("07:00-21:00x", &a, &b), -1);
    assert_int_equal(config_parse_window("07:60-21:00", &a, &b), -1);
    int n, d;
    assert_int_equal(config_parse_cap("2/7d", &n, &d), 0);
    assert_int_equal(n, 2);
    assert_int_equal(d, 7);
    assert_int_equal(config_parse_cap("0/7d", &n, &d), -1);
    assert_int_equal(config_parse_cap("2/366d", &n, &d), -1);
    assert_int_equal(config_parse_cap("2/7", &n, &d), -1);
    assert_int_equal(config_parse_cap("2/7dd", &n, &d), -1);
}

int main(void)
{
    gateway_types_register();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_without_a_file),
        cmocka_unit_test(test_values_and_gateways_are_read),
        cmocka_unit_test(test_every_mistake_names_file_line_key_and_reason),
        cmocka_unit_test(test_a_secret_file_is_size_limited),
        cmocka_unit_test(test_window_and_cap_parsers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
