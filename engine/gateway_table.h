#ifndef LOA_GATEWAY_TABLE_H
#define LOA_GATEWAY_TABLE_H

/* Finding the daemon's gateways (struct engine's gateways[], in configuration order) by name or
 * by channel. Pure lookups; the gateways are owned by engine/serve.c. */

struct engine;
struct gateway;

/* The gateway called NAME, or NULL. */
struct gateway *gateway_table_find(const struct engine *e, const char *name);

/* The first configured gateway of CHANNEL ("sms" / "zalo") that can send a campaign step, or
 * NULL. A Zalo step is a ZNS template: a consultation (zalo_oa) gateway cannot send it. */
struct gateway *gateway_table_for_channel(const struct engine *e, const char *channel);

/* Its name, or "" when there is none (a statement parameter). */
const char *gateway_table_name_for_channel(const struct engine *e, const char *channel);

#endif
