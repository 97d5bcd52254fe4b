#ifndef LOA_USERS_H
#define LOA_USERS_H
#include <libpq-fe.h>
#include <stdbool.h>
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

/* A user name is 1 to 64 bytes without spaces or control characters. */
bool users_name_ok(const char *name);
/* officer, supervisor or admin. */
bool users_role_ok(const char *role);

/* Adds user NAME with ROLE and a new token, which is written to TOKEN (hex, to show once; the
 * caller wipes it after use) with the user's *ID. 0, or -1 with ERR: the random generator
 * failed, NAME exists, or the database's error; TOKEN is then wiped. */
int users_add(PGconn *db, const char *name, const char *role, char token[USERS_TOKEN_HEX],
              long long *id, char *err, size_t errlen);

#endif
