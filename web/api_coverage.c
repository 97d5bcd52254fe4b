/* /api/v1/coverage?year=YYYY[&topic=general|voluntary][&activity_target=PCT]: what the plans
 * measure. Reached = citizens with at least one message about the topic delivered in the year
 * (in [policy] timezone), against the working-age population and the target share imported by
 * `loa targets import`, per commune (marked when below its target) and per target group
 * (against the citizens on file: the plans give no population per group); and per province the
 * share of its communes with any citizen reached, against the province's activity target for
 * the year as imported (table activity_targets), else 70% (Gia Lai's plan); ACTIVITY_TARGET,
 * when given, stands for every province's. */
#include "web/api.h"
#include "campaigns/lifecycle.h"
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $1 year, $2 topic, $3 time zone. From the counters (sql/017_dashboard_counters.sql):
 * coverage_counts holds the citizens reached in the year whatever the time zone, per commune and
 * group; to them are added the citizens whose only deliveries of the year in $3 are near a new
 * year (coverage_edge), counted once each. */
#define REACHED_CTE                                                                           \
    "WITH reached AS (SELECT commune_code, group_code AS grp, sum(n) AS n FROM ("             \
    "   SELECT commune_code, group_code, n FROM coverage_counts"                               \
    "    WHERE topic = $2 AND year = $1::int AND n > 0"                                        \
    "   UNION ALL SELECT c.commune_code, coalesce(c.group_code, ''), count(DISTINCT e.citizen_id)" \
    "   FROM coverage_edge e JOIN citizens c ON c.id = e.citizen_id"                           \
    "   WHERE e.topic = $2 AND e.n > 0"                                                        \
    "     AND e.at >= make_date($1::int, 1, 1)::timestamp AT TIME ZONE $3::text"               \
    "     AND e.at < make_date($1::int + 1, 1, 1)::timestamp AT TIME ZONE $3::text"            \
    "     AND NOT EXISTS (SELECT 1 FROM coverage_reach r WHERE r.topic = $2 AND r.year = $1::int" \
    "                      AND r.citizen_id = e.citizen_id AND r.n > 0)"                       \
    "   GROUP BY 1, 2) x GROUP BY 1, 2)"

static const char COMMUNES_SQL[] =
    REACHED_CTE ","
    " per AS (SELECT commune_code, sum(n) AS n FROM reached GROUP BY 1),"
    " t AS (SELECT commune_code, population, target_pct FROM coverage_targets"
    "   WHERE year = $1::int AND topic = $2)"
    " SELECT co.code, co.name, coalesce(p.name, ''), t.population, t.target_pct,"
    "   coalesce(per.n, 0),"
    "   CASE WHEN t.population > 0 THEN round(100.0 * coalesce(per.n, 0) / t.population, 2) END,"
    "   co.province_code, a.target_pct"
    " FROM communes co LEFT JOIN provinces p ON p.code = co.province_code"
    " LEFT JOIN activity_targets a ON a.year = $1::int AND a.province_code = co.province_code"
    " LEFT JOIN t ON t.commune_code = co.code LEFT JOIN per ON per.commune_code = co.code"
    " WHERE t.commune_code IS NOT NULL OR per.n > 0"
    " ORDER BY p.name, co.name, co.code";

static const char GROUPS_SQL[] =
    REACHED_CTE ","
    " onfile AS (SELECT group_code AS grp, sum(n) AS n FROM citizen_counts GROUP BY 1 HAVING sum(n) > 0),"
    " per AS (SELECT grp, sum(n) AS n FROM reached GROUP BY 1)"
    " SELECT onfile.grp, coalesce(g.label_vi, ''), onfile.n, coalesce(per.n, 0),"
    "   round(100.0 * coalesce(per.n, 0) / onfile.n, 2)"
    " FROM onfile LEFT JOIN per USING (grp) LEFT JOIN target_groups g ON g.code = onfile.grp"
    " ORDER BY onfile.n DESC, onfile.grp";

enum { ACTIVITY_TARGET_DEFAULT = 70 };

struct coverage {
    long long year, activity_target;
    bool activity_target_given;
    char topic[16];
};

/* The communes of one province that have a target, and how many of them had activity. */
struct province {
    const char *code, *name;
    long long communes, active;
    double target;
    const char *source;     /* "query", "stored" or "default" */
};

static double num(const PGresult *r, int i, int col)
{
    return strtod(PQgetvalue(r, i, col), NULL);
}

/* PART of WHOLE in per cent, to two decimals; 0 of nothing. */
static double pct2(double part, double whole)
{
    return whole > 0 ? (double)(long long)(10000.0 * part / whole + 0.5) / 100 : 0;
}

/* The province of row I of the communes, added to PS (N so far) when new. */
static struct province *province_of(const struct coverage *cv, const PGresult *r, int i,
                                    struct province *ps, size_t *n)
{
    const char *code = PQgetvalue(r, i, 7);
    for (size_t k = 0; k < *n; k++)
        if (strcmp(ps[k].code, code) == 0)
            return &ps[k];
    struct province *p = &ps[(*n)++];
    *p = (struct province){.code = code, .name = PQgetvalue(r, i, 2)};
    if (cv->activity_target_given) {
        p->target = (double)cv->activity_target;
        p->source = "query";
    } else if (!PQgetisnull(r, i, 8)) {
        p->target = num(r, i, 8);
        p->source = "stored";
    } else {
        p->target = ACTIVITY_TARGET_DEFAULT;
        p->source = "default";
    }
    return p;
}

/* "activity": per province its communes with a target, those with activity, the share and its
 * target; overall the same over all of them, against the provinces' targets weighted by their
 * communes (the number of active communes the plans ask for, over the communes they name). */
static void add_activity(cJSON *o, const struct coverage *cv, const struct province *ps, size_t n)
{
    cJSON *a = cJSON_AddObjectToObject(o, "activity");
    cJSON *list = cJSON_CreateArray();
    long long communes = 0, active = 0;
    double wanted = 0;
    for (size_t k = 0; k < n; k++) {
        const struct province *p = &ps[k];
        double share = pct2((double)p->active, (double)p->communes);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "code", p->code);
        cJSON_AddStringToObject(x, "name", p->name);
        cJSON_AddNumberToObject(x, "communes", (double)p->communes);
        cJSON_AddNumberToObject(x, "active", (double)p->active);
        cJSON_AddNumberToObject(x, "share_pct", share);
        cJSON_AddNumberToObject(x, "target_pct", p->target);
        cJSON_AddStringToObject(x, "target_source", p->source);
        cJSON_AddBoolToObject(x, "below_target", share < p->target);
        cJSON_AddItemToArray(list, x);
        communes += p->communes;
        active += p->active;
        wanted += p->target * (double)p->communes;
    }
    double target = communes ? pct2(wanted / 100, (double)communes)
                             : (double)(cv->activity_target_given ? cv->activity_target : ACTIVITY_TARGET_DEFAULT);
    double share = pct2((double)active, (double)communes);
    cJSON_AddNumberToObject(a, "communes", (double)communes);
    cJSON_AddNumberToObject(a, "active", (double)active);
    cJSON_AddNumberToObject(a, "share_pct", share);
    cJSON_AddNumberToObject(a, "target_pct", target);
    cJSON_AddBoolToObject(a, "below_target", share < target);
    cJSON_AddItemToObject(a, "provinces", list);
}

static void groups_done(struct api_call *c, const PGresult *g)
{
    const struct coverage *cv = c->data;
    const PGresult *r = c->keep[0];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "year", (double)cv->year);
    cJSON_AddStringToObject(o, "topic", cv->topic);
    cJSON *communes = cJSON_AddArrayToObject(o, "communes");
    long long pop = 0, reached = 0, below = 0;
    struct province *ps = calloc((size_t)PQntuples(r) + 1, sizeof *ps);
    size_t nps = 0;
    if (!ps)
        abort();
    for (int i = 0; i < PQntuples(r); i++) {
        bool has_target = !PQgetisnull(r, i, 3);
        long long n = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "code", PQgetvalue(r, i, 0));
        cJSON_AddStringToObject(x, "name", PQgetvalue(r, i, 1));
        cJSON_AddStringToObject(x, "province", PQgetvalue(r, i, 2));
        cJSON_AddNumberToObject(x, "reached", (double)n);
        if (has_target) {
            long long p = strtoll(PQgetvalue(r, i, 3), NULL, 10);
            double share = PQgetisnull(r, i, 6) ? 0 : num(r, i, 6), target = num(r, i, 4);
            bool is_below = share < target;
            cJSON_AddNumberToObject(x, "population", (double)p);
            cJSON_AddNumberToObject(x, "target_pct", target);
            cJSON_AddNumberToObject(x, "reached_pct", share);
            cJSON_AddBoolToObject(x, "below_target", is_below);
            pop += p;
            reached += n;
            below += is_below;
            struct province *pv = province_of(cv, r, i, ps, &nps);
            pv->communes++;
            pv->active += n > 0;
        } else {
            cJSON_AddNullToObject(x, "population");
            cJSON_AddNullToObject(x, "target_pct");
            cJSON_AddNullToObject(x, "reached_pct");
            cJSON_AddNullToObject(x, "below_target");
        }
        cJSON_AddItemToArray(communes, x);
    }
    cJSON *groups = cJSON_AddArrayToObject(o, "groups");
    for (int i = 0; i < PQntuples(g); i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "code", PQgetvalue(g, i, 0));
        cJSON_AddStringToObject(x, "name", PQgetvalue(g, i, 1));
        cJSON_AddNumberToObject(x, "citizens", num(g, i, 2));
        cJSON_AddNumberToObject(x, "reached", num(g, i, 3));
        cJSON_AddNumberToObject(x, "reached_pct", num(g, i, 4));
        cJSON_AddItemToArray(groups, x);
    }
    cJSON *t = cJSON_AddObjectToObject(o, "totals");
    cJSON_AddNumberToObject(t, "population", (double)pop);
    cJSON_AddNumberToObject(t, "reached", (double)reached);
    cJSON_AddNumberToObject(t, "reached_pct", pct2((double)reached, (double)pop));
    cJSON_AddNumberToObject(t, "communes_below_target", (double)below);
    /* Activity counts among the communes the plan names (those with a target). */
    add_activity(o, cv, ps, nps);
    free(ps);
    api_reply(c, 200, o);
}

static void communes_done(struct api_call *c, const PGresult *r)
{
    const struct coverage *cv = c->data;
    api_keep(c, 0, r);
    char year[16];
    snprintf(year, sizeof year, "%lld", cv->year);
    const char *p[3] = {year, cv->topic, config_str(c->w->cfg, "policy", "timezone")};
    api_query(c, GROUPS_SQL, 3, p, groups_done);
}

void api_coverage(struct api_call *c)
{
    struct coverage cv = {0};
    const char *topic = http_req_query(c->req, "topic");
    int has_year = api_query_int(c, "year", 2000, 2999, &cv.year);
    int has_target = has_year < 0 ? 0 : api_query_int(c, "activity_target", 0, 100, &cv.activity_target);
    if (has_year < 0 || has_target < 0)
        return;
    cv.activity_target_given = has_target > 0;
    if (has_year == 0) {
        api_error(c, 400, "year=YYYY is required");
        return;
    }
    if (topic && !campaign_topic_ok(topic)) {
        api_error(c, 400, "topic must be general or voluntary");
        return;
    }
    snprintf(cv.topic, sizeof cv.topic, "%s", topic ? topic : "general");
    c->data = malloc(sizeof cv);
    if (!c->data)
        abort();
    memcpy(c->data, &cv, sizeof cv);
    char year[16];
    snprintf(year, sizeof year, "%lld", cv.year);
    const char *p[3] = {year, cv.topic, config_str(c->w->cfg, "policy", "timezone")};
    api_query(c, COMMUNES_SQL, 3, p, communes_done);
}
