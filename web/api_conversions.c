/* /api/v1/campaigns/ID/conversions?days=N (default [report] conversion_days, 90): the citizens
 * a campaign reached (a delivered message) whose participation then changed from none or
 * stopped to voluntary or compulsory within N days (participation_changes, written by every
 * import), per channel, commune and target group. A citizen counts once, for the channel that reached them first.
 * An archived campaign's messages are read from messages_all, as the report reads them. */
#include "web/api.h"
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $1 campaign, $2 days. The citizens whose participation changed that way are few beside the
 * campaign's messages: their messages are looked up, rather than every delivered message of the
 * campaign grouped first. */
static const char CONVERSIONS_SQL[] =
    "WITH joined AS (SELECT DISTINCT citizen_id FROM participation_changes"
    "   WHERE old_value IN ('none','stopped') AND new_value IN ('voluntary','compulsory')),"
    " reached AS (SELECT m.citizen_id, m.channel, min(coalesce(m.final_at, m.submitted_at)) AS at"
    "   FROM joined j JOIN messages_all m ON m.campaign_id = $1::bigint AND m.citizen_id = j.citizen_id"
    "   WHERE m.state = 'delivered' GROUP BY 1, 2),"
    " conv AS (SELECT DISTINCT ON (r.citizen_id) r.citizen_id, r.channel FROM reached r"
    "   JOIN participation_changes p ON p.citizen_id = r.citizen_id"
    "    AND p.changed_at >= r.at AND p.changed_at < r.at + $2::int * interval '1 day'"
    "    AND p.old_value IN ('none','stopped') AND p.new_value IN ('voluntary','compulsory')"
    "   ORDER BY r.citizen_id, r.at),"
    " who AS (SELECT conv.channel, c.commune_code, coalesce(c.group_code, '') AS grp"
    "   FROM conv JOIN citizens c ON c.id = conv.citizen_id)"
    " SELECT 'channel', channel, channel, count(*) FROM who GROUP BY 2"
    " UNION ALL SELECT 'commune', who.commune_code, coalesce(co.name, ''), count(*) FROM who"
    "   LEFT JOIN communes co ON co.code = who.commune_code GROUP BY 2, 3"
    " UNION ALL SELECT 'group', who.grp, coalesce(g.label_vi, ''), count(*) FROM who"
    "   LEFT JOIN target_groups g ON g.code = who.grp GROUP BY 2, 3"
    " ORDER BY 1, 4 DESC, 2";

static void counted(struct api_call *c, const PGresult *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)strtoll(c->id, NULL, 10));
    cJSON_AddNumberToObject(o, "days", (double)c->n);
    static const char *const kinds[] = {"channel", "commune", "group"};
    cJSON *arr[3];
    long long total = 0;
    for (int k = 0; k < 3; k++) {
        char key[16];
        snprintf(key, sizeof key, "by_%s", kinds[k]);
        arr[k] = cJSON_AddArrayToObject(o, key);
    }
    for (int i = 0; i < PQntuples(r); i++) {
        long long n = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        for (int k = 0; k < 3; k++) {
            if (strcmp(PQgetvalue(r, i, 0), kinds[k]) != 0)
                continue;
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "code", PQgetvalue(r, i, 1));
            cJSON_AddStringToObject(x, "name", PQgetvalue(r, i, 2));
            cJSON_AddNumberToObject(x, "converted", (double)n);
            cJSON_AddItemToArray(arr[k], x);
            if (k == 0)
                total += n;
        }
    }
    cJSON_AddNumberToObject(o, "converted", (double)total);
    api_reply(c, 200, o);
}

static void found(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) != 1) {
        api_error(c, 404, "no campaign %s", c->id);
        return;
    }
    char days[16];
    snprintf(days, sizeof days, "%lld", c->n);
    const char *p[2] = {c->id, days};
    api_query(c, CONVERSIONS_SQL, 2, p, counted);
}

void api_campaign_conversions(struct api_call *c)
{
    c->n = config_int(c->w->cfg, "report", "conversion_days");
    if (api_query_int(c, "days", 1, 3660, &c->n) < 0)
        return;
    const char *p[1] = {c->id};
    api_query(c, "SELECT 1 FROM campaigns WHERE id = $1::bigint", 1, p, found);
}
