#ifndef LOA_SCHEDULER_H
#define LOA_SCHEDULER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The scheduler: every [engine] tick_ms, and at once on NOTIFY loa_campaigns, runs one pass of
 * the campaign lifecycle, each step one statement, in this order (scheduler_step_*):
 *   start_due    scheduled campaigns whose start is due (and approved when they need it) → running
 *   end          campaigns past ends_at: waiting messages → expired, campaign → completed
 *   leases       expired leases → in_doubt (may have been sent), or pending on an idempotent
 *                gateway (resent with the same key)
 *   reports      delivery reports that beat their submit's answer are applied (loa_dlr_reconcile)
 *   complete     materialised campaigns with nothing waiting and no submission younger than
 *                [engine] settle_seconds → completed
 *   running      the running campaigns are handed to hooks.campaigns_running, then work_due
 *   materialise  the messages of a running campaign, [engine] materialise_chunk citizens per
 *                statement, resumable by campaigns.material_cursor
 * A pass never overlaps another; a wake-up during a pass runs one more pass after it. Owned by
 * engine/serve.c. */

struct engine;
struct scheduler;

/* What a pass tells the rest of the daemon (the dispatcher, wired by engine/serve.c). Both run
 * from the pass's statement callbacks; they must not close the scheduler. */
struct scheduler_hooks {
    /* The campaigns running now (IDS, N; the array lives during the call). */
    void (*campaigns_running)(void *arg, const int64_t *ids, size_t n);
    /* Messages may be due now (a campaign started running, a chunk was materialised). */
    void (*work_due)(void *arg);
    void *arg;
};

/* HOOKS is copied. */
struct scheduler *scheduler_new(struct engine *e, const struct scheduler_hooks *hooks);
/* Runs a pass now (or right after the current one). */
void scheduler_wake(struct scheduler *s);
/* Stops the timer; a pass in progress finishes its current statement and stops, then the timer
 * handle is closed (scheduler_closed() turns true). */
void scheduler_close(struct scheduler *s);
bool scheduler_closed(const struct scheduler *s);
/* Frees it: after scheduler_closed() and after the database pool is closed (the pool's LISTEN
 * callback points here). */
void scheduler_free(struct scheduler *s);

#endif
