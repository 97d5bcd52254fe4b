#ifndef LOA_FAQ_H
#define LOA_FAQ_H
#include <libpq-fe.h>
#include <stddef.h>

/* The bank of standard questions and answers (table faq, sql/010_replies.sql), and the match of
 * a citizen's reply against it.
 *
 * A question is read with the normalisation of the keyword table (campaigns/keywords.h, the
 * Telex / VNI reading included) and kept as its set of plain words, without pronouns and
 * particles ("tôi", "ạ", "không"…) and with "bảo hiểm xã hội" as "bhxh". The score of a reply
 * against a question is the cosine of their word sets weighted by inverse document frequency
 * over the bank: 1 when they hold the same words, 0 when they share none; a word the bank never
 * uses weighs as much as the rarest one, so a long message on another subject scores low.
 * A score of FAQ_CONFIDENT or more is a match good enough to answer without an officer. */

#define FAQ_CONFIDENT 0.5

struct faq_bank;

/* An empty bank; faq_bank_free() frees it. */
struct faq_bank *faq_bank_new(void);
/* Adds a question (copied). -1 when out of memory or the question holds no word that counts. */
int faq_bank_add(struct faq_bank *b, long long id, const char *question, const char *answer);
size_t faq_bank_count(const struct faq_bank *b);
void faq_bank_free(struct faq_bank *b);

/* The best question for TEXT: its index, with its score in *SCORE; -1 (score 0) when no
 * question shares a word with TEXT. Pure once the bank is built. */
int faq_bank_match(const struct faq_bank *b, const char *text, double *score);
long long faq_bank_id(const struct faq_bank *b, int i);
const char *faq_bank_question(const struct faq_bank *b, int i);
const char *faq_bank_answer(const struct faq_bank *b, int i);

/* The query that loads the bank (columns id, question, answer), its one parameter the time zone
 * of the local day whose policy figures fill the answers' placeholders (loa_policy_text() in
 * sql/functions/60_answers.sql), and the loader of its result. FAQ_LIST_SQL: the rows as
 * written, placeholders and all, for the officers who edit them. */
extern const char FAQ_BANK_SQL[];
extern const char FAQ_LIST_SQL[];
struct faq_bank *faq_bank_from_result(const PGresult *res);

#endif
