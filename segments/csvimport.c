#include "segments/csvimport.h"
#include "segments/csvfile.h"
#include "segments/phone.h"
#include "core/db.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Header ----------------------------------------------------------------------------- */

/* Column names after csvfile_fold(): English and Vietnamese names (README.md promises both, with
 * or without accents) and the usual spellings of BHXH exports. */
static const struct {
    const char *name;
    enum csv_col col;
} column_names[] = {
    {"full_name", COL_FULL_NAME}, {"ho_ten", COL_FULL_NAME}, {"ho_va_ten", COL_FULL_NAME},
    {"phone", COL_PHONE}, {"so_dien_thoai", COL_PHONE}, {"sdt", COL_PHONE},
    {"dien_thoai", COL_PHONE},
    {"commune_code", COL_COMMUNE}, {"ma_xa", COL_COMMUNE},
    {"province_code", COL_PROVINCE}, {"ma_tinh", COL_PROVINCE},
    {"gender", COL_GENDER}, {"gioi_tinh", COL_GENDER},
    {"birth_date", COL_BIRTH_DATE}, {"ngay_sinh", COL_BIRTH_DATE},
    {"group", COL_GROUP}, {"nhom", COL_GROUP}, {"group_code", COL_GROUP},
    {"language", COL_LANGUAGE}, {"ngon_ngu", COL_LANGUAGE},
    {"bhxh_code", COL_BHXH}, {"ma_bhxh", COL_BHXH}, {"ma_so_bhxh", COL_BHXH},
    {"participation", COL_PARTICIPATION}, {"tham_gia", COL_PARTICIPATION},
    {"voluntary_due_date", COL_DUE_DATE}, {"han_dong", COL_DUE_DATE},
    {"zalo_user_id", COL_ZALO}, {"zalo_id", COL_ZALO},
    {"opt_out", COL_OPT_OUT}, {"tu_choi", COL_OPT_OUT},
};

static const char *const col_label[COL_COUNT] = {
    "full_name", "phone", "commune_code", "province_code", "gender", "birth_date", "group",
    "language", "bhxh_code", "participation", "voluntary_due_date", "zalo_user_id", "opt_out",
};

static void list_add(char *list, size_t cap, const char *item)
{
    size_t l = strlen(list);
    snprintf(list + l, cap - l, "%s%s", l ? ", " : "", item);
}

int csvimport_header_parse(char *const *fields, int n, struct csvimport_header *h, char *err,
                           size_t errlen)
{
    memset(h, 0, sizeof *h);
    for (int c = 0; c < COL_COUNT; c++)
        h->col[c] = -1;
    h->nfields = n;
    char shown[300] = "";
    for (int i = 0; i < n; i++) {
        char key[64];
        csvfile_fold(fields[i], key, sizeof key);
        if (i < 8)
            list_add(shown, sizeof shown, fields[i]);
        int col = -1;
        for (size_t k = 0; k < sizeof column_names / sizeof column_names[0]; k++)
            if (strcmp(key, column_names[k].name) == 0)
                col = (int)column_names[k].col;
        if (col < 0) {
            if (key[0])
                list_add(h->unknown, sizeof h->unknown, fields[i]);
            continue;
        }
        if (h->col[col] >= 0) {
            snprintf(err, errlen, "the header names %s twice (columns %d and %d)", col_label[col],
                     h->col[col] + 1, i + 1);
            return -1;
        }
        h->col[col] = i;
    }
    char missing[128] = "";
    for (int c = COL_FULL_NAME; c <= COL_COMMUNE; c++)
        if (h->col[c] < 0)
            list_add(missing, sizeof missing, col_label[c]);
    if (missing[0]) {
        snprintf(err, errlen, "no valid header row: the first line must name the columns "
                 "(missing %s; found %.200s)", missing, shown);
        return -1;
    }
    return 0;
}

/* ---- Reference data --------------------------------------------------------------------- */

struct ref { char *code, *extra; };
struct refset { struct ref *v; size_t n, cap; bool sorted; };
struct csvimport_refs {
    struct refset sets[3];
    char today[11];
};

struct csvimport_refs *csvimport_refs_new(const char *today)
{
    struct csvimport_refs *r = calloc(1, sizeof *r);
    if (r)
        snprintf(r->today, sizeof r->today, "%s", today);
    return r;
}

static int ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ref *)a)->code, ((const struct ref *)b)->code);
}

int csvimport_refs_add(struct csvimport_refs *r, enum csvimport_ref kind, const char *code,
                       const char *extra)
{
    struct refset *s = &r->sets[kind];
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        struct ref *v = realloc(s->v, ncap * sizeof *v);
        if (!v)
            return -1;
        s->v = v, s->cap = ncap;
    }
    struct ref e = {strdup(code), extra ? strdup(extra) : NULL};
    if (!e.code || (extra && !e.extra)) {
        free(e.code), free(e.extra);
        return -1;
    }
    s->v[s->n++] = e;
    qsort(s->v, s->n, sizeof *s->v, ref_cmp);
    return 0;
}

static const struct ref *ref_find(const struct csvimport_refs *r, enum csvimport_ref kind,
                                  const char *code)
{
    const struct refset *s = &r->sets[kind];
    struct ref key = {(char *)code, NULL};
    return s->n ? bsearch(&key, s->v, s->n, sizeof *s->v, ref_cmp) : NULL;
}

void csvimport_refs_free(struct csvimport_refs *r)
{
    if (!r)
        return;
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < r->sets[k].n; i++)
            free(r->sets[k].v[i].code), free(r->sets[k].v[i].extra);
        free(r->sets[k].v);
    }
    free(r);
}

struct csvimport_refs *csvimport_refs_load(PGconn *db, char *err, size_t errlen)
{
    PGresult *t = db_query(db, err, errlen,
                           "SELECT to_char((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 'YYYY-MM-DD')",
                           0, NULL);
    if (!t)
        return NULL;
    struct csvimport_refs *r = csvimport_refs_new(PQgetvalue(t, 0, 0));
    PQclear(t);
    static const char *const sql[3] = {
        "SELECT code, province_code FROM communes",
        "SELECT code, NULL FROM target_groups",
        "SELECT code, NULL FROM languages",
    };
    for (int k = 0; r && k < 3; k++) {
        PGresult *q = db_query(db, err, errlen, sql[k], 0, NULL);
        if (!q) {
            csvimport_refs_free(r);
            return NULL;
        }
        /* Sorting once at the end beats keeping the set sorted while adding thousands. */
        struct refset *s = &r->sets[k];
        s->cap = (size_t)PQntuples(q) + 1;
        s->v = calloc(s->cap, sizeof *s->v);
        for (int i = 0; s->v && i < PQntuples(q); i++) {
            s->v[s->n].code = strdup(PQgetvalue(q, i, 0));
            s->v[s->n].extra = PQgetisnull(q, i, 1) ? NULL : strdup(PQgetvalue(q, i, 1));
            s->n++;
        }
        PQclear(q);
        if (!s->v) {
            csvimport_refs_free(r);
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        qsort(s->v, s->n, sizeof *s->v, ref_cmp);
    }
    if (!r)
        snprintf(err, errlen, "out of memory");
    return r;
}

/* ---- Rows ------------------------------------------------------------------------------- */

bool csvimport_row_empty(char *const *fields, int n)
{
    for (int i = 0; i < n; i++)
        for (const char *s = fields[i]; *s; s++)
            if (*s != ' ' && *s != '\t')
                return false;
    return true;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* The cell of column COL, trimmed, or NULL when the column is absent or the cell empty. */
static char *cell(const struct csvimport_header *h, char **fields, int n, enum csv_col col)
{
    int i = h->col[col];
    if (i < 0 || i >= n)
        return NULL;
    char *s = trim(fields[i]);
    return *s ? s : NULL;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* YYYY-MM-DD, or D/M/YYYY with '/', '-' or '.' (the Vietnamese order). Writes ISO into OUT. */
static int date_parse(const char *s, char out[11], int min_year, int max_year)
{
    int y = -1, m = -1, d = -1;
    size_t n = strlen(s);
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    } else if (n >= 8 && n <= 10) {
        const char *p = s;
        int parts[3], k = 0;
        while (k < 3) {
            int len = 0;
            while (isdigit((unsigned char)p[len]))
                len++;
            if (len == 0 || len > (k == 2 ? 4 : 2))
                return -1;
            parts[k++] = digits(p, len);
            p += len;
            if (k < 3) {
                if (*p != '/' && *p != '-' && *p != '.')
                    return -1;
                p++;
            } else if (*p || len != 4) {
                return -1;
            }
        }
        d = parts[0], m = parts[1], y = parts[2];
    }
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < min_year || y > max_year || m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (m == 2 && leap(y)))
        return -1;
    /* Written by hand: this runs for two dates of every row. y is 4 digits (checked above). */
    out[0] = (char)('0' + y / 1000), out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10), out[3] = (char)('0' + y % 10), out[4] = '-';
    out[5] = (char)('0' + m / 10), out[6] = (char)('0' + m % 10), out[7] = '-';
    out[8] = (char)('0' + d / 10), out[9] = (char)('0' + d % 10), out[10] = '\0';
    return 0;
}

static const char *word_match(const char *value, const char *const table[][2])
{
    char key[48];
    csvfile_fold(value, key, sizeof key);
    for (int i = 0; table[i][0]; i++)
        if (strcmp(key, table[i][0]) == 0)
            return table[i][1];
    return NULL;
}

static const char *const genders[][2] = {
    {"nam", "male"}, {"male", "male"}, {"m", "male"},
    {"nu", "female"}, {"female", "female"}, {"f", "female"}, {NULL, NULL},
};
static const char *const participations[][2] = {
    {"none", "none"}, {"khong", "none"}, {"chua_tham_gia", "none"},
    {"voluntary", "voluntary"}, {"tu_nguyen", "voluntary"},
    {"compulsory", "compulsory"}, {"bat_buoc", "compulsory"},
    {"stopped", "stopped"}, {"dung", "stopped"}, {"dung_dong", "stopped"},
    {"tam_dung", "stopped"}, {NULL, NULL},
};
static const char *const languages[][2] = {
    {"tieng_viet", "vi"}, {"vietnamese", "vi"}, {"khmer", "km"}, {"bahnar", "bdq"},
    {"ba_na", "bdq"}, {"jrai", "jra"}, {"gia_rai", "jra"}, {NULL, NULL},
};
static const char *const yesno[][2] = {
    {"1", "y"}, {"yes", "y"}, {"y", "y"}, {"x", "y"}, {"true", "y"}, {"co", "y"},
    {"0", "n"}, {"no", "n"}, {"n", "n"}, {"false", "n"}, {"khong", "n"}, {NULL, NULL},
};

/* Writes the reason into OUT->reason and returns it. The values quoted in it are the file's
 * text, so control characters are masked and the length is bounded. */
static const char *reject(struct citizen_row *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *reject(struct citizen_row *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    for (char *s = out->reason; *s; s++)
        if ((unsigned char)*s < 0x20)
            *s = '?';
    size_t bad;   /* a bounded %.40s may have cut a character in two */
    if (!csvfile_utf8_valid(out->reason, strlen(out->reason), &bad))
        out->reason[bad] = '\0';
    return out->reason;
}

/* A code as written, or zero-padded to WIDTH when a spreadsheet dropped its leading zeros. */
static const struct ref *code_find(const struct csvimport_refs *refs, enum csvimport_ref kind,
                                   const char *code, int width)
{
    const struct ref *r = ref_find(refs, kind, code);
    size_t n = strlen(code);
    if (!r && n < (size_t)width && strspn(code, "0123456789") == n) {
        char padded[16];
        snprintf(padded, sizeof padded, "%0*d", width, atoi(code));
        r = ref_find(refs, kind, padded);
    }
    return r;
}

static const char *parse_place(const struct csvimport_header *h, const struct csvimport_refs *refs,
                               char **fields, int n, struct citizen_row *out)
{
    char *commune = cell(h, fields, n, COL_COMMUNE);
    if (!commune)
        return "commune_code is empty";
    const struct ref *c = code_find(refs, REF_COMMUNE, commune, 5);
    if (!c)
        return reject(out, "unknown commune_code '%.40s'", commune);
    out->commune_code = c->code;
    out->province_code = c->extra;
    char *prov = cell(h, fields, n, COL_PROVINCE);
    if (prov) {
        char padded[8];
        if (strlen(prov) == 1 && isdigit((unsigned char)prov[0]))
            snprintf(padded, sizeof padded, "0%s", prov), prov = padded;
        if (!c->extra || strcmp(prov, c->extra) != 0) {
            return reject(out, "province_code '%.16s' does not match commune %s (in province %s)",
                          prov, c->code, c->extra ? c->extra : "?");
        }
    }
    return NULL;
}

static const char *parse_person(const struct csvimport_header *h, const struct csvimport_refs *refs,
                                char **fields, int n, struct citizen_row *out)
{
    char *v;
    if ((v = cell(h, fields, n, COL_GENDER)) && !(out->gender = word_match(v, genders)))
        return reject(out, "gender '%.40s' is not nam, nữ, male or female", v);
    if ((v = cell(h, fields, n, COL_BIRTH_DATE)) &&
        (date_parse(v, out->birth_date, 1900, 9999) < 0 || strcmp(out->birth_date, refs->today) > 0))
        return reject(out, "birth_date '%.40s' is not a past date (YYYY-MM-DD or DD/MM/YYYY)", v);
    if ((v = cell(h, fields, n, COL_GROUP))) {
        char key[72];
        csvfile_fold(v, key, sizeof key);
        const struct ref *g = ref_find(refs, REF_GROUP, key);
        if (!g)
            return reject(out, "unknown group '%.40s'", v);
        out->group_code = g->code;
    }
    if ((v = cell(h, fields, n, COL_LANGUAGE))) {
        char key[48];
        csvfile_fold(v, key, sizeof key);
        const char *alias = word_match(v, languages);
        const struct ref *l = ref_find(refs, REF_LANGUAGE, alias ? alias : key);
        if (!l)
            return reject(out, "unknown language '%.40s' (vi, km, bdq, jra)", v);
        out->language = l->code;
    }
    if ((v = cell(h, fields, n, COL_BHXH))) {
        if (strlen(v) != 10 || strspn(v, "0123456789") != 10)
            return reject(out, "bhxh_code '%.40s' is not 10 digits", v);
        out->bhxh_code = v;
    }
    if ((v = cell(h, fields, n, COL_PARTICIPATION)) &&
        !(out->participation = word_match(v, participations)))
        return reject(out, "participation '%.40s' is not none, voluntary, compulsory or stopped", v);
    if ((v = cell(h, fields, n, COL_DUE_DATE)) && date_parse(v, out->due_date, 1900, 2200) < 0)
        return reject(out, "voluntary_due_date '%.40s' is not a date (YYYY-MM-DD or DD/MM/YYYY)", v);
    if ((v = cell(h, fields, n, COL_ZALO))) {
        size_t len = strlen(v);
        if (len > 64 || strspn(v, "0123456789abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") != len)
            return reject(out, "zalo_user_id '%.40s' is not a Zalo id", v);
        out->zalo_user_id = v;
    }
    if ((v = cell(h, fields, n, COL_OPT_OUT))) {
        const char *yn = word_match(v, yesno);
        if (!yn)
            return reject(out, "opt_out '%.40s' is not 1/yes/x or 0/no", v);
        out->opt_out = yn[0] == 'y';
    }
    return NULL;
}

const char *csvimport_row_parse(const struct csvimport_header *h,
                                const struct csvimport_refs *refs, char **fields, int n,
                                struct citizen_row *out)
{
    memset(out, 0, offsetof(struct citizen_row, reason));
    out->reason[0] = '\0';
    for (int i = h->nfields; i < n; i++)
        if (*trim(fields[i])) {
            return reject(out, "%d fields, the header has %d", n, h->nfields);
        }
    char *name = cell(h, fields, n, COL_FULL_NAME);
    if (!name)
        return "full_name is empty";
    if (strlen(name) >= CITIZEN_NAME_MAX)
        return "full_name is longer than 255 bytes";
    if (csvfile_text_clean(name, out->full_name, sizeof out->full_name) <= 0)
        return "full_name has control characters";
    bool letter = false;
    for (const unsigned char *s = (const unsigned char *)out->full_name; *s && !letter; s++)
        letter = isalpha(*s) || *s >= 0x80;
    if (!letter)
        return "full_name has no letters";

    const char *why;
    char *phone = cell(h, fields, n, COL_PHONE);
    if (phone_normalize(phone, out->phone, &why) < 0)
        return reject(out, "phone: %s", why);
    out->carrier = phone_carrier(out->phone);
    if ((why = parse_place(h, refs, fields, n, out)) || (why = parse_person(h, refs, fields, n, out)))
        return why;
    return NULL;
}
