#include "core/pgasync.h"
#include "core/clock.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each connection is a small state machine: DOWN → CONNECTING → IDLE ⇄ BUSY, back to DOWN when
 * the server goes away (then a timer reconnects with back-off). One extra connection only
 * LISTENs. Queries wait in one FIFO; whichever connection becomes idle takes the head. */

enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };

struct pgq {
    struct pgq *next;
    const char *name;           /* a prepared statement's name (static), or NULL */
    char *sql;
    int nparams;
    char **params;
    pg_cb cb;
    void *arg;
    uint64_t queued_ns;         /* uv_hrtime() when asked: the latency counts the wait too */
};

struct pgconn;
struct sockwatch {
    uv_poll_t poll;
    struct pgconn *c;
};

struct pgconn {
    struct pgpool *pool;
    int idx;
    bool listener;
    enum conn_state state;
    PGconn *conn;
    struct sockwatch *sw;       /* the uv_poll on the connection's socket */
    int fd;
    uv_timer_t retry;
    uv_timer_t deadline;        /* while connecting and while a query runs */
    int backoff_ms;
    struct pgq *cur;
    PGresult *res;              /* the last result of the current query */
    char err[512];
    char sqlstate[6];           /* of the server's error in ERR; empty for a lost connection */
    bool listening_sent;
    /* The statements prepared on this session (names are static strings, see
     * pgpool_query_prepared); GEN numbers them, so that after a failed execution the statement
     * is prepared afresh under a new server-side name. */
    const char *prepared[PGPOOL_MAX_PREPARED];
    int nprepared;
    unsigned gen;
    bool preparing;             /* the current query's PQsendPrepare is running */
    /* The test clock's offset this session has (clock_generation(); always 0 in production),
     * and the one being given to it before the current query. */
    unsigned clock_gen, clock_sending;
    bool clock_syncing;
};

struct listen_entry {
    struct listen_entry *next;
    char *channel;
    pg_notify_cb cb;
    void *arg;
};

struct pgpool {
    uv_loop_t *loop;
    char *conninfo;
    const char **keys, **vals;  /* the conninfo parsed, statement_timeout added; NULL: unparsable */
    unsigned timeout_ms;
    int size;
    struct pgconn *conns;       /* size + 1: the last one listens */
    struct pgq *head, *tail;
    unsigned queued, running;
    struct listen_entry *listens;
    bool closing;
    int open_handles;
    void (*done)(void *);
    void *done_arg;
    bool ever_up;
    const char *cb_sqlstate;    /* during a query's callback: its error's SQLSTATE */
    struct pgpool_latency latency;
};

static void conn_start(struct pgconn *c);
static void deadline_start(struct pgconn *c);
static void conn_pump(struct pgpool *p);
static void conn_send_exec(struct pgconn *c);
static void pool_maybe_closed(struct pgpool *p);

static void sw_closed(uv_handle_t *h)
{
    struct sockwatch *sw = h->data;
    struct pgpool *p = sw->c->pool;
    free(sw);
    p->open_handles--;
    pool_maybe_closed(p);
}

static void conn_unwatch(struct pgconn *c)
{
    if (!c->sw)
        return;
    uv_poll_stop(&c->sw->poll);
    uv_close((uv_handle_t *)&c->sw->poll, sw_closed);
    c->sw = NULL;
    c->fd = -1;
}

static void on_io(uv_poll_t *h, int status, int events);

static void conn_watch(struct pgconn *c, int events)
{
    int fd = PQsocket(c->conn);
    if (c->sw && c->fd != fd)
        conn_unwatch(c);
    if (!c->sw) {
        c->sw = calloc(1, sizeof *c->sw);
        if (!c->sw)
            abort();
        c->sw->c = c;
        c->sw->poll.data = c->sw;
        uv_poll_init(c->pool->loop, &c->sw->poll, fd);
        c->pool->open_handles++;
        c->fd = fd;
    }
    uv_poll_start(&c->sw->poll, events, on_io);
}

static void q_free(struct pgq *q)
{
    for (int i = 0; i < q->nparams; i++)
        free(q->params[i]);
    free(q->params);
    free(q->sql);
    free(q);
}

/* Finishes the current query: the callback runs with the connection already idle, so that it
 * may queue more queries. */
static void conn_finish_query(struct pgconn *c)
{
    struct pgq *q = c->cur;
    if (q && q->name && c->err[0]) {
        /* A failed prepare or execution (the function was replaced by a migration with another
         * result type, say): prepare every statement again, under new names. */
        c->nprepared = 0;
        c->gen++;
    }
    c->preparing = false;
    PGresult *res = c->res;
    char err[sizeof c->err], state[sizeof c->sqlstate];
    memcpy(err, c->err, sizeof err);
    memcpy(state, c->sqlstate, sizeof state);
    c->cur = NULL;
    c->res = NULL;
    c->err[0] = '\0';
    c->sqlstate[0] = '\0';
    uv_timer_stop(&c->deadline);
    c->pool->running--;
    if (c->state == C_BUSY)
        c->state = C_IDLE;
    if (q) {
        struct pgpool_latency *l = &c->pool->latency;
        double took = (double)(uv_hrtime() - q->queued_ns) / 1e9;
        l->count++;
        l->sum_s += took;
        if (took > l->max_s)
            l->max_s = took;
        if (err[0]) {
            PQclear(res);
            struct pgpool *p = c->pool;
            p->cb_sqlstate = state;
            q->cb(q->arg, NULL, err);
            p->cb_sqlstate = NULL;
        } else
            q->cb(q->arg, res, NULL);
        if (!err[0])
            PQclear(res);
        q_free(q);
    }
}

static void retry_fire(uv_timer_t *t)
{
    struct pgconn *c = t->data;
    if (!c->pool->closing)
        conn_start(c);
}

/* The server went away or refused us: fail the query in progress, reconnect later. */
static void conn_broken(struct pgconn *c, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s", why && *why ? why : "connection lost");
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    if (c->state != C_CONNECTING || c->backoff_ms <= 250)
        log_warn("event=db_down conn=%d reason=\"%s\"", c->idx, msg);
    conn_unwatch(c);
    if (c->conn) {
        PQfinish(c->conn);
        c->conn = NULL;
    }
    c->state = C_DOWN;
    c->listening_sent = false;
    c->nprepared = 0;
    c->preparing = false;
    c->clock_gen = 0;
    c->clock_syncing = false;
    uv_timer_stop(&c->deadline);
    if (c->cur) {
        if (!c->err[0])
            snprintf(c->err, sizeof c->err, "database connection lost: %s", msg);
        conn_finish_query(c);
    }
    if (c->pool->closing) {
        pool_maybe_closed(c->pool);
        return;
    }
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 250;
    if (c->backoff_ms > 10000)
        c->backoff_ms = 10000;
    uv_timer_start(&c->retry, retry_fire, (uint64_t)c->backoff_ms, 0);
}

static void conn_send_listens(struct pgconn *c)
{
    /* All LISTENs go as one simple query on the listening connection. */
    size_t cap = 64, n = 0;
    char *sql = malloc(cap);
    sql[0] = '\0';
    for (struct listen_entry *l = c->pool->listens; l; l = l->next) {
        char *id = PQescapeIdentifier(c->conn, l->channel, strlen(l->channel));
        if (!id)
            continue;
        size_t need = n + strlen(id) + 16;
        if (need > cap) {
            cap = need * 2;
            sql = realloc(sql, cap);
        }
        n += (size_t)sprintf(sql + n, "LISTEN %s;", id);
        PQfreemem(id);
    }
    if (n && PQsendQuery(c->conn, sql)) {
        c->state = C_BUSY;
        deadline_start(c);
        c->listening_sent = true;
        conn_watch(c, UV_READABLE | (PQflush(c->conn) == 1 ? UV_WRITABLE : 0));
    }
    free(sql);
}

/* No answer by the deadline: the connection is presumed half-open. Dropping it (not
 * PQcancel, which would block the loop on the same dead path) fails the query and reconnects. */
static void deadline_fire(uv_timer_t *t)
{
    struct pgconn *c = t->data;
    char why[160];
    if (c->state == C_CONNECTING)
        snprintf(why, sizeof why, "no answer while connecting within %u ms", c->pool->timeout_ms + PGPOOL_GRACE_MS);
    else
        snprintf(why, sizeof why, "no answer within %u ms", c->pool->timeout_ms + PGPOOL_GRACE_MS);
    if (c->cur) {
        snprintf(c->err, sizeof c->err, "database query timed out: %s; connection replaced", why);
        c->sqlstate[0] = '\0';
    }
    conn_broken(c, why);
}

static void deadline_start(struct pgconn *c)
{
    if (c->pool->timeout_ms)
        uv_timer_start(&c->deadline, deadline_fire, (uint64_t)c->pool->timeout_ms + PGPOOL_GRACE_MS, 0);
}

static void conn_up(struct pgconn *c)
{
    uv_timer_stop(&c->deadline);
    c->state = C_IDLE;
    c->backoff_ms = 0;
    if (!c->pool->ever_up)
        log_info("event=db_up conns=%d", c->pool->size);
    c->pool->ever_up = true;
    conn_watch(c, UV_READABLE);
    if (c->listener)
        conn_send_listens(c);
    else
        conn_pump(c->pool);
}

static void conn_poll_connect(struct pgconn *c)
{
    switch (PQconnectPoll(c->conn)) {
    case PGRES_POLLING_READING:
        conn_watch(c, UV_READABLE);
        break;
    case PGRES_POLLING_WRITING:
        conn_watch(c, UV_WRITABLE);
        break;
    case PGRES_POLLING_OK:
        PQsetnonblocking(c->conn, 1);
        conn_up(c);
        break;
    default:
        conn_broken(c, PQerrorMessage(c->conn));
    }
}

/* Server notices (e.g. "relation already exists, skipping") go through the log, not stderr. */
static void on_notice(void *arg, const char *message)
{
    size_t n = strlen(message);
    while (n && (message[n - 1] == '\n' || message[n - 1] == ' '))
        n--;
    log_debug("event=db_notice conn=%d message=\"%.*s\"", ((struct pgconn *)arg)->idx, (int)n, message);
}

static void conn_start(struct pgconn *c)
{
    struct pgpool *p = c->pool;
    c->conn = p->keys ? PQconnectStartParams(p->keys, p->vals, 0) : PQconnectStart(p->conninfo);
    if (c->conn)
        PQsetNoticeProcessor(c->conn, on_notice, c);
    if (!c->conn || PQstatus(c->conn) == CONNECTION_BAD) {
        conn_broken(c, c->conn ? PQerrorMessage(c->conn) : "out of memory");
        return;
    }
    c->state = C_CONNECTING;
    deadline_start(c);
    conn_poll_connect(c);
}

static void deliver_notifies(struct pgconn *c)
{
    PGnotify *n;
    while ((n = PQnotifies(c->conn))) {
        for (struct listen_entry *l = c->pool->listens; l; l = l->next)
            if (strcmp(l->channel, n->relname) == 0)
                l->cb(l->arg, n->relname, n->extra);
        PQfreemem(n);
    }
}

static void conn_read(struct pgconn *c)
{
    if (!PQconsumeInput(c->conn)) {
        conn_broken(c, PQerrorMessage(c->conn));
        return;
    }
    deliver_notifies(c);
    while (c->state == C_BUSY && !PQisBusy(c->conn)) {
        PGresult *r = PQgetResult(c->conn);
        if (!r) {
            if (c->listener) {
                c->state = C_IDLE;
                uv_timer_stop(&c->deadline);
                continue;
            }
            if (c->clock_syncing) {
                c->clock_syncing = false;
                c->clock_gen = c->clock_sending;
                if (c->err[0])
                    log_warn("event=test_clock_not_set conn=%d error=\"%s\"", c->idx, c->err);
                c->err[0] = '\0';
                c->sqlstate[0] = '\0';
                PQclear(c->res);
                c->res = NULL;
                conn_send_exec(c);
                return;
            }
            if (c->preparing && !c->err[0]) {
                /* The statement is prepared: now the execution itself. */
                c->preparing = false;
                PQclear(c->res);
                c->res = NULL;
                if (c->nprepared < PGPOOL_MAX_PREPARED)
                    c->prepared[c->nprepared++] = c->cur->name;
                conn_send_exec(c);
                return;
            }
            conn_finish_query(c);
            conn_pump(c->pool);
            return;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !c->err[0]) {
            snprintf(c->err, sizeof c->err, "%s", PQresultErrorMessage(r));
            const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            snprintf(c->sqlstate, sizeof c->sqlstate, "%s", code ? code : "");
            size_t n = strlen(c->err);
            while (n && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
                c->err[--n] = '\0';
        }
        if (c->listener) {
            if (c->err[0])
                log_error("event=db_listen_failed reason=\"%s\"", c->err);
            c->err[0] = '\0';
            PQclear(r);
            continue;
        }
        PQclear(c->res);
        c->res = r;
    }
    if (PQstatus(c->conn) == CONNECTION_BAD)
        conn_broken(c, PQerrorMessage(c->conn));
}

static void on_io(uv_poll_t *h, int status, int events)
{
    struct sockwatch *sw = h->data;
    struct pgconn *c = sw->c;
    if (c->state == C_CONNECTING) {
        conn_poll_connect(c);
        return;
    }
    if (status < 0) {
        conn_broken(c, uv_strerror(status));
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(c->conn);
        if (f < 0) {
            conn_broken(c, PQerrorMessage(c->conn));
            return;
        }
        if (f == 0 && c->sw)
            uv_poll_start(&c->sw->poll, UV_READABLE, on_io);
    }
    if (events & UV_READABLE)
        conn_read(c);
}

static bool conn_has_prepared(const struct pgconn *c, const char *name)
{
    for (int i = 0; i < c->nprepared; i++)
        if (c->prepared[i] == name)
            return true;
    return false;
}

/* The server-side name of statement NAME on this session. */
static void stmt_name(const struct pgconn *c, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s_%u", name, c->gen);
}

/* Sends the current query: as a prepared statement when it has a name (preparing it first, once
 * per session: its parse and plan are then done once, not per call), else as it is. */
static void conn_send_exec(struct pgconn *c)
{
    struct pgq *q = c->cur;
    char name[96];
    int ok;
    unsigned gen = clock_generation();
    if (gen != c->clock_gen) {
        /* The test clock moved (never in production): the session takes the new offset first,
         * so that loa_now() in this query agrees with clock_now_ms(). */
        const char *p[1] = {clock_offset_text()};
        c->clock_syncing = true;
        c->clock_sending = gen;
        ok = PQsendQueryParams(c->conn, CLOCK_SET_SQL, 1, NULL, p, NULL, NULL, 0);
    } else if (!q->name || (!conn_has_prepared(c, q->name) && c->nprepared >= PGPOOL_MAX_PREPARED)) {
        ok = PQsendQueryParams(c->conn, q->sql, q->nparams, NULL, (const char *const *)q->params, NULL, NULL, 0);
    } else if (conn_has_prepared(c, q->name)) {
        stmt_name(c, q->name, name, sizeof name);
        ok = PQsendQueryPrepared(c->conn, name, q->nparams, (const char *const *)q->params, NULL, NULL, 0);
    } else {
        stmt_name(c, q->name, name, sizeof name);
        c->preparing = true;
        ok = PQsendPrepare(c->conn, name, q->sql, q->nparams, NULL);
    }
    if (!ok) {
        conn_broken(c, PQerrorMessage(c->conn));
        return;
    }
    int f = PQflush(c->conn);
    if (f < 0) {
        conn_broken(c, PQerrorMessage(c->conn));
        return;
    }
    conn_watch(c, UV_READABLE | (f == 1 ? UV_WRITABLE : 0));
}

static void conn_send(struct pgconn *c, struct pgq *q)
{
    c->cur = q;
    c->state = C_BUSY;
    c->err[0] = '\0';
    c->sqlstate[0] = '\0';
    c->pool->running++;
    deadline_start(c);
    conn_send_exec(c);
}

/* Hands waiting queries to idle connections. */
static void conn_pump(struct pgpool *p)
{
    for (int i = 0; i < p->size && p->head; i++) {
        struct pgconn *c = &p->conns[i];
        if (c->state != C_IDLE)
            continue;
        struct pgq *q = p->head;
        p->head = q->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        conn_send(c, q);
    }
    pool_maybe_closed(p);
}

/* The connection parameters as given, plus what the deadline needs: statement_timeout in the
 * session's options (after any the caller gave, so ours wins), and TCP keepalives unless set,
 * so that even the idle LISTEN connection notices a dead peer. */
static void params_build(struct pgpool *p)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(p->conninfo, &errmsg);
    if (!opts) {
        PQfreemem(errmsg);   /* PQconnectStart() will report it */
        return;
    }
    static const char *const keepalive[][2] = {
        {"keepalives_idle", "30"}, {"keepalives_interval", "10"}, {"keepalives_count", "3"}};
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        n++;
    p->keys = calloc(n + 5, sizeof *p->keys);
    p->vals = calloc(n + 5, sizeof *p->vals);
    if (!p->keys || !p->vals)
        abort();
    size_t k = 0;
    /* JIT compilation costs the daemon's short statements more than it could ever save them
     * (a fifth of the server's time in a 100,000-message campaign went to LLVM): off, before
     * the caller's options so that a conninfo may still turn it on. */
    char options[1024] = "-c jit=off ";
    bool seen[3] = {false, false, false};
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "options") == 0) {
            size_t ol0 = strlen(options);
            snprintf(options + ol0, sizeof options - ol0, "%s ", o->val);
            continue;
        }
        for (int i = 0; i < 3; i++)
            if (strcmp(o->keyword, keepalive[i][0]) == 0)
                seen[i] = true;
        p->keys[k] = strdup(o->keyword);
        p->vals[k++] = strdup(o->val);
    }
    for (int i = 0; i < 3; i++)
        if (!seen[i]) {
            p->keys[k] = strdup(keepalive[i][0]);
            p->vals[k++] = strdup(keepalive[i][1]);
        }
    size_t ol = strlen(options);
    if (p->timeout_ms)
        snprintf(options + ol, sizeof options - ol, "-c statement_timeout=%u", p->timeout_ms);
    if (options[0]) {
        p->keys[k] = strdup("options");
        p->vals[k++] = strdup(options);
    }
    PQconninfoFree(opts);
}

static void params_free(struct pgpool *p)
{
    for (size_t i = 0; p->keys && p->keys[i]; i++) {
        free((char *)p->keys[i]);
        free((char *)p->vals[i]);
    }
    free(p->keys);
    free(p->vals);
}

struct pgpool *pgpool_new(uv_loop_t *loop, const char *conninfo, int size, unsigned query_timeout_ms)
{
    struct pgpool *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->loop = loop;
    p->conninfo = strdup(conninfo);
    p->timeout_ms = query_timeout_ms;
    params_build(p);
    p->size = size < 1 ? 1 : size;
    p->conns = calloc((size_t)p->size + 1, sizeof *p->conns);
    for (int i = 0; i <= p->size; i++) {
        struct pgconn *c = &p->conns[i];
        c->pool = p;
        c->idx = i;
        c->fd = -1;
        c->listener = (i == p->size);
        uv_timer_init(loop, &c->retry);
        c->retry.data = c;
        uv_timer_init(loop, &c->deadline);
        c->deadline.data = c;
        p->open_handles += 2;
        if (!c->listener)
            conn_start(c);
    }
    return p;
}

int pgpool_query(struct pgpool *p, const char *sql, int nparams, const char *const *params, pg_cb cb, void *arg)
{
    return pgpool_query_prepared(p, NULL, sql, nparams, params, cb, arg);
}

int pgpool_query_prepared(struct pgpool *p, const char *name, const char *sql, int nparams,
                          const char *const *params, pg_cb cb, void *arg)
{
    if (p->closing)
        return -1;
    struct pgq *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    q->name = name;
    q->sql = strdup(sql);
    q->nparams = nparams;
    if (nparams) {
        q->params = calloc((size_t)nparams, sizeof *q->params);
        for (int i = 0; i < nparams; i++)
            q->params[i] = params[i] ? strdup(params[i]) : NULL;
    }
    q->cb = cb;
    q->arg = arg;
    q->queued_ns = uv_hrtime();
    if (p->tail)
        p->tail->next = q;
    else
        p->head = q;
    p->tail = q;
    p->queued++;
    conn_pump(p);
    return 0;
}

int pgpool_listen(struct pgpool *p, const char *channel, pg_notify_cb cb, void *arg)
{
    struct listen_entry *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    l->channel = strdup(channel);
    l->cb = cb;
    l->arg = arg;
    l->next = p->listens;
    p->listens = l;
    struct pgconn *c = &p->conns[p->size];
    if (c->state == C_DOWN && !c->conn)
        conn_start(c);
    else if (c->state == C_IDLE)
        conn_send_listens(c);
    return 0;
}

bool pgpool_healthy(const struct pgpool *p)
{
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].state == C_IDLE || p->conns[i].state == C_BUSY)
            return true;
    return false;
}

unsigned pgpool_busy(const struct pgpool *p) { return p->queued + p->running; }

const char *pgpool_error_sqlstate(const struct pgpool *p)
{
    return p->cb_sqlstate ? p->cb_sqlstate : "";
}
struct pgpool_latency pgpool_latency(const struct pgpool *p) { return p->latency; }

static void handle_closed(uv_handle_t *h)
{
    struct pgconn *c = h->data;
    struct pgpool *p = c->pool;
    p->open_handles--;
    pool_maybe_closed(p);
}

static void pool_free(struct pgpool *p)
{
    while (p->listens) {
        struct listen_entry *l = p->listens;
        p->listens = l->next;
        free(l->channel);
        free(l);
    }
    params_free(p);
    free(p->conns);
    free(p->conninfo);
    free(p);
}

/* Once closing and no query is left, connections are finished and handles closed; the last
 * close callback calls DONE. Each step may be reached from several paths, hence the flags. */
static void pool_maybe_closed(struct pgpool *p)
{
    if (!p->closing || p->queued || p->running)
        return;
    if (p->open_handles > 0) {
        for (int i = 0; i <= p->size; i++) {
            struct pgconn *c = &p->conns[i];
            conn_unwatch(c);
            if (c->conn) {
                PQfinish(c->conn);
                c->conn = NULL;
                c->state = C_DOWN;
            }
            if (!uv_is_closing((uv_handle_t *)&c->retry)) {
                uv_timer_stop(&c->retry);
                uv_timer_stop(&c->deadline);
                uv_close((uv_handle_t *)&c->retry, handle_closed);
                uv_close((uv_handle_t *)&c->deadline, handle_closed);
            }
        }
        return;
    }
    void (*done)(void *) = p->done;
    void *arg = p->done_arg;
    p->done = NULL;
    if (done) {
        done(arg);
        pool_free(p);
    }
}

void pgpool_close(struct pgpool *p, void (*done)(void *arg), void *arg)
{
    p->closing = true;
    p->done = done;
    p->done_arg = arg;
    /* Queries that never found a connection (the server is down) fail now. */
    if (!pgpool_healthy(p)) {
        while (p->head) {
            struct pgq *q = p->head;
            p->head = q->next;
            p->queued--;
            q->cb(q->arg, NULL, "database unavailable: shutting down");
            q_free(q);
        }
        p->tail = NULL;
    }
    pool_maybe_closed(p);
}
