#ifndef LOA_BREAKER_H
#define LOA_BREAKER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pgasync.h"

/* The circuit breaker of one gateway. Answers that say the gateway itself is down (refused
 * credentials, a moved endpoint, refused connections, time-outs, 5xx: enum gw_fault) that come
 * THRESHOLD times in a row open it: nothing more is sent, and the messages wait (pending or
 * retry_wait, never failed for that). While open the gateway is probed with one message at a
 * time, after a back-off that doubles from PROBE_MIN_S to PROBE_MAX_S; the first answer that is
 * not a fault closes it.
 *
 *   CLOSED --THRESHOLD faults in a row--> OPEN --probe due, one message sent--> HALF_OPEN
 *   HALF_OPEN --fault--> OPEN (back-off doubled)      OPEN|HALF_OPEN --any success--> CLOSED
 *
 * Pure logic on a clock given as an argument (tests drive a simulated one), plus the two
 * statements that share the state through the table gateway_breakers (sql/013_breakers.sql,
 * written only by loa_breaker_set() in sql/functions/60_gateways.sql): the daemon writes every
 * change of state, the CLI reads it. The struct is owned by the dispatcher's per-gateway state;
 * nothing here allocates. */

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
    enum breaker_state state;
    int threshold;          /* faults in a row that open it */
    int probe_min_s, probe_max_s;
    int probe_delay_s;      /* the back-off before the next probe */
    int failures;           /* faults in a row */
    int64_t probe_at_ms;    /* OPEN: the next probe may start then */
    char reason[160];       /* the answer that opened it (or of the last failed probe) */
};

void breaker_init(struct breaker *b, int threshold, int probe_min_s, int probe_max_s);
/* New settings (SIGHUP) for B in whatever state it is: an open circuit stays open and keeps its
 * next probe; the next back-off is brought within the new bounds, and a closed one opens at
 * the new threshold (at the next fault, if the faults in a row already reach it). */
void breaker_configure(struct breaker *b, int threshold, int probe_min_s, int probe_max_s);

/* "closed", "open", "half_open": for logs, the table and the CLI. */
const char *breaker_state_name(enum breaker_state s);
int breaker_state_parse(const char *name, enum breaker_state *out);

/* An answer of the gateway came: FAULT when it says the gateway is down, with REASON (short,
 * no personal data). Returns true when the state changed (the caller logs and saves it). */
bool breaker_record(struct breaker *b, bool fault, const char *reason, int64_t now_ms);

/* How many new messages may start now: -1 no limit (closed), 1 a probe is due, else 0. */
int breaker_room(const struct breaker *b, int64_t now_ms);

/* A probe was handed to the gateway (OPEN → HALF_OPEN): no other starts until its answer.
 * Returns true when the state changed. */
bool breaker_probe_started(struct breaker *b);

/* Milliseconds until a probe is due (OPEN), 0 when one is due now, -1 when only an answer can
 * change anything (CLOSED has no wait; HALF_OPEN waits for its probe). */
int64_t breaker_wait_ms(const struct breaker *b, int64_t now_ms);

/* Restores a state read from the table at start: an open breaker stays open and is probed at
 * once (an operator who fixed the gateway and restarted wants to know now). */
void breaker_restore(struct breaker *b, enum breaker_state st, const char *reason, int64_t now_ms);

/* Saves B as the state of GATEWAY (loa_breaker_set) on DB; CB as for pgpool_query(). 0, or -1
 * when the pool is closing (CB is then not called). */
int breaker_save(const struct breaker *b, struct pgpool *db, const char *gateway, int64_t now_ms,
                 pg_cb cb, void *arg);

#endif
