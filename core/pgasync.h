#ifndef LOA_PGASYNC_H
#define LOA_PGASYNC_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <uv.h>

/* A small pool of non-blocking libpq connections driven by uv_poll (docs/design.md, principle 2).
 * Queries queue in FIFO order until a connection is free; each runs as one statement, so it is
 * its own transaction: write multi-step changes as one statement (CTEs) or a SQL function.
 * Broken connections are reopened with back-off; queries on them get an error.
 *
 * Every query has a deadline: the server cancels it after QUERY_TIMEOUT_MS (the session's
 * statement_timeout, lock waits included), and a connection that has not answered
 * PGPOOL_GRACE_MS later (half-open: failover, a firewall dropping the flow) is dropped and
 * replaced, the query's callback getting an error. Connecting has the same deadline. */

struct pgpool;

/* RES is NULL when ERR is set (connection lost, SQL error). RES is freed by the pool after the
 * callback returns: do not PQclear it. The callback runs exactly once, from the loop. */
typedef void (*pg_cb)(void *arg, PGresult *res, const char *err);
typedef void (*pg_notify_cb)(void *arg, const char *channel, const char *payload);

enum { PGPOOL_GRACE_MS = 1000 };

/* QUERY_TIMEOUT_MS 0: no deadline at all (the server's own statement_timeout applies). */
struct pgpool *pgpool_new(uv_loop_t *loop, const char *conninfo, int size, unsigned query_timeout_ms);

/* Queues a query. Parameters are copied, so they may be freed on return. 0, or -1 when the pool
 * is closing (the callback is not called). */
int pgpool_query(struct pgpool *p, const char *sql, int nparams, const char *const *params,
                 pg_cb cb, void *arg);

/* As pgpool_query, for a statement run often: prepared once per connection under NAME, then
 * only executed. NAME must be a string that lives as long as the pool (a literal), one per SQL
 * text; at most PGPOOL_MAX_PREPARED names are kept per connection, later ones run unprepared. */
enum { PGPOOL_MAX_PREPARED = 16 };
int pgpool_query_prepared(struct pgpool *p, const char *name, const char *sql, int nparams,
                          const char *const *params, pg_cb cb, void *arg);

/* LISTEN CHANNEL on the pool's own listening connection; CB runs for every NOTIFY. */
int pgpool_listen(struct pgpool *p, const char *channel, pg_notify_cb cb, void *arg);

/* True once a connection has been established and none is known broken. */
bool pgpool_healthy(const struct pgpool *p);
/* Inside a query's callback with ERR set: the SQLSTATE of the server's error ("57014"), or ""
 * when there was no answer from the server (connection lost, deadline, pool closing). */
const char *pgpool_error_sqlstate(const struct pgpool *p);
/* Queries waiting or running. */
unsigned pgpool_busy(const struct pgpool *p);
/* Queries answered (or failed) so far, and their time from pgpool_query() to the callback,
 * waiting in the queue included: what a caller of the pool waits. */
struct pgpool_latency {
    unsigned long long count;
    double sum_s, max_s;
};
struct pgpool_latency pgpool_latency(const struct pgpool *p);

/* Stops taking queries, lets running ones finish (their callbacks run), closes connections,
 * then calls DONE. The pool is freed after DONE returns. */
void pgpool_close(struct pgpool *p, void (*done)(void *arg), void *arg);

#endif
