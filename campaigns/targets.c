/* `loa targets import` (targets.h): the provinces' coverage targets from a CSV file. */
#include "campaigns/targets.h"
#include "campaigns/lifecycle.h"
#include "core/db.h"
#include "core/pgarray.h"
#include "segments/csvfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_YEAR, T_COMMUNE, T_POP, T_PCT, T_TOPIC, T_ACTIVITY, T_COUNT };

static const struct {
    const char *name;
    int col;
} names[] = {
    {"year", T_YEAR},         {"nam", T_YEAR},
    {"commune_code", T_COMMUNE}, {"ma_xa", T_COMMUNE},
    {"population", T_POP},    {"dan_so", T_POP},
    {"target_pct", T_PCT},    {"chi_tieu", T_PCT},
    {"topic", T_TOPIC},       {"chu_de", T_TOPIC},
    {"activity_target_pct", T_ACTIVITY}, {"chi_tieu_hoat_dong", T_ACTIVITY},
};

struct run {
    int col[T_COUNT];
    struct pgarray year, commune, pop, pct, topic, activity;
    long *lines;              /* the line of each kept row, to name it if the database refuses */
    size_t kept, rejected;
    targets_reject_fn on_reject;
    void *arg;
};

static void reject(struct run *r, long line, const char *why)
{
    r->rejected++;
    if (r->on_reject)
        r->on_reject(r->arg, line, why);
}

static const char *field(const struct run *r, const struct csvfile_row *row, int c)
{
    int i = r->col[c];
    return i >= 0 && i < row->nfields ? row->fields[i] : "";
}

static int header(struct run *r, const struct csvfile_row *row, char *err, size_t errlen)
{
    for (int c = 0; c < T_COUNT; c++)
        r->col[c] = -1;
    for (int i = 0; i < row->nfields && !row->problem; i++) {
        char key[64];
        csvfile_fold(row->fields[i], key, sizeof key);
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strcmp(key, names[k].name) == 0)
                r->col[names[k].col] = i;
    }
    if (row->problem || r->col[T_YEAR] < 0 || r->col[T_COMMUNE] < 0 || r->col[T_POP] < 0 || r->col[T_PCT] < 0) {
        snprintf(err, errlen, "no valid header row: the first line must name year, commune_code, "
                              "population and target_pct (and topic, activity_target_pct)");
        return -1;
    }
    return 0;
}

static int on_row(void *ud, const struct csvfile_row *row, char *err, size_t errlen)
{
    struct run *r = ud;
    if (row->header)
        return header(r, row, err, errlen);
    if (row->problem) {
        reject(r, row->line, row->problem);
        return 0;
    }
    char *end;
    const char *y = field(r, row, T_YEAR), *code = field(r, row, T_COMMUNE), *p = field(r, row, T_POP);
    const char *pc = field(r, row, T_PCT), *topic = field(r, row, T_TOPIC), *ac = field(r, row, T_ACTIVITY);
    long year = strtol(y, &end, 10);
    if (!*y || *end || year < 2000 || year > 2999)
        return reject(r, row->line, "year must be 2000 to 2999"), 0;
    if (!*code || strlen(code) > 16 || strspn(code, "0123456789") != strlen(code))
        return reject(r, row->line, "commune_code must be the official code (digits)"), 0;
    long long pop = strtoll(p, &end, 10);
    if (!*p || *end || pop < 0 || pop > 100000000)
        return reject(r, row->line, "population must be a whole number from 0 to 100000000"), 0;
    double pct = strtod(pc, &end);
    /* Written so that a "nan" fails too. */
    if (!*pc || *end || !(pct >= 0 && pct <= 100))
        return reject(r, row->line, "target_pct must be a percentage from 0 to 100"), 0;
    double activity = -1;       /* none given */
    if (*ac) {
        activity = strtod(ac, &end);
        if (*end || !(activity >= 0 && activity <= 100))
            return reject(r, row->line, "activity_target_pct must be a percentage from 0 to 100"), 0;
    }
    if (!*topic)
        topic = "general";
    if (!campaign_topic_ok(topic))
        return reject(r, row->line, "topic must be general or voluntary"), 0;
    if (r->kept == TARGETS_MAX_ROWS) {
        snprintf(err, errlen, "more than %d rows", TARGETS_MAX_ROWS);
        return -1;
    }
    char pcts[32], acts[32];
    snprintf(pcts, sizeof pcts, "%.2f", pct);
    snprintf(acts, sizeof acts, "%.2f", activity);
    pgarray_int(&r->year, year);
    pgarray_text(&r->commune, code);
    pgarray_int(&r->pop, pop);
    pgarray_text(&r->pct, pcts);
    pgarray_text(&r->topic, topic);
    pgarray_text(&r->activity, activity < 0 ? NULL : acts);
    r->lines[r->kept++] = row->line;
    return 0;
}

/* Rows whose commune is not in the commune list are rejected by name, before the upsert. */
static void reject_unknown_communes(PGconn *db, struct run *r, const char *communes, char *err, size_t errlen)
{
    const char *p[1] = {communes};
    PGresult *res = db_query(db, err, errlen,
                             "SELECT i FROM unnest($1::text[]) WITH ORDINALITY u(code, i)"
                             " WHERE NOT EXISTS (SELECT 1 FROM communes c WHERE c.code = u.code) ORDER BY i", 1, p);
    if (!res)
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        long k = strtol(PQgetvalue(res, i, 0), NULL, 10) - 1;
        reject(r, r->lines[k], "no such commune_code (`loa communes import` the official list first)");
    }
    PQclear(res);
}

static void run_free(struct run *r)
{
    pgarray_free(&r->year);
    pgarray_free(&r->commune);
    pgarray_free(&r->pop);
    pgarray_free(&r->pct);
    pgarray_free(&r->topic);
    pgarray_free(&r->activity);
    free(r->lines);
}

/* The rows of known communes, and the activity targets they carry for their provinces, in one
 * statement: both tables change or neither. */
static int upsert(PGconn *db, struct run *r, struct targets_result *out, char *err, size_t errlen)
{
    const char *p[6] = {pgarray_end(&r->year), pgarray_end(&r->commune), pgarray_end(&r->pop),
                        pgarray_end(&r->pct), pgarray_end(&r->topic), pgarray_end(&r->activity)};
    err[0] = '\0';
    reject_unknown_communes(db, r, p[1], err, errlen);
    if (err[0])
        return -1;
    PGresult *res = db_query(db, err, errlen,
        "WITH u AS (SELECT u.*, c.province_code"
        "   FROM unnest($1::int[], $2::text[], $3::bigint[], $4::numeric[], $5::text[], $6::numeric[])"
        "     WITH ORDINALITY u(y, code, pop, pct, t, act, i)"
        "   JOIN communes c ON c.code = u.code),"
        " by_commune AS (INSERT INTO coverage_targets (year, commune_code, population, target_pct, topic)"
        "   SELECT DISTINCT ON (y, code, t) y, code, pop, pct, t FROM u"
        "   ORDER BY y, code, t, i DESC"
        "   ON CONFLICT (year, commune_code, topic) DO UPDATE"
        "   SET population = excluded.population, target_pct = excluded.target_pct RETURNING 1),"
        " by_province AS (INSERT INTO activity_targets (year, province_code, target_pct)"
        "   SELECT DISTINCT ON (y, province_code) y, province_code, act FROM u WHERE act IS NOT NULL"
        "   ORDER BY y, province_code, i DESC"
        "   ON CONFLICT (year, province_code) DO UPDATE SET target_pct = excluded.target_pct RETURNING 1)"
        " SELECT (SELECT count(*) FROM by_commune), (SELECT count(*) FROM by_province)", 6, p);
    if (!res)
        return -1;
    out->stored = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->activity = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 0;
}

int targets_import(PGconn *db, const char *path, targets_reject_fn on_reject, void *arg,
                   struct targets_result *out, char *err, size_t errlen)
{
    struct csvfile *f;
    if (csvfile_open(path, &f, err, errlen) < 0)
        return -1;
    struct run r = {.on_reject = on_reject, .arg = arg};
    r.lines = calloc(TARGETS_MAX_ROWS, sizeof *r.lines);
    if (!r.lines)
        abort();
    pgarray_init(&r.year);
    pgarray_init(&r.commune);
    pgarray_init(&r.pop);
    pgarray_init(&r.pct);
    pgarray_init(&r.topic);
    pgarray_init(&r.activity);
    char why[600];
    int rc = 0;
    if (csvfile_read(f, on_row, &r, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        rc = -1;
    }
    csvfile_close(f);
    out->stored = out->activity = 0;
    if (rc == 0)
        rc = upsert(db, &r, out, err, errlen);
    out->rejected = r.rejected;
    run_free(&r);
    return rc;
}
