#ifndef LOA_INTAKE_H
#define LOA_INTAKE_H
#include "core/pgasync.h"

/* A citizen's reply from a webhook, read and recorded: the keyword table gives its intent
 * (campaigns/kwcache.h), a question or unknown text is matched against the FAQ bank
 * (campaigns/faq.h, loaded for it), and loa_take_reply (sql/functions/60_answers.sql) stores it
 * with its opt-out or opt-in and queues the answer it gets, all in one transaction.
 *
 * The chain: intake_reply → reply_classified → (faq_loaded) → take → taken → CB. */

struct engine;
struct gateway;
struct gw_event;

/* Reads and records EV (a GW_EV_REPLY) of GW. 0: CB runs exactly once, later, with the result of
 * loa_take_reply or an error. -1: out of memory, CB will not be called. */
int intake_reply(struct engine *e, struct gateway *gw, const struct gw_event *ev, pg_cb cb, void *arg);

#endif
