#include "gateways/gateway_status.h"
#include "core/db.h"
#include "core/pgarray.h"

#define ISO "'YYYY-MM-DD\"T\"HH24:MI:SS'"

PGresult *gateway_status_load(PGconn *db, const char *const *names, size_t n, const char *tz, char *err,
                              size_t errlen)
{
    struct pgarray a;
    pgarray_init(&a);
    for (size_t i = 0; i < n; i++)
        pgarray_text(&a, names[i]);
    const char *p[2] = {pgarray_end(&a), tz};
    PGresult *r = db_query(
        db, err, errlen,
        "SELECT g.name, COALESCE(b.state, 'closed'), CASE WHEN b.state <> 'closed' THEN COALESCE(b.reason, '') ELSE '' END,"
        " COALESCE(to_char(b.since AT TIME ZONE $2, " ISO "), ''), COALESCE(b.failures, 0),"
        " COALESCE(to_char(b.probe_at AT TIME ZONE $2, " ISO "), ''),"
        /* CASE, not AND: SQL does not promise to test the text before it casts it. */
        " COALESCE((SELECT CASE WHEN s.value ~ '^[0-9]{1,12}$' THEN"
        "                    CASE WHEN to_timestamp(s.value::bigint) > now()"
        "                         THEN to_char(to_timestamp(s.value::bigint) AT TIME ZONE $2, " ISO ") END END"
        "             FROM gateway_state s WHERE s.gateway = g.name AND s.key = 'pause_until'), ''),"
        " COALESCE((SELECT CASE WHEN s.value ~ '^[0-9]{1,18}$' THEN s.value::bigint END"
        "             FROM gateway_state s WHERE s.gateway = g.name"
        "              AND s.key = 'quota:' || to_char(now() AT TIME ZONE $2, 'YYYY-MM-DD')), 0),"
        " (SELECT count(*) FROM messages m WHERE m.gateway = g.name AND m.state = 'leased'),"
        " (SELECT count(*) FROM messages m WHERE m.gateway = g.name AND m.state IN ('pending', 'retry_wait'))"
        " FROM unnest($1::text[]) WITH ORDINALITY AS g(name, i)"
        " LEFT JOIN gateway_breakers b ON b.gateway = g.name ORDER BY g.i",
        2, p);
    pgarray_free(&a);
    return r;
}
