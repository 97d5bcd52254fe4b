#ifndef LOA_RESULTS_H
#define LOA_RESULTS_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "campaigns/message.h"

/* The results of one gateway's submissions, written in batches: one loa_flush() statement per
 * RESULTS_FLUSH_MAX rows or RESULTS_FLUSH_MS milliseconds, whichever comes first. This is what
 * makes thousands of messages a second possible. A result is the state a leased message moves to
 * (sql/functions/ loa_flush), with its reason, the gateway's message id, parts and cost.
 *
 * A result is kept in memory until it is written: a result the gateway answered is the only
 * record that the message reached it. A statement that failed because the database was away
 * (connection lost, deadline, statement_timeout, a lock it could not get) is sent again with
 * back-off, 250 ms doubling to 5 s, until it is written; loa_flush changes only rows still
 * leased, so a batch that did commit before its connection died changes nothing the second
 * time. A statement the server refused for its data is split and its rows written one by one,
 * so that one bad row never fails the others; a row refused alone is tried once more without
 * its gateway texts, then given up (logged; it stays leased and lease expiry settles it).
 *
 * Owned by the dispatcher's per-gateway state (engine/dispatch.h), which gives it its engine and
 * gateway name (both outlive it). FLUSHED runs from the loop after each flush statement has
 * answered, failed or not: the drain waits for it. The two timer handles live inside the batch:
 * the owner closes them (timer, retry) and calls result_batch_free() after their close
 * callbacks; statements still running then are detached and free only themselves. */

enum { RESULTS_FLUSH_MAX = 500, RESULTS_FLUSH_MS = 5 };

struct result {
    int64_t campaign_id, id;
    enum msg_state state;
    int parts, cost, delay, flags;  /* flags: 1 no Zalo account, 2 phone invalid */
    char reason[160];
    char gwid[96];
};

struct engine;
struct result_job;

struct result_batch {
    struct engine *e;
    const char *gateway;
    struct result *res;         /* RESULTS_FLUSH_MAX slots */
    int n;
    uv_timer_t timer;
    bool armed;                 /* the timer will flush */
    struct result_job *jobs;    /* rows handed to flush statements and not written yet */
    uv_timer_t retry;           /* sends the jobs that failed again */
    int backoff_ms;             /* of the next retry; 0 after a success */
    void (*flushed)(void *arg);
    void *arg;
};

void result_batch_init(struct result_batch *b, struct engine *e, const char *gateway,
                       void (*flushed)(void *arg), void *arg);
/* Adds R; flushes when the batch is full, else makes sure the timer will. */
void result_batch_push(struct result_batch *b, const struct result *r);
/* A result without parts, cost or gateway id (decided before anything was sent). */
void result_batch_simple(struct result_batch *b, int64_t cid, int64_t id, enum msg_state st, int delay,
                         const char *reason);
/* Writes what is pending now, without waiting for the timer. */
void result_batch_flush(struct result_batch *b);
/* Nothing pending, nothing waiting for a retry and no flush statement running. */
bool result_batch_idle(const struct result_batch *b);
/* Rows not written yet, gathered or handed to a statement. */
int result_batch_unwritten(const struct result_batch *b);
void result_batch_free(struct result_batch *b);

#endif
