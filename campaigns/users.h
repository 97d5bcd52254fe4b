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

/* Passwords for the dashboard's login, stored as "pbkdf2-sha256$ITERATIONS$SALT$HASH" (hex):
 * PBKDF2-HMAC-SHA256 from libcrypto with a random 16-byte salt and [http] password_iterations
 * rounds (600,000 by default), slow on purpose (a few hundred milliseconds), so the daemon
 * verifies off its loop. The count is stored with the hash, so raising it later leaves old
 * hashes valid. */
enum { USERS_HASH_MAX = 160, USERS_PASSWORD_MAX = 1024 };
/* Hashes PASSWORD (8 to USERS_PASSWORD_MAX bytes, checked by the caller) with ITERATIONS
 * rounds into OUT (USERS_HASH_MAX bytes). 0, or -1 when the random generator fails. */
int users_password_hash_iter(const char *password, int iterations, char out[USERS_HASH_MAX]);
/* True when PASSWORD matches STORED (compared in constant time); false for a malformed hash. */
bool users_password_verify(const char *password, const char *stored);
/* The password of `user add`: the first line of PATH (--password-file), else asked twice on
 * the terminal with echo off; "" (no password: the user has only the API token) when PATH is
 * NULL and standard input is not a terminal. 0, or -1 with ERR (unreadable file, the two
 * entries differ, shorter than 8 bytes). */
int users_password_read(const char *path, char *buf, size_t len, char *err, size_t errlen);

/* A user name is 1 to 64 bytes without spaces or control characters. */
bool users_name_ok(const char *name);
/* officer, supervisor or admin. */
bool users_role_ok(const char *role);

/* Adds user NAME with ROLE, PASSWORD_HASH (from users_password_hash_iter(); NULL or "": none, the
 * user has only the API token) and a new token, which is written to TOKEN (hex, to show once;
 * the caller wipes it after use) with the user's *ID, and its audit row (user.add) by ACTOR
 * (who ran the command, "shell:LOGIN"). 0, or -1 with ERR: the random generator failed, NAME
 * exists, or the database's error; TOKEN is then wiped. */
int users_add(PGconn *db, const char *name, const char *role, const char *password_hash, const char *actor,
              char token[USERS_TOKEN_HEX], long long *id, char *err, size_t errlen);

/* The columns of `user list` and GET /api/v1/users: id, name, role, has a password, created_at
 * and disabled_at (UTC ISO, NULL while enabled). */
#define USERS_LIST_SQL                                                                        \
    "SELECT id, name, role, password_hash IS NOT NULL,"                                       \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"              \
    " to_char(disabled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"              \
    " FROM users ORDER BY name"
/* {"id","name","role","password","created_at","disabled_at"} of row I; the caller owns it. */
struct cJSON *users_row_json(const PGresult *r, int i);

/* Disables user NAME from now on and ends their sessions, with the audit row (user.disable) by
 * ACTOR, in one statement; sets *ID. 0, or -1 with ERR (no such user, already disabled, the
 * database's error). */
int users_disable(PGconn *db, const char *name, const char *actor, long long *id, char *err, size_t errlen);

#endif
