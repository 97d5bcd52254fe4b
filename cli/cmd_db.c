#include "cli/commands.h"
#include "core/config.h"
#include "core/db.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

int cmd_db_migrate(struct cli *c, int argc, char **argv)
{
    if (argc > 1 && !(argc == 2 && c->json))
        return cli_usage(cli_find("db migrate"), "unexpected argument %s", argv[1]);
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
    printf("%s: ok, %zu gateway(s)\n", config_path(c->cfg), config_gateway_count(c->cfg));
    for (size_t i = 0; i < config_gateway_count(c->cfg); i++)
        printf("  gateway %s type=%s\n", config_gateway_name(c->cfg, i), config_gateway_type(c->cfg, i));
    return CLI_OK;
}

int cmd_config_keys(struct cli *c, int argc, char **argv)
{
    config_print_keys();
    return CLI_OK;
}
