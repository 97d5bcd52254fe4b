/* `loa communes import`: the official list of administrative units, upserted over whatever is
 * there (the synthetic rows of sql/002_reference.sql included). A few thousand rows: one
 * statement per row inside one transaction is simple and fast enough. */
#include "segments/communes.h"
#include "segments/csvfile.h"
#include "core/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CC_CODE, CC_NAME, CC_PROVINCE, CC_PROVINCE_NAME, CC_COUNT };

static const struct { const char *name; int col; } names[] = {
    {"commune_code", CC_CODE}, {"ma_xa", CC_CODE},
    {"commune_name", CC_NAME}, {"ten_xa", CC_NAME},
    {"province_code", CC_PROVINCE}, {"ma_tinh", CC_PROVINCE},
    {"province_name", CC_PROVINCE_NAME}, {"ten_tinh", CC_PROVINCE_NAME},
};
static const char *const labels[CC_COUNT] = {"commune_code", "commune_name", "province_code",
                                             "province_name"};

struct run {
    PGconn *db;
    int col[CC_COUNT];
    int nfields;
    struct csvfile_rejects *rej;
    const char *rejects_path;
    char delim;
    struct communes_stats *st;
    /* Codes seen in this file, for "duplicate of line N". */
    char **codes;
    long *lines;
    size_t ncodes, cap;
};

static bool code_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 16 && strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == n;
}

static const char *cell(struct run *r, char **fields, int n, int col)
{
    int i = r->col[col];
    if (i < 0 || i >= n)
        return "";
    char *s = fields[i];
    while (*s == ' ')
        s++;
    size_t l = strlen(s);
    while (l && s[l - 1] == ' ')
        s[--l] = '\0';
    return s;
}

static long seen(struct run *r, const char *code, long line)
{
    for (size_t i = 0; i < r->ncodes; i++)
        if (strcmp(r->codes[i], code) == 0)
            return r->lines[i];
    if (r->ncodes == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 1024;
        char **c = realloc(r->codes, ncap * sizeof *c);
        if (c)
            r->codes = c;
        long *l = realloc(r->lines, ncap * sizeof *l);
        if (l)
            r->lines = l;
        if (!c || !l)
            return -1;
        r->cap = ncap;
    }
    if (!(r->codes[r->ncodes] = strdup(code)))
        return -1;
    r->lines[r->ncodes++] = line;
    return 0;
}

static int header(struct run *r, const struct csvfile_row *row, char *err, size_t errlen)
{
    for (int c = 0; c < CC_COUNT; c++)
        r->col[c] = -1;
    r->nfields = row->nfields;
    for (int i = 0; i < row->nfields && !row->problem; i++) {
        char key[64];
        csvfile_fold(row->fields[i], key, sizeof key);
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            if (strcmp(key, names[k].name) != 0)
                continue;
            if (r->col[names[k].col] >= 0) {
                snprintf(err, errlen, "the header names %s twice", labels[names[k].col]);
                return -1;
            }
            r->col[names[k].col] = i;
        }
    }
    if (row->problem || r->col[CC_CODE] < 0 || r->col[CC_NAME] < 0 || r->col[CC_PROVINCE] < 0) {
        snprintf(err, errlen, "no valid header row: the first line must name commune_code, "
                 "commune_name, province_code (and province_name)");
        return -1;
    }
    if (r->rejects_path) {
        r->rej = csvfile_rejects_open(r->rejects_path, r->delim, err, errlen);
        if (!r->rej || csvfile_rejects_header(r->rej, row->fields, row->nfields) < 0)
            return -1;
    }
    return 0;
}

static int reject(struct run *r, const struct csvfile_row *row, const char *why, char *err,
                  size_t errlen)
{
    r->st->rejected++;
    if (r->rej && csvfile_rejects_row(r->rej, row->fields, row->nfields, row->line, why) < 0) {
        snprintf(err, errlen, "cannot write %s", r->rejects_path);
        return -1;
    }
    if (!r->rej && r->st->rejected <= 10)
        fprintf(stderr, "loa: line %ld rejected: %s\n", row->line, why);
    return 0;
}

static int on_row(void *ud, const struct csvfile_row *row, char *err, size_t errlen)
{
    struct run *r = ud;
    if (row->header)
        return header(r, row, err, errlen);
    bool empty = !row->problem;
    for (int i = 0; i < row->nfields && empty; i++)
        empty = strspn(row->fields[i], " \t") == strlen(row->fields[i]);
    if (empty)
        return 0;
    r->st->rows++;
    if (row->problem)
        return reject(r, row, row->problem, err, errlen);
    const char *code = cell(r, row->fields, row->nfields, CC_CODE);
    const char *prov = cell(r, row->fields, row->nfields, CC_PROVINCE);
    char name[256], pname[256] = "";
    char why[96];
    if (!code_ok(code))
        return reject(r, row, "commune_code is not 1 to 16 letters or digits", err, errlen);
    if (!code_ok(prov))
        return reject(r, row, "province_code is not 1 to 16 letters or digits", err, errlen);
    if (csvfile_text_clean(cell(r, row->fields, row->nfields, CC_NAME), name, sizeof name) <= 0)
        return reject(r, row, "commune_name is empty or not text", err, errlen);
    if (csvfile_text_clean(cell(r, row->fields, row->nfields, CC_PROVINCE_NAME), pname, sizeof pname) < 0)
        return reject(r, row, "province_name is not text", err, errlen);
    long first = seen(r, code, row->line);
    if (first < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (first > 0) {
        snprintf(why, sizeof why, "duplicate of line %ld", first);
        return reject(r, row, why, err, errlen);
    }
    PGresult *q;
    if (pname[0]) {
        const char *pp[2] = {prov, pname};
        if (db_exec(r->db, err, errlen,
                    "INSERT INTO provinces (code, name) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE"
                    " SET name = EXCLUDED.name WHERE provinces.name IS DISTINCT FROM EXCLUDED.name",
                    2, pp) < 0)
            return -1;
    } else {
        const char *pp[1] = {prov};
        if (!(q = db_query(r->db, err, errlen, "SELECT 1 FROM provinces WHERE code = $1", 1, pp)))
            return -1;
        int known = PQntuples(q);
        PQclear(q);
        if (!known)
            return reject(r, row, "unknown province_code (give province_name to add it)", err, errlen);
    }
    const char *cp[3] = {code, name, prov};
    q = db_query(r->db, err, errlen,
                 "INSERT INTO communes (code, name, province_code, synthetic) VALUES ($1, $2, $3, false)"
                 " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,"
                 " province_code = EXCLUDED.province_code, synthetic = false"
                 " WHERE (communes.name, communes.province_code, communes.synthetic)"
                 " IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.province_code, false)"
                 " RETURNING xmax = 0",
                 3, cp);
    if (!q)
        return -1;
    if (PQntuples(q) == 0)
        r->st->unchanged++;
    else if (PQgetvalue(q, 0, 0)[0] == 't')
        r->st->imported++;
    else
        r->st->updated++;
    PQclear(q);
    return 0;
}

int communes_import(PGconn *db, const char *path, const char *rejects_path,
                    struct communes_stats *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    struct csvfile *f;
    if (csvfile_open(path, &f, err, errlen) < 0)
        return -1;
    struct run r = {.db = db, .st = st, .rejects_path = rejects_path, .delim = csvfile_delimiter(f)};
    for (int c = 0; c < CC_COUNT; c++)
        r.col[c] = -1;
    int rc = db_begin(db, err, errlen);
    if (rc == 0) {
        rc = csvfile_read(f, on_row, &r, err, errlen);
        if (rc == 0 && r.col[CC_CODE] < 0)
            rc = -1, snprintf(err, errlen, "%s has no header row", path);
        if (rc == 0 && r.rej) {
            rc = csvfile_rejects_close(r.rej);
            r.rej = NULL;
            if (rc < 0)
                snprintf(err, errlen, "cannot write %s", rejects_path);
        }
        if (rc == 0)
            rc = db_commit(db, err, errlen);
        else
            db_rollback(db);
    }
    if (r.rej) {
        csvfile_rejects_close(r.rej);
        remove(rejects_path);
    }
    for (size_t i = 0; i < r.ncodes; i++)
        free(r.codes[i]);
    free(r.codes);
    free(r.lines);
    csvfile_close(f);
    return rc;
}
