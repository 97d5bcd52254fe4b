#include "engine/throttle.h"

#include <math.h>

void throttle_init(struct throttle *t, double rate, int concurrency, long daily_quota, int64_t now_ms)
{
    t->rate = rate > 0 ? rate : 1;
    t->rate_max = t->rate;
    t->cut_ms = 0;
    /* A tenth of a second's worth: enough to keep a pipeline busy between ticks, small enough
     * that a carrier never sees more than rate/10 above its contracted rate in any instant. */
    t->burst = fmax(1.0, t->rate / 10.0);
    t->tokens = t->burst;
    t->last_ms = now_ms;
    t->window_max = concurrency > 0 ? concurrency : 1;
    t->window = t->window_max;
    t->in_flight = 0;
    t->daily_quota = daily_quota > 0 ? daily_quota : 0;
    t->used_today = 0;
    t->day = 0;
    t->pause_until_ms = 0;
}

static void refill(struct throttle *t, int64_t now_ms);

void throttle_set_rate(struct throttle *t, double rate, int concurrency, long daily_quota, int64_t now_ms)
{
    refill(t, now_ms);
    /* The new rate is the new ceiling too: successes grow a slowed rate back to it, never to
     * the one configured before. */
    t->rate = rate > 0 ? rate : 1;
    t->rate_max = t->rate;
    t->burst = fmax(1.0, t->rate / 10.0);
    t->tokens = fmin(t->tokens, t->burst);
    t->window_max = concurrency > 0 ? concurrency : 1;
    t->window = fmin(t->window, t->window_max);
    t->daily_quota = daily_quota > 0 ? daily_quota : 0;
}

long throttle_day(int64_t now_ms, long utc_offset_s)
{
    int64_t s = now_ms / 1000 + utc_offset_s;
    /* Floor division: days before 1970 are never seen, but keep it exact anyway. */
    return (long)(s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
}

static void refill(struct throttle *t, int64_t now_ms)
{
    if (now_ms > t->last_ms) {
        /* The bucket follows the rate: after a cut, no burst at the old rate either. */
        double burst = fmin(t->burst, fmax(1.0, t->rate / 10.0));
        t->tokens = fmin(burst, t->tokens + t->rate * (double)(now_ms - t->last_ms) / 1000.0);
        t->last_ms = now_ms;
    }
}

static void roll_day(struct throttle *t, long day)
{
    if (day > t->day) {
        t->day = day;
        t->used_today = 0;
    }
}

void throttle_quota_restore(struct throttle *t, long day, long used)
{
    roll_day(t, day);
    if (day == t->day && used > t->used_today)
        t->used_today = used;
}

int throttle_window(const struct throttle *t)
{
    int w = (int)floor(t->window);
    return w < 1 ? 1 : w > t->window_max ? t->window_max : w;
}

int throttle_room(struct throttle *t, int64_t now_ms, long day)
{
    refill(t, now_ms);
    roll_day(t, day);
    if (now_ms < t->pause_until_ms)
        return 0;
    long room = throttle_window(t) - t->in_flight;
    long tok = (long)floor(t->tokens);
    if (tok < room)
        room = tok;
    if (t->daily_quota > 0 && t->daily_quota - t->used_today < room)
        room = t->daily_quota - t->used_today;
    return room > 0 ? (int)room : 0;
}

void throttle_start(struct throttle *t, int64_t now_ms, long day, int parts)
{
    refill(t, now_ms);
    roll_day(t, day);
    t->tokens -= parts > 0 ? parts : 1;
    t->in_flight++;
    t->used_today++;
}

void throttle_done(struct throttle *t, enum throttle_feedback fb, bool sent)
{
    if (t->in_flight > 0)
        t->in_flight--;
    if (!sent && t->used_today > 0)
        t->used_today--;
    switch (fb) {
    case THROTTLE_OK:
        /* Postfix slow start in reverse: a whole window of successes adds one place. */
        if (sent) {
            t->window = fmin((double)t->window_max, t->window + 1.0 / throttle_window(t));
            if (t->rate < t->rate_max)
                t->rate = fmin(t->rate_max, t->rate + t->rate_max / (10.0 * t->rate));
        }
        break;
    case THROTTLE_TEMPFAIL:
        t->window = fmax(1.0, floor(t->window) - 1.0);
        break;
    case THROTTLE_BACKOFF:
        t->window = fmax(1.0, floor(t->window / 2.0));
        break;
    }
}

bool throttle_slow_down(struct throttle *t, int64_t now_ms)
{
    if (t->cut_ms && now_ms - t->cut_ms < 1000)
        return false;
    double floor_rate = t->rate_max / 64.0;
    if (t->rate <= floor_rate)
        return false;
    refill(t, now_ms);      /* the tokens earned so far were earned at the old rate */
    t->rate = fmax(floor_rate, t->rate / 2.0);
    t->cut_ms = now_ms;
    return true;
}

void throttle_pause(struct throttle *t, int64_t until_ms)
{
    if (until_ms > t->pause_until_ms)
        t->pause_until_ms = until_ms;
}

bool throttle_paused(const struct throttle *t, int64_t now_ms)
{
    return now_ms < t->pause_until_ms;
}

int64_t throttle_wait_ms(struct throttle *t, int64_t now_ms, long day)
{
    if (throttle_room(t, now_ms, day) > 0)
        return 0;
    if (now_ms < t->pause_until_ms)
        return t->pause_until_ms - now_ms;
    if (t->in_flight >= throttle_window(t))
        return -1;
    if (t->daily_quota > 0 && t->used_today >= t->daily_quota)
        return -1;
    /* Tokens are short: the time for the bucket to reach one whole token. */
    double need = 1.0 - t->tokens;
    int64_t ms = (int64_t)ceil(need * 1000.0 / t->rate);
    return ms > 0 ? ms : 1;
}
