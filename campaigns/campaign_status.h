#ifndef LOA_CAMPAIGN_STATUS_H
#define LOA_CAMPAIGN_STATUS_H
#include <stdbool.h>
#include <stddef.h>

/* The statuses of a campaign and the legal changes between them (the lifecycle drawn in
 * campaign.h). Pure: the table is also written into campaign_transitions at build time
 * (tools/gen_transitions.c), where a trigger refuses any other change of campaigns.status. */

enum campaign_status {
    CAMP_DRAFT,
    CAMP_SCHEDULED,
    CAMP_RUNNING,
    CAMP_PAUSED,
    CAMP_COMPLETED,
    CAMP_CANCELLED,
    CAMP_NSTATUS
};
#define CAMP_SET(s) (1u << (s))

/* One legal change of status and why it exists. */
struct campaign_transition {
    enum campaign_status from, to;
    const char *reason;
};
/* Every legal change, *N of them (static storage). */
const struct campaign_transition *campaign_transitions(size_t *n);

const char *campaign_status_name(enum campaign_status s);
/* 0 and *OUT set, or -1 for an unknown name. */
int campaign_status_parse(const char *name, enum campaign_status *out);
bool campaign_transition_ok(enum campaign_status from, enum campaign_status to);
/* completed and cancelled never change again. */
bool campaign_status_final(enum campaign_status s);

#endif
