#ifndef LOA_ANSWERS_H
#define LOA_ANSWERS_H
#include <stdbool.h>
#include <stdio.h>

/* Sending the answers to citizens' replies (outbound_answers, sql/014_answers.sql): opt-out and
 * opt-in confirmations, FAQ answers, officers' answers, the help text. They share each gateway's
 * throttle with the campaigns and go first: while answers are due for a gateway its campaign
 * pump leases nothing (engine/dispatch_pump.c asks answers_due() and hands the room to
 * answers_pump()), so a STOP is confirmed within a lease round trip and a few tokens of the
 * gateway's rate, not after the campaign.
 *
 * The chain for one gateway: answers_pump → lease_done (loa_answer_lease) → answer_submit
 * (render {{name}}, throttle_start, the gateway's submit) → answer_done (engine/outcome.c,
 * throttle_done, one log line) → loa_answer_result. An answer is due after NOTIFY loa_answers
 * (sent by loa_answer_queue), every ANSWERS_POLL_MS in case one was missed or a retry came due,
 * and after a lease that filled all the room it was given.
 *
 * Which gateway sends what: an SMS gateway its own SMS answers, the first one also those of no
 * SMS gateway (a Zalo reply's answer that goes by SMS); a zalo_oa gateway its Zalo answers, the
 * first one also those of Zalo replies that came in on a zalo_zns gateway (only the OA can send a
 * consultation message). A zalo_zns gateway sends none.
 *
 * Owned by engine/serve.c: created after the dispatcher (it borrows the throttles), stopped on
 * SIGTERM (no new lease; serve waits until answers_busy() is 0), freed after the pool closed. */

enum { ANSWERS_POLL_MS = 5000, ANSWERS_LEASE_MAX = 20 };

struct engine;
struct gateway;
struct answers;

/* The [replies] keys, read once at start; the reply intake (engine/intake.c) uses them too. */
struct answers_settings {
    int attribution_days;
    int per_hour;
    int help_hours;
};

struct answers *answers_new(struct engine *e);
/* The settings; the defaults of the configuration table when A is NULL. */
struct answers_settings answers_settings(const struct answers *a, const struct engine *e);

/* True while answers may be due for GW: its campaign pump must not lease. */
bool answers_due(struct answers *a, const struct gateway *gw);
/* Leases up to ROOM (at most ANSWERS_LEASE_MAX) due answers for GW, unless a lease runs. */
void answers_pump(struct answers *a, const struct gateway *gw, int room);

void answers_stop(struct answers *a);
/* Prometheus lines: answers submitted, failed and retried per gateway since start. */
void answers_metrics_write(const struct answers *a, FILE *f);

/* Leases, submissions and result statements in flight. */
unsigned answers_busy(const struct answers *a);
/* Frees A; after the pool has closed (no callback can run). */
void answers_free(struct answers *a);

#endif
