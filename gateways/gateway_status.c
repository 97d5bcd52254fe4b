#include "gateways/gateway_status.h"
#include "core/db.h"
#include "core/config.h"
#include "core/pgarray.h"
#include "gateways/gateway.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

#define ISO "'YYYY-MM-DD\"T\"HH24:MI:SS'"

const char GATEWAY_STATUS_SQL[] =
    "SELECT g.name, COALESCE(b.state, 'closed'), CASE WHEN b.state <> 'closed' THEN COALESCE(b.reason, '') ELSE '' END,"
    " COALESCE(to_char(b.since AT TIME ZONE $2, " ISO "), ''), COALESCE(b.failures, 0),"
    " COALESCE(to_char(b.probe_at AT TIME ZONE $2, " ISO "), ''),"
    /* CASE, not AND: SQL does not promise to test the text before it casts it. */
    " COALESCE((SELECT CASE WHEN s.value ~ '^[0-9]{1,12}$' THEN"
    "                    CASE WHEN to_timestamp(s.value::bigint) > loa_now()"
    "                         THEN to_char(to_timestamp(s.value::bigint) AT TIME ZONE $2, " ISO ") END END"
    "             FROM gateway_state s WHERE s.gateway = g.name AND s.key = 'pause_until'), ''),"
    " COALESCE((SELECT CASE WHEN s.value ~ '^[0-9]{1,18}$' THEN s.value::bigint END"
    "             FROM gateway_state s WHERE s.gateway = g.name"
    "              AND s.key = 'quota:' || to_char(loa_now() AT TIME ZONE $2, 'YYYY-MM-DD')), 0),"
    /* In flight and waiting from gateway_queue, which the messages' triggers keep: counting
     * a million waiting rows took a second and a half while they were being sent. */
    " COALESCE((SELECT sum(q.n) FROM gateway_queue q WHERE q.gateway = g.name AND q.state = 'leased'), 0),"
    " COALESCE((SELECT sum(q.n) FROM gateway_queue q WHERE q.gateway = g.name"
    "            AND q.state IN ('pending', 'retry_wait')), 0),"
    /* The daemon sending through it: a lease renewed within its time to live (OWNER_TTL_S in
     * engine/dispatch_owner.c), else nobody. Real time, not the test clock, like the lease. */
    " COALESCE((SELECT s.value FROM gateway_state s WHERE s.gateway = g.name AND s.key = 'owner'"
    "            AND s.updated_at > now() - interval '5 seconds'), '')"
    " FROM unnest($1::text[]) WITH ORDINALITY AS g(name, i)"
    " LEFT JOIN gateway_breakers b ON b.gateway = g.name ORDER BY g.i";

PGresult *gateway_status_load(PGconn *db, const char *const *names, size_t n, const char *tz, char *err,
                              size_t errlen)
{
    struct pgarray a;
    pgarray_init(&a);
    for (size_t i = 0; i < n; i++)
        pgarray_text(&a, names[i]);
    const char *p[2] = {pgarray_end(&a), tz};
    PGresult *r = db_query(db, err, errlen, GATEWAY_STATUS_SQL, 2, p);
    pgarray_free(&a);
    return r;
}

const char *gateway_for_channel(const struct config *cfg, const char *channel)
{
    for (size_t i = 0; i < config_gateway_count(cfg); i++) {
        const struct gateway_type *t = gateway_type_find(config_gateway_type(cfg, i));
        if (!t || strcmp(t->channel, channel) != 0 || strcmp(t->name, "zalo_oa") == 0)
            continue;
        return config_gateway_name(cfg, i);
    }
    return NULL;
}

size_t gateway_step_names(const struct config *cfg, const PGresult *steps, int channel_col, int gateway_col,
                          const char **names, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < PQntuples(steps) && n < max; i++) {
        const char *gw = PQgetisnull(steps, i, gateway_col) ? "" : PQgetvalue(steps, i, gateway_col);
        if (!gw[0])
            gw = gateway_for_channel(cfg, PQgetvalue(steps, i, channel_col));
        bool seen = !gw;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(names[j], gw) == 0;
        if (!seen)
            names[n++] = gw;
    }
    return n;
}

static void add_text_or_null(cJSON *o, const char *key, const char *v)
{
    if (v[0])
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *gateway_circuits_json(const PGresult *r, cJSON *o)
{
    cJSON *all = cJSON_AddObjectToObject(o, "gateways");
    for (int i = 0; all && i < PQntuples(r); i++) {
        cJSON *g = cJSON_AddObjectToObject(all, PQgetvalue(r, i, GWS_NAME));
        cJSON_AddStringToObject(g, "circuit", PQgetvalue(r, i, GWS_CIRCUIT));
        add_text_or_null(g, "reason", PQgetvalue(r, i, GWS_REASON));
        add_text_or_null(g, "since", PQgetvalue(r, i, GWS_SINCE));
    }
    return all;
}
