/* The circuit breaker of a gateway on a simulated clock: it opens after N faults in a row,
 * sends nothing but one probe at a time with a doubling back-off, and closes on a success. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateways/breaker.h"

#define T0 1777600000000LL

static void test_breaker_opens_after_n_faults_in_a_row(void **state)
{
    struct breaker b;
    breaker_init(&b, 3, 5, 300);
    assert_int_equal(breaker_room(&b, T0), -1);
    assert_false(breaker_record(&b, true, "auth: smsbox 403", T0));
    assert_false(breaker_record(&b, true, "auth: smsbox 403", T0));
    /* A success in between starts the count again: two failures are not an outage. */
    assert_false(breaker_record(&b, false, "", T0));
    assert_false(breaker_record(&b, true, "x", T0));
    assert_false(breaker_record(&b, true, "x", T0));
    assert_int_equal(b.state, BREAKER_CLOSED);
    assert_true(breaker_record(&b, true, "auth: smsbox 403", T0 + 10));
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_string_equal(b.reason, "auth: smsbox 403");
    assert_string_equal(breaker_state_name(b.state), "open");
    /* Nothing is sent until the first probe is due, five seconds later. */
    assert_int_equal(breaker_room(&b, T0 + 10), 0);
    assert_int_equal(breaker_wait_ms(&b, T0 + 10), 5000);
    assert_int_equal(breaker_room(&b, T0 + 5009), 0);
    assert_int_equal(breaker_room(&b, T0 + 5010), 1);
    /* Answers of messages sent before it opened change nothing. */
    assert_false(breaker_record(&b, true, "late", T0 + 20));
    assert_string_equal(b.reason, "auth: smsbox 403");
}

static void test_breaker_probes_one_at_a_time_with_back_off(void **state)
{
    struct breaker b;
    breaker_init(&b, 1, 5, 30);
    breaker_record(&b, true, "unreachable", T0);
    int64_t now = T0;
    int want[] = {5, 10, 20, 30, 30};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(breaker_wait_ms(&b, now), want[i] * 1000LL);
        now += want[i] * 1000LL;
        assert_int_equal(breaker_room(&b, now), 1);
        assert_true(breaker_probe_started(&b));
        assert_int_equal(b.state, BREAKER_HALF_OPEN);
        /* The probe goes alone. */
        assert_int_equal(breaker_room(&b, now), 0);
        assert_int_equal(breaker_wait_ms(&b, now), -1);
        assert_false(breaker_probe_started(&b));
        assert_true(breaker_record(&b, true, "unreachable", now));
        assert_int_equal(b.state, BREAKER_OPEN);
    }
    now += 30000;
    breaker_probe_started(&b);
    assert_true(breaker_record(&b, false, "", now));
    assert_int_equal(b.state, BREAKER_CLOSED);
    assert_int_equal(breaker_room(&b, now), -1);
    assert_int_equal(b.failures, 0);
    /* The next outage starts from the shortest back-off again. */
    assert_true(breaker_record(&b, true, "timeout", now));
    assert_int_equal(breaker_wait_ms(&b, now), 5000);
}

static void test_breaker_restored_open_is_probed_at_once(void **state)
{
    struct breaker b;
    breaker_init(&b, 5, 5, 300);
    enum breaker_state st;
    assert_int_equal(breaker_state_parse("half_open", &st), 0);
    assert_int_equal(breaker_state_parse("ajar", &st), -1);
    breaker_restore(&b, BREAKER_HALF_OPEN, "auth: smsbox 403", T0);
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(breaker_room(&b, T0), 1);
    /* Its probe failing opens it for the doubled back-off, not after five more faults. */
    breaker_probe_started(&b);
    assert_true(breaker_record(&b, true, "auth: smsbox 403", T0));
    assert_int_equal(breaker_wait_ms(&b, T0), 10000);
    breaker_restore(&b, BREAKER_CLOSED, "", T0);
    assert_int_equal(b.state, BREAKER_CLOSED);
}

static void test_breaker_configured_anew_keeps_its_state(void **state)
{
    struct breaker b;
    breaker_init(&b, 5, 5, 300);
    breaker_record(&b, true, "x", T0);
    breaker_record(&b, true, "x", T0);
    /* Two faults in a row, then the threshold comes down to two: the next fault opens it. */
    breaker_configure(&b, 2, 1, 4);
    assert_int_equal(b.state, BREAKER_CLOSED);
    assert_int_equal(b.failures, 2);
    assert_true(breaker_record(&b, true, "x", T0));
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(breaker_wait_ms(&b, T0), 1000);
    /* Open, with a back-off grown past the new maximum: the probe already set stays, the next
     * back-off is within the new bounds. */
    for (int i = 0; i < 3; i++) {
        breaker_probe_started(&b);
        breaker_record(&b, true, "x", T0);
    }
    assert_int_equal(b.probe_delay_s, 4);
    breaker_configure(&b, 2, 1, 2);
    assert_int_equal(b.state, BREAKER_OPEN);
    assert_int_equal(breaker_wait_ms(&b, T0), 4000);
    assert_int_equal(b.probe_delay_s, 2);
    breaker_probe_started(&b);
    breaker_record(&b, true, "x", T0);
    assert_int_equal(breaker_wait_ms(&b, T0), 2000);
    /* Bad values are brought to the nearest sane ones, as at start. */
    breaker_configure(&b, 0, 10, 3);
    assert_int_equal(b.threshold, 1);
    assert_int_equal(b.probe_min_s, 10);
    assert_int_equal(b.probe_max_s, 10);
    assert_int_equal(b.probe_delay_s, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breaker_opens_after_n_faults_in_a_row),
        cmocka_unit_test(test_breaker_probes_one_at_a_time_with_back_off),
        cmocka_unit_test(test_breaker_restored_open_is_probed_at_once),
        cmocka_unit_test(test_breaker_configured_anew_keeps_its_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
