#ifndef LOA_EVENTS_H
#define LOA_EVENTS_H
#include <stddef.h>
#include <stdio.h>

#include "gateways/gateway.h"

/* Applies events decoded from gateway webhooks to the database, each event in one statement,
 * except delivery reports, which are gathered for 2 ms into one loa_apply_dlrs() (see events.c):
 *  DELIVERY  appends the raw report to delivery_events and moves the message submitted /
 *            in_doubt → delivered / undelivered (an intermediate report is only recorded),
 *            found by (campaign_id, message_id) or by (gateway, gateway_msg_id). A duplicate
 *            changes no state.
 *  REPLY     inserts into replies (de-duplicated on gateway + external_id), matched to the
 *            citizen by phone (or Zalo user id) and the latest campaign that messaged them,
 *            classified by the keyword table (campaigns/keywords.h, kept by campaigns/kwcache.h:
 *            the first reply, or the first after a change, waits for it to load); an 'opt_out'
 *            opts out every citizen with that address (channel 'all') and suppresses their
 *            pending / retry_wait messages at once; an 'opt_in' lifts what replies opted out.
 *            Text that is not UTF-8 is stored with those bytes escaped (\xNN).
 *  FOLLOW / UNFOLLOW  recorded in zalo_followers.
 * Event strings are copied: EV may be freed on return. CB runs once, from the loop, after the
 * last statement finished, with 0 or -1 (a database error; some events may have been applied,
 * and applying them again is harmless). Returns 0, or -1 when nothing could be queued (CB is
 * not called). */
struct engine;
int engine_events_apply(struct engine *e, struct gateway *gw, const struct gw_event *ev, size_t n,
                        void (*cb)(void *arg, int rc), void *arg);

/* Batches queued and not finished yet (serve.c waits for 0 before closing the HTTP server, whose
 * suspended requests the callbacks answer). */
unsigned engine_events_in_flight(void);

/* Webhook calls handed to engine_events_apply(), by outcome: applied (every statement
 * committed), failed (a database error, or nothing could be queued), invalid (an event without
 * what finds its message or sender). Written on F as loa_webhook_events_total{outcome=…}. A
 * call that a gateway refused before (a bad token or signature, a malformed body) is not
 * counted here. */
enum { ENGINE_EVENTS_APPLIED, ENGINE_EVENTS_FAILED, ENGINE_EVENTS_INVALID, ENGINE_EVENTS_NOUTCOMES };
void engine_events_metrics_write(FILE *f);

#endif
