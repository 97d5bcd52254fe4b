#include "campaigns/message.h"

#include <stdio.h>
#include <string.h>

static const char *const names[MSG_NSTATES] = {
    "pending", "leased", "submitted", "delivered", "undelivered", "retry_wait",
    "failed", "in_doubt", "fallback", "suppressed", "expired", "cancelled",
};

#define B(s) (1u << (s))
/* allowed[from] is the set of states FROM may move to. Why each edge exists:
 *  pending → leased (dispatcher), suppressed (opted out / capped since materialised),
 *            expired (campaign ended), cancelled, fallback (its gateway is paused past the
 *            sending window or its step was stopped: the next channel takes over).
 *  leased  → submitted / retry_wait / failed / fallback / in_doubt (the gateway's answer),
 *            pending (lease returned unsent at shutdown), suppressed (stop arrived meanwhile),
 *            delivered (a gateway that knows at once), expired.
 *  submitted → delivered / undelivered (reports), fallback (no receipt in time).
 *  retry_wait → leased, suppressed, expired, cancelled, fallback (as pending), delivered
 *            (the report of an earlier attempt arrives while the resend waits: Zalo sends one
 *            receipt per tracking id).
 *  in_doubt → leased (resend with the same idempotency key), delivered / undelivered (a late
 *            report settles it), failed, expired, cancelled.
 *  undelivered → fallback (the next channel may still reach the citizen).
 *  fallback → delivered (a Zalo receipt after the receipt time-out: the citizen was reached, and
 *            the next channel's message, if still unsent, is removed in the same statement). */
static const unsigned allowed[MSG_NSTATES] = {
    [MSG_PENDING] = B(MSG_LEASED) | B(MSG_SUPPRESSED) | B(MSG_EXPIRED) | B(MSG_CANCELLED) |
                    B(MSG_FALLBACK),
    [MSG_LEASED] = B(MSG_SUBMITTED) | B(MSG_RETRY_WAIT) | B(MSG_FAILED) | B(MSG_FALLBACK) |
                   B(MSG_IN_DOUBT) | B(MSG_PENDING) | B(MSG_SUPPRESSED) | B(MSG_DELIVERED) |
                   B(MSG_EXPIRED),
    [MSG_SUBMITTED] = B(MSG_DELIVERED) | B(MSG_UNDELIVERED) | B(MSG_FALLBACK),
    [MSG_RETRY_WAIT] = B(MSG_LEASED) | B(MSG_SUPPRESSED) | B(MSG_EXPIRED) | B(MSG_CANCELLED) |
                       B(MSG_DELIVERED) | B(MSG_FALLBACK),
    [MSG_IN_DOUBT] = B(MSG_LEASED) | B(MSG_DELIVERED) | B(MSG_UNDELIVERED) | B(MSG_FAILED) |
                     B(MSG_EXPIRED) | B(MSG_CANCELLED),
    [MSG_UNDELIVERED] = B(MSG_FALLBACK),
    [MSG_FALLBACK] = B(MSG_DELIVERED),
};

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
    if ((unsigned)from >= MSG_NSTATES || (unsigned)to >= MSG_NSTATES)
        return false;
    return (allowed[from] & B(to)) != 0;
}

bool message_state_final(enum msg_state s)
{
    return (unsigned)s < MSG_NSTATES && allowed[s] == 0;
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

const char *message_states_into(enum msg_state to)
{
    static char lists[MSG_NSTATES][160];
    if ((unsigned)to >= MSG_NSTATES)
        return "{}";
    if (!lists[to][0]) {
        size_t n = 0;
        n += (size_t)snprintf(lists[to] + n, sizeof lists[to] - n, "{");
        for (int f = 0; f < MSG_NSTATES; f++)
            if (allowed[f] & B(to))
                n += (size_t)snprintf(lists[to] + n, sizeof lists[to] - n, "%s%s",
                                      lists[to][n - 1] == '{' ? "" : ",", names[f]);
        snprintf(lists[to] + n, sizeof lists[to] - n, "}");
    }
    return lists[to];
}
