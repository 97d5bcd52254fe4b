#ifndef LOA_REPLIES_H
#define LOA_REPLIES_H

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

/* Commands (engine/cli_commands.c). */
struct cli;
int cmd_replies_list(struct cli *c, int argc, char **argv);
int cmd_replies_answer(struct cli *c, int argc, char **argv);

#endif
