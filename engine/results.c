#include "engine/results.h"
#include "core/log.h"
#include "core/pgarray.h"
#include "core/pgasync.h"
#include "core/utf8.h"
#include "engine/engine.h"
#include "engine/gateway_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_timer(uv_timer_t *t);

void result_batch_init(struct result_batch *b, struct engine *e, const char *gateway,
                       void (*flushed)(void *arg), void *arg)
{
    *b = (struct result_batch){.e = e, .gateway = gateway, .flushed = flushed, .arg = arg};
    b->res = calloc(RESULTS_FLUSH_MAX, sizeof *b->res);
    if (!b->res)
        abort();
    uv_timer_init(e->loop, &b->timer);
    b->timer.data = b;
}

static void flush_done(void *arg, PGresult *res, const char *err)
{
    struct result_batch *b = arg;
    b->running--;
    if (err)
        log_error("event=flush_failed gw=%s error=\"%s\" note=rows_stay_leased_until_expiry", b->gateway, err);
    b->flushed(b->arg);
}

/* The nine columns of loa_flush(), one array each. */
enum { NCOLS = 9 };

static void flush_run(struct result_batch *b)
{
    if (b->n == 0)
        return;
    struct engine *e = b->e;
    struct pgarray a[NCOLS];
    for (int k = 0; k < NCOLS; k++)
        pgarray_init(&a[k]);
    for (int i = 0; i < b->n; i++) {
        const struct result *r = &b->res[i];
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
                     4 + NCOLS, p, flush_done, b) == 0)
        b->running++;
    else
        log_error("event=flush_failed gw=%s rows=%d error=pool_closed", b->gateway, b->n);
    b->n = 0;
    for (int k = 0; k < NCOLS; k++)
        pgarray_free(&a[k]);
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

bool result_batch_idle(const struct result_batch *b) { return b->n == 0 && b->running == 0; }

void result_batch_free(struct result_batch *b)
{
    free(b->res);
    b->res = NULL;
}
