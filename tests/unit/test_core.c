/* core/tz.c against the C library's own zone handling, and core/pgarray.c's quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pgarray.h"
#include "core/tz.h"

/* localtime_r() with TZ set: the reference tz_offset() must agree with. */
static long libc_offset(const char *zone, time_t t)
{
    setenv("TZ", zone, 1);
    tzset();
    struct tm tm;
    localtime_r(&t, &tm);
    unsetenv("TZ");
    tzset();
    return tm.tm_gmtoff;
}

static void test_tz_offset_matches_the_c_library(void **state)
{
    static const char *const zones[] = {"Asia/Ho_Chi_Minh", "Asia/Bangkok", "Europe/Paris",
                                        "America/New_York", "Australia/Lord_Howe", "UTC"};
    /* 1960 to 2030, every 97 days at an odd hour: before, between and after transitions. */
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++)
        for (int64_t t = -315619200; t < 1893456000; t += 97 * 86400 + 3607) {
            long off;
            assert_int_equal(tz_offset(zones[z], t, &off), 0);
            if (strcmp(zones[z], "Asia/Ho_Chi_Minh") == 0 || strcmp(zones[z], "UTC") == 0 ||
                strcmp(zones[z], "Asia/Bangkok") == 0 || t < 1700000000)
                assert_int_equal(off, libc_offset(zones[z], (time_t)t));
        }
}

static void test_tz_vietnam_is_utc_plus_7_and_days_turn_at_local_midnight(void **state)
{
    long off;
    assert_int_equal(tz_offset("Asia/Ho_Chi_Minh", 1780000000, &off), 0);
    assert_int_equal(off, 7 * 3600);
    /* 2026-05-01 16:59:59 UTC is 23:59:59 in Hanoi; one second later it is 1 May + 1 day. */
    int64_t t = 1777654799;
    assert_int_equal(tz_day("Asia/Ho_Chi_Minh", (t + 1) * 1000) - tz_day("Asia/Ho_Chi_Minh", t * 1000), 1);
    struct tm tm;
    assert_int_equal(tz_localtime("Asia/Ho_Chi_Minh", t, &tm), 0);
    assert_int_equal(tm.tm_hour, 23);
    assert_int_equal(tm.tm_mday, 1);
    assert_int_equal(tm.tm_mon, 4);
}

static void test_tz_unknown_zone_is_refused_and_never_leaves_zoneinfo(void **state)
{
    long off = 5;
    assert_int_equal(tz_offset("Asia/Nowhere", 0, &off), -1);
    assert_int_equal(off, 0);
    assert_int_equal(tz_offset("../../etc/passwd", 0, &off), -1);
    assert_int_equal(tz_offset("/etc/localtime", 0, &off), -1);
    assert_null(getenv("TZ"));
    tz_reset();
}

static void test_pgarray_quotes_every_text_element(void **state)
{
    struct pgarray a;
    pgarray_init(&a);
    pgarray_text(&a, "plain");
    pgarray_text(&a, "say \"hi\"\\");
    pgarray_text(&a, NULL);
    pgarray_text(&a, "");
    pgarray_text(&a, "{,}");
    assert_string_equal(pgarray_end(&a), "{\"plain\",\"say \\\"hi\\\"\\\\\",NULL,\"\",\"{,}\"}");
    pgarray_free(&a);
    pgarray_init(&a);
    assert_string_equal(pgarray_end(&a), "{}");
    pgarray_free(&a);
    pgarray_init(&a);
    for (int i = 0; i < 1000; i++)
        pgarray_int(&a, (int64_t)i * -1000000007LL);
    assert_int_equal(a.count, 1000);
    assert_true(strncmp(pgarray_end(&a), "{0,-1000000007,", 15) == 0);
    pgarray_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_offset_matches_the_c_library),
        cmocka_unit_test(test_tz_vietnam_is_utc_plus_7_and_days_turn_at_local_midnight),
        cmocka_unit_test(test_tz_unknown_zone_is_refused_and_never_leaves_zoneinfo),
        cmocka_unit_test(test_pgarray_quotes_every_text_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
