#ifndef LOA_REPLIES_H
#define LOA_REPLIES_H

#include <stddef.h>

/* What citizens write back, and the officers' queue of replies to answer. Replies are read by
 * the keyword table (campaigns/keywords.h). */

/* TEXT as it can be stored in a text column: valid UTF-8 is copied unchanged; every byte that
 * is not part of a valid UTF-8 character, and every NUL among the LEN bytes, is written as the
 * four characters \xNN; a backslash is left as it is. Returns a string to free(), or NULL when
 * out of memory. */
char *reply_text_escape(const char *text, size_t len);

/* Commands (engine/cli_commands.c). */
struct cli;
int cmd_replies_list(struct cli *c, int argc, char **argv);
int cmd_replies_answer(struct cli *c, int argc, char **argv);

#endif
