/* The dispatcher's decisions: a gateway's answer → the message's next state, the back-off, the
 * throttle feedback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/outcome.h"

static struct gw_result result(enum gw_outcome o, const char *reason)
{
    struct gw_result r;
    memset(&r, 0, sizeof r);
    r.outcome = o;
    r.quota_remaining = -1;
    snprintf(r.reason, sizeof r.reason, "%s", reason);
    return r;
}

static void test_backoff_doubles_and_clamps(void **state)
{
    /* jitter 0.999… gives the full value, 0 gives half (but never below the minimum). */
    assert_int_equal(outcome_backoff_s(1, 30, 3600, 0.9999999), 30);
    assert_int_equal(outcome_backoff_s(1, 30, 3600, 0.0), 30);
    assert_int_equal(outcome_backoff_s(2, 30, 3600, 0.9999999), 59);
    assert_int_equal(outcome_backoff_s(3, 30, 3600, 0.0), 60);
    assert_int_equal(outcome_backoff_s(4, 30, 3600, 0.5), 180);
    assert_int_equal(outcome_backoff_s(20, 30, 3600, 0.0), 1800);
    assert_int_equal(outcome_backoff_s(20, 30, 3600, 0.9999999), 3599);
    assert_int_equal(outcome_backoff_s(1000, 30, 3600, 0.5), 2700);   /* no overflow */
    for (int a = 1; a < 40; a++)
        for (double j = 0; j < 1; j += 0.1) {
            int s = outcome_backoff_s(a, 30, 3600, j);
            assert_in_range(s, 30, 3600);
        }
    /* Nonsense bounds are repaired rather than trusted. */
    assert_int_equal(outcome_backoff_s(0, 0, 0, 0.5), 1);
}

static void test_outcome_accepted_and_delivered(void **state)
{
    struct outcome o;
    struct gw_result r = result(GW_ACCEPTED, "");
    outcome_decide(&r, 1, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.state, MSG_SUBMITTED);
    assert_int_equal(o.feedback, THROTTLE_OK);
    assert_true(o.sent);
    r = result(GW_DELIVERED, "");
    outcome_decide(&r, 1, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.state, MSG_DELIVERED);
    assert_true(message_transition_ok(MSG_LEASED, o.state));
}

static void test_outcome_tempfail_retries_then_fails(void **state)
{
    struct outcome o;
    struct gw_result r = result(GW_TEMPFAIL, "smsbox 503: Temporal failure");
    outcome_decide(&r, 1, 3, 30, 3600, 0.0, &o);
    assert_int_equal(o.state, MSG_RETRY_WAIT);
    assert_int_equal(o.delay_s, 30);
    assert_int_equal(o.feedback, THROTTLE_TEMPFAIL);
    assert_false(o.sent);
    outcome_decide(&r, 2, 3, 30, 3600, 0.0, &o);
    assert_int_equal(o.state, MSG_RETRY_WAIT);
    assert_int_equal(o.delay_s, 30);
    outcome_decide(&r, 3, 3, 30, 3600, 0.0, &o);
    assert_int_equal(o.state, MSG_FAILED);
    assert_string_equal(o.reason, "gave up after 3 attempts: smsbox 503: Temporal failure");
    /* A gateway's own retry-after wins, within the bounds. */
    r.retry_after_s = 90;
    outcome_decide(&r, 1, 3, 30, 3600, 0.0, &o);
    assert_int_equal(o.delay_s, 90);
    r.retry_after_s = 99999;
    outcome_decide(&r, 1, 3, 30, 3600, 0.0, &o);
    assert_int_equal(o.delay_s, 3600);
}

static void test_outcome_other_answers(void **state)
{
    struct outcome o;
    struct gw_result r = result(GW_PERMFAIL, "smsbox 403: Authorization failed");
    outcome_decide(&r, 1, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.state, MSG_FAILED);
    assert_string_equal(o.reason, "smsbox 403: Authorization failed");
    assert_false(o.sent);
    r = result(GW_IN_DOUBT, "no answer");
    outcome_decide(&r, 1, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.state, MSG_IN_DOUBT);
    assert_true(o.sent);     /* it may have gone: it counts against the quota */
    r = result(GW_FALLBACK, "no zalo account");
    r.no_zalo_account = true;
    outcome_decide(&r, 1, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.state, MSG_FALLBACK);
    assert_true(message_transition_ok(MSG_LEASED, o.state));
    r = result(GW_TEMPFAIL, "rate limit");
    r.action = GW_ACT_BACKOFF;
    outcome_decide(&r, 1, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.feedback, THROTTLE_BACKOFF);
    assert_string_equal(gateway_outcome_name(GW_IN_DOUBT), "in_doubt");
}

/* R waits, however many attempts it has had past MAX_ATTEMPTS. */
static void assert_waits_past_the_attempts(const struct gw_result *r, int max_attempts)
{
    struct outcome o;
    for (int attempts = 1; attempts <= 20; attempts++) {
        outcome_decide(r, attempts, max_attempts, 30, 3600, 0.5, &o);
        assert_int_equal(o.state, MSG_RETRY_WAIT);
        assert_false(o.sent);
        assert_in_range(o.delay_s, 30, 3600);
    }
}

static void test_outcome_gateway_fault_never_fails_the_message(void **state)
{
    struct outcome o;
    struct gw_result r = result(GW_TEMPFAIL, "smsbox 403: Authorization failed");
    r.fault = GW_FAULT_AUTH;
    assert_waits_past_the_attempts(&r, 5);
    /* Without the fault the same answer fails at the last attempt. */
    r.fault = GW_FAULT_NONE;
    outcome_decide(&r, 5, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.state, MSG_FAILED);
}

static void test_outcome_slow_down_never_fails_the_message(void **state)
{
    struct gw_result r = result(GW_TEMPFAIL, "smsbox 503: Temporal failure, try again later.");
    r.action = GW_ACT_BACKOFF;
    assert_waits_past_the_attempts(&r, 1);
}

static void test_outcome_unknown_zalo_code_falls_back_after_the_retries(void **state)
{
    struct outcome o;
    struct gw_result r = result(GW_TEMPFAIL, "zalo -999: unknown error");
    r.fallback_when_spent = true;
    outcome_decide(&r, 4, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.state, MSG_RETRY_WAIT);
    outcome_decide(&r, 5, 5, 30, 3600, 0.5, &o);
    assert_int_equal(o.state, MSG_FALLBACK);
    assert_non_null(strstr(o.reason, "after 5 attempts: zalo -999"));
}

static void test_outcome_states_are_legal_from_leased(void **state)
{
    for (int oc = GW_ACCEPTED; oc <= GW_IN_DOUBT; oc++)
        for (int a = 1; a <= 6; a++) {
            struct outcome o;
            struct gw_result r = result((enum gw_outcome)oc, "x");
            outcome_decide(&r, a, 5, 30, 3600, 0.3, &o);
            if (!message_transition_ok(MSG_LEASED, o.state))
                fail_msg("outcome %d attempt %d: leased → %s is not legal", oc, a, message_state_name(o.state));
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_and_clamps),
        cmocka_unit_test(test_outcome_accepted_and_delivered),
        cmocka_unit_test(test_outcome_tempfail_retries_then_fails),
        cmocka_unit_test(test_outcome_other_answers),
        cmocka_unit_test(test_outcome_gateway_fault_never_fails_the_message),
        cmocka_unit_test(test_outcome_slow_down_never_fails_the_message),
        cmocka_unit_test(test_outcome_unknown_zalo_code_falls_back_after_the_retries),
        cmocka_unit_test(test_outcome_states_are_legal_from_leased),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
