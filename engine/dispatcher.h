#ifndef LOA_DISPATCHER_H
#define LOA_DISPATCHER_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The dispatcher: per gateway, leases due messages (as many as its throttle allows), renders
 * them, submits them, and records the results in batches. Owned by engine/serve.c; its parts
 * are listed in engine/dispatch.h.
 *
 * The chain for one gateway: dispatch_pump → lease_done (dispatch_pump.c) → dispatch_row
 * (render, throttle_start, submit; dispatch_submit.c) → dispatch_submit_done (outcome,
 * throttle_done, the one log line of the attempt, dispatch_act_on) → result_batch_push →
 * flush_run → flush_done (results.c). Every leased row reaches exactly one result (or stays
 * leased when the daemon stops with its request still in flight: lease expiry then makes it
 * in_doubt, since it may have been sent).
 *
 * Templates are loaded per running campaign (every step's variants and the policy figures;
 * engine/campaign_cache.h) and kept until the campaign stops running; only campaigns whose
 * templates are loaded are leased from. Memory is bounded by the lease batch, the windows and
 * the number of running campaigns, never by a campaign's size. Every callback runs on the
 * loop; none blocks. */

struct engine;
struct dispatcher;

struct dispatcher *dispatcher_new(struct engine *e);

/* Work may be due (a tick, a NOTIFY, a campaign started): lease for every gateway with room. */
void dispatcher_kick(struct dispatcher *d);

/* The gateways' settings (engine->settings.gw, changed in place by a reload) have new values:
 * each throttle takes its new rate, concurrency and daily quota, then the pumps are kicked. */
void dispatcher_settings_changed(struct dispatcher *d);

/* The campaigns running now (IDS, N): loads the templates of new ones, frees those of the
 * others. */
void dispatcher_campaigns_sync(struct dispatcher *d, const int64_t *ids, size_t n);

/* Stops leasing, waits for requests in flight up to GRACE_MS, records every result, returns the
 * rows leased but not sent to pending, then calls DONE. Submit answers that arrive later are
 * logged and dropped (their rows stay leased and become in_doubt by lease expiry). */
void dispatcher_drain(struct dispatcher *d, long grace_ms, void (*done)(void *arg), void *arg);

/* The throttle of GW, which the answers to citizens share (engine/answers.h); NULL when GW is
 * not one of the dispatcher's gateways. Lives as long as the dispatcher. */
struct gateway;
struct throttle *dispatcher_throttle(struct dispatcher *d, const struct gateway *gw);
/* Today's local day number of unix milliseconds NOW in [policy] timezone, as the throttles count
 * their quotas. */
long dispatcher_today(const struct dispatcher *d, int64_t now);

/* Frees the dispatcher; call after httpc_close() has finished (no submit callback can run). */
void dispatcher_free(struct dispatcher *d);

/* Prometheus lines of every gateway's counters and throttle. */
void dispatcher_metrics_write(struct dispatcher *d, FILE *f);

#endif
