#include "engine/outcome.h"

#include <stdio.h>

int outcome_backoff_s(int attempts, int min_s, int max_s, double jitter01)
{
    if (min_s < 1)
        min_s = 1;
    if (max_s < min_s)
        max_s = min_s;
    if (attempts < 1)
        attempts = 1;
    double d = min_s;
    for (int i = 1; i < attempts && d < max_s; i++)
        d *= 2;
    if (d > max_s)
        d = max_s;
    if (jitter01 < 0)
        jitter01 = 0;
    if (jitter01 >= 1)
        jitter01 = 0.999999;
    int s = (int)(d / 2 + d / 2 * jitter01);
    return s < min_s ? min_s : s;
}

void outcome_decide(const struct gw_result *r, int attempts, int max_attempts, int min_s,
                    int max_s, double jitter01, struct outcome *out)
{
    out->delay_s = 0;
    out->feedback = THROTTLE_OK;
    out->sent = true;
    snprintf(out->reason, sizeof out->reason, "%s", r->reason);
    switch (r->outcome) {
    case GW_ACCEPTED:
        out->state = MSG_SUBMITTED;
        out->reason[0] = '\0';
        break;
    case GW_DELIVERED:
        out->state = MSG_DELIVERED;
        out->reason[0] = '\0';
        break;
    case GW_IN_DOUBT:
        out->state = MSG_IN_DOUBT;
        break;
    case GW_PERMFAIL:
        /* Refused: the gateway answered (the window is fine) but took nothing from the quota. */
        out->state = MSG_FAILED;
        out->sent = false;
        break;
    case GW_FALLBACK:
        out->state = MSG_FALLBACK;
        out->sent = false;
        break;
    case GW_TEMPFAIL:
        out->sent = false;
        out->feedback = THROTTLE_TEMPFAIL;
        /* The gateway is down, not this message: it waits for the gateway (the circuit breaker
         * stops the rest), however many attempts that takes; the back-off still grows. So does
         * a gateway asking to slow down (429, Kannel's 503 with its queue full): the rate
         * shrinks, and the answer says nothing of this message. */
        if (attempts >= max_attempts && r->fault == GW_FAULT_NONE && r->action != GW_ACT_BACKOFF) {
            if (r->fallback_when_spent) {
                out->state = MSG_FALLBACK;
                snprintf(out->reason, sizeof out->reason, "after %d attempts: %s", attempts,
                         r->reason[0] ? r->reason : "temporary failure");
                break;
            }
            out->state = MSG_FAILED;
            snprintf(out->reason, sizeof out->reason, "gave up after %d attempts: %s", attempts,
                     r->reason[0] ? r->reason : "temporary failure");
            break;
        }
        out->state = MSG_RETRY_WAIT;
        if (r->retry_after_s > 0)
            out->delay_s = r->retry_after_s < min_s ? min_s : r->retry_after_s > max_s ? max_s : r->retry_after_s;
        else
            out->delay_s = outcome_backoff_s(attempts, min_s, max_s, jitter01);
        break;
    }
    if (r->action == GW_ACT_BACKOFF)
        out->feedback = THROTTLE_BACKOFF;
}
