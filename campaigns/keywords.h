#ifndef LOA_KEYWORDS_H
#define LOA_KEYWORDS_H
#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

/* Reading what citizens write back with the keyword table of the database (reply_keywords,
 * sql/010_replies.sql), not with words written in C.
 *
 * Normalisation (kw_text_parse): NFKC, case folded, every run of characters that are not
 * letters or digits one word break. Each word is kept twice: its canonical form, the letters
 * with their shapes (ă â ê ô ơ ư đ) and the tone as a suffix ("hủy" and "huỷ" are both
 * "huy_3", wherever the tone mark was placed), and its plain form without any mark ("huy").
 * "k", "ko", "kg", "kh", "khg" are read as "không". A second reading decodes Telex and VNI
 * leftovers of an input method that was off ("tuwf choois", "tu72 cho61i" → "từ chối").
 *
 * A keyword has an intent, a match mode and an accent rule:
 *   match   whole   the message is the keyword (spaces between letters do not count: "T C" is
 *                   "TC"), once polite words around it are dropped ("Từ chối ạ", "Tôi từ chối",
 *                   "TC nhé", "STOP cảm ơn");
 *           phrase  the words occur in this order anywhere, and are not negated by the word
 *                   before ("tôi không từ chối nhận tin" is no stop);
 *           start / end  the message begins / ends with the words (questions: "cho hỏi …",
 *                   "… không").
 *   accents exact   the citizen's letters must carry the keyword's marks ("dừng": "dung" could
 *                   be đúng or Dũng, so it matches nothing);
 *           any     marks are ignored: the keyword is unambiguous without them ("tu choi");
 *           caps    as exact, and also without marks when the whole message is in capitals
 *                   ("HUY" is huỷ; "Huy" is a name).
 * kw_classify() decides in this order: a message holding '?' is a question; a whole-message
 * keyword; a question phrase; an opt-out phrase; an opt-in, register or feedback phrase; else
 * other. A stop word inside a question or a longer sentence therefore never opts out: a false
 * opt-out loses a citizen for good, a missed one is caught by the help text. The Telex / VNI
 * reading is used only when the message as typed is `other`. */

enum kw_intent { KW_OTHER, KW_OPT_OUT, KW_OPT_IN, KW_REGISTER, KW_QUESTION, KW_FEEDBACK, KW_NINTENTS };
enum kw_match { KW_WHOLE, KW_PHRASE, KW_START, KW_END };
enum kw_accents { KW_EXACT, KW_ANY, KW_CAPS };

/* "other", "opt_out", "opt_in", "register", "question", "feedback": the values of
 * replies.intent and reply_keywords.intent. */
const char *kw_intent_name(enum kw_intent i);
const char *kw_match_name(enum kw_match m);
const char *kw_accents_name(enum kw_accents a);
/* Parses a name; -1 when unknown. */
int kw_intent_parse(const char *s);
int kw_match_parse(const char *s);
int kw_accents_parse(const char *s);

enum { KW_MAX_WORDS = 160, KW_TEXT_MAX = 4096 };

/* A normalised text. Words beyond KW_MAX_WORDS or KW_TEXT_MAX bytes are dropped: a message is
 * read by its beginning. */
struct kw_text {
    const char *canon[KW_MAX_WORDS];
    const char *plain[KW_MAX_WORDS];
    const char *typed[KW_MAX_WORDS];  /* canon before "k" / "ko" became "không" */
    bool brk[KW_MAX_WORDS];   /* a punctuation mark stands before the word */
    unsigned n;
    bool question;     /* it holds '?' (also full-width) */
    bool caps;         /* at least two letters, all capitals */
    bool decoded;      /* the Telex / VNI reading changed a word */
    char buf[KW_TEXT_MAX * 3];
};

/* Reads TEXT (NULL and invalid UTF-8 allowed: bytes that are not UTF-8 break words) into OUT;
 * DECODE applies the Telex / VNI reading. */
void kw_text_parse(const char *text, bool decode, struct kw_text *out);
/* The plain words joined by single spaces, at most LEN bytes ("Từ chối!" → "tu choi"). */
void kw_text_plain(const struct kw_text *t, char *out, size_t len);

/* The keyword table as loaded. Owned by the caller; kw_table_free() frees it. */
struct kw_table;
struct kw_table *kw_table_new(void);
/* Adds a keyword. -1 when TEXT has no word or is too long (over 20 words). */
int kw_table_add(struct kw_table *t, const char *text, enum kw_intent intent, enum kw_match match,
                 enum kw_accents accents);
size_t kw_table_count(const struct kw_table *t);
void kw_table_free(struct kw_table *t);

/* The intent of TEXT by table T. Pure; T may be used by several threads at once. */
enum kw_intent kw_classify(const struct kw_table *t, const char *text);

/* The query that loads the table (columns text, intent, match, accents), and the loader of its
 * result: rows with unknown values are skipped and counted in *SKIPPED. */
extern const char KW_TABLE_SQL[];
struct kw_table *kw_table_from_result(const PGresult *res, int *skipped);

#endif
