#include "campaigns/keywords.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

enum { WORD_MAX = 48, KW_WORDS_MAX = 20 };

/* ---- Names ---- */

static const char *const intent_names[KW_NINTENTS] = {"other", "opt_out", "opt_in", "register", "question", "feedback"};
static const char *const match_names[] = {"whole", "phrase", "start", "end", NULL};
static const char *const accents_names[] = {"exact", "any", "caps", NULL};

const char *kw_intent_name(enum kw_intent i) { return i < KW_NINTENTS ? intent_names[i] : "other"; }
const char *kw_match_name(enum kw_match m) { return m <= KW_END ? match_names[m] : "?"; }
const char *kw_accents_name(enum kw_accents a) { return a <= KW_CAPS ? accents_names[a] : "?"; }

static int index_of(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n && names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}
int kw_intent_parse(const char *s) { return index_of(s, intent_names, KW_NINTENTS); }
int kw_match_parse(const char *s) { return index_of(s, match_names, 4); }
int kw_accents_parse(const char *s) { return index_of(s, accents_names, 3); }

/* ---- Normalisation ---- */

/* A letter with its shape mark (circumflex, breve or horn), decomposed. */
struct letter {
    int32_t cp;
    int32_t mark;
};

struct word {
    struct letter l[WORD_MAX];
    unsigned n;
    int tone;           /* 0 level, 1 sắc, 2 huyền, 3 hỏi, 4 ngã, 5 nặng */
    bool brk;           /* a punctuation mark came before it */
};

enum { CIRC = 0x302, BREVE = 0x306, HORN = 0x31B, D_BAR = 0x111 };

static int tone_of_mark(int32_t cp)
{
    switch (cp) {
    case 0x301: return 1;
    case 0x300: return 2;
    case 0x309: return 3;
    case 0x303: return 4;
    case 0x323: return 5;
    default: return 0;
    }
}

static bool is_vowel(int32_t cp) { return cp && strchr("aeiouy", (int)cp) && cp < 0x80; }

/* The last letter of W, from the end, that is one of SET and carries no mark; -1 if none. */
static int last_of(const struct word *w, const char *set)
{
    for (int i = (int)w->n - 1; i >= 0; i--)
        if (w->l[i].cp < 0x80 && strchr(set, (int)w->l[i].cp) && !w->l[i].mark)
            return i;
    return -1;
}

static bool has_vowel(const struct word *w)
{
    for (unsigned i = 0; i < w->n; i++)
        if (is_vowel(w->l[i].cp))
            return true;
    return false;
}

/* Horn on the last u / o, and on both of "uo" ("duo7ng", "duowng" → dương). */
static bool put_horn(struct word *w)
{
    int i = last_of(w, "uo");
    if (i < 0)
        return false;
    w->l[i].mark = HORN;
    if (w->l[i].cp == 'o' && i > 0 && w->l[i - 1].cp == 'u' && !w->l[i - 1].mark)
        w->l[i - 1].mark = HORN;
    return true;
}

/* VNI: digits after the letters ("tu72 cho61i"). False when a digit means nothing here. */
static bool decode_vni(const char *s, struct word *w)
{
    for (; *s; s++) {
        int c = (unsigned char)*s, i;
        if (isalpha(c)) {
            if (w->n == WORD_MAX)
                return false;
            w->l[w->n++] = (struct letter){c, 0};
            continue;
        }
        if (!has_vowel(w))
            return false;
        switch (c) {
        case '1': case '2': case '3': case '4': case '5': w->tone = c - '0'; break;
        case '6':
            if ((i = last_of(w, "aeo")) < 0) return false;
            w->l[i].mark = CIRC;
            break;
        case '7':
            if (!put_horn(w)) return false;
            break;
        case '8':
            if ((i = last_of(w, "a")) < 0) return false;
            w->l[i].mark = BREVE;
            break;
        case '9':
            if (w->l[0].cp != 'd') return false;
            w->l[0].cp = D_BAR;
            break;
        default: return false;
        }
    }
    return true;
}

/* Telex: doubled letters and w for the shapes, a final s f r x j for the tone. */
static bool decode_telex(const char *s, struct word *w)
{
    size_t len = strlen(s);
    for (size_t k = 0; k < len; k++) {
        int c = (unsigned char)s[k];
        struct letter *prev = w->n ? &w->l[w->n - 1] : NULL;
        if (c == 'd' && w->n == 1 && prev->cp == 'd') {
            prev->cp = D_BAR;
        } else if ((c == 'a' || c == 'e' || c == 'o') && prev && prev->cp == c && !prev->mark) {
            prev->mark = CIRC;
        } else if (c == 'w') {
            if (prev && prev->cp == 'a' && !prev->mark)
                prev->mark = BREVE;
            else if (!put_horn(w))
                return false;
        } else if (k == len - 1 && strchr("sfrxj", c) && has_vowel(w)) {
            w->tone = c == 's' ? 1 : c == 'f' ? 2 : c == 'r' ? 3 : c == 'x' ? 4 : 5;
        } else if (isalpha(c)) {
            if (w->n == WORD_MAX)
                return false;
            w->l[w->n++] = (struct letter){c, 0};
        } else {
            return false;
        }
    }
    return true;
}

/* The letters of W as typed, as ASCII, when they are ASCII letters and digits only. */
static bool word_ascii(const struct word *w, char *out, size_t len)
{
    if (w->tone || w->n + 1 > len)
        return false;
    for (unsigned i = 0; i < w->n; i++) {
        if (w->l[i].cp >= 0x80 || w->l[i].mark)
            return false;
        out[i] = (char)w->l[i].cp;
    }
    out[w->n] = '\0';
    return true;
}

/* Reads W again as Telex or VNI; true when that changed it. */
static bool word_decode(struct word *w)
{
    char s[WORD_MAX + 1];
    if (w->n < 2 || !word_ascii(w, s, sizeof s))
        return false;
    bool digits = strpbrk(s, "123456789") != NULL, letters = false;
    for (const char *p = s; *p; p++)
        letters |= isalpha((unsigned char)*p) != 0;
    if (!letters)
        return false;
    struct word d = {.brk = w->brk};
    if (!(digits ? decode_vni(s, &d) : decode_telex(s, &d)) || d.n == 0)
        return false;
    bool changed = d.tone != 0 || d.n != w->n;
    for (unsigned i = 0; !changed && i < d.n; i++)
        changed = d.l[i].mark || d.l[i].cp != w->l[i].cp;
    if (changed)
        *w = d;
    return changed;
}

static size_t put_cp(char *out, size_t at, size_t cap, int32_t cp)
{
    utf8proc_uint8_t b[4];
    utf8proc_ssize_t k = utf8proc_encode_char(cp, b);
    if (k <= 0 || at + (size_t)k >= cap)
        return at;
    memcpy(out + at, b, (size_t)k);
    return at + (size_t)k;
}

/* Appends the canonical and plain forms of W to T. */
static void text_add_word(struct kw_text *t, const struct word *w, size_t *used)
{
    static const char *const khong[] = {"k", "ko", "kg", "kh", "khg", NULL};
    char dec[WORD_MAX * 8], plain[WORD_MAX * 4 + 1];
    size_t dn = 0, pn = 0;
    for (unsigned i = 0; i < w->n; i++) {
        dn = put_cp(dec, dn, sizeof dec, w->l[i].cp);
        if (w->l[i].mark)
            dn = put_cp(dec, dn, sizeof dec, w->l[i].mark);
        pn = put_cp(plain, pn, sizeof plain, w->l[i].cp == D_BAR ? 'd' : w->l[i].cp);
    }
    dec[dn] = plain[pn] = '\0';
    char canon[WORD_MAX * 8 + 4];
    utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)dec);
    snprintf(canon, sizeof canon, "%s", nfc ? (const char *)nfc : dec);
    free(nfc);
    if (w->tone)
        snprintf(canon + strlen(canon), sizeof canon - strlen(canon), "_%d", w->tone);
    char typed[sizeof canon];
    snprintf(typed, sizeof typed, "%s", canon);
    bool expanded = false;
    for (const char *const *k = khong; *k; k++)
        if (strcmp(canon, *k) == 0) {
            snprintf(canon, sizeof canon, "%s", "không");
            snprintf(plain, sizeof plain, "%s", "khong");
            expanded = true;
        }
    size_t cl = strlen(canon) + 1, pl = strlen(plain) + 1, tl = expanded ? strlen(typed) + 1 : 0;
    if (t->n == KW_MAX_WORDS || *used + cl + pl + tl > sizeof t->buf)
        return;
    t->canon[t->n] = memcpy(t->buf + *used, canon, cl);
    *used += cl;
    t->plain[t->n] = memcpy(t->buf + *used, plain, pl);
    *used += pl;
    t->typed[t->n] = expanded ? memcpy(t->buf + *used, typed, tl) : t->canon[t->n];
    *used += tl;
    t->brk[t->n] = w->brk;
    t->n++;
}

/* Upper / lower case letters of TEXT (valid UTF-8). */
static void count_case(const utf8proc_uint8_t *s, unsigned *upper, unsigned *lower)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t k;
    *upper = *lower = 0;
    while (*s && (k = utf8proc_iterate(s, -1, &cp)) > 0) {
        utf8proc_category_t c = utf8proc_category(cp);
        if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LT)
            (*upper)++;
        else if (c == UTF8PROC_CATEGORY_LL)
            (*lower)++;
        s += k;
    }
}

static bool is_word_cp(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) || c == UTF8PROC_CATEGORY_ND;
}

static bool is_mark_cp(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME;
}

void kw_text_parse(const char *text, bool decode, struct kw_text *t)
{
    t->n = 0;
    t->question = t->caps = t->decoded = false;
    if (!text)
        return;
    size_t tl = strnlen(text, KW_TEXT_MAX);
    char *copy = malloc(tl + 1);
    if (!copy)
        return;
    memcpy(copy, text, tl);
    copy[tl] = '\0';
    /* Bytes that are not UTF-8 (and a character cut at the limit) become spaces: the rest of
     * the message is still read. */
    for (size_t i = 0; i < tl;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)copy + i, (utf8proc_ssize_t)(tl - i), &cp);
        if (k <= 0) {
            copy[i++] = ' ';
            continue;
        }
        i += (size_t)k;
    }
    unsigned upper, lower;
    count_case((const utf8proc_uint8_t *)copy, &upper, &lower);
    t->caps = upper >= 2 && lower == 0;
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t ml = utf8proc_map((const utf8proc_uint8_t *)copy, 0, &m,
                                       UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT |
                                           UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD);
    free(copy);
    if (ml < 0)
        return;
    struct word w = {0};
    bool brk = false;
    size_t used = 0;
    for (utf8proc_ssize_t i = 0; i <= ml;) {
        utf8proc_int32_t cp = 0;
        utf8proc_ssize_t k = i < ml ? utf8proc_iterate(m + i, ml - i, &cp) : 1;
        i += k > 0 ? k : 1;
        if (cp && is_word_cp(cp)) {
            if (w.n < WORD_MAX)
                w.l[w.n++] = (struct letter){cp, 0};
            continue;
        }
        if (cp && is_mark_cp(cp)) {
            if (w.n && (cp == CIRC || cp == BREVE || cp == HORN))
                w.l[w.n - 1].mark = cp;
            else if (w.n && tone_of_mark(cp))
                w.tone = tone_of_mark(cp);
            continue;
        }
        if (w.n) {
            w.brk = brk;
            if (decode)
                t->decoded |= word_decode(&w);
            text_add_word(t, &w, &used);
            brk = false;
        }
        w = (struct word){0};
        if (cp == '?')
            t->question = true;
        if (cp && cp != ' ' && cp != '\t' && cp != '\n' && cp != '\r')
            brk = true;
    }
    free(m);
}

void kw_text_plain(const struct kw_text *t, char *out, size_t len)
{
    size_t n = 0;
    if (!len)
        return;
    out[0] = '\0';
    for (unsigned i = 0; i < t->n; i++) {
        int k = snprintf(out + n, len - n, "%s%s", i ? " " : "", t->plain[i]);
        if (k < 0 || (size_t)k >= len - n) {
            out[n] = '\0';
            return;
        }
        n += (size_t)k;
    }
}

/* ---- The table ---- */

struct kw_entry {
    enum kw_intent intent;
    enum kw_match match;
    enum kw_accents accents;
    unsigned n;
    char *canon[KW_WORDS_MAX];
    char *plain[KW_WORDS_MAX];
    char *canon_compact, *plain_compact;
};

struct kw_table {
    struct kw_entry *v;
    size_t n, cap;
};

struct kw_table *kw_table_new(void) { return calloc(1, sizeof(struct kw_table)); }
size_t kw_table_count(const struct kw_table *t) { return t ? t->n : 0; }

static char *join(char *const *w, unsigned n, const char *sep)
{
    size_t len = 1;
    for (unsigned i = 0; i < n; i++)
        len += strlen(w[i]) + strlen(sep);
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        if (i)
            strcat(s, sep);
        strcat(s, w[i]);
    }
    return s;
}

static void entry_free(struct kw_entry *e)
{
    for (unsigned i = 0; i < e->n; i++) {
        free(e->canon[i]);
        free(e->plain[i]);
    }
    free(e->canon_compact);
    free(e->plain_compact);
}

int kw_table_add(struct kw_table *t, const char *text, enum kw_intent intent, enum kw_match match,
                 enum kw_accents accents)
{
    struct kw_text *p = malloc(sizeof *p);
    if (!p)
        return -1;
    kw_text_parse(text, false, p);
    if (p->n == 0 || p->n > KW_WORDS_MAX || intent == KW_OTHER || intent >= KW_NINTENTS) {
        free(p);
        return -1;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct kw_entry *v = realloc(t->v, cap * sizeof *v);
        if (!v) {
            free(p);
            return -1;
        }
        t->v = v;
        t->cap = cap;
    }
    struct kw_entry *e = &t->v[t->n];
    *e = (struct kw_entry){.intent = intent, .match = match, .accents = accents, .n = p->n};
    bool ok = true;
    for (unsigned i = 0; i < p->n; i++) {
        e->canon[i] = strdup(p->canon[i]);
        e->plain[i] = strdup(p->plain[i]);
        ok &= e->canon[i] && e->plain[i];
    }
    free(p);
    e->canon_compact = ok ? join(e->canon, e->n, "") : NULL;
    e->plain_compact = ok ? join(e->plain, e->n, "") : NULL;
    if (!e->canon_compact || !e->plain_compact) {
        entry_free(e);
        return -1;
    }
    t->n++;
    return 0;
}

void kw_table_free(struct kw_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        entry_free(&t->v[i]);
    free(t->v);
    free(t);
}

const char KW_TABLE_SQL[] = "SELECT text, intent, match, accents FROM reply_keywords ORDER BY id";

struct kw_table *kw_table_from_result(const PGresult *res, int *skipped)
{
    struct kw_table *t = kw_table_new();
    *skipped = 0;
    if (!t)
        return NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        int in = kw_intent_parse(PQgetvalue(res, i, 1)), m = kw_match_parse(PQgetvalue(res, i, 2)),
            a = kw_accents_parse(PQgetvalue(res, i, 3));
        if (in <= 0 || m < 0 || a < 0 ||
            kw_table_add(t, PQgetvalue(res, i, 0), (enum kw_intent)in, (enum kw_match)m, (enum kw_accents)a) < 0)
            (*skipped)++;
    }
    return t;
}

/* ---- Matching ---- */

static bool word_eq(const struct kw_entry *k, unsigned i, const struct kw_text *t, unsigned j)
{
    if (strcmp(k->canon[i], t->canon[j]) == 0)
        return true;
    if (k->accents == KW_ANY || (k->accents == KW_CAPS && t->caps))
        return strcmp(k->plain[i], t->plain[j]) == 0;
    return false;
}

/* Words [FROM, TO) of T, run together, equal K's ("T C" is "TC"); TYPED: "k" as typed, not
 * read as "không" ("D K" is "DK"). */
static bool whole_eq_as(const struct kw_entry *k, const struct kw_text *t, unsigned from, unsigned to, bool typed)
{
    char cs[KW_TEXT_MAX], ps[KW_TEXT_MAX];
    size_t cn = 0, pn = 0;
    for (unsigned j = from; j < to; j++) {
        const char *c = typed ? t->typed[j] : t->canon[j], *p = typed && t->typed[j] != t->canon[j] ? c : t->plain[j];
        size_t a = strlen(c), b = strlen(p);
        if (cn + a >= sizeof cs || pn + b >= sizeof ps)
            return false;
        memcpy(cs + cn, c, a);
        memcpy(ps + pn, p, b);
        cn += a;
        pn += b;
    }
    cs[cn] = ps[pn] = '\0';
    if (strcmp(cs, k->canon_compact) == 0)
        return true;
    if (k->accents == KW_ANY || (k->accents == KW_CAPS && t->caps))
        return strcmp(ps, k->plain_compact) == 0;
    return false;
}

static bool whole_eq(const struct kw_entry *k, const struct kw_text *t, unsigned from, unsigned to)
{
    bool expanded = false;
    for (unsigned j = from; j < to && !expanded; j++)
        expanded = t->typed[j] != t->canon[j];
    return whole_eq_as(k, t, from, to, false) || (expanded && whole_eq_as(k, t, from, to, true));
}

static bool words_at(const struct kw_entry *k, const struct kw_text *t, unsigned at)
{
    if (at + k->n > t->n)
        return false;
    for (unsigned i = 0; i < k->n; i++)
        if (!word_eq(k, i, t, at + i))
            return false;
    return true;
}

/* "không", "chưa", "chẳng", "đừng" up to two words before AT, in the same clause. */
static bool negated(const struct kw_text *t, unsigned at, const bool *brk)
{
    static const char *const neg[] = {"khong", "chua", "chang", "cha", NULL};
    for (unsigned back = 1; back <= 2 && back <= at; back++) {
        unsigned j = at - back;
        if (brk[j + 1])
            break;
        for (const char *const *n = neg; *n; n++)
            if (strcmp(t->plain[j], *n) == 0)
                return true;
        if (strcmp(t->canon[j], "đưng_2") == 0)
            return true;
    }
    return false;
}

/* FROM and TO: the message without the polite words around it ("… không ạ" ends in "không"). */
static bool phrase_in(const struct kw_entry *k, const struct kw_text *t, const bool *brk, unsigned from, unsigned to)
{
    switch (k->match) {
    case KW_WHOLE: return false;
    case KW_START: return to - from > k->n && words_at(k, t, from);
    case KW_END: return to - from > k->n && words_at(k, t, to - k->n);
    case KW_PHRASE:
        for (unsigned at = 0; at + k->n <= t->n; at++) {
            /* A phrase does not run over a comma or a full stop. */
            bool across = false;
            for (unsigned i = 1; i < k->n; i++)
                across |= brk[at + i];
            if (!across && words_at(k, t, at) && (k->intent == KW_QUESTION || !negated(t, at, brk)))
                return true;
        }
        return false;
    }
    return false;
}

/* Polite words around a keyword ("Từ chối ạ", "Tôi từ chối", "STOP please"), by plain form. */
static const char *const lead_fillers[] = {"toi", "xin", "em", "minh", "lam on", "vui long", "cho toi", "please", NULL};
static const char *const trail_fillers[] = {
    "a", "nhe", "nha", "luon", "di", "ngay", "voi", "cam on", "cam on ban", "cam on nhieu", "thanks",
    "thank you", "please", "ban oi", "giup toi", "gium", "giup", "vay", NULL,
};

/* Length in words of the filler of LIST at word AT of T, 0 if none. */
static unsigned filler_at(const struct kw_text *t, unsigned at, unsigned end, const char *const *list, bool tail)
{
    for (; *list; list++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%s", *list);
        unsigned n = 1;
        for (const char *p = buf; *p; p++)
            n += *p == ' ';
        if (n > end - at)
            continue;
        unsigned from = tail ? end - n : at;
        bool eq = true;
        char *save = NULL, *w = strtok_r(buf, " ", &save);
        for (unsigned j = from; eq && w; j++, w = strtok_r(NULL, " ", &save))
            eq = strcmp(t->plain[j], w) == 0;
        if (eq)
            return n;
    }
    return 0;
}

static const enum kw_intent phrase_order[] = {KW_QUESTION, KW_OPT_OUT, KW_OPT_IN, KW_REGISTER, KW_FEEDBACK};

static enum kw_intent classify_text(const struct kw_table *tb, const struct kw_text *t)
{
    if (t->n == 0 || t->question)
        return t->question ? KW_QUESTION : KW_OTHER;
    unsigned from = 0, to = t->n, k;
    for (size_t i = 0; i < tb->n; i++)
        if (tb->v[i].match == KW_WHOLE && whole_eq(&tb->v[i], t, 0, t->n))
            return tb->v[i].intent;
    while (from < to && (k = filler_at(t, from, to, lead_fillers, false)) > 0)
        from += k;
    while (from < to && (k = filler_at(t, from, to, trail_fillers, true)) > 0)
        to -= k;
    if (from < to && (from > 0 || to < t->n))
        for (size_t i = 0; i < tb->n; i++)
            if (tb->v[i].match == KW_WHOLE && whole_eq(&tb->v[i], t, from, to))
                return tb->v[i].intent;
    for (size_t o = 0; o < sizeof phrase_order / sizeof phrase_order[0]; o++)
        for (size_t i = 0; i < tb->n; i++)
            if (tb->v[i].intent == phrase_order[o] && phrase_in(&tb->v[i], t, t->brk, from, to))
                return phrase_order[o];
    return KW_OTHER;
}

enum kw_intent kw_classify(const struct kw_table *t, const char *text)
{
    if (!t)
        return KW_OTHER;
    struct kw_text *p = malloc(sizeof *p);
    if (!p)
        return KW_OTHER;
    kw_text_parse(text, false, p);
    enum kw_intent r = classify_text(t, p);
    if (r == KW_OTHER) {
        kw_text_parse(text, true, p);
        if (p->decoded)
            r = classify_text(t, p);
    }
    free(p);
    return r;
}
