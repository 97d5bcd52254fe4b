#include "campaigns/faq.h"
#include "campaigns/keywords.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { FAQ_WORDS = 64 };

struct faq_entry {
    long long id;
    char *question, *answer;
    char *words[FAQ_WORDS];   /* distinct plain words that count */
    unsigned n;
};

struct faq_bank {
    struct faq_entry *v;
    size_t n, cap;
};

/* Pronouns, particles and the words of every question: they say nothing of the subject. */
static const char *const stop_words[] = {
    "toi", "em", "anh", "chi", "minh", "ban", "ong", "ba", "co", "la", "cua", "duoc", "thi", "va",
    "cho", "oi", "a", "nhe", "nha", "ah", "vay", "khong", "xin", "hoi", "muon", "voi", "ve",
    "nhu", "nay", "do", "di", "roi", "se", "cac", "nhung", "mot", "phai", "lam", "gi", "nao", "sao",
    "ra", "vao", "de", "khi", "neu", "ma", NULL,
};

static bool is_stop(const char *w)
{
    for (const char *const *s = stop_words; *s; s++)
        if (strcmp(w, *s) == 0)
            return true;
    return false;
}

/* The distinct plain words of TEXT that count, into OUT (each strdup'ed); their number. */
static unsigned words_of(const char *text, char **out, unsigned max)
{
    struct kw_text *t = malloc(sizeof *t);
    if (!t)
        return 0;
    kw_text_parse(text, true, t);
    unsigned n = 0;
    for (unsigned i = 0; i < t->n && n < max; i++) {
        const char *w = t->plain[i];
        /* "bảo hiểm xã hội" is written "BHXH" as often as not. */
        if (i + 3 < t->n && strcmp(w, "bao") == 0 && strcmp(t->plain[i + 1], "hiem") == 0 &&
            strcmp(t->plain[i + 2], "xa") == 0 && strcmp(t->plain[i + 3], "hoi") == 0) {
            w = "bhxh";
            i += 3;
        }
        if (is_stop(w))
            continue;
        bool seen = false;
        for (unsigned j = 0; j < n && !seen; j++)
            seen = strcmp(out[j], w) == 0;
        if (!seen && (out[n] = strdup(w)))
            n++;
    }
    free(t);
    return n;
}

struct faq_bank *faq_bank_new(void) { return calloc(1, sizeof(struct faq_bank)); }
size_t faq_bank_count(const struct faq_bank *b) { return b ? b->n : 0; }

static void entry_free(struct faq_entry *e)
{
    for (unsigned i = 0; i < e->n; i++)
        free(e->words[i]);
    free(e->question);
    free(e->answer);
}

int faq_bank_add(struct faq_bank *b, long long id, const char *question, const char *answer)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        struct faq_entry *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return -1;
        b->v = v;
        b->cap = cap;
    }
    struct faq_entry *e = &b->v[b->n];
    *e = (struct faq_entry){.id = id, .question = strdup(question), .answer = strdup(answer)};
    e->n = words_of(question, e->words, FAQ_WORDS);
    if (!e->question || !e->answer || e->n == 0) {
        entry_free(e);
        return -1;
    }
    b->n++;
    return 0;
}

void faq_bank_free(struct faq_bank *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        entry_free(&b->v[i]);
    free(b->v);
    free(b);
}

/* Inverse document frequency of W over the bank; a word no question holds weighs as one that
 * a single question holds. */
static double idf(const struct faq_bank *b, const char *w)
{
    size_t df = 0;
    for (size_t i = 0; i < b->n; i++)
        for (unsigned j = 0; j < b->v[i].n; j++)
            if (strcmp(b->v[i].words[j], w) == 0) {
                df++;
                break;
            }
    return log(1.0 + (double)b->n / (double)(df ? df : 1));
}

int faq_bank_match(const struct faq_bank *b, const char *text, double *score)
{
    *score = 0;
    if (!b || b->n == 0)
        return -1;
    char *q[FAQ_WORDS];
    double qw[FAQ_WORDS], qnorm = 0;
    unsigned qn = words_of(text, q, FAQ_WORDS);
    for (unsigned i = 0; i < qn; i++) {
        qw[i] = idf(b, q[i]);
        qnorm += qw[i] * qw[i];
    }
    int best = -1;
    for (size_t k = 0; k < b->n && qn; k++) {
        const struct faq_entry *e = &b->v[k];
        double shared = 0, enorm = 0;
        for (unsigned j = 0; j < e->n; j++) {
            double w = idf(b, e->words[j]);
            enorm += w * w;
            for (unsigned i = 0; i < qn; i++)
                if (strcmp(q[i], e->words[j]) == 0)
                    shared += w * w;
        }
        double s = shared > 0 ? shared / (sqrt(qnorm) * sqrt(enorm)) : 0;
        if (s > *score) {
            *score = s;
            best = (int)k;
        }
    }
    for (unsigned i = 0; i < qn; i++)
        free(q[i]);
    return best;
}

long long faq_bank_id(const struct faq_bank *b, int i) { return b->v[i].id; }
const char *faq_bank_question(const struct faq_bank *b, int i) { return b->v[i].question; }
const char *faq_bank_answer(const struct faq_bank *b, int i) { return b->v[i].answer; }

const char FAQ_BANK_SQL[] = "SELECT id, question, loa_policy_text(answer, (loa_now() AT TIME ZONE $1::text)::date)"
                            " FROM faq ORDER BY id";
const char FAQ_LIST_SQL[] = "SELECT id, question, answer FROM faq ORDER BY id";

struct faq_bank *faq_bank_from_result(const PGresult *res)
{
    struct faq_bank *b = faq_bank_new();
    for (int i = 0; b && i < PQntuples(res); i++)
        faq_bank_add(b, strtoll(PQgetvalue(res, i, 0), NULL, 10), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    return b;
}
