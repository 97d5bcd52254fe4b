#include "segments/filter.h"
#include "segments/phone.h"
#include "core/db.h"
#include "core/pgarray.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define FILTER_MAX_JSON   65536
#define FILTER_MAX_DEPTH  32
#define FILTER_MAX_LIST   1000
#define FILTER_MAX_VALUE  256

/* "Today" for ages and due dates is the date in Vietnam, whatever the server's time zone. It is
 * a stable expression, so a birth_date range built on it can use an index. */
#define TODAY "(now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"

enum op {
    OP_EQ, OP_NE, OP_IN, OP_NOT_IN, OP_LT, OP_LTE, OP_GT, OP_GTE, OP_BETWEEN, OP_WITHIN,
    OP_EXISTS, OP_COUNT
};
static const char *const op_names[OP_COUNT] = {
    "eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "between", "within_days", "exists",
};
#define B(o) (1u << (o))
#define OPS_CODE (B(OP_EQ) | B(OP_NE) | B(OP_IN) | B(OP_NOT_IN) | B(OP_EXISTS))
#define OPS_ORDER (B(OP_LT) | B(OP_LTE) | B(OP_GT) | B(OP_GTE) | B(OP_BETWEEN))

enum kind { K_CODE, K_ENUM, K_AGE, K_DATE, K_BOOL, K_TAGS };

static const char *const genders[] = {"male", "female", NULL};
static const char *const participations[] = {"none", "voluntary", "compulsory", "stopped", NULL};

static const struct field {
    const char *name;
    const char *column;      /* a fixed column of citizens: never taken from the input */
    enum kind kind;
    unsigned ops;
    const char *const *allowed;
} fields[] = {
    {"group", "c.group_code", K_CODE, OPS_CODE, NULL},
    {"province_code", "c.province_code", K_CODE, OPS_CODE, NULL},
    {"commune_code", "c.commune_code", K_CODE, OPS_CODE, NULL},
    {"language", "c.language", K_CODE, OPS_CODE, NULL},
    {"gender", "c.gender", K_ENUM, OPS_CODE, genders},
    {"participation", "c.participation", K_ENUM, OPS_CODE, participations},
    {"carrier", "c.carrier", K_ENUM, OPS_CODE, phone_carriers},
    {"age", "c.birth_date", K_AGE, OPS_CODE | OPS_ORDER, NULL},
    {"voluntary_due_date", "c.voluntary_due_date", K_DATE,
     B(OP_EQ) | B(OP_NE) | OPS_ORDER | B(OP_WITHIN) | B(OP_EXISTS), NULL},
    {"has_zalo", "(c.has_zalo IS TRUE OR c.zalo_user_id IS NOT NULL)", K_BOOL,
     B(OP_EQ) | B(OP_NE), NULL},
    {"tags", "c.tags", K_TAGS, OPS_CODE, NULL},
};

/* The compiler's state: the SQL text, the parameters and the JSON path of the node at hand. */
struct fc {
    char *sql;
    size_t len, cap;
    char **params;
    int nparams, pcap;
    int base;
    char path[512];
    size_t plen;
    char *err;
    size_t errlen;
    bool oom;
};

static void emit(struct fc *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct fc *f, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(f->sql ? f->sql + f->len : NULL, f->sql ? f->cap - f->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            f->oom = true;
            return;
        }
        if (f->sql && f->len + (size_t)n < f->cap) {
            f->len += (size_t)n;
            return;
        }
        size_t ncap = f->cap ? f->cap * 2 : 256;
        while (ncap <= f->len + (size_t)n)
            ncap *= 2;
        char *p = realloc(f->sql, ncap);
        if (!p) {
            f->oom = true;
            return;
        }
        f->sql = p;
        f->cap = ncap;
    }
}

/* Adds a parameter (taking ownership of VAL) and returns its placeholder number. */
static int param_add(struct fc *f, char *val)
{
    if (!val) {
        f->oom = true;
        return 0;
    }
    if (f->nparams == f->pcap) {
        int ncap = f->pcap ? f->pcap * 2 : 8;
        char **p = realloc(f->params, (size_t)ncap * sizeof *p);
        if (!p) {
            free(val);
            f->oom = true;
            return 0;
        }
        f->params = p;
        f->pcap = ncap;
    }
    f->params[f->nparams++] = val;
    return f->base + f->nparams;
}

static int param_int(struct fc *f, long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    return param_add(f, strdup(buf));
}

static int refuse(struct fc *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct fc *f, const char *fmt, ...)
{
    int n = snprintf(f->err, f->errlen, "%s: ", f->path);
    if (n >= 0 && (size_t)n < f->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->err + n, f->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Path bookkeeping: push appends ".key" or "[i]" and returns the old length, which pop restores. */
static size_t path_push(struct fc *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(struct fc *f, const char *fmt, ...)
{
    size_t old = f->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f->path + f->plen, sizeof f->path - f->plen, fmt, ap);
    va_end(ap);
    if (n > 0)
        f->plen = f->plen + (size_t)n < sizeof f->path ? f->plen + (size_t)n : sizeof f->path - 1;
    return old;
}

static void path_pop(struct fc *f, size_t old)
{
    f->plen = old;
    f->path[old] = '\0';
}

static bool utf8_valid(const char *s, size_t len, size_t *bad_at)
{
    utf8proc_int32_t cp;
    size_t i = 0;
    while (i < len) {
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) {
            if (bad_at)
                *bad_at = i;
            return false;
        }
        i += (size_t)n;
    }
    return true;
}

/* A key shown in a message is the user's text: keep it short and printable. */
static void show(const char *s, char *buf, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 1 < len && i < 40; i++)
        buf[j++] = (unsigned char)s[i] < 0x20 || s[i] == '\'' ? '?' : s[i];
    buf[j] = '\0';
}

/* ---- Values ----------------------------------------------------------------------------- */

static bool code_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

static bool date_ok(const char *s)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return false;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return false;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1)
        return false;
    int max = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return d <= max;
}

/* A JSON number that is a whole number in [LO, HI] (range first: casting a huge double to long
 * is undefined). */
static bool whole(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
           v->valuedouble == (double)(long)v->valuedouble;
}

/* Checks one scalar VALUE for FIELD; on success returns its text form (malloc'd). */
static char *scalar(struct fc *f, const struct field *fd, const cJSON *v)
{
    char shown[48];
    switch (fd->kind) {
    case K_CODE:
    case K_ENUM:
    case K_TAGS:
    case K_DATE:
        if (!cJSON_IsString(v)) {
            refuse(f, "%s needs a string", fd->name);
            return NULL;
        }
        break;
    case K_AGE:
        if (!whole(v, 0, 150)) {
            refuse(f, "age needs a whole number from 0 to 150");
            return NULL;
        }
        char buf[16];
        snprintf(buf, sizeof buf, "%ld", (long)v->valuedouble);
        return strdup(buf);
    case K_BOOL:
        if (!cJSON_IsBool(v)) {
            refuse(f, "%s needs true or false", fd->name);
            return NULL;
        }
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    }
    const char *s = v->valuestring;
    size_t n = strlen(s);
    if (n > FILTER_MAX_VALUE) {
        refuse(f, "value longer than %d bytes", FILTER_MAX_VALUE);
        return NULL;
    }
    show(s, shown, sizeof shown);
    if (fd->kind == K_CODE && !code_ok(s)) {
        refuse(f, "'%s' is not a valid %s (letters, digits, _ - . only)", shown, fd->name);
        return NULL;
    }
    if (fd->kind == K_DATE && !date_ok(s)) {
        refuse(f, "'%s' is not a date (YYYY-MM-DD)", shown);
        return NULL;
    }
    if (fd->kind == K_ENUM) {
        bool ok = false;
        for (const char *const *a = fd->allowed; *a && !ok; a++)
            ok = strcmp(*a, s) == 0;
        if (!ok) {
            char list[160] = "";
            size_t l = 0;
            for (const char *const *a = fd->allowed; *a; a++) {
                int k = snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", *a);
                if (k < 0 || (size_t)k >= sizeof list - l)
                    break;
                l += (size_t)k;
            }
            refuse(f, "'%s' is not a %s (one of %s)", shown, fd->name, list);
            return NULL;
        }
    }
    if (fd->kind == K_TAGS) {
        if (n == 0 || !utf8_valid(s, n, NULL)) {
            refuse(f, "a tag is non-empty UTF-8 text");
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20) {
                refuse(f, "a tag has no control characters");
                return NULL;
            }
    }
    return strdup(s);
}

/* Checks a non-empty JSON array of scalars and returns it as a parameter number (array literal). */
static int list_param(struct fc *f, const struct field *fd, const cJSON *v, const char *opname)
{
    if (!cJSON_IsArray(v))
        return refuse(f, "%s needs an array", opname);
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > FILTER_MAX_LIST)
        return refuse(f, "%s needs 1 to %d values, not %d", opname, FILTER_MAX_LIST, n);
    struct pgarray a;
    pgarray_init(&a);
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t old = path_push(f, "[%d]", i);
        char *s = scalar(f, fd, e);
        path_pop(f, old);
        if (!s) {
            pgarray_free(&a);
            return -1;
        }
        pgarray_text(&a, s);
        free(s);
    }
    int k = param_add(f, strdup(pgarray_end(&a)));
    pgarray_free(&a);
    return k;
}

/* ---- Conditions ------------------------------------------------------------------------- */

/* age >= N  <=>  born on or before today minus N years (birthdays on 29 February follow
 * PostgreSQL's interval arithmetic, as age() does). */
static void emit_born_by(struct fc *f, int p)
{
    emit(f, "(" TODAY " - make_interval(years => $%d::int))::date", p);
}

static int cond_age(struct fc *f, enum op op, const cJSON *v, const struct field *fd)
{
    if (op == OP_IN || op == OP_NOT_IN) {
        int p = list_param(f, fd, v, op_names[op]);
        if (p < 0)
            return -1;
        emit(f, "%sdate_part('year', age(" TODAY ", c.birth_date))::int = ANY($%d::int[])%s",
             op == OP_NOT_IN ? "NOT COALESCE(" : "", p, op == OP_NOT_IN ? ", false)" : "");
        return 0;
    }
    long lo, hi;
    if (op == OP_BETWEEN) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
            return refuse(f, "between needs [lo, hi]");
        char *a = NULL, *b = NULL;
        size_t old = path_push(f, "[0]");
        a = scalar(f, fd, v->child);
        path_pop(f, old);
        if (!a)
            return -1;
        old = path_push(f, "[1]");
        b = scalar(f, fd, v->child->next);
        path_pop(f, old);
        if (!b) {
            free(a);
            return -1;
        }
        lo = atol(a), hi = atol(b);
        free(a), free(b);
        if (lo > hi)
            return refuse(f, "between needs lo <= hi, not [%ld, %ld]", lo, hi);
    } else {
        char *s = scalar(f, fd, v);
        if (!s)
            return -1;
        lo = hi = atol(s);
        free(s);
    }
    /* Every comparison becomes a birth_date range: born by (today - lo years) and after
     * (today - (hi + 1) years). */
    bool want_lo = true, want_hi = true;
    switch (op) {
    case OP_LT: want_lo = false, hi = lo - 1; break;
    case OP_LTE: want_lo = false; break;
    case OP_GT: want_hi = false, lo = lo + 1; break;
    case OP_GTE: want_hi = false; break;
    default: break;
    }
    if (want_hi && hi < 0) {
        emit(f, "false");
        return 0;
    }
    if (op == OP_NE)
        emit(f, "NOT COALESCE(");
    emit(f, "(");
    if (want_lo) {
        int p = param_int(f, lo);
        emit(f, "c.birth_date <= ");
        emit_born_by(f, p);
    }
    if (want_hi) {
        int p = param_int(f, hi + 1);
        emit(f, "%sc.birth_date > ", want_lo ? " AND " : "");
        emit_born_by(f, p);
    }
    emit(f, ")");
    if (op == OP_NE)
        emit(f, ", false)");
    return 0;
}

static int cond_between(struct fc *f, const struct field *fd, const cJSON *v, const char *cast)
{
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
        return refuse(f, "between needs [lo, hi]");
    size_t old = path_push(f, "[0]");
    char *a = scalar(f, fd, v->child);
    path_pop(f, old);
    if (!a)
        return -1;
    old = path_push(f, "[1]");
    char *b = scalar(f, fd, v->child->next);
    path_pop(f, old);
    if (!b) {
        free(a);
        return -1;
    }
    if (strcmp(a, b) > 0) {
        refuse(f, "between needs lo <= hi");
        free(a), free(b);
        return -1;
    }
    int pa = param_add(f, a), pb = param_add(f, b);
    emit(f, "%s BETWEEN $%d%s AND $%d%s", fd->column, pa, cast, pb, cast);
    return 0;
}

static int cond_compile(struct fc *f, const struct field *fd, enum op op, const cJSON *v)
{
    static const char *const cmp[OP_COUNT] = {
        [OP_LT] = "<", [OP_LTE] = "<=", [OP_GT] = ">", [OP_GTE] = ">=",
    };
    const char *cast = fd->kind == K_DATE ? "::date" : fd->kind == K_BOOL ? "::boolean" : "";
    const char *col = fd->column;
    size_t old = path_push(f, ".%.40s", op_names[op]);
    int rc = 0, p;

    if (op == OP_EXISTS) {
        if (!cJSON_IsBool(v))
            rc = refuse(f, "exists needs true or false");
        else if (fd->kind == K_TAGS)
            emit(f, "%s %s '{}'", col, cJSON_IsTrue(v) ? "<>" : "=");
        else
            emit(f, "%s IS %sNULL", col, cJSON_IsTrue(v) ? "NOT " : "");
    } else if (fd->kind == K_AGE) {
        rc = cond_age(f, op, v, fd);
    } else if (op == OP_IN || op == OP_NOT_IN) {
        if ((p = list_param(f, fd, v, op_names[op])) < 0)
            rc = -1;
        else if (fd->kind == K_TAGS)
            emit(f, "%s(%s && $%d::text[])", op == OP_NOT_IN ? "NOT " : "", col, p);
        else if (op == OP_IN)
            emit(f, "%s = ANY($%d::text[])", col, p);
        else
            emit(f, "NOT COALESCE(%s = ANY($%d::text[]), false)", col, p);
    } else if (op == OP_BETWEEN) {
        rc = cond_between(f, fd, v, cast);
    } else if (op == OP_WITHIN) {
        if (!whole(v, 0, 3660))
            rc = refuse(f, "within_days needs a whole number of days from 0 to 3660");
        else {
            p = param_int(f, (long)v->valuedouble);
            emit(f, "%s BETWEEN " TODAY " AND " TODAY " + $%d::int", col, p);
        }
    } else {
        char *s = scalar(f, fd, v);
        if (!s)
            rc = -1;
        else {
            p = param_add(f, s);
            if (fd->kind == K_TAGS)
                emit(f, "%s(%s @> ARRAY[$%d::text])", op == OP_NE ? "NOT " : "", col, p);
            else if (op == OP_EQ)
                emit(f, "%s = $%d%s", col, p, cast);
            else if (op == OP_NE)
                emit(f, "%s IS DISTINCT FROM $%d%s", col, p, cast);
            else
                emit(f, "%s %s $%d%s", col, cmp[op], p, cast);
        }
    }
    path_pop(f, old);
    return rc;
}

static int condition(struct fc *f, const cJSON *node)
{
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(node, "field"), *opv = NULL;
    enum op op = OP_COUNT;
    char shown[48];
    if (!field) {
        show(node->child->string, shown, sizeof shown);
        return refuse(f, "unknown key '%s' (a node is all, any, not or a condition with 'field')",
                      shown);
    }
    field = NULL;
    for (const cJSON *k = node->child; k; k = k->next) {
        show(k->string, shown, sizeof shown);
        if (strcmp(k->string, "field") == 0) {
            if (field)
                return refuse(f, "'field' given twice");
            field = k;
            continue;
        }
        enum op o = OP_COUNT;
        for (int i = 0; i < OP_COUNT; i++)
            if (strcmp(k->string, op_names[i]) == 0)
                o = (enum op)i;
        if (o == OP_COUNT) {
            size_t old = path_push(f, ".%.40s", shown);
            refuse(f, "unknown operator '%s' (eq ne in not_in lt lte gt gte between within_days "
                      "exists)", shown);
            path_pop(f, old);
            return -1;
        }
        if (opv)
            return refuse(f, "a condition takes exactly one operator ('%s' and '%s')",
                          op_names[op], op_names[o]);
        opv = k, op = o;
    }
    if (!field)
        return refuse(f, "a condition needs 'field'");
    if (!opv)
        return refuse(f, "a condition needs an operator");
    size_t old = path_push(f, ".field");
    if (!cJSON_IsString(field)) {
        refuse(f, "field needs a string");
        path_pop(f, old);
        return -1;
    }
    const struct field *fd = NULL;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].name, field->valuestring) == 0)
            fd = &fields[i];
    if (!fd) {
        show(field->valuestring, shown, sizeof shown);
        refuse(f, "unknown field '%s'", shown);
        path_pop(f, old);
        return -1;
    }
    path_pop(f, old);
    if (!(fd->ops & B(op))) {
        old = path_push(f, ".%.40s", op_names[op]);
        refuse(f, "%s does not take %s", fd->name, op_names[op]);
        path_pop(f, old);
        return -1;
    }
    return cond_compile(f, fd, op, opv);
}

static int node_compile(struct fc *f, const cJSON *node, int depth);

static int node_list(struct fc *f, const cJSON *list, const char *key, int depth)
{
    size_t old = path_push(f, ".%.40s", key);
    if (!cJSON_IsArray(list)) {
        refuse(f, "%s needs an array of nodes", key);
        path_pop(f, old);
        return -1;
    }
    if (!list->child) {
        emit(f, strcmp(key, "all") == 0 ? "true" : "false");
        path_pop(f, old);
        return 0;
    }
    int i = 0;
    emit(f, "(");
    for (const cJSON *e = list->child; e; e = e->next, i++) {
        if (i)
            emit(f, strcmp(key, "all") == 0 ? " AND " : " OR ");
        size_t o2 = path_push(f, "[%d]", i);
        int rc = node_compile(f, e, depth + 1);
        path_pop(f, o2);
        if (rc < 0) {
            path_pop(f, old);
            return -1;
        }
    }
    emit(f, ")");
    path_pop(f, old);
    return 0;
}

static int node_compile(struct fc *f, const cJSON *node, int depth)
{
    if (depth > FILTER_MAX_DEPTH)
        return refuse(f, "nested deeper than %d", FILTER_MAX_DEPTH);
    if (!cJSON_IsObject(node))
        return refuse(f, "a node is an object: {\"all\":…}, {\"any\":…}, {\"not\":…} or "
                         "{\"field\":…, OP:…}");
    const cJSON *first = node->child;
    if (!first)
        return refuse(f, "empty node");
    for (const cJSON *a = first; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (strcmp(a->string, b->string) == 0) {
                char shown[48];
                show(a->string, shown, sizeof shown);
                return refuse(f, "key '%s' given twice", shown);
            }
    const char *k = first->string;
    bool logic = strcmp(k, "all") == 0 || strcmp(k, "any") == 0 || strcmp(k, "not") == 0;
    if (logic && first->next) {
        char shown[48];
        show(first->next->string, shown, sizeof shown);
        return refuse(f, "'%s' must be alone in its node (found '%s')", k, shown);
    }
    if (!logic) {
        for (const cJSON *a = first; a; a = a->next)
            if (strcmp(a->string, "all") == 0 || strcmp(a->string, "any") == 0 ||
                strcmp(a->string, "not") == 0)
                return refuse(f, "'%s' must be alone in its node", a->string);
        emit(f, "(");
        int rc = condition(f, node);
        emit(f, ")");
        return rc;
    }
    if (strcmp(k, "not") == 0) {
        size_t old = path_push(f, ".not");
        /* COALESCE: an unknown value inside is "not matched", so NOT gives its complement. */
        emit(f, "NOT COALESCE(");
        int rc = node_compile(f, first, depth + 1);
        emit(f, ", false)");
        path_pop(f, old);
        return rc;
    }
    return node_list(f, first, k, depth);
}

static void fc_release(struct fc *f)
{
    free(f->sql);
    for (int i = 0; i < f->nparams; i++)
        free(f->params[i]);
    free(f->params);
}

char *filter_count_sql(const struct filter_sql *f)
{
    char *sql = NULL;
    if (strcmp(f->where, "true") == 0 && f->nparams == 0)
        return strdup("SELECT coalesce(sum(n), 0)::bigint FROM citizen_counts");
    if (asprintf(&sql, "SELECT count(*) FROM citizens c WHERE %s", f->where) < 0)
        return NULL;
    return sql;
}

int filter_compile(const char *json, int param_base, struct filter_sql *out, char *err,
                   size_t errlen)
{
    struct fc f = {.base = param_base, .err = err, .errlen = errlen};
    strcpy(f.path, "$");
    f.plen = 1;
    memset(out, 0, sizeof *out);
    if (errlen)
        err[0] = '\0';
    if (!json)
        return refuse(&f, "no filter");
    size_t n = strnlen(json, FILTER_MAX_JSON + 1);
    if (n > FILTER_MAX_JSON)
        return refuse(&f, "filter larger than 64 KB");
    size_t bad;
    if (!utf8_valid(json, n, &bad))
        return refuse(&f, "not UTF-8 (byte %zu)", bad);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        size_t at = end && end >= json && end <= json + n ? (size_t)(end - json) : 0;
        const char *ep = cJSON_GetErrorPtr();
        if (ep && ep >= json && ep <= json + n)
            at = (size_t)(ep - json);
        return refuse(&f, "invalid JSON near byte %zu", at);
    }
    int rc = node_compile(&f, root, 1);
    cJSON_Delete(root);
    if (rc == 0 && f.oom)
        rc = refuse(&f, "out of memory");
    if (rc < 0) {
        fc_release(&f);
        return -1;
    }
    out->where = f.sql;
    out->params = f.params;
    out->nparams = f.nparams;
    return 0;
}

void filter_sql_free(struct filter_sql *fs)
{
    if (!fs)
        return;
    free(fs->where);
    for (int i = 0; i < fs->nparams; i++)
        free(fs->params[i]);
    free(fs->params);
    memset(fs, 0, sizeof *fs);
}

int segment_load(PGconn *db, const char *name, int param_base, struct filter_sql *out,
                 int64_t *segment_id, char *err, size_t errlen)
{
    const char *p[1] = {name};
    memset(out, 0, sizeof *out);
    PGresult *r = db_query(db, err, errlen, "SELECT id, filter::text FROM segments WHERE name = $1",
                           1, p);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, errlen, "no segment named '%s'", name);
        return -1;
    }
    if (segment_id)
        *segment_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    char cerr[400];
    int rc = filter_compile(PQgetvalue(r, 0, 1), param_base, out, cerr, sizeof cerr);
    if (rc < 0)
        snprintf(err, errlen, "segment '%s': %s", name, cerr);
    PQclear(r);
    return rc;
}

/* The two halves of segment_sendable_sql(); the address half is shared with the joined form. */
#define OPTED_OUT_CHANNELS "o.channel IN ($1::text, 'all')"
#define ADDRESS_SQL                                                         \
    "CASE $1::text"                                                         \
    " WHEN 'sms' THEN c.phone IS NOT NULL AND NOT c.phone_invalid"          \
    " WHEN 'zalo' THEN (c.phone IS NOT NULL AND c.has_zalo IS DISTINCT FROM false)" \
    " OR c.zalo_user_id IS NOT NULL"                                        \
    " ELSE false END"

const char *segment_sendable_sql(void)
{
    return "(NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.citizen_id = c.id"
           " AND " OPTED_OUT_CHANNELS ") AND " ADDRESS_SQL ")";
}

/* Two joins, each on opt_outs' primary key (citizen_id, channel), so that a citizen is one row
 * whatever opt-outs they have, and the planner can look each citizen up in its index (a small
 * segment) or hash the opt-outs once (a large one). */
const char *segment_opt_outs_join_sql(void)
{
    return " LEFT JOIN opt_outs oa ON oa.citizen_id = c.id AND oa.channel = 'all'"
           " LEFT JOIN opt_outs os ON os.citizen_id = c.id AND os.channel = $1::text";
}

char *segment_opt_outs_join_after_sql(const char *bound)
{
    char *sql;
    if (asprintf(&sql, " LEFT JOIN opt_outs oa ON oa.citizen_id = c.id AND oa.channel = 'all' AND oa.citizen_id > (%s)"
                 " LEFT JOIN opt_outs os ON os.citizen_id = c.id AND os.channel = $1::text AND os.citizen_id > (%s)",
                 bound, bound) < 0)
        return NULL;
    return sql;
}

const char *segment_opted_out_joined_sql(void)
{
    return "(oa.citizen_id IS NOT NULL OR os.citizen_id IS NOT NULL)";
}

const char *segment_sendable_joined_sql(void)
{
    return "(oa.citizen_id IS NULL AND os.citizen_id IS NULL AND " ADDRESS_SQL ")";
}

const char *segment_household_order_sql(void)
{
    /* An adult is the one who can act on an outreach message (register, pay, answer); among
     * adults the oldest is usually the head of the household, who holds the shared phone. */
    return "CASE WHEN c.birth_date IS NULL THEN 1"
           " WHEN c.birth_date <= (" TODAY " - interval '18 years')::date THEN 0 ELSE 2 END,"
           " c.birth_date, c.id";
}
