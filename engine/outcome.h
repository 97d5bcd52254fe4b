#ifndef LOA_OUTCOME_H
#define LOA_OUTCOME_H
#include <stdbool.h>

#include "campaigns/message.h"
#include "engine/throttle.h"
#include "gateways/gateway.h"

/* What a gateway's answer to one submission means for the message and for the throttle: the
 * dispatcher's decisions, kept pure so that every branch is tested without a gateway. */

struct outcome {
    enum msg_state state;           /* the state the message moves to from `leased` */
    int delay_s;                    /* RETRY_WAIT: seconds until it is due again */
    enum throttle_feedback feedback;
    bool sent;                      /* the gateway may have taken it (counts against the quota) */
    char reason[200];               /* for messages.reason; "" when none */
};

/* Back-off before attempt ATTEMPTS+1 after ATTEMPTS failed ones (1-based): MIN_S doubled per
 * earlier failure, clamped to MAX_S, then "equal jitter" (half fixed, half random by JITTER01 in
 * [0,1)) so that a burst of failures does not come back as a burst; never below MIN_S. */
int outcome_backoff_s(int attempts, int min_s, int max_s, double jitter01);

/* Decides for a result R on a message leased for its ATTEMPTS-th attempt (the lease counts it).
 * TEMPFAIL retries until MAX_ATTEMPTS attempts were made, then fails (or falls back, when the
 * result says fallback_when_spent); a TEMPFAIL with a gateway fault is retried whatever the
 * attempts, since the gateway and not the message is at fault. A gateway's retry_after_s is
 * honoured, clamped to [MIN_S, MAX_S]. */
void outcome_decide(const struct gw_result *r, int attempts, int max_attempts, int min_s,
                    int max_s, double jitter01, struct outcome *out);


#endif
