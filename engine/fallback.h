#ifndef LOA_FALLBACK_H
#define LOA_FALLBACK_H

/* Falling back from Zalo when no receipt comes: a campaign tries ZNS first and sends the SMS of
 * its next step only if no delivery receipt arrived within a time limit. Every zalo_zns gateway
 * has a receipt_timeout_s (read once into engine/settings.h); a message submitted to it longer
 * ago than that without a receipt moves to 'fallback' and the message of its campaign's next
 * channel step is created, in one statement (zalo_fallback_sweep() in
 * sql/006_zalo.sql). A receipt that arrives later withdraws that next message if it has not been
 * sent yet (zalo_receipt_apply()), so a citizen is never sent the SMS once the ZNS is known
 * delivered. */

struct engine;

/* Queues one sweep of at most FALLBACK_SWEEP_BATCH messages; the scheduler calls it every tick.
 * Does nothing (returns 0) when no zalo_zns gateway is configured or a sweep is still running,
 * so calls never pile up. Returns -1 when the query could not be queued. */
int fallback_sweep(struct engine *e);
enum { FALLBACK_SWEEP_BATCH = 1000 };

#endif
