#ifndef LOA_RELOAD_H
#define LOA_RELOAD_H
#include <stddef.h>

/* `loa serve` reloads its configuration on SIGHUP (engine/serve.c reads the file again and calls
 * engine_reload()). What a reload changes: [policy] (window, time zone, frequency cap), [engine]
 * values read per use (lease batch, retries, settle time), every gateway's common keys (rate,
 * concurrency and daily quota go to its throttle at once; max_parts, price, time-outs) and the
 * type's own keys where the type can take them (Kannel and HTTP SMS: all of them, secrets
 * included; Zalo ZNS and OA: API address, time-out and webhook signature keys). What it does not: the
 * set of gateways (adding, removing or renaming one needs a restart, and such a file is
 * refused), [database], [http] and the scheduler's tick, which are logged as needing a restart.
 * Nothing in flight is touched: HTTP requests and webhooks finish with what they started with. */

struct engine;
struct config;

/* Checks CFG against the running engine E and, when every part of it can be taken, takes it:
 * E->cfg becomes CFG, which must then outlive E (the caller keeps it until the daemon exits).
 * 0; -1 with the reason in ERR and E unchanged. */
int engine_reload(struct engine *e, const struct config *cfg, char *err, size_t errlen);

#endif
