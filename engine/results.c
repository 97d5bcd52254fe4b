#include "engine/results.h"
#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "core/utf8.h"
#include "engine/engine.h"
#include "engine/gateway_table.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_timer(uv_timer_t *t);
static void job_send(struct result_job *j);

/* The rows of one flush statement, from the moment they leave the gathering slots until they
 * are written (or given up). Listed in the batch, running or waiting for the retry timer. */
struct result_job {
    struct result_job *next;
    struct result_batch *b;     /* NULL once the batch is freed: a late answer frees the job only */
    bool running;
    bool stripped;              /* alone and refused: sent once more without the gateway texts */
    int n;
    struct result res[];
};

enum { RETRY_MIN_MS = 250, RETRY_MAX_MS = 5000 };

void result_batch_init(struct result_batch *b, struct engine *e, const char *gateway,
                       void (*flushed)(void *arg), void *arg)
{
    *b = (struct result_batch){.e = e, .gateway = gateway, .flushed = flushed, .arg = arg};
    b->res = calloc(RESULTS_FLUSH_MAX, sizeof *b->res);
    if (!b->res)
        abort();
    uv_timer_init(e->loop, &b->timer);
    b->timer.data = b;
    uv_timer_init(e->loop, &b->retry);
    b->retry.data = b;
}

static struct result_job *job_new(struct result_batch *b, const struct result *res, int n)
{
    struct result_job *j = malloc(sizeof *j + (size_t)n * sizeof *res);
    if (!j)
        abort();
    *j = (struct result_job){.next = b->jobs, .b = b, .n = n};
    memcpy(j->res, res, (size_t)n * sizeof *res);
    b->jobs = j;
    return j;
}

static void job_free(struct result_job *j)
{
    struct result_batch *b = j->b;
    if (b)
        for (struct result_job **pp = &b->jobs; *pp; pp = &(*pp)->next)
            if (*pp == j) {
                *pp = j->next;
                break;
            }
    free(j);
}

/* Sends every job waiting for a retry. */
static void on_retry(uv_timer_t *t)
{
    struct result_batch *b = t->data;
    struct result_job *next;
    for (struct result_job *j = b->jobs; j; j = next) {
        next = j->next;     /* job_send frees J when the pool is closing */
        if (!j->running)
            job_send(j);
    }
}

/* The database was away or busy: keep the rows and try again later. */
static void job_retry_later(struct result_job *j, const char *err)
{
    struct result_batch *b = j->b;
    b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : RETRY_MIN_MS;
    if (b->backoff_ms > RETRY_MAX_MS)
        b->backoff_ms = RETRY_MAX_MS;
    log_warn("event=flush_failed gw=%s rows=%d error=\"%s\" note=kept_for_retry retry_ms=%d", b->gateway, j->n, err,
             b->backoff_ms);
    if (!uv_is_active((uv_handle_t *)&b->retry))
        uv_timer_start(&b->retry, on_retry, (uint64_t)b->backoff_ms, 0);
}

/* The server refused the statement for what it holds: each row alone, so that the others are
 * written; a row refused alone once more without its texts (the only outside data in it). */
static void job_refused(struct result_job *j, const char *err)
{
    struct result_batch *b = j->b;
    if (j->n > 1) {
        log_warn("event=flush_refused gw=%s rows=%d error=\"%s\" note=writing_row_by_row", b->gateway, j->n, err);
        for (int i = 0; i < j->n; i++)
            job_send(job_new(b, &j->res[i], 1));
        job_free(j);
        return;
    }
    struct result *r = &j->res[0];
    if (!j->stripped) {
        log_warn("event=flush_row_refused gw=%s campaign=%" PRId64 " msg=%" PRId64 " error=\"%s\""
                 " note=retry_without_texts", b->gateway, r->campaign_id, r->id, err);
        j->stripped = true;
        snprintf(r->reason, sizeof r->reason, "result text refused by the database");
        r->gwid[0] = '\0';
        job_send(j);
        return;
    }
    log_error("event=flush_row_given_up gw=%s campaign=%" PRId64 " msg=%" PRId64 " state=%s error=\"%s\""
              " note=left_leased_for_lease_expiry", b->gateway, r->campaign_id, r->id, message_state_name(r->state),
              err);
    job_free(j);
}

/* Errors that say nothing about the rows: the server, or the path to it, was away or busy
 * (connection exceptions, serialization and deadlocks, resources, operator intervention such
 * as statement_timeout or a shutdown, lock not available). */
static bool error_is_transient(const char *sqlstate)
{
    if (!sqlstate[0])
        return true;                     /* no answer at all: connection lost or deadline */
    static const char *const classes[] = {"08", "40", "53", "55", "57", "58"};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strncmp(sqlstate, classes[i], 2) == 0)
            return true;
    return false;
}

static void flush_done(void *arg, PGresult *res, const char *err)
{
    struct result_job *j = arg;
    struct result_batch *b = j->b;
    if (!b) {
        if (err)
            log_error("event=flush_failed rows=%d error=\"%s\" note=after_shutdown_left_leased", j->n, err);
        free(j);
        return;
    }
    j->running = false;
    if (!err) {
        b->backoff_ms = 0;
        job_free(j);
        /* The database answers again: what waits for a retry need not wait longer. */
        if (uv_is_active((uv_handle_t *)&b->retry)) {
            uv_timer_stop(&b->retry);
            on_retry(&b->retry);
        }
    } else if (error_is_transient(pgpool_error_sqlstate(b->e->db))) {
        job_retry_later(j, err);
    } else {
        job_refused(j, err);
    }
    b->flushed(b->arg);
}

/* The nine columns of loa_flush(), one array each. */
enum { NCOLS = 9 };

static void job_send(struct result_job *j)
{
    struct result_batch *b = j->b;
    struct engine *e = b->e;
    struct pgarray a[NCOLS];
    for (int k = 0; k < NCOLS; k++)
        pgarray_init(&a[k]);
    for (int i = 0; i < j->n; i++) {
        const struct result *r = &j->res[i];
        pgarray_int(&a[0], r->campaign_id);
        pgarray_int(&a[1], r->id);
        pgarray_text(&a[2], message_state_name(r->state));
        pgarray_text(&a[3], r->reason);
        pgarray_text(&a[4], r->gwid);
        pgarray_int(&a[5], r->parts);
        pgarray_int(&a[6], r->cost);
        pgarray_int(&a[7], r->delay);
        pgarray_int(&a[8], r->flags);
    }
    const char *p[4 + NCOLS] = {b->gateway, e->settings.policy.timezone, gateway_table_name_for_channel(e, "sms"),
                                gateway_table_name_for_channel(e, "zalo")};
    for (int k = 0; k < NCOLS; k++)
        p[4 + k] = pgarray_end(&a[k]);
    if (pgpool_query_prepared(e->db, "loa_flush",
                     "SELECT loa_flush($1, $2, $3, $4, $5::bigint[], $6::bigint[], $7::text[], $8::text[],"
                     " $9::text[], $10::int[], $11::int[], $12::int[], $13::int[])",
                     4 + NCOLS, p, flush_done, j) == 0) {
        j->running = true;
    } else {
        log_error("event=flush_failed gw=%s rows=%d error=pool_closed note=left_leased_for_lease_expiry", b->gateway,
                  j->n);
        job_free(j);
    }
    for (int k = 0; k < NCOLS; k++)
        pgarray_free(&a[k]);
}

static void flush_run(struct result_batch *b)
{
    if (b->n == 0)
        return;
    struct result_job *j = job_new(b, b->res, b->n);
    b->n = 0;
    job_send(j);
}

void result_batch_flush(struct result_batch *b)
{
    if (b->armed) {
        uv_timer_stop(&b->timer);
        b->armed = false;
    }
    flush_run(b);
}

static void on_timer(uv_timer_t *t)
{
    struct result_batch *b = t->data;
    b->armed = false;
    flush_run(b);
}

/* Makes S (in a buffer of CAP bytes) valid UTF-8 in place: a character cut in half at the end
 * (the fixed-size copies on the way here cut by bytes) is dropped, and any other byte that is
 * not UTF-8 becomes \xNN. A gateway's answer is outside text, and PostgreSQL refuses a whole
 * loa_flush, every result of the batch with it, for one bad byte. */
static void text_clean(char *s, size_t cap)
{
    size_t n = strlen(s);
    if (utf8_valid(s, n))
        return;
    char tmp[256];
    size_t keep = utf8_cut(s, n, n);
    if (utf8_valid(s, keep)) {
        s[keep] = '\0';
        return;
    }
    utf8_escape(tmp, cap < sizeof tmp ? cap : sizeof tmp, s, n);
    memcpy(s, tmp, strlen(tmp) + 1);
}

void result_batch_push(struct result_batch *b, const struct result *r)
{
    struct result *slot = &b->res[b->n++];
    *slot = *r;
    text_clean(slot->reason, sizeof slot->reason);
    text_clean(slot->gwid, sizeof slot->gwid);
    if (b->n >= RESULTS_FLUSH_MAX) {
        result_batch_flush(b);
    } else if (!b->armed) {
        b->armed = true;
        uv_timer_start(&b->timer, on_timer, RESULTS_FLUSH_MS, 0);
    }
}

void result_batch_simple(struct result_batch *b, int64_t cid, int64_t id, enum msg_state st, int delay,
                         const char *reason)
{
    struct result r = {.campaign_id = cid, .id = id, .state = st, .delay = delay};
    snprintf(r.reason, sizeof r.reason, "%s", reason ? reason : "");
    result_batch_push(b, &r);
}

bool result_batch_idle(const struct result_batch *b) { return b->n == 0 && !b->jobs; }

int result_batch_unwritten(const struct result_batch *b)
{
    int n = b->n;
    for (const struct result_job *j = b->jobs; j; j = j->next)
        n += j->n;
    return n;
}

void result_batch_free(struct result_batch *b)
{
    while (b->jobs) {
        struct result_job *j = b->jobs;
        b->jobs = j->next;
        if (j->running)
            j->b = NULL;        /* its callback frees it */
        else
            free(j);
    }
    free(b->res);
    b->res = NULL;
}
