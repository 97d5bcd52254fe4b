#ifndef LOA_CMD_DB_H
#define LOA_CMD_DB_H
#include "cli/cli.h"

int cmd_db_migrate(struct cli *c, int argc, char **argv);
int cmd_config_check(struct cli *c, int argc, char **argv);
int cmd_config_keys(struct cli *c, int argc, char **argv);

#endif
