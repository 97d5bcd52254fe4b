/* /api/v1/replies: the officers' queue (the statement and JSON of `loa replies list`, numbers
 * masked) and answering one with loa_reply_answer() (sql/functions/60_web.sql, as `replies
 * answer`), which records the answer, queues it for sending, writes the audit row and notifies
 * the daemon in one statement. */
#include "web/api.h"
#include "campaigns/replies.h"
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void listed(struct api_call *c, const PGresult *r)
{
    cJSON *o = cJSON_CreateObject();
    replies_list_json(r, false, o);
    api_reply(c, 200, o);
}

void api_replies_list(struct api_call *c)
{
    long long campaign = 0, limit = 200, unanswered = 0;
    int has_campaign = api_query_int(c, "campaign", 1, 999999999999999999LL, &campaign);
    if (has_campaign < 0 || api_query_int(c, "limit", 1, 10000, &limit) < 0 ||
        api_query_int(c, "unanswered", 0, 1, &unanswered) < 0)
        return;
    char cid[24], lim[24];
    snprintf(cid, sizeof cid, "%lld", campaign);
    snprintf(lim, sizeof lim, "%lld", limit);
    const char *p[4] = {has_campaign ? cid : NULL, unanswered ? "true" : "false", lim,
                        config_str(c->w->cfg, "policy", "timezone")};
    api_query(c, REPLIES_LIST_SQL, 4, p, listed);
}

static void refusal(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) == 0)
        api_error(c, 404, "no reply %s", c->id);
    else
        api_error(c, 409, "reply %s was already answered by %s at %s", c->id, PQgetvalue(r, 0, 0),
                  PQgetvalue(r, 0, 1));
}

static void answered(struct api_call *c, const PGresult *r)
{
    if (PQntuples(r) != 1) {
        const char *p[1] = {c->id};
        api_query(c, "SELECT answered_by, to_char(answered_at AT TIME ZONE 'UTC',"
                     " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM replies WHERE id = $1::bigint",
                  1, p, refusal);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "reply_id", (double)strtoll(c->id, NULL, 10));
    cJSON_AddNumberToObject(o, "answer_id", (double)strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    cJSON_AddStringToObject(o, "channel", PQgetvalue(r, 0, 1));
    cJSON_AddStringToObject(o, "state", "pending");
    cJSON_AddStringToObject(o, "answered_by", c->user.name);
    api_reply(c, 200, o);
}

void api_reply_answer(struct api_call *c)
{
    cJSON *b = api_body_object(c);
    if (!b)
        return;
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "text"));
    size_t len = text ? strlen(text) : 0;
    if (!text || strspn(text, " \t\r\n") == len || len > 1600) {
        cJSON_Delete(b);
        api_error(c, 400, "\"text\" must hold 1 to 1600 bytes of text");
        return;
    }
    const char *p[4] = {c->id, text, c->user.name, c->user.id};
    api_query(c, "SELECT answer_id, channel FROM loa_reply_answer($1::bigint, $2, $3, $4::bigint)", 4, p,
              answered);
    cJSON_Delete(b);
}
