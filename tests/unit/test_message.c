/* The message state machine: the edges design.md names are legal, nothing moves backwards,
 * and the outcome buckets of `campaign show` cover every state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "campaigns/message.h"

static void test_names_round_trip(void **state)
{
    for (int s = 0; s < MSG_NSTATES; s++) {
        enum msg_state back;
        assert_int_equal(message_state_parse(message_state_name((enum msg_state)s), &back), 0);
        assert_int_equal(back, s);
    }
    enum msg_state x;
    assert_int_equal(message_state_parse("sent", &x), -1);
    assert_int_equal(message_state_parse("", &x), -1);
}

static void test_the_main_path_is_legal(void **state)
{
    assert_true(message_transition_ok(MSG_PENDING, MSG_LEASED));
    assert_true(message_transition_ok(MSG_LEASED, MSG_SUBMITTED));
    assert_true(message_transition_ok(MSG_SUBMITTED, MSG_DELIVERED));
    assert_true(message_transition_ok(MSG_SUBMITTED, MSG_UNDELIVERED));
    assert_true(message_transition_ok(MSG_LEASED, MSG_RETRY_WAIT));
    assert_true(message_transition_ok(MSG_RETRY_WAIT, MSG_LEASED));
    assert_true(message_transition_ok(MSG_LEASED, MSG_IN_DOUBT));
    assert_true(message_transition_ok(MSG_IN_DOUBT, MSG_LEASED));
    assert_true(message_transition_ok(MSG_IN_DOUBT, MSG_PENDING));   /* loa campaign resend */
    assert_true(message_transition_ok(MSG_LEASED, MSG_FALLBACK));
    assert_true(message_transition_ok(MSG_SUBMITTED, MSG_FALLBACK));
    assert_true(message_transition_ok(MSG_FALLBACK, MSG_DELIVERED));
    assert_true(message_transition_ok(MSG_PENDING, MSG_SUPPRESSED));
    assert_true(message_transition_ok(MSG_PENDING, MSG_FALLBACK));
    assert_true(message_transition_ok(MSG_RETRY_WAIT, MSG_FALLBACK));
}

static void test_nothing_moves_backwards(void **state)
{
    /* A duplicated or late report must not undo a delivery or resurrect a final message. */
    for (int to = 0; to < MSG_NSTATES; to++) {
        assert_false(message_transition_ok(MSG_DELIVERED, (enum msg_state)to));
        assert_false(message_transition_ok(MSG_FAILED, (enum msg_state)to));
        assert_false(message_transition_ok(MSG_SUPPRESSED, (enum msg_state)to));
        assert_false(message_transition_ok(MSG_CANCELLED, (enum msg_state)to));
        assert_false(message_transition_ok(MSG_EXPIRED, (enum msg_state)to));
    }
    assert_false(message_transition_ok(MSG_SUBMITTED, MSG_PENDING));
    assert_false(message_transition_ok(MSG_SUBMITTED, MSG_LEASED));
    /* A message handed to the gateway can no longer be cancelled: it may already be on a phone. */
    assert_false(message_transition_ok(MSG_SUBMITTED, MSG_CANCELLED));
    /* Nor one in doubt: it may have reached the citizen, and stays shown as in doubt. */
    assert_false(message_transition_ok(MSG_IN_DOUBT, MSG_CANCELLED));
    assert_false(message_transition_ok(MSG_PENDING, MSG_SUBMITTED));
    assert_false(message_transition_ok((enum msg_state)-1, MSG_PENDING));
    assert_false(message_transition_ok(MSG_PENDING, MSG_NSTATES));
}

static void test_final_states(void **state)
{
    assert_true(message_state_final(MSG_DELIVERED));
    assert_true(message_state_final(MSG_FAILED));
    assert_true(message_state_final(MSG_CANCELLED));
    assert_false(message_state_final(MSG_PENDING));
    assert_false(message_state_final(MSG_IN_DOUBT));
    assert_false(message_state_final(MSG_FALLBACK));
}

static void test_outcome_buckets(void **state)
{
    static const char *const keys[] = {"pending", "submitted", "delivered", "undelivered", "failed",
                                       "in_doubt", "suppressed", "expired", "cancelled"};
    for (int s = 0; s < MSG_NSTATES; s++) {
        const char *o = message_outcome_name((enum msg_state)s);
        if (s == MSG_FALLBACK) {
            assert_null(o);
            continue;
        }
        bool found = false;
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            found |= strcmp(keys[k], o) == 0;
        assert_true(found);
    }
    assert_string_equal(message_outcome_name(MSG_LEASED), "pending");
    assert_string_equal(message_outcome_name(MSG_RETRY_WAIT), "pending");
}

static void test_states_into_lists_the_sources(void **state)
{
    assert_string_equal(message_states_into(MSG_CANCELLED), "{\"pending\",\"leased\",\"retry_wait\"}");
    /* A cancel never takes a leased message from its dispatcher. */
    assert_string_equal(message_states_waiting_into(MSG_CANCELLED), "{\"pending\",\"retry_wait\"}");
    assert_string_equal(message_states_into(MSG_LEASED), "{\"pending\",\"retry_wait\",\"in_doubt\"}");
    /* Submitted from a lease's answer, or from in doubt by the SMSC's acknowledgement. */
    assert_string_equal(message_states_into(MSG_SUBMITTED), "{\"leased\",\"in_doubt\"}");
    assert_string_equal(message_states_into(MSG_NSTATES), "{}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_the_main_path_is_legal),
        cmocka_unit_test(test_nothing_moves_backwards),
        cmocka_unit_test(test_final_states),
        cmocka_unit_test(test_outcome_buckets),
        cmocka_unit_test(test_states_into_lists_the_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
