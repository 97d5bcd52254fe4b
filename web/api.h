#ifndef LOA_WEB_API_H
#define LOA_WEB_API_H
#include "core/httpd.h"
#include "core/pgasync.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* What the handlers of web/ share: one struct api_call per request, from its authentication
 * to its answer, and the helpers that run its queries and answer it.
 *
 * A handler is a chain of steps: each api_query() names the step that continues with the
 * result; a database error answers 503 and ends the call without calling the step. Every
 * chain ends in exactly one api_reply() / api_error() / api_reply_raw(), which frees the call:
 * touch C no more after it. */

struct config;

struct web {
    uv_loop_t *loop;
    struct pgpool *db;
    const struct config *cfg;
    unsigned in_flight;
};

/* Roles in order of what they may do: each may what the one before it may. */
enum web_role { WEB_NOBODY = 0, WEB_OFFICER, WEB_SUPERVISOR, WEB_ADMIN };
const char *web_role_name(enum web_role r);

struct web_user {
    char id[24];
    char name[72];
    enum web_role role;
    char session[65];       /* SHA-256 of the session cookie, "" for a bearer token */
};

struct api_call;
typedef void (*api_step)(struct api_call *c, const PGresult *res);

enum { API_KEEP = 8 };

struct api_call {
    struct web *w;
    struct http_req *req;
    struct web_user user;
    char id[24];                /* the path's ID, digits only ("" when the route has none) */
    api_step next;
    PGresult *keep[API_KEEP];   /* copies of earlier results, cleared when the call ends */
    long long n;                /* free for the handler */
    void *data;                 /* owned by the handler: free()d when the call ends */
};

/* Runs SQL (parameters copied) and continues with NEXT. */
void api_query(struct api_call *c, const char *sql, int nparams, const char *const *params, api_step next);
/* Keeps a copy of RES in slot I for later steps. */
void api_keep(struct api_call *c, int i, const PGresult *res);

/* Answers with O (deleted here) and ends the call. */
void api_reply(struct api_call *c, int status, cJSON *o);
/* Answers {"error": message} and ends the call. */
void api_error(struct api_call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Answers a body as is and ends the call. */
void api_reply_raw(struct api_call *c, int status, const char *type, const char *body, size_t len);

/* The request's JSON body as an object, or NULL after answering 400. The caller deletes it. */
cJSON *api_body_object(struct api_call *c);
/* The query parameter KEY as a whole number in [LO, HI]: 1 and *OUT set, 0 when absent, -1
 * after answering 400. */
int api_query_int(struct api_call *c, const char *key, long long lo, long long hi, long long *out);

/* Counts the citizens of segment filter FILTER (JSON) now; NEXT gets one row, one column.
 * 409 when the filter no longer compiles. */
void api_count_filter(struct api_call *c, const char *filter, api_step next);

/* The handlers, by route (web/web.c's table). */
void api_me(struct api_call *c);
void api_logout(struct api_call *c);
void api_login(struct api_call *c);          /* before authentication */

void api_campaigns_list(struct api_call *c);
void api_campaign_create(struct api_call *c);
void api_campaign_show(struct api_call *c);
void api_campaign_breakdown(struct api_call *c);
void api_campaign_conversions(struct api_call *c);
void api_campaign_approve(struct api_call *c);
void api_campaign_start(struct api_call *c);
void api_campaign_pause(struct api_call *c);
void api_campaign_resume(struct api_call *c);
void api_campaign_cancel(struct api_call *c);

void api_replies_list(struct api_call *c);
void api_reply_answer(struct api_call *c);

void api_segments_list(struct api_call *c);
void api_segment_count(struct api_call *c);
void api_templates_list(struct api_call *c);
void api_template_preview(struct api_call *c);
void api_users_list(struct api_call *c);
void api_audit_list(struct api_call *c);

void api_coverage(struct api_call *c);
void api_report(struct api_call *c);

#endif
