#ifndef LOA_MESSAGE_H
#define LOA_MESSAGE_H
#include <stdbool.h>

#include <stddef.h>

/* The states of a message (docs/design.md "Message states"). The legal changes are the table of
 * message.c, which the database holds too (message_transitions, generated from it at build
 * time): the trigger on messages refuses any other change, and the SQL that writes a state
 * names the source states in its WHERE clause, so a late or duplicated event cannot move a
 * message backwards. */
enum msg_state {
    MSG_PENDING,
    MSG_LEASED,
    MSG_SUBMITTED,
    MSG_DELIVERED,
    MSG_UNDELIVERED,
    MSG_RETRY_WAIT,
    MSG_FAILED,
    MSG_IN_DOUBT,
    MSG_FALLBACK,
    MSG_SUPPRESSED,
    MSG_EXPIRED,
    MSG_CANCELLED,
    MSG_NSTATES
};

/* One legal change of state and why it exists. */
struct msg_transition {
    enum msg_state from, to;
    const char *reason;
};
/* Every legal change, *N of them (static storage). */
const struct msg_transition *message_transitions(size_t *n);

const char *message_state_name(enum msg_state s);
/* 0 and *OUT set, or -1 for an unknown name. */
int message_state_parse(const char *name, enum msg_state *out);
bool message_transition_ok(enum msg_state from, enum msg_state to);
/* Final states never change again. */
bool message_state_final(enum msg_state s);

/* The `outcomes` key of `campaign show` a state counts under, or NULL for `fallback` (the
 * citizen is counted by the message of the next channel instead). pending, leased and
 * retry_wait all count as "pending". */
const char *message_outcome_name(enum msg_state s);

/* The SQL array literal of the states that may move to TO, e.g. {"leased","in_doubt"}, for use
 * as a parameter in `WHERE state = ANY($n::text[])`. Static storage. */
const char *message_states_into(enum msg_state to);

/* The same without leased: the states of messages no dispatcher holds. A leased message may be
 * on its way to a gateway, so only the dispatcher that leased it moves it (a cancel leaves it
 * to the dispatcher, which cancels it only if it never handed it over). */
const char *message_states_waiting_into(enum msg_state to);

#endif
