#include "core/db.h"
#include "core/clock.h"
#include "core/embedded.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg ? msg : "unknown database error");
    /* libpq messages end with a newline; the caller adds its own. */
    size_t n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

PGconn *db_connect(const char *conninfo, char *err, size_t errlen)
{
    /* A command must not hang on a server that does not answer: the connection gives up after
     * 10 s, and TCP keepalives end one whose server vanished mid-query (a failover, a firewall
     * dropping the flow) within about a minute instead of the kernel's two hours. The defaults
     * come first, so that the URL's own values override them. */
    static const char *const keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", "dbname", NULL};
    const char *vals[] = {"10", "30", "10", "3", conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        set_err(err, errlen, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    /* Dates and ages are computed in the policy time zone by the queries themselves; the
     * session stays in UTC so that timestamps print unambiguously. */
    PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'; SET client_min_messages = warning");
    PQclear(r);
    if (clock_is_test()) {
        /* The test clock (core/clock.h): this session's loa_now() runs as far ahead. */
        const char *p[1] = {clock_offset_text()};
        r = PQexecParams(c, CLOCK_SET_SQL, 1, NULL, p, NULL, NULL, 0);
        PQclear(r);
    }
    return c;
}

PGresult *db_query(PGconn *c, char *err, size_t errlen, const char *sql, int nparams,
                   const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN)
        return r;
    set_err(err, errlen, PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(c));
    PQclear(r);
    return NULL;
}

int db_exec(PGconn *c, char *err, size_t errlen, const char *sql, int nparams, const char *const *params)
{
    PGresult *r = db_query(c, err, errlen, sql, nparams, params);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int db_begin(PGconn *c, char *err, size_t errlen) { return db_exec(c, err, errlen, "BEGIN", 0, NULL); }
int db_commit(PGconn *c, char *err, size_t errlen) { return db_exec(c, err, errlen, "COMMIT", 0, NULL); }
void db_rollback(PGconn *c)
{
    PGresult *r = PQexec(c, "ROLLBACK");
    PQclear(r);
}

void db_notify(PGconn *c, const char *channel, const char *payload)
{
    const char *p[2] = {channel, payload};
    PGresult *r = PQexecParams(c, "SELECT pg_notify($1, $2)", 2, NULL, p, NULL, NULL, 0);
    PQclear(r);
}

/* A file of several statements, sent as one simple query; on failure ERR names the file. */
static int exec_file(PGconn *c, const struct embedded_file *f, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, f->data);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        char msg[400];
        set_err(msg, sizeof msg, PQresultErrorMessage(r));
        snprintf(err, errlen, "%s: %s", f->path, msg);
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

/* Migrations are the embedded files named sql/NNN_*.sql, already in name order. */
static int apply_migrations(PGconn *c, int *applied, char *err, size_t errlen)
{
    for (const struct embedded_file *f = embedded_files; f->path; f++) {
        if (strncmp(f->path, "sql/", 4) != 0 || strchr(f->path + 4, '/'))
            continue;
        const char *name = f->path + 4;
        int version = atoi(name);
        if (version <= 0) {
            snprintf(err, errlen, "migration %s has no number", f->path);
            return -1;
        }
        char vbuf[16];
        snprintf(vbuf, sizeof vbuf, "%d", version);
        const char *p[2] = {vbuf, name};
        PGresult *r = db_query(c, err, errlen, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, p);
        if (!r)
            return -1;
        int done = PQntuples(r) > 0;
        PQclear(r);
        if (done)
            continue;
        if (db_begin(c, err, errlen) < 0)
            return -1;
        if (exec_file(c, f, err, errlen) < 0 ||
            db_exec(c, err, errlen, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, p) < 0 ||
            db_commit(c, err, errlen) < 0) {
            db_rollback(c);
            return -1;
        }
        log_info("event=migrated file=%s", f->path);
        (*applied)++;
    }
    return 0;
}

/* The files of sql/functions/ (and the transition tables generated into it at build time) are
 * applied after the migrations on every run, all in one transaction: each is written to be run
 * again (CREATE OR REPLACE, DROP … IF EXISTS), so a fixed function reaches a database that is
 * already migrated, and a failure leaves the definitions as they were. */
static int apply_functions(PGconn *c, char *err, size_t errlen)
{
    if (db_begin(c, err, errlen) < 0)
        return -1;
    int n = 0;
    for (const struct embedded_file *f = embedded_files; f->path; f++) {
        if (strncmp(f->path, DB_FUNCTIONS_DIR, strlen(DB_FUNCTIONS_DIR)) != 0)
            continue;
        if (exec_file(c, f, err, errlen) < 0) {
            db_rollback(c);
            return -1;
        }
        n++;
    }
    if (db_commit(c, err, errlen) < 0) {
        db_rollback(c);
        return -1;
    }
    log_info("event=functions_applied files=%d", n);
    return 0;
}

int db_migrate(PGconn *c, int *applied, char *err, size_t errlen)
{
    *applied = 0;
    /* One migrating process at a time; the lock is released with the session. */
    if (db_exec(c, err, errlen, "SELECT pg_advisory_lock(7140001)", 0, NULL) < 0)
        return -1;
    int rc = -1;
    if (db_exec(c, err, errlen,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL) < 0)
        goto out;
    if (apply_migrations(c, applied, err, errlen) < 0 || apply_functions(c, err, errlen) < 0)
        goto out;
    rc = 0;
out:;
    char ignore[8];
    db_exec(c, ignore, sizeof ignore, "SELECT pg_advisory_unlock(7140001)", 0, NULL);
    return rc;
}
