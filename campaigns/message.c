#include "campaigns/message.h"
#include "core/pgarray.h"

#include <stdio.h>
#include <string.h>

static const char *const names[MSG_NSTATES] = {
    "pending", "leased", "submitted", "delivered", "undelivered", "retry_wait",
    "failed", "in_doubt", "fallback", "suppressed", "expired", "cancelled",
};

/* Every legal change of state, with the reason it exists. This is the one statement of the
 * state machine: tools/gen_transitions.c writes it into the table message_transitions at build
 * time, and the trigger on messages (sql/functions/10_messages.sql) refuses any other change. */
static const struct msg_transition edges[] = {
    {MSG_PENDING, MSG_LEASED, "the dispatcher leases it to submit it"},
    {MSG_PENDING, MSG_SUPPRESSED, "opted out or over the frequency cap since it was materialised"},
    {MSG_PENDING, MSG_EXPIRED, "the campaign ended before it could be sent"},
    {MSG_PENDING, MSG_CANCELLED, "the campaign was cancelled"},
    {MSG_PENDING, MSG_FALLBACK,
     "its gateway is paused past the sending window or its step was stopped: the next channel takes over"},
    {MSG_PENDING, MSG_FAILED,
     "its step was stopped (its template refused, say) and no further channel remains: it never will be sent"},
    {MSG_LEASED, MSG_SUBMITTED, "the gateway accepted it"},
    {MSG_LEASED, MSG_RETRY_WAIT, "a temporary failure: it is sent again after a back-off"},
    {MSG_LEASED, MSG_FAILED, "the gateway refused it for good, or it fell back with no further channel"},
    {MSG_LEASED, MSG_FALLBACK, "the gateway cannot reach the citizen: the next channel takes over"},
    {MSG_LEASED, MSG_IN_DOUBT, "the answer of the submission was lost: the gateway may have taken it"},
    {MSG_LEASED, MSG_PENDING,
     "the lease was returned unsent at shutdown, or expired on a gateway that de-duplicates resends"},
    {MSG_LEASED, MSG_SUPPRESSED, "a stop arrived while it was leased"},
    {MSG_LEASED, MSG_DELIVERED, "a gateway that knows the outcome at once"},
    {MSG_LEASED, MSG_EXPIRED, "the campaign ended while it was leased"},
    {MSG_LEASED, MSG_CANCELLED,
     "the campaign was cancelled while it waited in the dispatcher's queue, never handed to a gateway"},
    {MSG_SUBMITTED, MSG_DELIVERED, "a delivery report or receipt"},
    {MSG_SUBMITTED, MSG_UNDELIVERED, "a delivery report"},
    {MSG_SUBMITTED, MSG_FALLBACK, "no receipt in time: the next channel takes over"},
    {MSG_RETRY_WAIT, MSG_LEASED, "leased again once its back-off is over"},
    {MSG_RETRY_WAIT, MSG_SUPPRESSED, "opted out while it waited"},
    {MSG_RETRY_WAIT, MSG_EXPIRED, "the campaign ended while it waited"},
    {MSG_RETRY_WAIT, MSG_CANCELLED, "the campaign was cancelled while it waited"},
    {MSG_RETRY_WAIT, MSG_DELIVERED,
     "the report of an earlier attempt arrived while the resend waits: the provider took it (Zalo sends one "
     "receipt per tracking id, eSMS answers a repeated RequestId as a duplicate, Kannel would send it twice)"},
    {MSG_RETRY_WAIT, MSG_FALLBACK,
     "its gateway is paused past the sending window or its step was stopped: the next channel takes over"},
    {MSG_RETRY_WAIT, MSG_FAILED,
     "its step was stopped (its template refused, say) and no further channel remains: it never will be sent"},
    {MSG_IN_DOUBT, MSG_LEASED, "resent with the same idempotency key"},
    {MSG_IN_DOUBT, MSG_SUBMITTED,
     "a report that is not final (the SMSC's acknowledgement, Kannel type 8) shows the gateway took it"},
    {MSG_IN_DOUBT, MSG_DELIVERED, "a late report settles it"},
    {MSG_IN_DOUBT, MSG_UNDELIVERED, "a late report settles it"},
    {MSG_IN_DOUBT, MSG_FAILED, "settled as failed: no resend can help"},
    {MSG_IN_DOUBT, MSG_EXPIRED, "the campaign ended before it was settled"},
    {MSG_IN_DOUBT, MSG_PENDING,
     "an operator resends it (loa campaign resend --in-doubt): no report of it came, while one came for a "
     "message handed to the same gateway after it, which asks for the SMSC's acknowledgement"},
    {MSG_UNDELIVERED, MSG_FALLBACK, "the next channel may still reach the citizen"},
    {MSG_FALLBACK, MSG_DELIVERED,
     "a Zalo receipt after the receipt time-out: the citizen was reached, and the next channel's "
     "message, if still unsent, is removed in the same statement"},
};
#define NEDGES (sizeof edges / sizeof edges[0])

const struct msg_transition *message_transitions(size_t *n)
{
    *n = NEDGES;
    return edges;
}

const char *message_state_name(enum msg_state s)
{
    return (unsigned)s < MSG_NSTATES ? names[s] : "?";
}

int message_state_parse(const char *name, enum msg_state *out)
{
    for (int i = 0; i < MSG_NSTATES; i++)
        if (strcmp(names[i], name) == 0) {
            *out = (enum msg_state)i;
            return 0;
        }
    return -1;
}

bool message_transition_ok(enum msg_state from, enum msg_state to)
{
    for (size_t i = 0; i < NEDGES; i++)
        if (edges[i].from == from && edges[i].to == to)
            return true;
    return false;
}

bool message_state_final(enum msg_state s)
{
    if ((unsigned)s >= MSG_NSTATES)
        return false;
    for (size_t i = 0; i < NEDGES; i++)
        if (edges[i].from == s)
            return false;
    return true;
}

const char *message_outcome_name(enum msg_state s)
{
    switch (s) {
    case MSG_PENDING:
    case MSG_LEASED:
    case MSG_RETRY_WAIT:
        return "pending";
    case MSG_FALLBACK:
        return NULL;
    default:
        return message_state_name(s);
    }
}

/* The states that may move to TO, leased ones left out when WAITING. */
static const char *states_into(enum msg_state to, bool waiting)
{
    static char lists[2][MSG_NSTATES][200];
    if ((unsigned)to >= MSG_NSTATES)
        return "{}";
    char *l = lists[waiting][to];
    if (!l[0]) {
        struct pgarray a;
        pgarray_init(&a);
        for (int f = 0; f < MSG_NSTATES; f++)
            if (message_transition_ok((enum msg_state)f, to) && !(waiting && f == MSG_LEASED))
                pgarray_text(&a, names[f]);
        snprintf(l, sizeof lists[0][0], "%s", pgarray_end(&a));
        pgarray_free(&a);
    }
    return l;
}

const char *message_states_into(enum msg_state to) { return states_into(to, false); }
const char *message_states_waiting_into(enum msg_state to) { return states_into(to, true); }
