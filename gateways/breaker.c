#include "gateways/breaker.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {"closed", "open", "half_open"};

const char *breaker_state_name(enum breaker_state s)
{
    return (unsigned)s <= BREAKER_HALF_OPEN ? names[s] : "?";
}

int breaker_state_parse(const char *name, enum breaker_state *out)
{
    for (int i = 0; i <= BREAKER_HALF_OPEN; i++)
        if (strcmp(names[i], name) == 0) {
            *out = (enum breaker_state)i;
            return 0;
        }
    return -1;
}

void breaker_init(struct breaker *b, int threshold, int probe_min_s, int probe_max_s)
{
    memset(b, 0, sizeof *b);
    b->threshold = threshold > 0 ? threshold : 1;
    b->probe_min_s = probe_min_s > 0 ? probe_min_s : 1;
    b->probe_max_s = probe_max_s >= b->probe_min_s ? probe_max_s : b->probe_min_s;
    b->probe_delay_s = b->probe_min_s;
}

void breaker_configure(struct breaker *b, int threshold, int probe_min_s, int probe_max_s)
{
    struct breaker n;
    breaker_init(&n, threshold, probe_min_s, probe_max_s);
    b->threshold = n.threshold;
    b->probe_min_s = n.probe_min_s;
    b->probe_max_s = n.probe_max_s;
    if (b->probe_delay_s < b->probe_min_s)
        b->probe_delay_s = b->probe_min_s;
    if (b->probe_delay_s > b->probe_max_s)
        b->probe_delay_s = b->probe_max_s;
}

static void open_until(struct breaker *b, const char *reason, int64_t now_ms)
{
    b->state = BREAKER_OPEN;
    b->probe_at_ms = now_ms + (int64_t)b->probe_delay_s * 1000;
    snprintf(b->reason, sizeof b->reason, "%s", reason && *reason ? reason : "gateway fault");
}

bool breaker_record(struct breaker *b, bool fault, const char *reason, int64_t now_ms)
{
    if (!fault) {
        b->failures = 0;
        if (b->state == BREAKER_CLOSED)
            return false;
        /* The first success closes it, a probe's or that of a message already in flight when
         * it opened: either way the gateway answers again. */
        b->state = BREAKER_CLOSED;
        b->probe_delay_s = b->probe_min_s;
        b->reason[0] = '\0';
        return true;
    }
    b->failures++;
    switch (b->state) {
    case BREAKER_CLOSED:
        if (b->failures < b->threshold)
            return false;
        b->probe_delay_s = b->probe_min_s;
        open_until(b, reason, now_ms);
        return true;
    case BREAKER_HALF_OPEN:
        /* The probe failed: wait twice as long before the next one. */
        b->probe_delay_s = b->probe_delay_s * 2 > b->probe_max_s ? b->probe_max_s : b->probe_delay_s * 2;
        open_until(b, reason, now_ms);
        return true;
    case BREAKER_OPEN:
        /* The answer of a message sent before it opened: changes nothing. */
        return false;
    }
    return false;
}

int breaker_room(const struct breaker *b, int64_t now_ms)
{
    switch (b->state) {
    case BREAKER_CLOSED: return -1;
    case BREAKER_OPEN: return now_ms >= b->probe_at_ms ? 1 : 0;
    case BREAKER_HALF_OPEN: return 0;
    }
    return 0;
}

bool breaker_probe_started(struct breaker *b)
{
    if (b->state != BREAKER_OPEN)
        return false;
    b->state = BREAKER_HALF_OPEN;
    return true;
}

int64_t breaker_wait_ms(const struct breaker *b, int64_t now_ms)
{
    if (b->state != BREAKER_OPEN)
        return -1;
    return b->probe_at_ms > now_ms ? b->probe_at_ms - now_ms : 0;
}

void breaker_restore(struct breaker *b, enum breaker_state st, const char *reason, int64_t now_ms)
{
    if (st == BREAKER_CLOSED) {
        b->state = BREAKER_CLOSED;
        return;
    }
    /* A probe that was in flight when the daemon stopped has no answer to wait for. */
    b->state = BREAKER_OPEN;
    b->failures = b->threshold;
    b->probe_at_ms = now_ms;
    snprintf(b->reason, sizeof b->reason, "%s", reason ? reason : "");
}

int breaker_save(const struct breaker *b, struct pgpool *db, const char *gateway, int64_t now_ms,
                 pg_cb cb, void *arg)
{
    char fails[16], probe[24];
    snprintf(fails, sizeof fails, "%d", b->failures);
    int64_t wait = breaker_wait_ms(b, now_ms);
    snprintf(probe, sizeof probe, "%" PRId64, wait < 0 ? 0 : wait);
    const char *p[5] = {gateway, breaker_state_name(b->state), b->reason[0] ? b->reason : NULL, fails,
                        b->state == BREAKER_OPEN ? probe : NULL};
    return pgpool_query(db, "SELECT loa_breaker_set($1, $2, $3, $4::int, $5::bigint)", 5, p, cb, arg);
}
