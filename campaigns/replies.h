#ifndef LOA_REPLIES_H
#define LOA_REPLIES_H
#include "core/log.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

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

struct reply_answer {
    char answer_id[24];
    char channel[8];
    char to_masked[LOG_MASK_LEN];   /* the citizen's number, masked */
};

/* Records TEXT by BY as the answer to reply ID (its text, digits) and queues it on the reply's
 * channel for the daemon (NOTIFY loa_answers). 0 with OUT set, or -1 with ERR: no such reply,
 * already answered (by whom, when), or the database's error; nothing is then changed. */
int replies_answer(PGconn *db, const char *id, const char *text, const char *by,
                   struct reply_answer *out, char *err, size_t errlen);

#endif
