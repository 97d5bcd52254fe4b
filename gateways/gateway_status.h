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
    GWS_USED_TODAY, GWS_IN_FLIGHT, GWS_WAITING, GWS_OWNER, GWS_NCOLS
};

/* One row per name of NAMES (N of them), in that order, with the columns above: times are ISO
 * 8601 in time zone TZ, "" when none (no probe planned, not paused; a gateway the daemon never
 * opened is "closed" since ""). NULL with ERR set on failure; the caller PQclear()s it. */
PGresult *gateway_status_load(PGconn *db, const char *const *names, size_t n, const char *tz, char *err,
                              size_t errlen);
/* The statement behind it: $1 the names as a text array, $2 the time zone; for the daemon's pool. */
extern const char GATEWAY_STATUS_SQL[];

struct config;
struct cJSON;
/* The gateway a campaign step of CHANNEL uses when it names none: the first configured one of
 * that channel (a Zalo step never goes through zalo_oa), or NULL. */
const char *gateway_for_channel(const struct config *cfg, const char *channel);
/* The distinct gateways of a campaign's steps STEPS (channel in CHANNEL_COL, the named gateway
 * or "" in GATEWAY_COL) into NAMES (at most MAX); returns how many. */
size_t gateway_step_names(const struct config *cfg, const PGresult *steps, int channel_col, int gateway_col,
                          const char **names, size_t max);
/* Adds "gateways" {NAME: {"circuit", "reason", "since"}} of R (GATEWAY_STATUS_SQL's rows) to O:
 * what `campaign show --json` and GET /api/v1/campaigns/ID say of a campaign's gateways. */
struct cJSON *gateway_circuits_json(const PGresult *r, struct cJSON *o);

#endif
