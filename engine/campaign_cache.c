#include "engine/campaign_cache.h"
#include "campaigns/template.h"
#include "core/log.h"
#include "core/pgasync.h"
#include "engine/engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

void campaign_cache_init(struct campaign_cache *cc, struct engine *e, void (*on_ready)(void *arg), void *arg)
{
    *cc = (struct campaign_cache){.e = e, .on_ready = on_ready, .arg = arg};
    pgarray_init(&cc->ready);
    pgarray_end(&cc->ready);
}

struct cached_campaign *campaign_cache_find(struct campaign_cache *cc, int64_t id)
{
    for (struct cached_campaign *k = cc->list; k; k = k->next)
        if (k->id == id && !k->dead)
            return k;
    return NULL;
}

struct cached_step *cached_campaign_step(struct cached_campaign *k, int position)
{
    for (int i = 0; i < k->nsteps; i++)
        if (k->steps[i].position == position)
            return &k->steps[i];
    return NULL;
}

bool cached_campaign_sending(const struct cached_campaign *k, int64_t now_ms, int minute, int pol_start_min,
                             int pol_end_min)
{
    if (k->ends_at_ms > 0 && now_ms >= k->ends_at_ms)
        return false;
    int ws = k->win_start_min >= 0 ? k->win_start_min : pol_start_min;
    int we = k->win_end_min >= 0 ? k->win_end_min : pol_end_min;
    return minute >= ws && minute < we;
}

const char *campaign_cache_ready_ids(const struct campaign_cache *cc) { return cc->ready.p; }
size_t campaign_cache_ready_count(const struct campaign_cache *cc) { return cc->ready.count; }

static void cached_free(struct cached_campaign *k)
{
    for (int i = 0; i < k->nsteps; i++)
        template_set_free(k->steps[i].set);
    tpl_env_free(k->env);
    free(k);
}

static void ready_rebuild(struct campaign_cache *cc)
{
    pgarray_free(&cc->ready);
    pgarray_init(&cc->ready);
    for (struct cached_campaign *k = cc->list; k; k = k->next)
        if (k->st == CACHED_READY && !k->dead)
            pgarray_int(&cc->ready, k->id);
    pgarray_end(&cc->ready);
}

/* Unlinks and frees campaigns marked dead whose loading has finished. */
static void reap(struct campaign_cache *cc)
{
    for (struct cached_campaign **pp = &cc->list; *pp;) {
        struct cached_campaign *k = *pp;
        if (k->dead && k->loading == 0) {
            *pp = k->next;
            log_info("event=campaign_unloaded campaign=%" PRId64, k->id);
            cached_free(k);
        } else {
            pp = &k->next;
        }
    }
    ready_rebuild(cc);
}

static void broken(struct cached_campaign *k, const char *why)
{
    k->st = CACHED_BROKEN;
    log_error("event=campaign_unusable campaign=%" PRId64 " reason=\"%s\" note=not_leased_until_fixed", k->id, why);
}

/* The start of every loading callback: false when the campaign went away or the statement
 * failed (then nothing more is loaded for it). */
static bool answer_usable(struct cached_campaign *k, const char *err)
{
    k->loading--;
    if (k->dead) {
        reap(k->cache);
        return false;
    }
    if (err) {
        broken(k, err);
        return false;
    }
    return true;
}

static void policy_done(void *arg, PGresult *res, const char *err)
{
    struct cached_campaign *k = arg;
    char why[300];
    if (!answer_usable(k, err))
        return;
    if (tpl_env_load_policy(k->env, res, why, sizeof why) < 0) {
        broken(k, why);
        return;
    }
    k->st = CACHED_READY;
    log_info("event=campaign_loaded campaign=%" PRId64 " steps=%d", k->id, k->nsteps);
    ready_rebuild(k->cache);
    k->cache->on_ready(k->cache->arg);
}

static void variants_done(void *arg, PGresult *res, const char *err);

/* Loads the variants of the next step without a set, else the policy figures. */
static void load_next(struct cached_campaign *k)
{
    struct engine *e = k->cache->e;
    for (int i = 0; i < k->nsteps; i++) {
        if (k->steps[i].set)
            continue;
        char tid[24];
        snprintf(tid, sizeof tid, "%" PRId64, k->steps[i].template_id);
        const char *p[1] = {tid};
        if (pgpool_query(e->db, TPL_VARIANTS_SQL, 1, p, variants_done, k) == 0)
            k->loading++;
        return;
    }
    if (pgpool_query(e->db, TPL_POLICY_SQL, 0, NULL, policy_done, k) == 0)
        k->loading++;
}

static void variants_done(void *arg, PGresult *res, const char *err)
{
    struct cached_campaign *k = arg;
    if (!answer_usable(k, err))
        return;
    char why[300];
    for (int i = 0; i < k->nsteps; i++) {
        if (k->steps[i].set)
            continue;
        k->steps[i].set = template_set_from_result(res, why, sizeof why);
        if (!k->steps[i].set) {
            broken(k, why);
            return;
        }
        break;
    }
    load_next(k);
}

static void steps_done(void *arg, PGresult *res, const char *err)
{
    struct cached_campaign *k = arg;
    if (!answer_usable(k, err))
        return;
    int n = PQntuples(res);
    if (n == 0 || n > CACHED_MAX_STEPS) {
        broken(k, n ? "more than 8 channel steps" : "no channel steps");
        return;
    }
    for (int i = 0; i < n; i++) {
        struct cached_step *s = &k->steps[i];
        s->position = atoi(PQgetvalue(res, i, 0));
        snprintf(s->channel, sizeof s->channel, "%s", PQgetvalue(res, i, 1));
        s->template_id = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        /* A step a gateway refused for good before (loa_step_stop) stays stopped: its gateway
         * is not asked again after a restart or on a new day. */
        s->stopped = PQgetvalue(res, i, 3)[0] == 't';
        snprintf(s->stop_reason, sizeof s->stop_reason, "%s", PQgetvalue(res, i, 4));
    }
    k->nsteps = n;
    k->win_start_min = atoi(PQgetvalue(res, 0, 5));
    k->win_end_min = atoi(PQgetvalue(res, 0, 6));
    k->ends_at_ms = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    load_next(k);
}

static void load(struct campaign_cache *cc, int64_t id, long day)
{
    struct cached_campaign *k = calloc(1, sizeof *k);
    if (!k)
        return;
    k->id = id;
    k->cache = cc;
    k->seen = true;
    k->st = CACHED_LOADING;
    k->day = day;
    k->env = tpl_env_new(cc->e->cfg);
    if (!k->env) {
        free(k);
        return;
    }
    k->next = cc->list;
    cc->list = k;
    char cid[24];
    snprintf(cid, sizeof cid, "%" PRId64, id);
    const char *p[1] = {cid};
    if (pgpool_query(cc->e->db,
                     "SELECT cc.position, cc.channel, cc.template_id, cc.stopped_at IS NOT NULL,"
                     " COALESCE(cc.stop_reason, ''), COALESCE(extract(epoch FROM k.window_start)::int / 60, -1),"
                     " COALESCE(extract(epoch FROM k.window_end)::int / 60, -1),"
                     " COALESCE(floor(extract(epoch FROM k.ends_at) * 1000)::bigint, 0)"
                     " FROM campaign_channels cc JOIN campaigns k ON k.id = cc.campaign_id"
                     " WHERE cc.campaign_id = $1::bigint ORDER BY cc.position",
                     1, p, steps_done, k) == 0)
        k->loading++;
    else
        k->dead = true;
}

void campaign_cache_sync(struct campaign_cache *cc, const int64_t *ids, size_t n, long day)
{
    for (struct cached_campaign *k = cc->list; k; k = k->next)
        k->seen = false;
    for (size_t i = 0; i < n; i++) {
        struct cached_campaign *k = campaign_cache_find(cc, ids[i]);
        /* A new local day: ages and policy figures are recomputed for it. */
        if (k && k->day != day && k->st != CACHED_LOADING) {
            k->dead = true;
            k = NULL;
        }
        if (k)
            k->seen = true;
        else
            load(cc, ids[i], day);
    }
    for (struct cached_campaign *k = cc->list; k; k = k->next)
        if (!k->seen)
            k->dead = true;
    reap(cc);
}

void campaign_cache_free(struct campaign_cache *cc)
{
    while (cc->list) {
        struct cached_campaign *k = cc->list;
        cc->list = k->next;
        cached_free(k);
    }
    pgarray_free(&cc->ready);
}
