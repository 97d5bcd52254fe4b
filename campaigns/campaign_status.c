#include "campaigns/campaign_status.h"

#include <string.h>

static const char *const status_names[CAMP_NSTATUS] = {
    "draft", "scheduled", "running", "paused", "completed", "cancelled",
};

/* Every legal change of status, with the reason it exists. A draft cannot be paused (nothing
 * runs) and nothing goes back to draft: a started campaign may already have messages, and
 * editing it then would make its statistics lie. */
static const struct campaign_transition edges[] = {
    {CAMP_DRAFT, CAMP_SCHEDULED, "started: the daemon runs it when it is due"},
    {CAMP_DRAFT, CAMP_CANCELLED, "cancelled before it was started"},
    {CAMP_SCHEDULED, CAMP_RUNNING, "the daemon: it is due (and approved when it must be)"},
    {CAMP_SCHEDULED, CAMP_PAUSED, "paused before the daemon started it"},
    {CAMP_SCHEDULED, CAMP_COMPLETED, "the daemon: the end came before anything could be sent"},
    {CAMP_SCHEDULED, CAMP_CANCELLED, "cancelled before it ran"},
    {CAMP_RUNNING, CAMP_PAUSED, "paused by an officer"},
    {CAMP_RUNNING, CAMP_COMPLETED, "the daemon: every message is final, or the end passed"},
    {CAMP_RUNNING, CAMP_CANCELLED, "cancelled while it ran"},
    {CAMP_PAUSED, CAMP_SCHEDULED, "resumed: back to scheduled, where it was paused from"},
    {CAMP_PAUSED, CAMP_RUNNING, "resumed: back to running, where it was paused from"},
    {CAMP_PAUSED, CAMP_COMPLETED,
     "the daemon: its end passed while it was paused, and a resume could send nothing more"},
    {CAMP_PAUSED, CAMP_CANCELLED, "cancelled while paused"},
    {CAMP_COMPLETED, CAMP_RUNNING,
     "an operator resends its in-doubt messages that provably never reached the gateway (loa campaign resend)"},
};
#define NEDGES (sizeof edges / sizeof edges[0])

const struct campaign_transition *campaign_transitions(size_t *n)
{
    *n = NEDGES;
    return edges;
}

const char *campaign_status_name(enum campaign_status s)
{
    return (unsigned)s < CAMP_NSTATUS ? status_names[s] : "?";
}

int campaign_status_parse(const char *name, enum campaign_status *out)
{
    for (int i = 0; i < CAMP_NSTATUS; i++)
        if (name && strcmp(status_names[i], name) == 0) {
            *out = (enum campaign_status)i;
            return 0;
        }
    return -1;
}

bool campaign_transition_ok(enum campaign_status from, enum campaign_status to)
{
    for (size_t i = 0; i < NEDGES; i++)
        if (edges[i].from == from && edges[i].to == to)
            return true;
    return false;
}

bool campaign_status_final(enum campaign_status s)
{
    if ((unsigned)s >= CAMP_NSTATUS)
        return false;
    /* Completed stays final: nothing happens to it on its own, and it is cancelled or paused no
     * more; only an operator's resend of what never reached a gateway runs it again. */
    for (size_t i = 0; i < NEDGES; i++)
        if (edges[i].from == s && !(s == CAMP_COMPLETED && edges[i].to == CAMP_RUNNING))
            return false;
    return true;
}
