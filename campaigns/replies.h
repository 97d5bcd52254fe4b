#ifndef LOA_REPLIES_H
#define LOA_REPLIES_H
#include <libpq-fe.h>
#include <stdbool.h>

/* What citizens write back, and the officers' queue of replies to answer.
 *
 * reply_classify() reads a reply the way an officer would: accents, case, spacing and
 * punctuation do not matter ("TC", "t c", "Từ chối.", "tu choi" are the same word). In order:
 *   1. the whole message is a stop word (TC, từ chối, huỷ, STOP, dừng, ngừng…)      → stop
 *   2. it contains a stop phrase ("không muốn nhận", "dừng gửi", "hủy đăng ký"…)      → stop
 *   3. the whole message is a register word (DK, đăng ký, có, yes, quan tâm…)        → register
 *   4. it holds '?' or starts with a question word (hỏi, cho hỏi, xin hỏi, bao nhiêu,
 *      làm sao, tại sao, khi nào, ở đâu…) or contains "bao nhiêu" / "như thế nào"    → ask
 *   5. its first word is TC, STOP or huỷ ("TC BHXH")                                 → stop
 *   6. its first word is DK or yes, or it contains "đăng ký" / "quan tâm"            → register
 *   7. anything else                                                                → other
 * Pure and thread-safe; the daemon classifies every incoming reply with it. */

enum reply_intent { REPLY_OTHER, REPLY_STOP, REPLY_REGISTER, REPLY_ASK };

enum reply_intent reply_classify(const char *text);
/* "other", "stop", "register", "ask": the values of replies.intent. */
const char *reply_intent_name(enum reply_intent i);

/* Writes TEXT lower-cased, without accents (đ → d), with every run of characters that are
 * not ASCII letters or digits turned into one space and no leading or trailing space, into OUT
 * (truncated to LEN). Sets *QUESTION when TEXT holds a question mark (also full-width).
 * Exposed for tests. */
void reply_normalise(const char *text, char *out, unsigned len, int *question);

/* The officers' queue, newest first: $1 a campaign id or NULL, $2 'true' for unanswered only,
 * $3 the limit, $4 the policy time zone. Columns: id, received_at (UTC ISO), received (local),
 * channel, from_addr, campaign_id, campaign, intent, body, answered_by, answer, answered_at,
 * citizen_id. Used by `replies list` and the API. */
#define REPLIES_LIST_SQL                                                                              \
    "SELECT r.id, to_char(r.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"  \
    " to_char(r.received_at AT TIME ZONE $4::text, 'YYYY-MM-DD HH24:MI'), r.channel,"          \
    " r.from_addr, r.campaign_id, ca.name, r.intent, r.body, r.answered_by, r.answer,"         \
    " to_char(r.answered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), r.citizen_id" \
    " FROM replies r LEFT JOIN campaigns ca ON ca.id = r.campaign_id"                          \
    " WHERE ($1::bigint IS NULL OR r.campaign_id = $1::bigint)"                                \
    "   AND (NOT $2::boolean OR r.answered_at IS NULL)"                                        \
    " ORDER BY r.received_at DESC, r.id DESC LIMIT $3::int"

/* {"replies":[…]} from REPLIES_LIST_SQL's rows, numbers masked unless UNMASKED; the caller
 * deletes it. */
typedef struct cJSON cJSON;
cJSON *replies_list_json(const PGresult *r, bool unmasked);

/* Commands (engine/cli_commands.c). */
struct cli;
int cmd_replies_list(struct cli *c, int argc, char **argv);
int cmd_replies_answer(struct cli *c, int argc, char **argv);

#endif
