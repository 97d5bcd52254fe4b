#ifndef LOA_CMD_HINTS_H
#define LOA_CMD_HINTS_H
#include "cli/cli.h"

/* `loa hints list|set`: the opt-out hint of each language (the table opt_out_hints,
 * sql/009_opt_out_hints.sql), which {{opt_out_hint}} renders in a variant of that language.
 * set checks the text as a campaign will compile it, so a bad hint is refused here rather than
 * when a campaign starts; campaigns loaded afterwards use the new text. */
int cmd_hints_list(struct cli *c, int argc, char **argv);
int cmd_hints_set(struct cli *c, int argc, char **argv);

#endif
