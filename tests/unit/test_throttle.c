/* The gateway throttle on a simulated clock: rate, burst, window, quota, pause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/throttle.h"

#define T0 1777600000000LL   /* some instant in 2026, ms */
#define VN (7 * 3600)         /* Asia/Ho_Chi_Minh: UTC+7, no daylight saving */

/* Simulates a sender that starts everything the throttle allows, every millisecond, with one
 * part per message and instant answers. Returns how many started within DURATION_MS. */
static long run_sender(struct throttle *t, int64_t from, int64_t duration_ms, int parts)
{
    long started = 0;
    for (int64_t now = from; now < from + duration_ms; now++) {
        long day = throttle_day(now, VN);
        int room = throttle_room(t, now, day);
        for (int i = 0; i < room; i++) {
            throttle_start(t, now, day, parts);
            throttle_done(t, THROTTLE_OK, true);
            started++;
        }
    }
    return started;
}

static void test_throttle_rate_over_one_second(void **state)
{
    struct throttle t;
    throttle_init(&t, 50, 10, 0, T0);
    long n = run_sender(&t, T0, 1000, 1);
    /* The burst (5) plus 50 per second, give or take the last token. */
    assert_in_range(n, 50, 55);
    long n10 = run_sender(&t, T0 + 1000, 10000, 1);
    assert_in_range(n10, 499, 501);
}

static void test_throttle_set_rate_applies_at_once_and_keeps_what_is_in_flight(void **state)
{
    struct throttle t;
    throttle_init(&t, 10, 8, 100, T0);
    long n = run_sender(&t, T0, 1000, 1);
    assert_in_range(n, 10, 12);
    for (int i = 0; i < 6; i++)
        throttle_start(&t, T0 + 1000, throttle_day(T0 + 1000, VN), 1);
    /* A reload: rate 100, concurrency 4, quota 500. The six in flight stay counted. */
    throttle_set_rate(&t, 100, 4, 500, T0 + 1000);
    assert_int_equal(t.in_flight, 6);
    assert_int_equal(throttle_room(&t, T0 + 1000, throttle_day(T0 + 1000, VN)), 0);
    for (int i = 0; i < 6; i++)
        throttle_done(&t, THROTTLE_OK, true);
    n = run_sender(&t, T0 + 1000, 1000, 1);
    assert_in_range(n, 90, 112);   /* 100 a second, less the six that took their tokens */
    assert_int_equal(t.daily_quota, 500);
    assert_true(t.window <= 4);
}

static void test_throttle_rate_lowered_by_a_reload_stays_lowered(void **state)
{
    struct throttle t;
    throttle_init(&t, 50, 10, 0, T0);
    /* A reload to 7 a second: the successes that follow never grow it back toward 50, and a
     * cut grows back to 7, not beyond. */
    throttle_set_rate(&t, 7, 10, 0, T0);
    long n = run_sender(&t, T0 + 1000, 10000, 1);
    assert_true(t.rate == 7);
    assert_in_range(n, 69, 71);
    assert_true(throttle_slow_down(&t, T0 + 11000));
    assert_true(t.rate == 3.5);
    run_sender(&t, T0 + 12000, 30000, 1);
    assert_true(t.rate == 7);
}

static void test_throttle_rate_counts_parts(void **state)
{
    struct throttle t;
    throttle_init(&t, 50, 10, 0, T0);
    run_sender(&t, T0, 1000, 3);   /* drain the burst */
    long n = run_sender(&t, T0 + 1000, 9000, 3);
    /* 50 parts/s × 9 s = 450 parts = 150 three-part messages. */
    assert_in_range(n, 148, 151);
}

static void test_throttle_burst_is_a_tenth_of_the_rate(void **state)
{
    struct throttle t;
    throttle_init(&t, 1000, 1000, 0, T0);
    assert_int_equal(throttle_room(&t, T0, 0), 100);
    throttle_init(&t, 3, 1000, 0, T0);
    assert_int_equal(throttle_room(&t, T0, 0), 1);      /* never below one */
    /* A long idle time does not store more than the burst. */
    assert_int_equal(throttle_room(&t, T0 + 3600 * 1000, 0), 1);
}

static void test_throttle_long_message_borrows(void **state)
{
    struct throttle t;
    throttle_init(&t, 10, 10, 0, T0);   /* burst 1 */
    assert_int_equal(throttle_room(&t, T0, 0), 1);
    throttle_start(&t, T0, 0, 3);        /* a three-part message takes the bucket to -2 */
    throttle_done(&t, THROTTLE_OK, true);
    assert_int_equal(throttle_room(&t, T0 + 200, 0), 0);
    assert_int_equal(throttle_wait_ms(&t, T0 + 200, 0), 100);
    assert_int_equal(throttle_room(&t, T0 + 300, 0), 1);
}

static void test_throttle_window_limits_in_flight(void **state)
{
    struct throttle t;
    throttle_init(&t, 100000, 4, 0, T0);
    int room = throttle_room(&t, T0, 0);
    assert_int_equal(room, 4);
    for (int i = 0; i < 4; i++)
        throttle_start(&t, T0, 0, 1);
    assert_int_equal(throttle_room(&t, T0 + 1000, 0), 0);
    assert_int_equal(throttle_wait_ms(&t, T0 + 1000, 0), -1);
    throttle_done(&t, THROTTLE_OK, true);
    assert_int_equal(throttle_room(&t, T0 + 1000, 0), 1);
}

static void test_throttle_window_shrinks_and_grows_within_bounds(void **state)
{
    struct throttle t;
    throttle_init(&t, 100000, 8, 0, T0);
    throttle_start(&t, T0, 0, 1);
    throttle_done(&t, THROTTLE_TEMPFAIL, true);
    assert_int_equal(throttle_window(&t), 7);
    throttle_start(&t, T0, 0, 1);
    throttle_done(&t, THROTTLE_BACKOFF, true);
    assert_int_equal(throttle_window(&t), 3);
    for (int i = 0; i < 20; i++) {
        throttle_start(&t, T0, 0, 1);
        throttle_done(&t, THROTTLE_BACKOFF, true);
    }
    assert_int_equal(throttle_window(&t), 1);            /* never below one */
    /* Growth: one place per window's worth of successes. */
    throttle_start(&t, T0, 0, 1);
    throttle_done(&t, THROTTLE_OK, true);
    assert_int_equal(throttle_window(&t), 2);
    throttle_start(&t, T0, 0, 1);
    throttle_done(&t, THROTTLE_OK, true);
    assert_int_equal(throttle_window(&t), 2);
    throttle_start(&t, T0, 0, 1);
    throttle_done(&t, THROTTLE_OK, true);
    assert_int_equal(throttle_window(&t), 3);
    for (int i = 0; i < 1000; i++) {
        throttle_start(&t, T0, 0, 1);
        throttle_done(&t, THROTTLE_OK, true);
    }
    assert_int_equal(throttle_window(&t), 8);            /* never above the configuration */
    assert_int_equal(t.in_flight, 0);
}

static void test_throttle_unsent_gives_back_quota(void **state)
{
    struct throttle t;
    throttle_init(&t, 1000, 10, 2, T0);
    long day = throttle_day(T0, VN);
    throttle_start(&t, T0, day, 1);
    throttle_done(&t, THROTTLE_OK, false);
    assert_int_equal(t.used_today, 0);
    assert_int_equal(throttle_window(&t), 10);
}

static void test_throttle_quota_rolls_over_at_local_midnight(void **state)
{
    /* 2026-05-01 16:59:59 UTC is 23:59:59 in Vietnam; one second later is the next local day. */
    const int64_t before = 1777654799000LL, after = 1777654800000LL;
    long d1 = throttle_day(before, VN), d2 = throttle_day(after, VN);
    assert_int_equal(d2, d1 + 1);
    assert_int_equal(throttle_day(before, 0), throttle_day(after, 0));   /* UTC: same day */

    struct throttle t;
    throttle_init(&t, 1000, 100, 3, before - 10000);
    long n = 0;
    for (int64_t now = before - 10000; now <= before; now += 100) {
        int room = throttle_room(&t, now, d1);
        for (int i = 0; i < room; i++, n++) {
            throttle_start(&t, now, d1, 1);
            throttle_done(&t, THROTTLE_OK, true);
        }
    }
    assert_int_equal(n, 3);
    assert_int_equal(throttle_room(&t, before, d1), 0);
    assert_int_equal(throttle_wait_ms(&t, before, d1), -1);
    assert_int_equal(throttle_room(&t, after, d2), 3);
    assert_int_equal(t.used_today, 0);
}

static void test_throttle_quota_restored_after_restart(void **state)
{
    struct throttle t;
    throttle_init(&t, 1000, 100, 10, T0);
    long day = throttle_day(T0, VN);
    throttle_quota_restore(&t, day, 8);
    assert_int_equal(throttle_room(&t, T0, day), 2);
    /* A count of yesterday is ignored. */
    throttle_quota_restore(&t, day - 1, 10);
    assert_int_equal(throttle_room(&t, T0, day), 2);
    /* The next day starts empty. */
    assert_int_equal(throttle_room(&t, T0, day + 1), 10);
}

static void test_throttle_pause(void **state)
{
    struct throttle t;
    throttle_init(&t, 1000, 10, 0, T0);
    throttle_pause(&t, T0 + 5000);
    assert_true(throttle_paused(&t, T0));
    assert_int_equal(throttle_room(&t, T0 + 4999, 0), 0);
    assert_int_equal(throttle_wait_ms(&t, T0 + 1000, 0), 4000);
    throttle_pause(&t, T0 + 2000);      /* an earlier end does not shorten it */
    assert_int_equal(throttle_room(&t, T0 + 3000, 0), 0);
    assert_false(throttle_paused(&t, T0 + 5000));
    assert_int_equal(throttle_room(&t, T0 + 5000, 0), 10);
}

static void test_throttle_rate_halves_on_throttling_and_grows_back(void **state)
{
    struct throttle t;
    throttle_init(&t, 100, 10, 0, T0);
    assert_true(throttle_slow_down(&t, T0));
    assert_true(t.rate == 50);
    /* The other answers of the same burst, within a second, do not cut again. */
    assert_false(throttle_slow_down(&t, T0 + 500));
    assert_true(t.rate == 50);
    assert_true(throttle_slow_down(&t, T0 + 1000));
    assert_true(t.rate == 25);
    /* Never below rate_max / 64, however long the throttling lasts. */
    for (int i = 2; i < 20; i++)
        throttle_slow_down(&t, T0 + i * 1000LL);
    assert_true(t.rate >= 100.0 / 64 - 1e-9);
    /* Then back to the configured rate, additively: a sender that gets every answer right
     * at once is at the full rate again within about ten seconds. */
    int64_t from = T0 + 30000;
    run_sender(&t, from, 3000, 1);
    assert_true(t.rate > 100.0 / 64 && t.rate < 100);
    run_sender(&t, from + 3000, 12000, 1);
    assert_true(t.rate == 100);
    long n = run_sender(&t, from + 15000, 1000, 1);
    assert_in_range(n, 95, 111);
}

static void test_throttle_rate_cut_slows_the_bucket(void **state)
{
    struct throttle t;
    throttle_init(&t, 100, 1000, 0, T0);
    run_sender(&t, T0, 1000, 1);
    throttle_slow_down(&t, T0 + 1000);
    /* No success comes back (answers counted as throttling too), so the rate stays halved. */
    long started = 0;
    for (int64_t now = T0 + 1000; now < T0 + 3000; now++) {
        long day = throttle_day(now, VN);
        int room = throttle_room(&t, now, day);
        for (int i = 0; i < room; i++) {
            throttle_start(&t, now, day, 1);
            throttle_done(&t, THROTTLE_BACKOFF, true);
            started++;
        }
    }
    assert_in_range(started, 95, 106);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_throttle_rate_over_one_second),
        cmocka_unit_test(test_throttle_rate_counts_parts),
        cmocka_unit_test(test_throttle_set_rate_applies_at_once_and_keeps_what_is_in_flight),
        cmocka_unit_test(test_throttle_rate_lowered_by_a_reload_stays_lowered),
        cmocka_unit_test(test_throttle_burst_is_a_tenth_of_the_rate),
        cmocka_unit_test(test_throttle_long_message_borrows),
        cmocka_unit_test(test_throttle_window_limits_in_flight),
        cmocka_unit_test(test_throttle_window_shrinks_and_grows_within_bounds),
        cmocka_unit_test(test_throttle_unsent_gives_back_quota),
        cmocka_unit_test(test_throttle_quota_rolls_over_at_local_midnight),
        cmocka_unit_test(test_throttle_quota_restored_after_restart),
        cmocka_unit_test(test_throttle_pause),
        cmocka_unit_test(test_throttle_rate_halves_on_throttling_and_grows_back),
        cmocka_unit_test(test_throttle_rate_cut_slows_the_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
