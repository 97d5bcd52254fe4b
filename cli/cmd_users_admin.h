#ifndef LOA_CMD_USERS_ADMIN_H
#define LOA_CMD_USERS_ADMIN_H

/* `loa user list [--json]` and `loa user disable NAME [--json]` (cli/commands.c). */
struct cli;
int cmd_user_list(struct cli *c, int argc, char **argv);
int cmd_user_disable(struct cli *c, int argc, char **argv);

#endif
