#ifndef LOA_GATEWAY_STATUS_H
#define LOA_GATEWAY_STATUS_H
#include <stddef.h>

#include <libpq-fe.h>

/* What the database knows of each configured gateway, for `loa gateway status` and `loa
 * campaign show`: its circuit breaker (gateways/breaker.h), its pause and today's use of its
 * quota (gateway_state), and its messages leased (in flight) and waiting. The daemon writes all
 * of it, so the command line sees what a running daemon does without asking it. */

enum {
    GWS_NAME, GWS_CIRCUIT, GWS_REASON, GWS_SINCE, GWS_FAILURES, GWS_PROBE_AT, GWS_PAUSED_UNTIL,
    GWS_USED_TODAY, GWS_IN_FLIGHT, GWS_WAITING, GWS_NCOLS
};

/* One row per name of NAMES (N of them), in that order, with the columns above: times are ISO
 * 8601 in time zone TZ, "" when none (no probe planned, not paused; a gateway the daemon never
 * opened is "closed" since ""). NULL with ERR set on failure; the caller PQclear()s it. */
PGresult *gateway_status_load(PGconn *db, const char *const *names, size_t n, const char *tz, char *err,
                              size_t errlen);

#endif
