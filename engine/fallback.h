#ifndef LOA_FALLBACK_H
#define LOA_FALLBACK_H
#include <stddef.h>

/* Falling back from Zalo when no receipt comes (gateways.md §2: "ZNS first, SMS if no delivery
 * within a time limit"). Every zalo_zns gateway has a receipt_timeout_s; a message submitted to
 * it longer ago than that without a receipt moves to 'fallback' and the message of its
 * campaign's next channel step is created, in one statement (zalo_fallback_sweep() in
 * sql/006_zalo.sql). A receipt that arrives later withdraws that next message if it has not been
 * sent yet (zalo_receipt_apply()), so a citizen is never sent the SMS once the ZNS is known
 * delivered. */

struct engine;

/* Queues one sweep of at most FALLBACK_SWEEP_BATCH messages; the scheduler calls it every tick.
 * Does nothing (returns 0) when no zalo_zns gateway is configured or a sweep is still running,
 * so calls never pile up. Returns -1 when the query could not be queued. */
int fallback_sweep(struct engine *e);
enum { FALLBACK_SWEEP_BATCH = 1000 };

/* Writes a PostgreSQL array literal of the N strings into OUT, quoting each element. Returns the
 * length, or -1 when it does not fit in CAP. */
int fallback_array_literal(const char *const *items, size_t n, char *out, size_t cap);

#endif
