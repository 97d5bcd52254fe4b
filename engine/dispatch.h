#ifndef LOA_DISPATCH_H
#define LOA_DISPATCH_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "engine/campaign_cache.h"
#include "engine/results.h"
#include "engine/throttle.h"
#include "gateways/gateway.h"
#include "gateways/breaker.h"

/* The dispatcher's parts, shared by its files and by nothing else (the public contract is
 * engine/dispatcher.h). One struct dispatcher owns, per gateway, a struct dispatch_gw (its
 * pump, throttle, result batch and counters), the campaign cache and the list of requests in
 * flight. Every handle lives inside these structs; dispatcher_free() closes them and frees all
 * from the last close callback.
 *
 *   dispatcher.c          new, kick, campaigns_sync, free, metrics; the local day
 *   dispatch_pump.c       per gateway: its saved state (quota, pause), then lease after lease
 *   dispatch_submit.c     one leased row: render, submit, the answer and its log line
 *   dispatch_actions.c    what an answer asks of the gateway: back-off, pause, stop a step
 *   dispatch_drain.c      SIGTERM: wait, flush, return unsent leases
 *   dispatch_owner.c      which gateways this daemon sends through (several daemons, one database)
 *   dispatch_optout.c     opt-outs that arrive while their citizens' messages wait to be sent
 *   results.c             result batching; campaign_cache.c the templates */

struct engine;
struct gateway;
struct gateway_settings;
struct dispatch_gw;
struct breaker_saver;

/* The pump of one gateway. Only PUMP_READY leases; a kick turns PUMP_IDLE back into READY and
 * retries loading a state that failed to load:
 *   UNLOADED → LOADING → READY ⇄ LEASING → IDLE → READY (kick)
 *                  ↘ UNLOADED (load failed; the next kick retries) */
enum pump_state {
    PUMP_UNLOADED,      /* today's quota count and pause not known yet: no leasing before */
    PUMP_LOADING,       /* the gateway_state statement is running */
    PUMP_READY,         /* may lease when the throttle has room */
    PUMP_LEASING,       /* a loa_lease() statement is running */
    PUMP_IDLE,          /* the last lease found nothing due (or failed): wait for a kick */
};

/* The dispatcher as a whole:
 *   RUNNING → WAITING (dispatcher_drain) → RETURNING (unsent leases go back) → DONE
 *                 ↘ DONE (grace time over and statements still running) */
enum drain_state {
    DRAIN_RUNNING,      /* leasing and sending */
    DRAIN_WAITING,      /* no new lease; waits for leases, answers and flushes in flight */
    DRAIN_RETURNING,    /* the statement returning never-sent leases to pending is running */
    DRAIN_DONE,         /* done called; later answers are logged and dropped */
};

/* One rendered message: first in its gateway's ready queue (leased, waiting for room in the
 * throttle), then between submit and answer. Its strings live here until the answer. */
struct inflight {
    struct dispatch_gw *g;
    int64_t campaign_id, id, citizen_id;
    int attempts, parts, cost, step;
    bool no_addr;               /* no address for the channel: a submit that cannot start is final */
    char channel[8];            /* its step's: "sms" or "zalo" */
    char to[LOG_MASK_LEN];      /* masked phone (or Zalo user id) */
    struct gw_message m;        /* what the gateway gets; its strings point into buf */
    struct inflight *prev, *next;
    char buf[];                 /* phone, zalo id, text, zns json */
};

struct dispatch_gw {
    struct dispatcher *d;
    struct gateway *gw;
    const struct gateway_settings *set;
    struct throttle th;
    struct breaker br;          /* leases only a probe while open (dispatch_breaker.c) */
    struct breaker_saver *saver;  /* writes its changes to gateway_breakers, in order */
    enum pump_state state;
    int64_t handover_at_ms;     /* paused past the window: the next handover of new arrivals */
    bool handover_running;
    uv_timer_t timer;           /* wakes the pump when tokens refill or a pause ends */
    struct result_batch results;
    /* Leased and rendered, waiting for room: FIFO through next. Leasing ahead of the window keeps
     * it full while the next lease is on its way (dispatch_pump.c). */
    struct inflight *ready_head, *ready_tail;
    int n_ready;
    /* Opt-outs too many to name ('*') committed while a lease was running: its rows may be of
     * citizens who opted out (its snapshot is older), so they go back unsent when it returns. */
    bool lease_held_back;
    int64_t handover_until_ms;  /* a pause that handed the gateway's messages over ends then */
    bool owned;                 /* this daemon sends through the gateway (dispatch_owner.c) */
    bool owner_known;           /* the first answer about its owner has come */
    int64_t owned_until_ms;     /* ... until then (monotonic clock), unless renewed */
    unsigned long n_submitted, n_delivered, n_failed, n_tempfail, n_in_doubt, n_fallback, n_leased;
};

struct dispatcher {
    struct engine *e;
    struct dispatch_gw *g;
    size_t ng;
    struct campaign_cache campaigns;
    struct inflight *inflight;
    unsigned n_inflight;
    enum drain_state drain;
    uv_timer_t grace_timer;
    int grace_polls;
    void (*drain_done)(void *arg);
    void *drain_arg;
    /* Rows leased after the stop began, never handed to a gateway: the only ones the drain
     * returns to pending (campaign ids and ids, parallel). */
    struct pgarray unsent_cid, unsent_id;
    struct return_call *returning;  /* the loa_return_unsent() statement running, if any */
    uv_timer_t owner_timer;     /* renews the gateways' ownership (dispatch_owner.c) */
    struct owner_call *owner_call;  /* the renewal running, if any */
    int64_t owner_sent_ms;      /* when it was sent (monotonic clock) */
    char owner_dead[96];        /* an owner of this host whose process is gone: taken over */
    bool owner_release;         /* stopping: give the gateways up once it has answered */
    /* Citizens opted out in the last lease time (NOTIFY loa_opt_outs): a lease that was already
     * running when the opt-out committed may still bring their messages (dispatch_optout.c). */
    struct recent_optout *optouts;
    size_t n_optouts, cap_optouts;
    int pending_closes;
};

/* dispatcher.c */
int64_t dispatch_now_ms(void);
/* The local day number of NOW in [policy] timezone. */
long dispatch_today(const struct dispatcher *d, int64_t now);
/* The local minute of the day (0-1439) at NOW, in the policy time zone. */
int dispatch_local_minute(const struct dispatcher *d, int64_t now);

/* dispatch_pump.c */
void pump_set_state(struct dispatch_gw *g, enum pump_state st);
const char *pump_state_name(enum pump_state st);
/* Loads today's quota count and pause (once; again after a failure). */
void pump_state_load(struct dispatch_gw *g);
/* Leases as many rows as the throttle allows, if the pump is ready and the daemon running. */
void dispatch_pump(struct dispatch_gw *g);

/* dispatch_submit.c: row ROW of a lease result. Every path records exactly one result or
 * leaves an in-flight request whose answer will. */
void dispatch_row(struct dispatch_gw *g, PGresult *res, int row, int64_t now, long day);
/* Submits ready messages while the throttle has room, at most MAX (-1: no limit; 1 for the
 * circuit breaker's probe); a message whose step was stopped meanwhile falls back instead. A
 * pause longer than half a lease makes them retry_wait, due when it ends. */
void dispatch_submit_ready(struct dispatch_gw *g, int64_t now, long day, int max);
/* Every ready message back to retry_wait, due in DELAY_S with REASON: never sent, and leased
 * rows must not wait out their lease (they would become in_doubt) behind a long pause or an
 * open circuit. */
void dispatch_ready_requeue(struct dispatch_gw *g, int delay_s, const char *reason);
/* Every ready message into the drain's list of never-sent rows (dispatch_drain_unsent_row),
 * which the stop returns to pending. */
void dispatch_ready_return(struct dispatch_gw *g);
/* Hands every ready message to the campaign's next channel (fallback, with REASON): a pause to
 * the end of the window does the same with the gateway's waiting rows (loa_handover). */
void dispatch_ready_hand_over(struct dispatch_gw *g, const char *reason);
/* Takes every ready message MATCH says yes to (all: MATCH NULL) out of the queue with state ST
 * and REASON, never sent; the others keep their order. */
void dispatch_ready_drop(struct dispatch_gw *g, bool (*match)(void *arg, const struct inflight *f), void *arg,
                         enum msg_state st, const char *reason);
/* Drops the ready queue without results: when the dispatcher is freed. */
void dispatch_ready_discard(struct dispatch_gw *g);

/* dispatch_actions.c: what an answer R to message F asks of its gateway beyond the message. */
struct gw_result;
void dispatch_act_on(struct dispatch_gw *g, const struct inflight *f, const struct gw_result *r);

/* dispatch_breaker.c: the circuit breaker of G. The answer R of a message (breaker_note), a
 * probe handed to the gateway (breaker_probe), the state read at start (breaker_load):
 * each change is logged once and saved to gateway_breakers, one save at a time. */
void dispatch_breaker_note(struct dispatch_gw *g, const struct gw_result *r, int64_t now);
void dispatch_breaker_probe(struct dispatch_gw *g);
void dispatch_breaker_load(struct dispatch_gw *g, const char *state, const char *reason, int64_t now);
/* The dispatcher is being freed: a save still running ends on its own. */
void dispatch_breaker_detach(struct dispatch_gw *g);
/* While G's pause lasts past today's window, hands what arrived since to the next channel. */
void dispatch_paused_handover(struct dispatch_gw *g, int64_t now);

/* dispatch_drain.c: called whenever something the drain waits for has finished. */
void dispatch_drain_check(struct dispatcher *d);
/* Row ROW of lease result RES arrived after the stop began: it will go back to pending. */
void dispatch_drain_unsent(struct dispatcher *d, PGresult *res, int row);
/* Message ID of CAMPAIGN_ID was leased and never handed to a gateway: it will go back to pending. */
void dispatch_drain_unsent_row(struct dispatcher *d, int64_t campaign_id, int64_t id);
/* Forgets a loa_return_unsent() statement still running (the dispatcher is being freed). */
void dispatch_drain_detach(struct dispatcher *d);
bool dispatch_running(const struct dispatcher *d);

/* dispatch_optout.c: NOTIFY loa_opt_outs (sql/functions/60_answers.sql) names the citizens just
 * opted out, or says '*' when too many to name. Their messages waiting in a ready queue are
 * suppressed, never handed to a gateway; a message already handed over cannot be called back.
 * The lease itself skips opted-out citizens (loa_lease), so only a lease running at that moment
 * needs dispatch_optout_has(). */
void dispatch_optout_start(struct dispatcher *d);
/* Whether the citizen opted out of CHANNEL ("sms", "zalo") or of every channel since a lease
 * time ago. */
bool dispatch_optout_has(struct dispatcher *d, int64_t citizen_id, const char *channel, int64_t now);
void dispatch_optout_free(struct dispatcher *d);

/* dispatch_owner.c: each gateway is sent through by one daemon at a time. Start asks at once and
 * then renews every few seconds; a gateway this daemon does not hold leases and sends nothing. */
void dispatch_owner_start(struct dispatcher *d);
bool dispatch_owner_holds(const struct dispatch_gw *g);
/* Stopping: gives every gateway up, so another daemon takes them over at once. */
void dispatch_owner_release(struct dispatcher *d);
/* Forgets a renewal still running (the dispatcher is being freed). */
void dispatch_owner_detach(struct dispatcher *d);

#endif
