/* Campaign lifecycle table, command-line times and channel specs, the statistics' arithmetic,
 * and API tokens: the pure logic behind the campaign commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "campaigns/campaign.h"
#include "campaigns/message.h"
#include "campaigns/stats.h"
#include "campaigns/users.h"

/* ---- statuses ---- */

static void test_campaign_transitions_are_exactly_the_table(void **state)
{
    /* expected[from] lists the legal targets, by initial letter: d s r p c(ompleted) x(cancelled) */
    static const char *const expected[CAMP_NSTATUS] = {
        [CAMP_DRAFT] = "sx",
        [CAMP_SCHEDULED] = "rpcx",
        [CAMP_RUNNING] = "pcx",
        [CAMP_PAUSED] = "srcx",
        [CAMP_COMPLETED] = "r",   /* only to resend what provably never reached a gateway */
        [CAMP_CANCELLED] = "",
    };
    static const char letter[CAMP_NSTATUS] = {'d', 's', 'r', 'p', 'c', 'x'};
    for (int f = 0; f < CAMP_NSTATUS; f++)
        for (int t = 0; t < CAMP_NSTATUS; t++) {
            bool want = strchr(expected[f], letter[t]) != NULL;
            if (campaign_transition_ok((enum campaign_status)f, (enum campaign_status)t) != want)
                fail_msg("%s -> %s should be %s", campaign_status_name((enum campaign_status)f),
                         campaign_status_name((enum campaign_status)t), want ? "legal" : "illegal");
        }
}

static void test_campaign_final_statuses_and_bounds(void **state)
{
    assert_true(campaign_status_final(CAMP_COMPLETED));
    assert_true(campaign_status_final(CAMP_CANCELLED));
    for (int s = CAMP_DRAFT; s <= CAMP_PAUSED; s++)
        assert_false(campaign_status_final((enum campaign_status)s));
    assert_false(campaign_transition_ok(CAMP_NSTATUS, CAMP_DRAFT));
    assert_false(campaign_transition_ok(CAMP_DRAFT, (enum campaign_status)-1));
    /* Nothing, not even a paused campaign, goes back to draft. */
    for (int s = 0; s < CAMP_NSTATUS; s++)
        assert_false(campaign_transition_ok((enum campaign_status)s, CAMP_DRAFT));
}

static void test_campaign_status_names_round_trip(void **state)
{
    for (int s = 0; s < CAMP_NSTATUS; s++) {
        enum campaign_status out;
        assert_int_equal(campaign_status_parse(campaign_status_name((enum campaign_status)s), &out), 0);
        assert_int_equal(out, s);
    }
    enum campaign_status out;
    assert_int_equal(campaign_status_parse("Draft", &out), -1);
    assert_int_equal(campaign_status_parse("", &out), -1);
    assert_int_equal(campaign_status_parse(NULL, &out), -1);
    assert_string_equal(campaign_status_name(CAMP_NSTATUS), "?");
}

/* ---- times ---- */

struct time_case {
    const char *in;
    int ok;
    const char *formatted;     /* campaign_time_format() when ok */
};

static const struct time_case time_cases[] = {
    {"2026-05-01", 1, "2026-05-01 00:00:00"},
    {"2026-05-01T07:00", 1, "2026-05-01 07:00:00"},
    {"2026-05-01 07:30", 1, "2026-05-01 07:30:00"},
    {"2026-05-01T07:00:59", 1, "2026-05-01 07:00:59"},
    {"2026-05-01T07:00Z", 1, "2026-05-01 07:00:00+00:00"},
    {"2026-05-01t07:00z", 1, "2026-05-01 07:00:00+00:00"},
    {"2026-05-01T07:00:00+07:00", 1, "2026-05-01 07:00:00+07:00"},
    {"2026-05-01T07:00:00+0700", 1, "2026-05-01 07:00:00+07:00"},
    {"2026-05-01T07:00+07", 1, "2026-05-01 07:00:00+07:00"},
    {"2026-05-01T07:00-05:30", 1, "2026-05-01 07:00:00-05:30"},
    {"2028-02-29", 1, "2028-02-29 00:00:00"},
    {"2000-02-29", 1, "2000-02-29 00:00:00"},
    {"2026-12-31T23:59:59+14:00", 1, "2026-12-31 23:59:59+14:00"},
    {"", 0, NULL},
    {"2026-5-01", 0, NULL},
    {"2026-05-1", 0, NULL},
    {"2026/05/01", 0, NULL},
    {"01/05/2026", 0, NULL},
    {"2026-13-01", 0, NULL},
    {"2026-00-10", 0, NULL},
    {"2026-04-31", 0, NULL},
    {"2026-02-29", 0, NULL},
    {"2100-02-29", 0, NULL},
    {"2026-05-00", 0, NULL},
    {"2026-05-01T24:00", 0, NULL},
    {"2026-05-01T07:60", 0, NULL},
    {"2026-05-01T07:00:60", 0, NULL},
    {"2026-05-01T7:00", 0, NULL},
    {"2026-05-01T07", 0, NULL},
    {"2026-05-01T07:00+15:00", 0, NULL},
    {"2026-05-01T07:00+07:60", 0, NULL},
    {"2026-05-01T07:00+7", 0, NULL},
    {"2026-05-01T07:00:00.5Z", 0, NULL},
    {"2026-05-01T07:00Z ", 0, NULL},
    {"2026-05-01Z", 0, NULL},
    {"1999-12-31", 0, NULL},
    {"tomorrow", 0, NULL},
};

static void test_campaign_time_parse_table(void **state)
{
    for (size_t i = 0; i < sizeof time_cases / sizeof time_cases[0]; i++) {
        const struct time_case *c = &time_cases[i];
        struct campaign_time t;
        int rc = campaign_time_parse(c->in, &t);
        if ((rc == 0) != c->ok)
            fail_msg("'%s': expected %s", c->in, c->ok ? "accepted" : "refused");
        if (c->ok) {
            char buf[64];
            campaign_time_format(&t, buf, sizeof buf);
            if (strcmp(buf, c->formatted) != 0)
                fail_msg("'%s': formatted '%s', expected '%s'", c->in, buf, c->formatted);
        }
    }
    struct campaign_time t;
    assert_int_equal(campaign_time_parse(NULL, &t), -1);
}

static void test_campaign_time_offset_sign_and_minutes(void **state)
{
    struct campaign_time t;
    assert_int_equal(campaign_time_parse("2026-05-01T07:00-03:30", &t), 0);
    assert_true(t.has_offset);
    assert_int_equal(t.offset_min, -210);
    assert_int_equal(campaign_time_parse("2026-05-01T07:00", &t), 0);
    assert_false(t.has_offset);
}

/* ---- channels ---- */

struct chan_case {
    const char *in;
    int n;                     /* steps, or -1 refused */
    const char *want;          /* "channel|gateway|template;…" when accepted */
    const char *err_has;       /* part of the error when refused */
};

static const struct chan_case chan_cases[] = {
    {"zalo:may_zns,sms:may_sms", 2, "zalo||may_zns;sms||may_sms;", NULL},
    {"sms:may_sms", 1, "sms||may_sms;", NULL},
    {"zalo:a", 1, "zalo||a;", NULL},
    {"sms@esms:tpl", 1, "sms|esms|tpl;", NULL},
    {"zalo@zalo_oa-2:z, sms@kannel:s", 2, "zalo|zalo_oa-2|z;sms|kannel|s;", NULL},
    {" sms : tpl with space ", 1, "sms||tpl with space;", NULL},
    {"sms:tpl:v2", 1, "sms||tpl:v2;", NULL},
    {"", -1, NULL, "no channels"},
    {"sms", -1, NULL, "CHANNEL:TEMPLATE"},
    {"sms:", -1, NULL, "no template"},
    {"sms:  ", -1, NULL, "no template"},
    {"email:x", -1, NULL, "unknown channel 'email'"},
    {"zns:x", -1, NULL, "unknown channel 'zns'"},
    {"SMS:x", -1, NULL, "unknown channel"},
    {":x", -1, NULL, "unknown channel ''"},
    {"sms:a,sms:b", -1, NULL, "named twice"},
    {"sms@a:x,sms@b:y", -1, NULL, "named twice"},
    {"zalo:a,sms:b,sms:c", -1, NULL, "more than 2"},
    {"zalo:a,", -1, NULL, "channel 2"},
    {",sms:a", -1, NULL, "channel 1"},
    {"sms@:x", -1, NULL, "bad gateway name"},
    {"sms@a b:x", -1, NULL, "bad gateway name"},
    {"sms@a;drop:x", -1, NULL, "bad gateway name"},
};

static void test_campaign_channels_parse_table(void **state)
{
    for (size_t i = 0; i < sizeof chan_cases / sizeof chan_cases[0]; i++) {
        const struct chan_case *c = &chan_cases[i];
        struct channel_spec st[CAMPAIGN_MAX_CHANNELS];
        int n = -7;
        char err[256] = "";
        int rc = campaign_channels_parse(c->in, st, &n, err, sizeof err);
        if (c->n < 0) {
            if (rc != -1)
                fail_msg("'%s' should be refused", c->in);
            if (!strstr(err, c->err_has))
                fail_msg("'%s': error '%s' should mention '%s'", c->in, err, c->err_has);
            continue;
        }
        if (rc != 0)
            fail_msg("'%s' refused: %s", c->in, err);
        assert_int_equal(n, c->n);
        char got[512] = "";
        for (int j = 0; j < n; j++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s|%s|%s;", st[j].channel,
                     st[j].gateway, st[j].template_name);
        if (strcmp(got, c->want) != 0)
            fail_msg("'%s': got '%s', expected '%s'", c->in, got, c->want);
    }
}

/* ---- statistics ---- */

static long long sum_outcomes(const struct campaign_stats *s)
{
    long long t = 0;
    for (int i = 0; i < STATS_NOUTCOMES; i++)
        t += s->outcomes[i];
    return t;
}

static void test_stats_outcomes_add_up_to_targeted_for_every_state(void **state)
{
    struct campaign_stats s = {0};
    long long n = 1, fallback = 0;
    for (int st = 0; st < MSG_NSTATES; st++, n *= 2) {
        const char *name = message_state_name((enum msg_state)st);
        assert_int_equal(campaign_stats_add(&s, st % 2 ? "sms" : "zalo", name, n, 0, 0), 0);
        if (st == MSG_FALLBACK)
            fallback = n;
    }
    long long all = (1LL << MSG_NSTATES) - 1;
    assert_int_equal(s.targeted, all - fallback);
    assert_int_equal(sum_outcomes(&s), s.targeted);
    /* pending, leased and retry_wait are all "pending" */
    assert_int_equal(s.outcomes[0], (1LL << MSG_PENDING) + (1LL << MSG_LEASED) + (1LL << MSG_RETRY_WAIT));
    assert_int_equal(s.channel[MSG_FALLBACK % 2 ? STATS_SMS : STATS_ZALO].fallback, fallback);
}

static void test_stats_channel_figures(void **state)
{
    struct campaign_stats s = {0};
    /* channel, state, n, parts, cost as CAMPAIGN_COUNTERS_SQL charges it (loa_charged(): a
     * submitted ZNS and a pending SMS cost nothing yet) */
    assert_int_equal(campaign_stats_add(&s, "zalo", "delivered", 10, 0, 2000), 0);
    assert_int_equal(campaign_stats_add(&s, "zalo", "submitted", 3, 0, 0), 0);
    assert_int_equal(campaign_stats_add(&s, "zalo", "fallback", 4, 0, 0), 0);
    assert_int_equal(campaign_stats_add(&s, "zalo", "failed", 1, 0, 0), 0);
    assert_int_equal(campaign_stats_add(&s, "sms", "delivered", 3, 6, 1500), 0);
    assert_int_equal(campaign_stats_add(&s, "sms", "undelivered", 1, 2, 500), 0);
    assert_int_equal(campaign_stats_add(&s, "sms", "in_doubt", 2, 2, 0), 0);
    assert_int_equal(campaign_stats_add(&s, "sms", "pending", 5, 9, 0), 0);
    assert_int_equal(campaign_stats_add(&s, "sms", "suppressed", 2, 0, 0), 0);

    assert_int_equal(s.targeted, 10 + 3 + 1 + 3 + 1 + 2 + 5 + 2);
    assert_int_equal(sum_outcomes(&s), s.targeted);
    const struct channel_stats *z = &s.channel[STATS_ZALO], *m = &s.channel[STATS_SMS];
    assert_int_equal(z->sent, 13);
    assert_int_equal(z->delivered, 10);
    assert_int_equal(z->failed, 1);
    assert_int_equal(z->fallback, 4);
    assert_int_equal(z->parts, 0);
    assert_int_equal(m->sent, 3 + 1 + 2);
    assert_int_equal(m->delivered, 3);
    assert_int_equal(m->failed, 1);          /* undelivered */
    assert_int_equal(m->parts, 6 + 2 + 2);   /* not the pending ones */
    assert_int_equal(s.cost_vnd, 2000 + 1500 + 500);
    assert_int_equal(z->cost_vnd, 2000);
    assert_int_equal(m->cost_vnd, 1500 + 500);
    assert_int_equal(s.outcomes[3], 1);      /* undelivered */
    assert_int_equal(s.outcomes[5], 2);      /* in_doubt */
    assert_int_equal(s.outcomes[6], 2);      /* suppressed */
}

static void test_stats_refuses_unknown_rows(void **state)
{
    struct campaign_stats s = {0};
    assert_int_equal(campaign_stats_add(&s, "email", "delivered", 1, 0, 0), -1);
    assert_int_equal(campaign_stats_add(&s, "sms", "bounced", 1, 0, 0), -1);
    assert_int_equal(campaign_stats_add(&s, NULL, "delivered", 1, 0, 0), -1);
    assert_int_equal(campaign_stats_add(&s, "sms", NULL, 1, 0, 0), -1);
    assert_int_equal(s.targeted, 0);
    assert_int_equal(s.channel[STATS_SMS].sent, 0);
}

static void test_stats_outcome_names_follow_the_state_machine(void **state)
{
    /* Every outcome name the state machine gives is one of the contract's keys. */
    for (int st = 0; st < MSG_NSTATES; st++) {
        const char *o = message_outcome_name((enum msg_state)st);
        if (!o)
            continue;
        int found = 0;
        for (int i = 0; i < STATS_NOUTCOMES; i++)
            found |= strcmp(o, stats_outcome_names[i]) == 0;
        if (!found)
            fail_msg("outcome '%s' of state %s is not a key", o, message_state_name((enum msg_state)st));
    }
}

/* ---- tokens ---- */

static void test_users_token_is_random_hex_and_hashed(void **state)
{
    char t1[USERS_TOKEN_HEX], s1[USERS_TOKEN_HEX], t2[USERS_TOKEN_HEX], s2[USERS_TOKEN_HEX];
    assert_int_equal(users_token_new(t1, s1), 0);
    assert_int_equal(users_token_new(t2, s2), 0);
    assert_int_equal(strlen(t1), 64);
    assert_int_equal(strlen(s1), 64);
    assert_int_equal(strspn(t1, "0123456789abcdef"), 64);
    assert_int_equal(strspn(s1, "0123456789abcdef"), 64);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(t1, s1);
    char again[USERS_TOKEN_HEX];
    users_token_hash(t1, again);
    assert_string_equal(again, s1);
    users_token_hash("abc", again);
    assert_string_equal(again, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_campaign_transitions_are_exactly_the_table),
        cmocka_unit_test(test_campaign_final_statuses_and_bounds),
        cmocka_unit_test(test_campaign_status_names_round_trip),
        cmocka_unit_test(test_campaign_time_parse_table),
        cmocka_unit_test(test_campaign_time_offset_sign_and_minutes),
        cmocka_unit_test(test_campaign_channels_parse_table),
        cmocka_unit_test(test_stats_outcomes_add_up_to_targeted_for_every_state),
        cmocka_unit_test(test_stats_channel_figures),
        cmocka_unit_test(test_stats_refuses_unknown_rows),
        cmocka_unit_test(test_stats_outcome_names_follow_the_state_machine),
        cmocka_unit_test(test_users_token_is_random_hex_and_hashed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
