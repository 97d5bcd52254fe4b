/* `loa gateway status` and the circuits shown by `loa campaign show`. */
#include "cli/cmd_gateway.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/db.h"
#include "gateways/gateway.h"
#include "gateways/gateway_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tz(const struct cli *c) { return config_str(c->cfg, "policy", "timezone"); }

static void add_text_or_null(cJSON *o, const char *key, const char *v)
{
    if (v[0])
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

int cli_gateway_circuits(PGconn *db, const struct cli *c, const char *const *names, size_t n, cJSON *json,
                         char *err, size_t errlen)
{
    PGresult *r = gateway_status_load(db, names, n, tz(c), err, errlen);
    if (!r)
        return -1;
    if (json)
        gateway_circuits_json(r, json);
    for (int i = 0; !json && i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, GWS_NAME), *st = PQgetvalue(r, i, GWS_CIRCUIT);
        if (strcmp(st, "closed") != 0)
            printf("gateway %s: circuit %s since %s, nothing is sent but a probe (%s); its messages wait\n", name,
                   st, PQgetvalue(r, i, GWS_SINCE), PQgetvalue(r, i, GWS_REASON));
    }
    PQclear(r);
    return 0;
}

int cli_campaign_circuits(PGconn *db, const struct cli *c, long long campaign_id, cJSON *json, char *err,
                          size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", campaign_id);
    const char *p[1] = {id};
    PGresult *steps = db_query(db, err, errlen,
                               "SELECT channel, COALESCE(gateway, '') FROM campaign_channels"
                               " WHERE campaign_id = $1::bigint ORDER BY position", 1, p);
    if (!steps)
        return -1;
    const char *names[8];
    size_t n = gateway_step_names(c->cfg, steps, 0, 1, names, sizeof names / sizeof names[0]);
    int rc = cli_gateway_circuits(db, c, names, n, json, err, errlen);
    PQclear(steps);
    return rc;
}

static void status_json(const struct cli *c, PGresult *r, cJSON *arr)
{
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, GWS_NAME);
        char sec[96];
        snprintf(sec, sizeof sec, "gateway.%s", name);
        cJSON *g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "name", name);
        cJSON_AddStringToObject(g, "type", config_str(c->cfg, sec, "type"));
        cJSON_AddStringToObject(g, "circuit", PQgetvalue(r, i, GWS_CIRCUIT));
        add_text_or_null(g, "reason", PQgetvalue(r, i, GWS_REASON));
        add_text_or_null(g, "since", PQgetvalue(r, i, GWS_SINCE));
        cJSON_AddNumberToObject(g, "failures", atof(PQgetvalue(r, i, GWS_FAILURES)));
        add_text_or_null(g, "next_probe", PQgetvalue(r, i, GWS_PROBE_AT));
        add_text_or_null(g, "paused_until", PQgetvalue(r, i, GWS_PAUSED_UNTIL));
        cJSON_AddNumberToObject(g, "rate", config_double(c->cfg, sec, "rate"));
        cJSON_AddNumberToObject(g, "in_flight", atof(PQgetvalue(r, i, GWS_IN_FLIGHT)));
        cJSON_AddNumberToObject(g, "waiting", atof(PQgetvalue(r, i, GWS_WAITING)));
        cJSON_AddNumberToObject(g, "used_today", atof(PQgetvalue(r, i, GWS_USED_TODAY)));
        add_text_or_null(g, "sent_by", PQgetvalue(r, i, GWS_OWNER));
        long quota = config_int(c->cfg, sec, "daily_quota");
        if (quota > 0)
            cJSON_AddNumberToObject(g, "daily_quota", (double)quota);
        else
            cJSON_AddNullToObject(g, "daily_quota");
        cJSON_AddItemToArray(arr, g);
    }
}

static void status_text(const struct cli *c, PGresult *r)
{
    printf("%-16s %-10s %-10s %8s %9s %9s %14s  %-20s %s\n", "gateway", "type", "circuit", "rate", "in_flight",
           "waiting", "used_today", "paused_until", "sent_by");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, GWS_NAME), *st = PQgetvalue(r, i, GWS_CIRCUIT);
        char sec[96], used[48];
        snprintf(sec, sizeof sec, "gateway.%s", name);
        long quota = config_int(c->cfg, sec, "daily_quota");
        if (quota > 0)
            snprintf(used, sizeof used, "%s/%ld", PQgetvalue(r, i, GWS_USED_TODAY), quota);
        else
            snprintf(used, sizeof used, "%s", PQgetvalue(r, i, GWS_USED_TODAY));
        const char *paused = PQgetvalue(r, i, GWS_PAUSED_UNTIL), *owner = PQgetvalue(r, i, GWS_OWNER);
        printf("%-16s %-10s %-10s %8g %9s %9s %14s  %-20s %s\n", name, config_str(c->cfg, sec, "type"), st,
               config_double(c->cfg, sec, "rate"), PQgetvalue(r, i, GWS_IN_FLIGHT), PQgetvalue(r, i, GWS_WAITING),
               used, paused[0] ? paused : "-", owner[0] ? owner : "-");
        if (strcmp(st, "closed") != 0)
            printf("  circuit %s since %s (%s faults in a row): %s; next probe %s\n", st, PQgetvalue(r, i, GWS_SINCE),
                   PQgetvalue(r, i, GWS_FAILURES), PQgetvalue(r, i, GWS_REASON),
                   PQgetvalue(r, i, GWS_PROBE_AT)[0] ? PQgetvalue(r, i, GWS_PROBE_AT) : "when its probe answers");
    }
}

int cmd_gateway_status(struct cli *c, int argc, char **argv)
{
    int rc = cli_only_json(cli_find("gateway status"), argc, argv);
    if (rc != CLI_OK)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    size_t n = config_gateway_count(c->cfg);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names)
        return cli_refuse("out of memory");
    for (size_t i = 0; i < n; i++)
        names[i] = config_gateway_name(c->cfg, i);
    char err[600];
    PGresult *r = gateway_status_load(db, names, n, tz(c), err, sizeof err);
    free(names);
    if (!r)
        return cli_refuse("%s", err);
    cJSON *o = c->json ? cJSON_CreateObject() : NULL;
    if (o)
        status_json(c, r, cJSON_AddArrayToObject(o, "gateways"));
    else if (n == 0)
        printf("no gateway configured\n");
    else
        status_text(c, r);
    PQclear(r);
    return cli_json_done(o, 0, err);
}
