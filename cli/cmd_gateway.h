#ifndef LOA_CMD_GATEWAY_H
#define LOA_CMD_GATEWAY_H
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"

struct cJSON;

/* `loa gateway status [--json]`: each configured gateway's circuit (closed, open, half_open,
 * with reason and since when), pause, rate, messages in flight and waiting, and today's use of
 * its quota, as the daemon last wrote them (gateways/gateway_status.h). */
int cmd_gateway_status(struct cli *c, int argc, char **argv);

/* The circuit of each gateway of NAMES (N), for `loa campaign show`: one line each on stdout
 * for a circuit that is not closed, or, with JSON, the object "gateways" {NAME: {"circuit",
 * "reason", "since"}} added to JSON. 0, or -1 with ERR set. */
int cli_gateway_circuits(PGconn *db, const struct cli *c, const char *const *names, size_t n, struct cJSON *json,
                         char *err, size_t errlen);

/* cli_gateway_circuits for the gateways of campaign CAMPAIGN_ID's channel steps. */
int cli_campaign_circuits(PGconn *db, const struct cli *c, long long campaign_id, struct cJSON *json, char *err,
                          size_t errlen);

#endif
