#include "campaigns/kwcache.h"
#include "core/log.h"
#include "core/pgasync.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct waiter {
    struct waiter *next;
    kw_cache_cb cb;
    void *arg;
};

struct kw_cache {
    struct pgpool *db;
    struct kw_table *table;
    time_t loaded_at;           /* monotonic seconds */
    bool stale;                 /* a NOTIFY said the table changed */
    bool loading;
    struct waiter *waiters, **tail;
};

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void on_notify(void *arg, const char *channel, const char *payload)
{
    struct kw_cache *c = arg;
    c->stale = true;
    log_debug("event=keywords_changed");
}

struct kw_cache *kw_cache_new(struct pgpool *db)
{
    struct kw_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->db = db;
    c->tail = &c->waiters;
    pgpool_listen(db, "loa_keywords", on_notify, c);
    return c;
}

/* Hands the current table to every waiter; a callback may queue a new waiter. */
static void wake(struct kw_cache *c)
{
    struct waiter *w = c->waiters;
    c->waiters = NULL;
    c->tail = &c->waiters;
    while (w) {
        struct waiter *next = w->next;
        w->cb(w->arg, c->table);
        free(w);
        w = next;
    }
}

static void load_done(void *arg, PGresult *res, const char *err)
{
    struct kw_cache *c = arg;
    c->loading = false;
    int skipped = 0;
    struct kw_table *t = err ? NULL : kw_table_from_result(res, &skipped);
    if (t) {
        kw_table_free(c->table);
        c->table = t;
        c->loaded_at = now_s();
        log_info("event=keywords_loaded count=%zu skipped=%d", kw_table_count(t), skipped);
    } else {
        /* The old table, when there is one, is better than failing every reply. */
        log_warn("event=keywords_load_failed error=\"%s\" kept=%zu", err ? err : "out of memory",
                 kw_table_count(c->table));
    }
    wake(c);
}

void kw_cache_get(struct kw_cache *c, kw_cache_cb cb, void *arg)
{
    if (c->table && !c->stale && now_s() - c->loaded_at < KWCACHE_MAX_AGE && !c->loading) {
        cb(arg, c->table);
        return;
    }
    struct waiter *w = malloc(sizeof *w);
    if (!w) {
        cb(arg, c->table);
        return;
    }
    *w = (struct waiter){.cb = cb, .arg = arg};
    *c->tail = w;
    c->tail = &w->next;
    if (c->loading)
        return;
    c->loading = true;
    /* Cleared before the query runs: a change notified while it runs loads once more. */
    c->stale = false;
    if (pgpool_query(c->db, KW_TABLE_SQL, 0, NULL, load_done, c) < 0) {
        c->loading = false;
        wake(c);
    }
}

struct pgpool *kw_cache_db(const struct kw_cache *c) { return c->db; }

void kw_cache_free(struct kw_cache *c)
{
    if (!c)
        return;
    kw_table_free(c->table);
    free(c);
}
