#include "gateways/gateway_state.h"

int gateway_state_put(struct pgpool *db, const char *gateway, const char *key, const char *value,
                      pg_cb cb, void *arg)
{
    const char *p[3] = {gateway, key, value};
    return pgpool_query(db,
                        "INSERT INTO gateway_state (gateway, key, value, updated_at) VALUES ($1, $2, $3, now()) "
                        "ON CONFLICT (gateway, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                        3, p, cb, arg);
}
