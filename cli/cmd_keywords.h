#ifndef LOA_CMD_KEYWORDS_H
#define LOA_CMD_KEYWORDS_H
#include "cli/cli.h"

/* `loa keywords list|add|remove|test`: the reply keyword table (campaigns/keywords.h). add and
 * remove NOTIFY loa_keywords, so that a running daemon reads replies with the new table. */
int cmd_keywords_list(struct cli *c, int argc, char **argv);
int cmd_keywords_add(struct cli *c, int argc, char **argv);
int cmd_keywords_remove(struct cli *c, int argc, char **argv);
int cmd_keywords_test(struct cli *c, int argc, char **argv);

#endif
