#ifndef LOA_DB_H
#define LOA_DB_H
#include <libpq-fe.h>
#include <stddef.h>

/* Synchronous PostgreSQL helpers for the command line. The daemon never uses these: it uses
 * core/pgasync.h so that the loop never blocks. Every value is a parameter. */

/* Connects; on failure returns NULL and writes the reason into ERR. */
PGconn *db_connect(const char *conninfo, char *err, size_t errlen);

/* Runs one statement with text parameters. Returns the result when it succeeded (the caller
 * PQclear()s it), or NULL with the server's message in ERR. */
PGresult *db_query(PGconn *c, char *err, size_t errlen, const char *sql, int nparams,
                   const char *const *params);

/* Runs a statement and discards the result: 0, or -1 with ERR set. */
int db_exec(PGconn *c, char *err, size_t errlen, const char *sql, int nparams,
            const char *const *params);

/* Transactions: 0 or -1 with ERR set. */
int db_begin(PGconn *c, char *err, size_t errlen);
int db_commit(PGconn *c, char *err, size_t errlen);
void db_rollback(PGconn *c);

/* Where the embedded files that every migration run applies again live. */
#define DB_FUNCTIONS_DIR "sql/functions/"

/* Applies the embedded sql/NNN_*.sql migrations not yet applied, each in its own transaction,
 * then every file of sql/functions/ (functions, triggers, views and the generated transition
 * tables) in name order, in one transaction, each time: they replace what they define. All of
 * it under an advisory lock so that two processes cannot migrate at once. Sets *APPLIED to the
 * number of migrations applied now. 0 or -1 with ERR set (naming the file that failed). */
int db_migrate(PGconn *c, int *applied, char *err, size_t errlen);

/* Sends NOTIFY CHANNEL, PAYLOAD so that a running daemon reacts at once. Best effort. */
void db_notify(PGconn *c, const char *channel, const char *payload);

#endif
