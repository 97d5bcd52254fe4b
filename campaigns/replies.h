#ifndef LOA_REPLIES_H
#define LOA_REPLIES_H
#include "core/log.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

#include <stddef.h>

/* What citizens write back, and the officers' queue of replies to answer. Replies are read by
 * the keyword table (campaigns/keywords.h). */

/* TEXT as it can be stored in a text column: valid UTF-8 is copied unchanged; every byte that
 * is not part of a valid UTF-8 character, and every NUL among the LEN bytes, is written as the
 * four characters \xNN; a backslash is left as it is. Returns a string to free(), or NULL when
 * out of memory. */
char *reply_text_escape(const char *text, size_t len);

/* ---- The officers' queue (`loa replies list`, `loa replies answer`) ---- */

struct replies_filter {
    const char *campaign;   /* a campaign's name or id, or NULL for all */
    bool unanswered;        /* only the replies not answered yet */
    bool unmasked;          /* full numbers in JSON (the text always masks them) */
    long limit;             /* at most this many, newest first */
};

/* Lists the replies of F, times of day in time zone TZ, as a table on OUT, or, when JSON is not
 * NULL, as the array "replies" of that object. 0, or -1 with ERR ("no campaign 'x'" or the
 * database's error) and nothing written. */
struct cJSON;
int replies_list(PGconn *db, const struct replies_filter *f, const char *tz, FILE *out,
                 struct cJSON *json, char *err, size_t errlen);

/* The queue, newest first: $1 a campaign id or NULL, $2 'true' for unanswered only, $3 the
 * limit, $4 the time zone. Columns: id, received_at (UTC ISO), received (local), channel,
 * from_addr, campaign_id, campaign, intent, body, answered_by, answer, answered_at, citizen_id.
 * Used by `replies list` and GET /api/v1/replies. */
#define REPLIES_LIST_SQL                                                                      \
    "SELECT r.id, to_char(r.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"  \
    " to_char(r.received_at AT TIME ZONE $4::text, 'YYYY-MM-DD HH24:MI'), r.channel,"          \
    " r.from_addr, r.campaign_id, ca.name, r.intent, r.body, r.answered_by, r.answer,"         \
    " to_char(r.answered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), r.citizen_id" \
    " FROM replies r LEFT JOIN campaigns ca ON ca.id = r.campaign_id"                          \
    " WHERE ($1::bigint IS NULL OR r.campaign_id = $1::bigint)"                                \
    "   AND (NOT $2::boolean OR r.answered_at IS NULL)"                                        \
    " ORDER BY r.received_at DESC, r.id DESC LIMIT $3::int"
/* Adds the array "replies" of REPLIES_LIST_SQL's rows R to O, numbers masked unless UNMASKED. */
void replies_list_json(const PGresult *r, bool unmasked, struct cJSON *o);
/* The call-back list: each citizen (or unknown sender) whose reply asked to be called back
 * (intent `register`), once, by their latest such reply, newest first; F's campaign and limit
 * apply. CSV (a header row, then reply_id, received in TZ, campaign, full_name, phone, channel,
 * commune_code, commune_name, text) holds full numbers, for officers to call; the JSON array
 * "callbacks" masks them unless F->unmasked; the text table always does. 0, or -1 with ERR. */
int replies_callbacks(PGconn *db, const struct replies_filter *f, const char *tz, bool csv, FILE *out,
                      struct cJSON *json, char *err, size_t errlen);

struct reply_answer {
    char answer_id[24];
    char channel[8];
    char to_masked[LOG_MASK_LEN];   /* the citizen's number, masked */
    char state[16];                 /* pending; failed when there is no way to reach them */
};

/* Records TEXT by BY as the answer to reply ID (its text, digits) and queues it for the daemon
 * with loa_reply_answer() (60_web.sql, which the API calls too; NOTIFY loa_answers): by Zalo
 * when the citizen wrote to the OA within 7 days, else by SMS. 0 with OUT set, or -1 with ERR:
 * no such reply,
 * already answered (by whom, when), or the database's error; nothing is then changed. */
int replies_answer(PGconn *db, const char *id, const char *text, const char *by,
                   struct reply_answer *out, char *err, size_t errlen);

#endif
