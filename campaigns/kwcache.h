#ifndef LOA_KWCACHE_H
#define LOA_KWCACHE_H

#include "campaigns/keywords.h"

/* The daemon's copy of the keyword table, so that reading a reply never blocks the loop: loaded
 * through the asynchronous pool on first use, loaded again after NOTIFY loa_keywords (sent by
 * `loa keywords add|remove`) or once it is KWCACHE_MAX_AGE seconds old, in case a notification
 * was lost while the listening connection was down. */

#define KWCACHE_MAX_AGE 300

struct pgpool;
struct kw_cache;

/* A cache over DB (which must outlive it); it LISTENs on loa_keywords at once. */
struct kw_cache *kw_cache_new(struct pgpool *db);

/* CB gets the table: at once when the copy is fresh, else from the loop once it is loaded
 * again. T is NULL only when the table was never loaded and loading failed (the caller fails
 * its request and the gateway retries). T is valid during the callback only. CB runs exactly
 * once. */
typedef void (*kw_cache_cb)(void *arg, const struct kw_table *t);
void kw_cache_get(struct kw_cache *c, kw_cache_cb cb, void *arg);

/* The pool the cache loads through. */
struct pgpool *kw_cache_db(const struct kw_cache *c);

/* Frees the cache; no load may be in flight (the pool was closed, which ran its callbacks). */
void kw_cache_free(struct kw_cache *c);

#endif
