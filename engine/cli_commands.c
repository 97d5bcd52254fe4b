#include "engine/cli.h"
#include "engine/cmd_db.h"

#include <stddef.h>

/* The command table: one row per command; `loa --help` lists them in this order. */
const struct cli_command cli_commands[] = {
    {"db migrate", cmd_db_migrate, "", "apply the sql/ migrations not yet applied (idempotent)"},
    {"config check", cmd_config_check, "", "read the configuration and report every error"},
    {"config keys", cmd_config_keys, "", "list every configuration key with its default and range"},
    {NULL, NULL, NULL, NULL},
};
