/* Template compilation and rendering (template.h). A template is compiled once into a list of
 * segments, each a literal slice of normalised text or a field; rendering walks the list and
 * copies bytes, so the dispatcher pays no parsing and no allocation per message. */
#include "campaigns/template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "campaigns/address.h"
#include "campaigns/policy.h"

enum field {
    F_LITERAL,
    F_FULL_NAME, F_GIVEN_NAME, F_SALUTATION, F_COMMUNE_NAME, F_VOLUNTARY_DUE_DATE,
    F_MIN_CONTRIBUTION, F_STATE_SUPPORT_PCT, F_OPT_OUT_HINT, F_OPT_OUT_KEYWORD, F_OPT_OUT_NUMBER,
    F_PHONE, F_COMMUNE_CODE, F_PROVINCE_CODE, F_GENDER, F_BIRTH_DATE, F_GROUP_CODE,
    F_LANGUAGE, F_BHXH_CODE, F_PARTICIPATION, F_ZALO_USER_ID,
};

static const struct { const char *name; enum field f; } placeholders[] = {
    {"full_name", F_FULL_NAME}, {"given_name", F_GIVEN_NAME}, {"salutation", F_SALUTATION},
    {"commune_name", F_COMMUNE_NAME}, {"voluntary_due_date", F_VOLUNTARY_DUE_DATE},
    {"min_contribution_vnd", F_MIN_CONTRIBUTION}, {"state_support_pct", F_STATE_SUPPORT_PCT},
    {"opt_out_hint", F_OPT_OUT_HINT}, {"phone", F_PHONE}, {"commune_code", F_COMMUNE_CODE},
    {"province_code", F_PROVINCE_CODE}, {"gender", F_GENDER}, {"birth_date", F_BIRTH_DATE},
    {"group_code", F_GROUP_CODE}, {"language", F_LANGUAGE}, {"bhxh_code", F_BHXH_CODE},
    {"participation", F_PARTICIPATION}, {"zalo_user_id", F_ZALO_USER_ID},
    {"opt_out_keyword", F_OPT_OUT_KEYWORD}, {"opt_out_number", F_OPT_OUT_NUMBER},
};

struct seg {
    enum field field;
    uint32_t off, len;      /* F_LITERAL: a slice of text */
};

struct template {
    struct seg *segs;
    int nsegs;
    char *text;
    size_t text_len;
    int emoji;
    int uses_policy;
};

void template_free(struct template *t)
{
    if (!t) return;
    free(t->segs);
    free(t->text);
    free(t);
}

/* Invisible characters that can hide text from the officer who reads the template, or turn an
 * innocent-looking SMS into UCS-2: zero-width characters and bidirectional controls. */
static int forbidden(int32_t cp)
{
    return (cp >= 0x200B && cp <= 0x200F) || cp == 0xFEFF || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

static int is_mark(int32_t cp)
{
    utf8proc_category_t k = utf8proc_category(cp);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

/* Checks the whole body before parsing it, so offsets are those of the officer's file. */
static int validate_text(const char *body, size_t n, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < n) {
        int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate((const uint8_t *)body + i, (utf8proc_ssize_t)(n - i), &cp);
        if (l < 0) {
            snprintf(err, errlen, "invalid UTF-8 at byte %zu", i);
            return -1;
        }
        if (forbidden(cp)) {
            snprintf(err, errlen, "invisible character U+%04X at byte %zu (zero-width or direction control)",
                     (unsigned)cp, i);
            return -1;
        }
        if ((cp < 0x20 && cp != '\n' && cp != '\r' && cp != '\t') || (cp >= 0x7F && cp < 0xA0)) {
            snprintf(err, errlen, "control character U+%04X at byte %zu", (unsigned)cp, i);
            return -1;
        }
        if (i == 0 && is_mark(cp)) {
            snprintf(err, errlen, "the text starts with a lone combining mark U+%04X", (unsigned)cp);
            return -1;
        }
        i += (size_t)l;
    }
    return 0;
}

/* Growable segment list and text used only while compiling. */
struct builder {
    struct template *t;
    int cap;
    size_t text_len, text_cap;
};

static int add_seg(struct builder *b, enum field f, uint32_t off, uint32_t len)
{
    if (b->t->nsegs == b->cap) {
        int cap = b->cap ? b->cap * 2 : 8;
        struct seg *s = realloc(b->t->segs, (size_t)cap * sizeof *s);
        if (!s) return -1;
        b->t->segs = s;
        b->cap = cap;
    }
    b->t->segs[b->t->nsegs++] = (struct seg){f, off, len};
    return 0;
}

/* Appends BODY[from, to) as a literal, normalised to NFC. */
static int add_literal(struct builder *b, const char *s, size_t len, char *err, size_t errlen)
{
    if (len == 0) return 0;
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n = utf8proc_map((const uint8_t *)s, (utf8proc_ssize_t)len, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0) {
        snprintf(err, errlen, "cannot normalise the text: %s", utf8proc_errmsg(n));
        return -1;
    }
    if (b->text_len + (size_t)n + 1 > b->text_cap) {
        size_t cap = (b->text_cap + (size_t)n + 1) * 2;
        char *t = realloc(b->t->text, cap);
        if (!t) { free(nfc); return -1; }
        b->t->text = t;
        b->text_cap = cap;
    }
    memcpy(b->t->text + b->text_len, nfc, (size_t)n);
    for (utf8proc_ssize_t i = 0; i < n;) {
        int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate(nfc + i, n - i, &cp);
        if (cp >= 0x10000) b->t->emoji++;
        i += l > 0 ? l : 1;
    }
    free(nfc);
    int rc = add_seg(b, F_LITERAL, (uint32_t)b->text_len, (uint32_t)n);
    b->text_len += (size_t)n;
    return rc;
}

static int lookup(const char *name, size_t len, enum field *f)
{
    for (size_t i = 0; i < sizeof placeholders / sizeof *placeholders; i++)
        if (strlen(placeholders[i].name) == len && memcmp(placeholders[i].name, name, len) == 0) {
            *f = placeholders[i].f;
            return 0;
        }
    return -1;
}

static const char *find2(const char *s, size_t from, size_t n, char ch)
{
    for (size_t i = from; i + 1 < n; i++)
        if (s[i] == ch && s[i + 1] == ch) return s + i;
    return NULL;
}

/* Parses `{{ name }}` at BODY[at] (which starts with "{{"); sets *END past it. */
static int parse_placeholder(struct builder *b, const char *body, size_t n, size_t at, size_t *end,
                             char *err, size_t errlen)
{
    const char *close = find2(body, at + 2, n, '}');
    const char *reopen = find2(body, at + 2, n, '{');
    if (!close || (reopen && reopen < close)) {
        snprintf(err, errlen, "unbalanced braces: '{{' at byte %zu is not closed by '}}'", at);
        return -1;
    }
    size_t s = at + 2, e = (size_t)(close - body);
    while (s < e && (body[s] == ' ' || body[s] == '\t')) s++;
    while (e > s && (body[e - 1] == ' ' || body[e - 1] == '\t')) e--;
    enum field f;
    if (s == e) {
        snprintf(err, errlen, "empty placeholder at byte %zu", at);
        return -1;
    }
    if (lookup(body + s, e - s, &f) < 0) {
        snprintf(err, errlen, "unknown placeholder '%.*s' at byte %zu", (int)(e - s > 64 ? 64 : e - s),
                 body + s, at);
        return -1;
    }
    if (f == F_MIN_CONTRIBUTION || f == F_STATE_SUPPORT_PCT) b->t->uses_policy = 1;
    *end = (size_t)(close - body) + 2;
    if (*end < n) {
        int32_t cp;
        if (utf8proc_iterate((const uint8_t *)body + *end, (utf8proc_ssize_t)(n - *end), &cp) > 0 && is_mark(cp)) {
            snprintf(err, errlen, "lone combining mark U+%04X at byte %zu after a placeholder",
                     (unsigned)cp, *end);
            return -1;
        }
    }
    return add_seg(b, f, 0, 0);
}

struct template *template_compile(const char *body, char *err, size_t errlen)
{
    size_t n = strlen(body);
    if (errlen) err[0] = '\0';
    if (validate_text(body, n, err, errlen) < 0) return NULL;
    struct builder b = {0};
    b.t = calloc(1, sizeof *b.t);
    if (!b.t) { snprintf(err, errlen, "out of memory"); return NULL; }
    size_t lit = 0, i = 0;
    while (i < n) {
        if (body[i] == '{' && i + 1 < n && body[i + 1] == '{') {
            size_t end;
            if (add_literal(&b, body + lit, i - lit, err, errlen) < 0 ||
                parse_placeholder(&b, body, n, i, &end, err, errlen) < 0)
                goto fail;
            i = lit = end;
        } else if (body[i] == '}' && i + 1 < n && body[i + 1] == '}') {
            snprintf(err, errlen, "unbalanced braces: '}}' at byte %zu closes nothing", i);
            goto fail;
        } else {
            i++;
        }
    }
    if (add_literal(&b, body + lit, n - lit, err, errlen) < 0) goto fail;
    b.t->text_len = b.text_len;
    return b.t;
fail:
    if (!err[0]) snprintf(err, errlen, "out of memory");
    template_free(b.t);
    return NULL;
}

int template_inline_hint(struct template *t, const struct template *hint)
{
    int uses = 0;
    for (int i = 0; i < t->nsegs; i++)
        uses += t->segs[i].field == F_OPT_OUT_HINT;
    if (!uses)
        return 0;
    int n = t->nsegs - uses + uses * hint->nsegs;
    struct seg *segs = malloc((size_t)(n > 0 ? n : 1) * sizeof *segs);
    if (!segs)
        return -1;
    /* The hint's text is appended once; every copy of its literals points into it. */
    char *text = realloc(t->text, t->text_len + hint->text_len + 1);
    if (!text) {
        free(segs);
        return -1;
    }
    if (hint->text_len)
        memcpy(text + t->text_len, hint->text, hint->text_len);
    text[t->text_len + hint->text_len] = '\0';
    int j = 0;
    for (int i = 0; i < t->nsegs; i++) {
        if (t->segs[i].field != F_OPT_OUT_HINT) {
            segs[j++] = t->segs[i];
            continue;
        }
        for (int k = 0; k < hint->nsegs; k++) {
            segs[j] = hint->segs[k];
            if (segs[j].field == F_LITERAL)
                segs[j].off += (uint32_t)t->text_len;
            j++;
        }
    }
    free(t->segs);
    t->segs = segs;
    t->nsegs = n;
    t->text = text;
    t->text_len += hint->text_len;
    t->emoji += uses * hint->emoji;
    t->uses_policy |= hint->uses_policy;
    return 0;
}

int template_uses_policy(const struct template *t)
{
    return t->uses_policy;
}

int template_emoji_count(const struct template *t)
{
    return t->emoji;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* ISO YYYY-MM-DD as dd/mm/yyyy; anything else is shown as it is. */
static size_t format_date(const char *iso, char *buf, const char **out)
{
    if (!iso || strlen(iso) < 10 || iso[4] != '-' || iso[7] != '-') {
        *out = or_empty(iso);
        return strlen(*out);
    }
    memcpy(buf, iso + 8, 2);
    buf[2] = '/';
    memcpy(buf + 3, iso + 5, 2);
    buf[5] = '/';
    memcpy(buf + 6, iso, 4);
    *out = buf;
    return 10;
}

/* The bytes of one field for citizen C; BUF (16 bytes) holds values formatted here. Returns -1
 * when a policy figure is asked for and none is loaded. */
static long field_value(const struct template *t, const struct seg *s, const struct tpl_citizen *c,
                        const struct tpl_env *env, char *buf, const char **out)
{
    const char *v = NULL;
    switch (s->field) {
    case F_LITERAL: *out = t->text + s->off; return s->len;
    case F_FULL_NAME: v = c->full_name; break;
    case F_GIVEN_NAME: return (long)address_given_name(c->full_name, out);
    case F_SALUTATION:
        v = address_salutation(&env->address, c->gender,
                               address_age(c->birth_date, env->year, env->month, env->day));
        break;
    case F_COMMUNE_NAME: v = c->commune_name; break;
    case F_VOLUNTARY_DUE_DATE: return (long)format_date(c->voluntary_due_date, buf, out);
    case F_BIRTH_DATE: return (long)format_date(c->birth_date, buf, out);
    case F_MIN_CONTRIBUTION:
    case F_STATE_SUPPORT_PCT: {
        const struct policy_rule *r = policy_rule_for(env, c);
        if (!r) return -1;
        v = s->field == F_MIN_CONTRIBUTION ? r->contribution_text : r->support_text;
        break;
    }
    case F_OPT_OUT_HINT: v = env->opt_out_hint; break;
    case F_OPT_OUT_KEYWORD: v = env->opt_out_keyword; break;
    case F_OPT_OUT_NUMBER: v = env->opt_out_number; break;
    case F_PHONE: v = c->phone; break;
    case F_COMMUNE_CODE: v = c->commune_code; break;
    case F_PROVINCE_CODE: v = c->province_code; break;
    case F_GENDER: v = c->gender; break;
    case F_GROUP_CODE: v = c->group_code; break;
    case F_LANGUAGE: v = c->language; break;
    case F_BHXH_CODE: v = c->bhxh_code; break;
    case F_PARTICIPATION: v = c->participation; break;
    case F_ZALO_USER_ID: v = c->zalo_user_id; break;
    }
    *out = or_empty(v);
    return (long)strlen(*out);
}

int template_render(const struct template *t, const struct tpl_citizen *c,
                    const struct tpl_env *env, char *out, size_t cap)
{
    size_t j = 0;
    char buf[16];
    for (int i = 0; i < t->nsegs; i++) {
        const char *v;
        long n = field_value(t, &t->segs[i], c, env, buf, &v);
        if (n < 0 || j + (size_t)n >= cap) return -1;
        memcpy(out + j, v, (size_t)n);
        j += (size_t)n;
    }
    if (j >= cap) return -1;
    out[j] = '\0';
    return (int)j;
}
