#ifndef LOA_CMD_FAQ_H
#define LOA_CMD_FAQ_H
#include "cli/cli.h"

/* `loa faq add|import|list|remove|match`: the bank of standard questions and answers
 * (campaigns/faq.h). A question already in the bank gets the new answer. */
int cmd_faq_add(struct cli *c, int argc, char **argv);
int cmd_faq_import(struct cli *c, int argc, char **argv);
int cmd_faq_list(struct cli *c, int argc, char **argv);
int cmd_faq_remove(struct cli *c, int argc, char **argv);
int cmd_faq_match(struct cli *c, int argc, char **argv);

#endif
