#include "campaigns/replies.h"
#include "core/db.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <csv.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

enum { ERRLEN = 600 };

/* ---- Intake ---- */

char *reply_text_escape(const char *text, size_t len)
{
    char *out = malloc(len * 4 + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = text[i] ? utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                                          (utf8proc_ssize_t)(len - i), &cp)
                                      : -1;
        if (k > 0) {
            memcpy(out + n, text + i, (size_t)k);
            n += (size_t)k;
            i += (size_t)k;
        } else {
            n += (size_t)sprintf(out + n, "\\x%02X", (unsigned char)text[i]);
            i++;
        }
    }
    out[n] = '\0';
    return out;
}

/* ---- replies list ---- */

/* A reply body on one terminal line: control characters become spaces, cut at MAX bytes on
 * a character boundary. */
static void one_line(const char *in, char *out, size_t max)
{
    size_t n = 0;
    for (; *in && n + 4 < max; in++)
        out[n++] = (unsigned char)*in < 0x20 || *in == 0x7f ? ' ' : *in;
    if (*in) {
        while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
            n--;
        while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
            n--;
        out[n++] = '~';
    }
    out[n] = '\0';
}

void replies_list_json(const PGresult *r, bool unmasked, cJSON *o)
{
    cJSON *a = cJSON_AddArrayToObject(o, "replies");
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *x = cJSON_CreateObject();
        char masked[LOG_MASK_LEN];
        cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
        cJSON_AddStringToObject(x, "received_at", PQgetvalue(r, i, 1));
        cJSON_AddStringToObject(x, "channel", PQgetvalue(r, i, 3));
        cJSON_AddStringToObject(x, "from", unmasked ? PQgetvalue(r, i, 4)
                                                   : log_mask_phone(PQgetvalue(r, i, 4), masked, sizeof masked));
        if (PQgetisnull(r, i, 5))
            cJSON_AddNullToObject(x, "campaign_id");
        else
            cJSON_AddNumberToObject(x, "campaign_id", (double)strtoll(PQgetvalue(r, i, 5), NULL, 10));
        if (PQgetisnull(r, i, 6))
            cJSON_AddNullToObject(x, "campaign");
        else
            cJSON_AddStringToObject(x, "campaign", PQgetvalue(r, i, 6));
        cJSON_AddStringToObject(x, "intent", PQgetvalue(r, i, 7));
        cJSON_AddStringToObject(x, "body", PQgetvalue(r, i, 8));
        cJSON_AddBoolToObject(x, "answered", !PQgetisnull(r, i, 11));
        if (!PQgetisnull(r, i, 11)) {
            cJSON_AddStringToObject(x, "answered_by", PQgetvalue(r, i, 9));
            cJSON_AddStringToObject(x, "answered_at", PQgetvalue(r, i, 11));
            cJSON_AddStringToObject(x, "answer", PQgetvalue(r, i, 10));
        }
        cJSON_AddItemToArray(a, x);
    }
}

static void list_text(const PGresult *r, bool unmasked, FILE *out)
{
    fprintf(out, "%6s  %-16s %-5s %-14s %-20s %-8s %-9s %s\n", "id", "received", "chan", "from",
            "campaign", "intent", "answered", "text");
    for (int i = 0; i < PQntuples(r); i++) {
        char masked[LOG_MASK_LEN], body[96], camp[24];
        one_line(PQgetvalue(r, i, 8), body, sizeof body);
        one_line(PQgetvalue(r, i, 6), camp, sizeof camp);
        fprintf(out, "%6s  %-16s %-5s %-14s %-20s %-8s %-9s %s\n", PQgetvalue(r, i, 0),
                PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                unmasked ? PQgetvalue(r, i, 4) : log_mask_phone(PQgetvalue(r, i, 4), masked, sizeof masked),
                PQgetisnull(r, i, 6) ? "-" : camp, PQgetvalue(r, i, 7),
                PQgetisnull(r, i, 11) ? "no" : "yes", body);
    }
}

/* CAMPAIGN (name or id) to its id text; -1 when unknown. */
static int campaign_id_of(PGconn *db, const char *key, char *out, size_t len, char *err,
                          size_t errlen)
{
    const char *p[1] = {key};
    PGresult *r = db_query(db, err, errlen, "SELECT id FROM campaigns WHERE name = $1", 1, p);
    if (!r)
        return -1;
    if (PQntuples(r) == 0 && strspn(key, "0123456789") == strlen(key) && strlen(key) < 19 && *key) {
        PQclear(r);
        r = db_query(db, err, errlen, "SELECT id FROM campaigns WHERE id = $1::bigint", 1, p);
        if (!r)
            return -1;
    }
    int found = PQntuples(r) == 1;
    if (found)
        snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
    else
        snprintf(err, errlen, "no campaign '%s'", key);
    PQclear(r);
    return found ? 0 : -1;
}

int replies_list(PGconn *db, const struct replies_filter *f, const char *tz, FILE *out, cJSON *json,
                 char *err, size_t errlen)
{
    char cid[24] = "", lim[16];
    if (f->campaign && campaign_id_of(db, f->campaign, cid, sizeof cid, err, errlen) < 0)
        return -1;
    snprintf(lim, sizeof lim, "%ld", f->limit);
    const char *p[4] = {cid[0] ? cid : NULL, f->unanswered ? "true" : "false", lim, tz};
    PGresult *r = db_query(db, err, errlen, REPLIES_LIST_SQL, 4, p);
    if (!r)
        return -1;
    /* Full numbers only on request, and only in JSON, where a script asked for them. */
    if (json)
        replies_list_json(r, f->unmasked, json);
    else
        list_text(r, false, out);
    PQclear(r);
    return 0;
}

/* ---- the call-back list ---- */

/* Each citizen (or unknown sender) who asked to be called back, once, by their latest request. */
#define CALLBACKS_SQL                                                                         \
    "SELECT * FROM (SELECT DISTINCT ON (COALESCE(r.citizen_id::text, r.from_addr)) r.id,"      \
    " to_char(r.received_at AT TIME ZONE $3::text, 'YYYY-MM-DD HH24:MI'), ca.name,"            \
    " c.full_name, COALESCE(c.phone, r.from_addr), r.channel, c.commune_code, cm.name, r.body" \
    " FROM replies r LEFT JOIN campaigns ca ON ca.id = r.campaign_id"                          \
    " LEFT JOIN citizens c ON c.id = r.citizen_id"                                             \
    " LEFT JOIN communes cm ON cm.code = c.commune_code"                                       \
    " WHERE r.intent = 'register' AND ($1::bigint IS NULL OR r.campaign_id = $1::bigint)"      \
    " ORDER BY COALESCE(r.citizen_id::text, r.from_addr), r.received_at DESC) x"               \
    " ORDER BY 2 DESC, 1 DESC LIMIT $2::int"

static const char *const callback_cols[] = {"reply_id", "received", "campaign", "full_name", "phone",
                                            "channel", "commune_code", "commune_name", "text"};
enum { NCALLBACK_COLS = 9 };

static void callbacks_csv(const PGresult *r, FILE *out)
{
    for (int j = 0; j < NCALLBACK_COLS; j++) {
        fputs(j ? "," : "", out);
        csv_fwrite(out, callback_cols[j], strlen(callback_cols[j]));
    }
    fputs("\r\n", out);
    for (int i = 0; i < PQntuples(r); i++) {
        for (int j = 0; j < NCALLBACK_COLS; j++) {
            fputs(j ? "," : "", out);
            const char *v = PQgetvalue(r, i, j);
            csv_fwrite(out, v, strlen(v));
        }
        fputs("\r\n", out);
    }
}

static void callbacks_json(const PGresult *r, bool unmasked, cJSON *o)
{
    cJSON *a = cJSON_AddArrayToObject(o, "callbacks");
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *x = cJSON_CreateObject();
        char masked[LOG_MASK_LEN];
        cJSON_AddNumberToObject(x, "reply_id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
        for (int j = 1; j < NCALLBACK_COLS; j++) {
            const char *v = PQgetvalue(r, i, j);
            if (j == 4 && !unmasked)
                v = log_mask_phone(v, masked, sizeof masked);
            if (PQgetisnull(r, i, j))
                cJSON_AddNullToObject(x, callback_cols[j]);
            else
                cJSON_AddStringToObject(x, callback_cols[j], v);
        }
        cJSON_AddItemToArray(a, x);
    }
}

static void callbacks_text(const PGresult *r, FILE *out)
{
    fprintf(out, "%6s  %-16s %-20s %-24s %-14s %s\n", "reply", "received", "campaign", "name", "phone", "text");
    for (int i = 0; i < PQntuples(r); i++) {
        char masked[LOG_MASK_LEN], body[80], camp[24], name[40];
        one_line(PQgetvalue(r, i, 8), body, sizeof body);
        one_line(PQgetvalue(r, i, 2), camp, sizeof camp);
        one_line(PQgetvalue(r, i, 3), name, sizeof name);
        fprintf(out, "%6s  %-16s %-20s %-24s %-14s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                PQgetisnull(r, i, 2) ? "-" : camp, PQgetisnull(r, i, 3) ? "-" : name,
                log_mask_phone(PQgetvalue(r, i, 4), masked, sizeof masked), body);
    }
}

int replies_callbacks(PGconn *db, const struct replies_filter *f, const char *tz, bool csv, FILE *out,
                      struct cJSON *json, char *err, size_t errlen)
{
    char cid[24] = "", lim[16];
    if (f->campaign && campaign_id_of(db, f->campaign, cid, sizeof cid, err, errlen) < 0)
        return -1;
    snprintf(lim, sizeof lim, "%ld", f->limit);
    const char *p[3] = {cid[0] ? cid : NULL, lim, tz};
    PGresult *r = db_query(db, err, errlen, CALLBACKS_SQL, 3, p);
    if (!r)
        return -1;
    if (csv)
        callbacks_csv(r, out);
    else if (json)
        callbacks_json(r, f->unmasked, json);
    else
        callbacks_text(r, out);
    PQclear(r);
    return 0;
}

/* ---- replies answer ---- */

/* Why reply ID could not be answered: it does not exist, or it was answered first. */
static void answer_refusal(PGconn *db, const char *id, char *err, size_t errlen)
{
    const char *p[1] = {id};
    PGresult *r = db_query(db, err, errlen,
                           "SELECT answered_by, to_char(answered_at AT TIME ZONE 'UTC',"
                           " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM replies WHERE id = $1::bigint", 1, p);
    if (!r)
        return;
    if (PQntuples(r) == 0)
        snprintf(err, errlen, "no reply %s (`loa replies list`)", id);
    else
        snprintf(err, errlen, "reply %s was already answered by %s at %s", id, PQgetvalue(r, 0, 0),
                 PQgetvalue(r, 0, 1));
    PQclear(r);
}

int replies_answer(PGconn *db, const char *id, const char *text, const char *by,
                   struct reply_answer *out, char *err, size_t errlen)
{
    const char *p[3] = {id, text, by};
    /* loa_reply_answer records it only while the reply is unanswered (two officers answering at
     * once cannot both send) and queues it with loa_answer_queue; the API calls it too. */
    PGresult *r = db_query(db, err, errlen,
                           "SELECT * FROM loa_reply_answer($1::bigint, $2, $3, NULL)", 3, p);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        answer_refusal(db, id, err, errlen);
        return -1;
    }
    snprintf(out->answer_id, sizeof out->answer_id, "%s", PQgetvalue(r, 0, 0));
    snprintf(out->channel, sizeof out->channel, "%s", PQgetvalue(r, 0, 1));
    log_mask_phone(PQgetvalue(r, 0, 2), out->to_masked, sizeof out->to_masked);
    snprintf(out->state, sizeof out->state, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    log_info("event=reply_answered reply=%s answer=%s channel=%s to=%s state=%s", id, out->answer_id,
             out->channel, out->to_masked, out->state);
    return 0;
}
