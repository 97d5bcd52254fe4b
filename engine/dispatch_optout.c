#include "core/log.h"
#include "engine/dispatch.h"
#include "engine/dispatcher.h"
#include "engine/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A stop is honoured at once: the opt-out's own transaction suppresses the citizen's waiting
 * messages, and loa_lease() never leases an opted-out citizen again. What neither can reach is a
 * message leased before the opt-out committed and still waiting here for room in the throttle
 * (the pump leases ahead of the window, seconds of traffic at a low rate). The opt-out says so
 * with NOTIFY loa_opt_outs; the ready queues drop those messages as suppressed. A lease that was
 * running when the opt-out committed may bring their rows after the notification: the citizens
 * are therefore remembered for one lease time, and dispatch_row() checks arriving rows against
 * them; when they are too many to be named, what such a lease brings goes back unsent
 * (lease_held_back). A message already handed to the gateway cannot be called back. */

struct recent_optout {
    int64_t citizen_id;
    int64_t until_ms;
    char channel[8];            /* "all", "sms" or "zalo" */
};

/* More citizens than this at once (an import's opt-out column) are not remembered one by one:
 * every ready message is held back instead and leased again, when loa_lease() skips them. */
enum { OPTOUT_RECENT_MAX = 4096 };

static void forget_expired(struct dispatcher *d, int64_t now)
{
    size_t j = 0;
    for (size_t i = 0; i < d->n_optouts; i++)
        if (d->optouts[i].until_ms > now)
            d->optouts[j++] = d->optouts[i];
    d->n_optouts = j;
}

static int remember(struct dispatcher *d, int64_t citizen_id, const char *channel, size_t chlen, int64_t until)
{
    if (chlen == 0 || chlen >= sizeof d->optouts->channel)
        return -1;
    if (d->n_optouts == d->cap_optouts) {
        size_t cap = d->cap_optouts ? d->cap_optouts * 2 : 16;
        if (cap > OPTOUT_RECENT_MAX)
            return -1;
        struct recent_optout *p = realloc(d->optouts, cap * sizeof *p);
        if (!p)
            return -1;
        d->optouts = p;
        d->cap_optouts = cap;
    }
    struct recent_optout *o = &d->optouts[d->n_optouts++];
    *o = (struct recent_optout){.citizen_id = citizen_id, .until_ms = until};
    memcpy(o->channel, channel, chlen);
    o->channel[chlen] = '\0';
    return 0;
}

bool dispatch_optout_has(struct dispatcher *d, int64_t citizen_id, const char *channel, int64_t now)
{
    for (size_t i = 0; i < d->n_optouts; i++) {
        const struct recent_optout *o = &d->optouts[i];
        if (o->citizen_id == citizen_id && o->until_ms > now &&
            (strcmp(o->channel, "all") == 0 || strcmp(o->channel, channel) == 0))
            return true;
    }
    return false;
}

struct optout_match {
    struct dispatcher *d;
    int64_t now;
};

static bool opted_out(void *arg, const struct inflight *f)
{
    struct optout_match *m = arg;
    return dispatch_optout_has(m->d, f->citizen_id, f->channel, m->now);
}

/* PAYLOAD: CITIZEN_ID:CHANNEL separated by commas, or '*'. False when it could not all be
 * remembered. */
static bool remember_payload(struct dispatcher *d, const char *payload, int64_t until)
{
    if (strcmp(payload, "*") == 0)
        return false;
    for (const char *p = payload; *p;) {
        char *end;
        errno = 0;
        long long id = strtoll(p, &end, 10);
        if (end == p || errno || id <= 0 || *end != ':')
            return false;
        const char *ch = end + 1;
        size_t chlen = strcspn(ch, ",");
        if (remember(d, id, ch, chlen, until) < 0)
            return false;
        p = ch[chlen] ? ch + chlen + 1 : ch + chlen;
    }
    return true;
}

static void on_notify(void *arg, const char *channel, const char *payload)
{
    (void)channel;
    struct engine *e = arg;
    struct dispatcher *d = e->dispatcher;   /* NULL once freed: the pool outlives it */
    if (!d)
        return;
    int64_t now = dispatch_now_ms();
    forget_expired(d, now);
    /* A lease running when the opt-out committed ends within its statement deadline, far inside
     * the lease time; the margin covers the notification's own way here. */
    int64_t until = now + (int64_t)e->settings.engine.lease_seconds * 1000 + 5000;
    size_t before = d->n_optouts;
    bool named = remember_payload(d, payload ? payload : "*", until);
    unsigned dropped = 0;
    for (size_t i = 0; i < d->ng; i++) {
        struct dispatch_gw *g = &d->g[i];
        int n = g->n_ready;
        if (named) {
            struct optout_match m = {d, now};
            dispatch_ready_drop(g, opted_out, &m, MSG_SUPPRESSED, "opted out while leased");
        } else {
            /* Who is not known: everything waiting goes back unsent, its attempt given back,
             * and the next lease skips whoever is opted out; so does what a lease running now
             * brings (its statement may have started before the opt-outs committed). */
            dispatch_ready_drop(g, NULL, NULL, MSG_PENDING, "held back: opt-outs arrived");
            if (g->state == PUMP_LEASING)
                g->lease_held_back = true;
        }
        dropped += (unsigned)(n - g->n_ready);
    }
    if (!named)
        d->n_optouts = before;      /* a half-read list: the held-back rows settle it instead */
    log_info("event=opt_outs_seen citizens=%zu named=%s ready_dropped=%u", named ? d->n_optouts - before : 0,
             named ? "yes" : "no", dropped);
    if (dropped)
        dispatcher_kick(d);
}

void dispatch_optout_start(struct dispatcher *d) { pgpool_listen(d->e->db, "loa_opt_outs", on_notify, d->e); }

void dispatch_optout_free(struct dispatcher *d)
{
    free(d->optouts);
    d->optouts = NULL;
    d->n_optouts = d->cap_optouts = 0;
}
