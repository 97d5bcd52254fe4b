#ifndef LOA_THROTTLE_H
#define LOA_THROTTLE_H
#include <stdbool.h>
#include <stdint.h>

/* The throttle of one gateway (docs/design.md, principle 5): a token bucket for the
 * contracted rate (SMS parts per second, or Zalo messages per second), a concurrency window that
 * shrinks on failure and grows back on success (Postfix qmgr), a daily quota counted per local
 * day, and a pause. Pure logic: every function takes the time as an argument, so tests drive a
 * simulated clock. The struct is owned by the dispatcher's per-gateway state; nothing here
 * allocates. */

enum throttle_feedback {
    THROTTLE_OK,        /* the gateway answered (accepted, delivered, or refused the message) */
    THROTTLE_TEMPFAIL,  /* temporary failure: the window shrinks by one */
    THROTTLE_BACKOFF,   /* rate limited: the window halves */
};

struct throttle {
    double rate;            /* tokens per second now: rate_max, less after throttling answers */
    double rate_max;        /* [gateway] rate */
    int64_t cut_ms;         /* when the rate was last cut */
    double burst;           /* bucket size: max(1, rate / 10) */
    double tokens;          /* may go below zero: a long message borrows from the next ones */
    int64_t last_ms;        /* time of the last refill */
    int window_max;         /* [gateway] concurrency */
    double window;          /* current window, 1..window_max; grows by 1/window per success */
    int in_flight;
    long daily_quota;       /* 0: none */
    long used_today;
    long day;               /* local day number the count belongs to */
    int64_t pause_until_ms; /* no new work before this time */
};

void throttle_init(struct throttle *t, double rate, int concurrency, long daily_quota, int64_t now_ms);

/* New limits from a reloaded configuration (SIGHUP), keeping what is in flight, the day's count
 * and a pause: tokens earned so far at the old rate are kept up to the new burst, and a window
 * wider than the new concurrency closes to it (messages in flight above it finish normally). */
void throttle_set_rate(struct throttle *t, double rate, int concurrency, long daily_quota, int64_t now_ms);

/* The local day number (days since 1970-01-01 in a zone UTC_OFFSET_S seconds east of UTC). */
long throttle_day(int64_t now_ms, long utc_offset_s);

/* Restores the count of a day from durable storage (a restart must not reset the quota). Ignored
 * when DAY is not the current day of the throttle and not later. */
void throttle_quota_restore(struct throttle *t, long day, long used);

/* How many new messages may start now: the room in the window, whole tokens, and what is left
 * of the daily quota; 0 while paused. DAY is today's local day number: a new day resets the
 * quota count. */
int throttle_room(struct throttle *t, int64_t now_ms, long day);

/* A message of PARTS tokens starts: it takes its tokens (possibly into debt), a place in the
 * window and one of the day's quota. */
void throttle_start(struct throttle *t, int64_t now_ms, long day, int parts);

/* A message that started has an answer (or was never sent: pass THROTTLE_OK with SENT false,
 * which gives back the quota place it took). Every throttle_start() must reach exactly one
 * throttle_done(), or the window stays full and the gateway stalls. */
void throttle_done(struct throttle *t, enum throttle_feedback fb, bool sent);

/* A throttling answer (HTTP 429, Kannel 503, Zalo -32) at NOW_MS: the rate halves (AIMD,
 * down to rate_max / 64), at most once a second, so that the answers to one burst of requests
 * count as one signal. Every successful answer then adds rate_max / (10 × rate), which at that
 * rate is rate_max / 10 per second: back to the configured rate within ten seconds of calm.
 * Returns true when the rate was cut. */
bool throttle_slow_down(struct throttle *t, int64_t now_ms);

/* No new work before UNTIL_MS (quota spent, night ban, rate limit back-off). A later pause
 * wins over an earlier one. */
void throttle_pause(struct throttle *t, int64_t until_ms);
bool throttle_paused(const struct throttle *t, int64_t now_ms);

/* Milliseconds from NOW_MS until room may open without an answer arriving (tokens refill or a
 * pause ends); 0 when there is room, -1 when only an answer (window) or a new day (quota) can
 * open it. */
int64_t throttle_wait_ms(struct throttle *t, int64_t now_ms, long day);

/* The current window as an integer, for /metrics and tests. */
int throttle_window(const struct throttle *t);

#endif
