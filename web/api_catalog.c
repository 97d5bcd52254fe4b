/* What the dashboard lists besides campaigns: segments (and how many citizens one holds now),
 * templates, users (admins only) and the audit log (supervisors). Read-only. */
#include "web/api.h"
#include "campaigns/users.h"
#include "segments/filter.h"
#include "segments/segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_opt(cJSON *o, const char *key, const PGresult *r, int i, int col)
{
    if (PQgetisnull(r, i, col))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key, PQgetvalue(r, i, col));
}

/* {"KEY": [ROW_JSON(r, i) for every row]}: the answer of a plain list. */
static void rows_listed(struct api_call *c, const PGresult *r, const char *key,
                        cJSON *(*row_json)(const PGresult *, int))
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, key);
    for (int i = 0; i < PQntuples(r); i++)
        cJSON_AddItemToArray(a, row_json(r, i));
    api_reply(c, 200, o);
}

static void segments_listed(struct api_call *c, const PGresult *r)
{
    rows_listed(c, r, "segments", segment_row_json);
}

void api_segments_list(struct api_call *c)
{
    api_query(c, SEGMENTS_LIST_SQL, 0, NULL, segments_listed);
}

static void segment_counted(struct api_call *c, const PGresult *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)strtoll(c->id, NULL, 10));
    cJSON_AddStringToObject(o, "name", PQgetvalue(c->keep[0], 0, 0));
    cJSON_AddNumberToObject(o, "citizens", (double)strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    api_reply(c, 200, o);
}

static void segment_found(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) != 1) {
        api_error(c, 404, "no segment %s", c->id);
        return;
    }
    api_keep(c, 0, r);
    api_count_filter(c, PQgetvalue(r, 0, 1), segment_counted);
}

void api_count_filter(struct api_call *c, const char *filter, api_step next)
{
    struct filter_sql f = {0};
    char err[600];
    if (filter_compile(filter, 0, &f, err, sizeof err) < 0) {
        api_error(c, 409, "the segment's filter no longer compiles: %s", err);
        return;
    }
    char *sql = filter_count_sql(&f);
    if (!sql)
        abort();
    api_query(c, sql, f.nparams, (const char *const *)f.params, next);
    free(sql);
    filter_sql_free(&f);
}

void api_segment_count(struct api_call *c)
{
    const char *p[1] = {c->id};
    api_query(c, "SELECT name, filter::text FROM segments WHERE id = $1::bigint", 1, p, segment_found);
}

static void templates_listed(struct api_call *c, const PGresult *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "templates");
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
        cJSON_AddStringToObject(x, "name", PQgetvalue(r, i, 1));
        cJSON_AddStringToObject(x, "channel", PQgetvalue(r, i, 2));
        cJSON_AddBoolToObject(x, "unaccent", PQgetvalue(r, i, 3)[0] == 't');
        add_opt(x, "zns_template_id", r, i, 4);
        cJSON *langs = cJSON_Parse(PQgetvalue(r, i, 5));
        cJSON_AddItemToObject(x, "languages", langs ? langs : cJSON_CreateArray());
        add_opt(x, "body_vi", r, i, 6);
        cJSON_AddItemToArray(a, x);
    }
    api_reply(c, 200, o);
}

void api_templates_list(struct api_call *c)
{
    api_query(c, "SELECT t.id, t.name, t.channel, t.unaccent, t.zns_template_id,"
                 " (SELECT coalesce(json_agg(language ORDER BY language), '[]')::text"
                 "    FROM template_variants v WHERE v.template_id = t.id),"
                 " (SELECT body FROM template_variants v WHERE v.template_id = t.id AND language = 'vi')"
                 " FROM templates t ORDER BY t.name", 0, NULL, templates_listed);
}

static void users_listed(struct api_call *c, const PGresult *r)
{
    rows_listed(c, r, "users", users_row_json);
}

void api_users_list(struct api_call *c)
{
    api_query(c, USERS_LIST_SQL, 0, NULL, users_listed);
}

static void audit_listed(struct api_call *c, const PGresult *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "audit");
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
        cJSON_AddStringToObject(x, "at", PQgetvalue(r, i, 1));
        cJSON_AddStringToObject(x, "user", PQgetvalue(r, i, 2));
        cJSON_AddStringToObject(x, "action", PQgetvalue(r, i, 3));
        add_opt(x, "object", r, i, 4);
        cJSON *d = cJSON_Parse(PQgetvalue(r, i, 5));
        cJSON_AddItemToObject(x, "detail", d ? d : cJSON_CreateObject());
        cJSON_AddItemToArray(a, x);
    }
    api_reply(c, 200, o);
}

void api_audit_list(struct api_call *c)
{
    long long limit = 200;
    if (api_query_int(c, "limit", 1, 10000, &limit) < 0)
        return;
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", limit);
    const char *p[1] = {lim};
    api_query(c, "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                 " user_name, action, object, detail::text FROM audit ORDER BY id DESC LIMIT $1::int",
              1, p, audit_listed);
}
