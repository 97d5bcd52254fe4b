#include "cli/commands.h"
#include "core/config.h"
#include "core/db.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

int cmd_db_migrate(struct cli *c, int argc, char **argv)
{
    int rc = cli_positional(cli_find("db migrate"), argc, argv, NULL, 0, "no argument");
    if (rc != 0)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[600];
    int applied = 0;
    if (db_migrate(db, &applied, err, sizeof err) < 0)
        return cli_refuse("migration failed: %s", err);
    if (c->json)
        printf("{\"applied\":%d}\n", applied);
    else
        printf("migrations applied: %d\n", applied);
    return CLI_OK;
}

int cmd_config_check(struct cli *c, int argc, char **argv)
{
    int rc = cli_positional(cli_find("config check"), argc, argv, NULL, 0, "no argument");
    if (rc != 0)
        return rc;
    const char *path = config_path(c->cfg);   /* "(defaults)" without a file */
    size_t n = config_gateway_count(c->cfg);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddBoolToObject(o, "ok", true);
        cJSON *a = cJSON_AddArrayToObject(o, "gateways");
        for (size_t i = 0; i < n; i++) {
            cJSON *g = cJSON_CreateObject();
            cJSON_AddStringToObject(g, "name", config_gateway_name(c->cfg, i));
            cJSON_AddStringToObject(g, "type", config_gateway_type(c->cfg, i));
            cJSON_AddItemToArray(a, g);
        }
        cli_print_json(o);
        return CLI_OK;
    }
    printf("%s: ok, %zu gateway(s)\n", path, n);
    for (size_t i = 0; i < n; i++)
        printf("  gateway %s type=%s\n", config_gateway_name(c->cfg, i), config_gateway_type(c->cfg, i));
    return CLI_OK;
}

static void key_json(void *arg, const char *section, const struct cfg_key *k)
{
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "section", section);
    cJSON_AddStringToObject(x, "key", k->name);
    cJSON_AddStringToObject(x, "kind", config_kind_name(k->kind));
    if (k->def)
        cJSON_AddStringToObject(x, "default", k->def);
    else
        cJSON_AddNullToObject(x, "default");
    if (k->kind == CFG_INT || k->kind == CFG_DOUBLE) {
        cJSON *r = cJSON_AddObjectToObject(x, "range");
        cJSON_AddNumberToObject(r, "min", k->min);
        cJSON_AddNumberToObject(r, "max", k->max);
    }
    cJSON_AddStringToObject(x, "description", k->desc);
    cJSON_AddItemToArray(arg, x);
}

int cmd_config_keys(struct cli *c, int argc, char **argv)
{
    int rc = cli_positional(cli_find("config keys"), argc, argv, NULL, 0, "no argument");
    if (rc != 0)
        return rc;
    if (!c->json) {
        config_print_keys();
        return CLI_OK;
    }
    cJSON *o = cJSON_CreateObject();
    config_keys_each(key_json, cJSON_AddArrayToObject(o, "keys"));
    cli_print_json(o);
    return CLI_OK;
}
