#ifndef LOA_CMD_TARGETS_H
#define LOA_CMD_TARGETS_H

/* `loa targets import FILE.csv [--json]`: the plans' coverage targets (cli/commands.c). */
struct cli;
int cmd_targets_import(struct cli *c, int argc, char **argv);

#endif
