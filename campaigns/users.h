#ifndef LOA_USERS_H
#define LOA_USERS_H
#include <stddef.h>

/* Users of the HTTP API and dashboard. A user's token is 32 random bytes, shown once as hex
 * when the user is added; the database keeps only its SHA-256 (hex), so a copy of the database
 * does not hold usable tokens. */

enum { USERS_TOKEN_HEX = 65 };   /* 64 hex digits and the NUL */

/* Makes a new token: TOKEN (hex, to show once) and SHA (hex SHA-256 of the hex token text, as
 * the API compares it). 0, or -1 when the random generator fails. */
int users_token_new(char token[USERS_TOKEN_HEX], char sha[USERS_TOKEN_HEX]);
/* SHA-256 of TOKEN (its text) as hex into SHA. */
void users_token_hash(const char *token, char sha[USERS_TOKEN_HEX]);

/* `loa user add NAME --role officer|supervisor|admin` (engine/cli_commands.c). */
struct cli;
int cmd_user_add(struct cli *c, int argc, char **argv);

#endif
