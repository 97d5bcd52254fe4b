#ifndef LOA_GATEWAY_STATE_H
#define LOA_GATEWAY_STATE_H
#include "core/pgasync.h"

/* gateway_state (sql/001_core.sql) holds what a gateway must remember across restarts and
 * share between daemons, one text VALUE per (gateway, key): a pause, the quota Zalo reported,
 * the receipt timeout the scheduler reads. */

/* Sets KEY of GATEWAY to VALUE (inserting or replacing, updated_at = now()) as one statement on
 * DB; CB as for pgpool_query(). 0, or -1 when the pool is closing (CB is then not called). */
int gateway_state_put(struct pgpool *db, const char *gateway, const char *key, const char *value,
                      pg_cb cb, void *arg);

#endif
