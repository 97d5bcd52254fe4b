#ifndef LOA_CAMPAIGN_CACHE_H
#define LOA_CAMPAIGN_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pgarray.h"

/* The templates of the running campaigns, kept by the dispatcher: for each campaign, every
 * channel step's variants (compiled once) and the policy figures of the local day (a tpl_env).
 * Loading is three statements in a chain (steps → each step's variants → policy figures); a
 * campaign is leased from only once all of them have answered (CACHED_READY), and one whose
 * templates cannot be used is logged and left out (CACHED_BROKEN) until it stops running.
 *
 * Owned by struct dispatcher. A campaign that stops running is marked dead and freed once its
 * loading statement, if any, has answered (the callbacks point at it). ON_READY runs from the
 * loop when a campaign has become ready: the dispatcher kicks its gateways. Memory is bounded
 * by the number of running campaigns (the scheduler lists at most 500). */

enum { CACHED_MAX_STEPS = 8 };

struct template_set;
struct tpl_env;
struct engine;

struct cached_step {
    int position;
    char channel[8];
    int64_t template_id;
    struct template_set *set;
    bool stopped;               /* the gateway stopped this step (GW_ACT_STOP_STEP) */
    char stop_reason[160];
};

enum cached_state { CACHED_LOADING, CACHED_READY, CACHED_BROKEN };

struct campaign_cache;

struct cached_campaign {
    int64_t id;
    enum cached_state st;
    bool dead;                  /* no longer running: freed when its loading finishes */
    bool seen;
    long day;                   /* local day its tpl_env was made for */
    int win_start_min, win_end_min;     /* its own sending window in minutes, or -1: the policy's */
    int64_t ends_at_ms;         /* its --end (unix ms by clock_now_ms()), or 0 */
    int nsteps, loading;
    struct cached_step steps[CACHED_MAX_STEPS];
    struct tpl_env *env;
    struct campaign_cache *cache;
    struct cached_campaign *next;
};

struct campaign_cache {
    struct engine *e;
    struct cached_campaign *list;
    struct pgarray ready;       /* "{1,2,3}": the ids of the CACHED_READY campaigns */
    void (*on_ready)(void *arg);
    void *arg;
};

void campaign_cache_init(struct campaign_cache *cc, struct engine *e, void (*on_ready)(void *arg), void *arg);

/* The campaigns running now (IDS, N) on local day DAY: loads new ones, reloads those loaded for
 * another day (ages and policy figures change at midnight), drops the others. */
void campaign_cache_sync(struct campaign_cache *cc, const int64_t *ids, size_t n, long day);

/* The live campaign ID, or NULL. */
struct cached_campaign *campaign_cache_find(struct campaign_cache *cc, int64_t id);
/* Its step at POSITION, or NULL. */
struct cached_step *cached_campaign_step(struct cached_campaign *k, int position);

/* True when K may send at NOW_MS, local minute of the day MINUTE: inside its sending window (the
 * policy's, POL_START_MIN-POL_END_MIN, when it has none) and before its end. loa_lease() decides
 * the same for what it leases; this holds back what was leased just before the window closed. */
bool cached_campaign_sending(const struct cached_campaign *k, int64_t now_ms, int minute, int pol_start_min,
                             int pol_end_min);

/* The ready campaigns as a bigint[] literal for loa_lease(), and how many there are. */
const char *campaign_cache_ready_ids(const struct campaign_cache *cc);
size_t campaign_cache_ready_count(const struct campaign_cache *cc);

/* Frees every campaign: only once no loading statement can answer (the pool is closed or the
 * loop is done with them). */
void campaign_cache_free(struct campaign_cache *cc);

#endif
