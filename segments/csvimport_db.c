/* The citizen import against PostgreSQL, and its command. The parsing is in csvimport.c. */
#include "segments/csvimport.h"
#include "segments/csvfile.h"
#include "core/db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Rows go to the server in pieces of this size. A piece larger than the socket's buffer (about
 * 200 KB) makes the import wait for the server to read most of it before it parses the next,
 * and the two took turns on the two cores: with 256 KB pieces, the COPY of 1,000,000 rows took
 * 6.4 s, with 64 KB (or 8 KB) 3.9 s, the server's own time. */
#define COPY_CHUNK (64 * 1024)
#define PROGRESS_EVERY 100000
#define SHOWN_REJECTS 10

/* ---- The same person twice in one file ---------------------------------------------------
 * Keys ("B" + bhxh_code and "P" + phone + name) live in one arena; an open-addressing table
 * maps them to the line that brought them first. Exact, and about 80 bytes per row. */
struct seen {
    struct slot { uint64_t hash; uint32_t off; uint32_t line; } *slots;
    size_t cap, n;
    char *arena;
    size_t alen, acap;
};

static uint64_t key_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h | 1;   /* 0 marks an empty slot */
}

static int seen_grow(struct seen *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1 << 16;
    struct slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].hash)
            continue;
        size_t j = t->slots[i].hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = ns, t->cap = ncap;
    return 0;
}

/* Returns the line that brought KEY first, 0 when it is new (and records it), -1 when out of
 * memory. */
static long seen_check(struct seen *t, const char *key, size_t n, long line)
{
    if ((t->n + 1) * 2 > t->cap && seen_grow(t) < 0)
        return -1;
    uint64_t h = key_hash(key, n);
    size_t j = h & (t->cap - 1);
    for (; t->slots[j].hash; j = (j + 1) & (t->cap - 1)) {
        const char *k = t->arena + t->slots[j].off;
        if (t->slots[j].hash == h && strlen(k) == n && memcmp(k, key, n) == 0)
            return t->slots[j].line;
    }
    if (t->alen + n + 1 > t->acap) {
        size_t ncap = t->acap ? t->acap * 2 : 1 << 20;
        while (ncap < t->alen + n + 1)
            ncap *= 2;
        char *a = realloc(t->arena, ncap);
        if (!a || ncap > UINT32_MAX)
            return -1;
        t->arena = a, t->acap = ncap;
    }
    memcpy(t->arena + t->alen, key, n);
    t->arena[t->alen + n] = '\0';
    t->slots[j] = (struct slot){h, (uint32_t)t->alen, (uint32_t)line};
    t->alen += n + 1;
    t->n++;
    return 0;
}

/* The line that brought KEY first, or 0 when it has not been seen. Records nothing. */
static long seen_find(const struct seen *t, const char *key, size_t n)
{
    if (!t->cap)
        return 0;
    uint64_t h = key_hash(key, n);
    for (size_t j = h & (t->cap - 1); t->slots[j].hash; j = (j + 1) & (t->cap - 1)) {
        const char *k = t->arena + t->slots[j].off;
        if (t->slots[j].hash == h && strlen(k) == n && memcmp(k, key, n) == 0)
            return t->slots[j].line;
    }
    return 0;
}

static void seen_free(struct seen *t)
{
    free(t->slots);
    free(t->arena);
}

/* ---- Streaming rows into COPY ----------------------------------------------------------- */

struct import {
    PGconn *db;
    const struct import_opts *o;
    struct import_stats *st;
    struct csvimport_refs *refs;
    struct csvimport_header h;
    struct csvfile_rejects *rej;
    char delim;
    struct citizen_row row;
    struct seen seen;
    char *copy;
    size_t clen;
    bool copy_failed;
    int shown;
    bool direct;                /* COPY straight into an empty citizens table (initial load) */
    char *optouts;              /* direct: COPY rows (bhxh_code, phone, full_name) to opt out */
    size_t olen, ocap;
};

static void copy_text(struct import *im, const char *s)
{
    if (!s) {
        memcpy(im->copy + im->clen, "\\N", 2);
        im->clen += 2;
        return;
    }
    /* COPY text format: backslash, tab and line breaks are escaped; the row is at most a few
     * KB, far below the chunk's spare room. */
    for (; *s; s++) {
        char c = *s;
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
            im->copy[im->clen++] = '\\';
            c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        }
        im->copy[im->clen++] = c;
    }
}

static void copy_field(struct import *im, const char *s, bool last)
{
    copy_text(im, s);
    im->copy[im->clen++] = last ? '\n' : '\t';
}

static int copy_flush(struct import *im, char *err, size_t errlen)
{
    if (im->clen && PQputCopyData(im->db, im->copy, (int)im->clen) != 1) {
        snprintf(err, errlen, "COPY failed: %s", PQerrorMessage(im->db));
        im->copy_failed = true;
        return -1;
    }
    im->clen = 0;
    return 0;
}

/* Direct mode keeps the rows asking to opt out, to be matched to their new ids afterwards. */
static int optout_keep(struct import *im)
{
    const struct citizen_row *r = &im->row;
    size_t start = im->clen;
    copy_field(im, r->bhxh_code, false);
    copy_field(im, r->phone, false);
    copy_field(im, r->full_name, true);
    size_t n = im->clen - start;
    if (im->olen + n > im->ocap) {
        size_t ncap = im->ocap ? im->ocap * 2 : 4096;
        while (ncap < im->olen + n)
            ncap *= 2;
        char *o = realloc(im->optouts, ncap);
        if (!o)
            return -1;
        im->optouts = o, im->ocap = ncap;
    }
    memcpy(im->optouts + im->olen, im->copy + start, n);
    im->olen += n;
    im->clen = start;
    return 0;
}

/* The citizen's own columns, in the order both COPYs share; LAST ends the row after them. */
static void copy_citizen(struct import *im, const char *language, bool last)
{
    const struct citizen_row *r = &im->row;
    copy_field(im, r->full_name, false);
    copy_field(im, r->phone, false);
    copy_field(im, r->carrier, false);
    copy_field(im, r->commune_code, false);
    copy_field(im, r->province_code, false);
    copy_field(im, r->gender, false);
    copy_field(im, r->birth_date[0] ? r->birth_date : NULL, false);
    copy_field(im, r->group_code, false);
    copy_field(im, language, false);
    copy_field(im, r->bhxh_code, false);
    copy_field(im, r->participation, false);
    copy_field(im, r->due_date[0] ? r->due_date : NULL, false);
    copy_field(im, r->zalo_user_id, last);
}

/* The columns of the initial load, in COPY order; a new citizen speaks Vietnamese unless the
 * file says otherwise. */
static int copy_row_direct(struct import *im, char *err, size_t errlen)
{
    const struct citizen_row *r = &im->row;
    if (r->opt_out && optout_keep(im) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    copy_citizen(im, r->language ? r->language : "vi", true);
    if (im->clen > COPY_CHUNK)
        return copy_flush(im, err, errlen);
    return 0;
}

static int copy_row(struct import *im, long line, char *err, size_t errlen)
{
    if (im->direct)
        return copy_row_direct(im, err, errlen);
    const struct citizen_row *r = &im->row;
    char num[24];
    snprintf(num, sizeof num, "%ld", line);
    copy_field(im, num, false);
    copy_citizen(im, r->language, false);
    copy_field(im, r->opt_out ? "t" : "f", true);
    /* Flush before the next row could overflow: a row is bounded by the 64 KB record limit
     * (twice that once escaped). */
    if (im->clen > COPY_CHUNK)
        return copy_flush(im, err, errlen);
    return 0;
}

static int reject_row(struct import *im, const struct csvfile_row *row, const char *reason,
                      char *err, size_t errlen)
{
    im->st->rejected++;
    if (im->rej) {
        if (csvfile_rejects_row(im->rej, row->fields, row->nfields, row->line, reason) < 0) {
            snprintf(err, errlen, "cannot write %s", im->o->rejects_path);
            return -1;
        }
    } else if (im->shown++ < SHOWN_REJECTS) {
        fprintf(stderr, "loa: line %ld rejected: %s\n", row->line, reason);
    }
    return 0;
}

static int on_header(struct import *im, const struct csvfile_row *row, char *err, size_t errlen)
{
    if (row->problem) {
        snprintf(err, errlen, "no valid header row: line %ld: %s", row->line, row->problem);
        return -1;
    }
    if (csvimport_header_parse(row->fields, row->nfields, &im->h, err, errlen) < 0)
        return -1;
    snprintf(im->st->ignored, sizeof im->st->ignored, "%s", im->h.unknown);
    if (im->o->rejects_path) {
        /* Opened only now, so that a refused file leaves no report behind. */
        im->rej = csvfile_rejects_open(im->o->rejects_path, im->delim, err, errlen);
        if (!im->rej || csvfile_rejects_header(im->rej, row->fields, row->nfields) < 0)
            return -1;
    }
    return 0;
}

static int on_row(void *ud, const struct csvfile_row *row, char *err, size_t errlen)
{
    struct import *im = ud;
    if (row->header)
        return on_header(im, row, err, errlen);
    if (!row->problem && csvimport_row_empty(row->fields, row->nfields))
        return 0;
    struct import_stats *st = im->st;
    st->rows++;
    if (im->o->progress && st->rows % PROGRESS_EVERY == 0)
        fprintf(stderr, "loa: import: %ld rows read, %ld rejected\n", st->rows, st->rejected);
    if (row->problem)
        return reject_row(im, row, row->problem, err, errlen);
    /* Parsing trims cells in place: the reject report shows them without trailing spaces. */
    const char *why = csvimport_row_parse(&im->h, im->refs, row->fields, row->nfields, &im->row);
    if (why)
        return reject_row(im, row, why, err, errlen);

    /* The same person twice, by the rule the upsert applies to the database: the same BHXH
     * code; or the same phone and name where either row has no code (a row without a code is
     * matched to any citizen with that phone and name). Two rows with different codes may
     * share a phone and a name: a household phone, a father and son. Keys: B code, N phone+name
     * of a row without a code, C phone+name of a row with one. */
    char key[CITIZEN_NAME_MAX + 16];
    size_t pl = strlen(im->row.phone), nl = strlen(im->row.full_name);
    if (pl + nl + 3 > sizeof key)
        nl = sizeof key - pl - 3;   /* names are bounded by CITIZEN_NAME_MAX: never taken */
    memcpy(key + 1, im->row.phone, pl);
    key[1 + pl] = '\x1f';
    memcpy(key + 2 + pl, im->row.full_name, nl);
    key[2 + pl + nl] = '\0';
    int plen = (int)(pl + nl + 2);
    long first;
    if (!im->row.bhxh_code) {
        key[0] = 'C';
        first = seen_find(&im->seen, key, (size_t)plen);
        if (first == 0) {
            key[0] = 'N';
            first = seen_check(&im->seen, key, (size_t)plen, row->line);
        }
    } else {
        key[0] = 'N';
        first = seen_find(&im->seen, key, (size_t)plen);
        if (first == 0) {
            key[0] = 'C';
            if (seen_check(&im->seen, key, (size_t)plen, row->line) < 0)
                first = -1;
        }
        if (first == 0) {
            int blen = snprintf(key, sizeof key, "B%s", im->row.bhxh_code);
            first = seen_check(&im->seen, key, (size_t)blen, row->line);
        }
    }
    if (first < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (first > 0) {
        char why2[48];
        snprintf(why2, sizeof why2, "duplicate of line %ld", first);
        return reject_row(im, row, why2, err, errlen);
    }
    return copy_row(im, row->line, err, errlen);
}

/* ---- From staging into citizens --------------------------------------------------------- */

static const char *const staging_sql[] = {
    "CREATE TEMP TABLE import_staging ("
    " line bigint, full_name text, phone text, carrier text, commune_code text,"
    " province_code text, gender text, birth_date date, group_code text, language text,"
    " bhxh_code text, participation text, voluntary_due_date date, zalo_user_id text,"
    " opt_out boolean) ON COMMIT DROP",
    "CREATE TEMP TABLE import_touched (line bigint) ON COMMIT DROP",
};

/* The columns an update may change, each kept when the file leaves it empty. A new phone number
 * is not yet known to be invalid nor to lack Zalo. */
#define SET_FIELDS \
    " carrier = s.carrier, commune_code = s.commune_code, province_code = s.province_code," \
    " gender = COALESCE(s.gender, c.gender), birth_date = COALESCE(s.birth_date, c.birth_date)," \
    " group_code = COALESCE(s.group_code, c.group_code), language = COALESCE(s.language, c.language)," \
    " participation = COALESCE(s.participation, c.participation)," \
    " voluntary_due_date = COALESCE(s.voluntary_due_date, c.voluntary_due_date)," \
    " zalo_user_id = COALESCE(s.zalo_user_id, c.zalo_user_id)," \
    " phone_invalid = c.phone_invalid AND c.phone IS NOT DISTINCT FROM s.phone," \
    " has_zalo = CASE WHEN c.phone IS NOT DISTINCT FROM s.phone THEN c.has_zalo END," \
    " updated_at = now()"
#define CHANGED \
    " (s.full_name, s.phone, s.carrier, s.commune_code, s.province_code," \
    "  COALESCE(s.gender, c.gender), COALESCE(s.birth_date, c.birth_date)," \
    "  COALESCE(s.group_code, c.group_code), COALESCE(s.language, c.language)," \
    "  COALESCE(s.participation, c.participation)," \
    "  COALESCE(s.voluntary_due_date, c.voluntary_due_date)," \
    "  COALESCE(s.zalo_user_id, c.zalo_user_id))" \
    " IS DISTINCT FROM (c.full_name, c.phone, c.carrier, c.commune_code, c.province_code," \
    "  c.gender, c.birth_date, c.group_code, c.language, c.participation, c.voluntary_due_date," \
    "  c.zalo_user_id)"
#define INSERT_COLS \
    " (full_name, phone, carrier, commune_code, province_code, gender, birth_date, group_code," \
    "  language, bhxh_code, participation, voluntary_due_date, zalo_user_id)" \
    " SELECT s.full_name, s.phone, s.carrier, s.commune_code, s.province_code, s.gender," \
    "  s.birth_date, s.group_code, COALESCE(s.language, 'vi'), s.bhxh_code, s.participation," \
    "  s.voluntary_due_date, s.zalo_user_id FROM import_staging s"

static const char *const upsert_sql[] = {
    /* A citizen first known by phone and name gets the BHXH code a later file brings. */
    "WITH a AS (UPDATE citizens c SET bhxh_code = s.bhxh_code, updated_at = now()"
    " FROM import_staging s WHERE s.bhxh_code IS NOT NULL AND c.bhxh_code IS NULL"
    " AND c.phone = s.phone AND c.full_name = s.full_name"
    " AND NOT EXISTS (SELECT 1 FROM citizens x WHERE x.bhxh_code = s.bhxh_code)"
    " RETURNING s.line) INSERT INTO import_touched SELECT line FROM a",
    "WITH u AS (UPDATE citizens c SET full_name = s.full_name, phone = s.phone," SET_FIELDS
    " FROM import_staging s WHERE s.bhxh_code IS NOT NULL AND c.bhxh_code = s.bhxh_code"
    " AND" CHANGED " RETURNING s.line) INSERT INTO import_touched SELECT line FROM u",
    "WITH u AS (UPDATE citizens c SET" SET_FIELDS
    " FROM import_staging s WHERE s.bhxh_code IS NULL"
    " AND c.phone = s.phone AND c.full_name = s.full_name"
    " AND" CHANGED " RETURNING s.line) INSERT INTO import_touched SELECT line FROM u",
};
/* The staged rows that match no citizen, by the same rules as the upserts above, kept once:
 * the bulk decision counts them and the two inserts take them, where each used to compute the
 * same anti-join over the whole file again (2 s of a re-import of 1,000,000 unchanged rows).
 * Deciding before the inserts is safe: only imports, one at a time under IMPORT_LOCK_KEY,
 * write a citizen's code, phone or name, and nothing deletes citizens. Rows with a code and
 * rows without are told apart in two parts so that each is one hash anti-join. */
static const char *const new_rows_sql =
    "CREATE TEMP TABLE import_new ON COMMIT DROP AS"
    " SELECT s.line FROM import_staging s WHERE s.bhxh_code IS NOT NULL"
    "  AND NOT EXISTS (SELECT 1 FROM citizens c WHERE c.bhxh_code = s.bhxh_code)"
    " UNION ALL SELECT s.line FROM import_staging s WHERE s.bhxh_code IS NULL"
    "  AND NOT EXISTS (SELECT 1 FROM citizens c WHERE c.phone = s.phone AND c.full_name = s.full_name)";
#define INSERT_NEW(codes) \
    "WITH i AS (INSERT INTO citizens" INSERT_COLS \
    " JOIN import_new n ON n.line = s.line WHERE s.bhxh_code IS " codes " NULL ORDER BY s.line"
/* With the table locked against other writers and duplicates within the file already rejected,
 * the new rows are new; ON CONFLICT only guards the ordinary path, where it costs little. In a
 * bulk load its speculative insertion would cost a third of the insert. */
static const char *const insert_sql[] = {
    INSERT_NEW("NOT") " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM i",
    INSERT_NEW("") " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM i",
};
static const char *const bulk_insert_sql[] = {
    INSERT_NEW("NOT") " RETURNING 1) SELECT count(*) FROM i",
    INSERT_NEW("") " RETURNING 1) SELECT count(*) FROM i",
};
static const char *const opt_out_sql =
    "WITH o AS (INSERT INTO opt_outs (citizen_id, channel, source)"
    " SELECT c.id, 'all', 'import' FROM import_staging s JOIN citizens c ON c.bhxh_code = s.bhxh_code"
    "  WHERE s.opt_out AND s.bhxh_code IS NOT NULL"
    " UNION SELECT c.id, 'all', 'import' FROM import_staging s"
    "  JOIN citizens c ON c.phone = s.phone AND c.full_name = s.full_name"
    "  WHERE s.opt_out AND s.bhxh_code IS NULL"
    " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM o";

/* A load is bulk when it brings at least this many rows and at least a quarter of the rows the
 * table already has: below that, rebuilding the indexes of a large table costs more than
 * maintaining them row by row. Dropping them locks citizens against readers too (ACCESS
 * EXCLUSIVE, until the import commits), so a bulk load waits for a moment when no campaign is
 * running: a running campaign keeps sending while the rows go in the slower way. */
enum { BULK_MIN_ROWS = 50000 };

/* pg_advisory_xact_lock key of imports (core/db.c's migrations use 7140001). */
#define IMPORT_LOCK_KEY "7140002"
/* A file this large (about 50,000 rows) loaded into an empty table goes straight into it. */
enum { BULK_MIN_BYTES = 4 * 1024 * 1024 };

static long count_of(PGconn *db, const char *sql, char *err, size_t errlen)
{
    PGresult *r = db_query(db, err, errlen, sql, 0, NULL);
    if (!r)
        return -1;
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

static int merge(PGconn *db, struct import_stats *st, char *err, size_t errlen)
{
    /* A temporary table has no statistics until analysed; without them the joins below would
     * be planned as nested loops over a million rows. */
    if (db_exec(db, err, errlen, "ANALYZE import_staging", 0, NULL) < 0)
        return -1;
    for (size_t i = 0; i < sizeof upsert_sql / sizeof upsert_sql[0]; i++)
        if (db_exec(db, err, errlen, upsert_sql[i], 0, NULL) < 0)
            return -1;
    long staged = count_of(db, "SELECT count(*) FROM import_staging", err, errlen);
    long updated = count_of(db, "SELECT count(DISTINCT line) FROM import_touched", err, errlen);
    long existing = count_of(db, "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'citizens'::regclass",
                             err, errlen);
    if (staged < 0 || updated < 0 || existing < 0)
        return -1;
    /* Only rows that are new count towards a bulk load: a file imported again is all
     * unchanged rows and must not rebuild anything. */
    PGresult *r = db_query(db, err, errlen, new_rows_sql, 0, NULL);
    if (!r)
        return -1;
    long fresh = strtol(PQcmdTuples(r), NULL, 10);   /* CREATE TABLE AS says how many rows */
    PQclear(r);
    bool bulk = fresh >= BULK_MIN_ROWS && fresh >= existing / 4;
    if (bulk) {
        long running = count_of(db, "SELECT count(*) FROM campaigns WHERE status = 'running'", err, errlen);
        if (running < 0)
            return -1;
        bulk = running == 0;
    }
    if (bulk && count_of(db, "SELECT citizens_bulk_begin(false)", err, errlen) < 0)
        return -1;
    const char *const *ins = bulk ? bulk_insert_sql : insert_sql;
    long ins1 = count_of(db, ins[0], err, errlen);
    long ins2 = ins1 < 0 ? -1 : count_of(db, ins[1], err, errlen);
    if (ins2 < 0)
        return -1;
    if (bulk && count_of(db, "SELECT citizens_bulk_end()", err, errlen) < 0)
        return -1;
    long opted = count_of(db, opt_out_sql, err, errlen);
    if (opted < 0)
        return -1;
    st->imported = ins1 + ins2;
    st->updated = updated;
    st->unchanged = staged - st->imported - st->updated;
    st->opted_out = opted;
    st->bulk = bulk;
    return 0;
}

static int copy_begin(PGconn *db, bool direct, char *err, size_t errlen)
{
    PGresult *r = PQexec(db, direct
                         ? "COPY citizens (full_name, phone, carrier, commune_code, province_code,"
                           " gender, birth_date, group_code, language, bhxh_code, participation,"
                           " voluntary_due_date, zalo_user_id) FROM STDIN"
                         : "COPY import_staging (line, full_name, phone, carrier, commune_code,"
                           " province_code, gender, birth_date, group_code, language, bhxh_code,"
                           " participation, voluntary_due_date, zalo_user_id, opt_out) FROM STDIN");
    int ok = PQresultStatus(r) == PGRES_COPY_IN;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

/* Ends the COPY; ABORT_WHY non-NULL makes the server discard it. *ROWS gets the rows copied. */
static int copy_end(PGconn *db, const char *abort_why, long *rows, char *err, size_t errlen)
{
    int rc = 0;
    *rows = 0;
    if (PQputCopyEnd(db, abort_why) != 1) {
        snprintf(err, errlen, "COPY failed: %s", PQerrorMessage(db));
        rc = -1;
    }
    PGresult *r;
    while ((r = PQgetResult(db)) != NULL) {
        if (!abort_why && PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
            snprintf(err, errlen, "COPY failed: %s", PQresultErrorMessage(r));
            rc = -1;
        } else if (PQresultStatus(r) == PGRES_COMMAND_OK)
            *rows = strtol(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    return rc;
}

/* The initial load: every row copied is a new citizen (duplicates within the file were
 * rejected, and the table was empty under our lock). Rebuild what was dropped, then record the
 * opt-outs the file asked for. */
static int initial_load_finish(struct import *im, long copied, char *err, size_t errlen)
{
    struct import_stats *st = im->st;
    if (count_of(im->db, "SELECT citizens_bulk_end()", err, errlen) < 0)
        return -1;
    st->imported = copied;
    st->updated = st->unchanged = 0;
    st->bulk = true;
    if (!im->olen)
        return 0;
    if (db_exec(im->db, err, errlen,
                "CREATE TEMP TABLE import_optout (bhxh_code text, phone text, full_name text) ON COMMIT DROP",
                0, NULL) < 0)
        return -1;
    PGresult *r = PQexec(im->db, "COPY import_optout FROM STDIN");
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    long n;
    if (!ok || PQputCopyData(im->db, im->optouts, (int)im->olen) != 1) {
        snprintf(err, errlen, "COPY failed: %s", PQerrorMessage(im->db));
        return -1;
    }
    if (copy_end(im->db, NULL, &n, err, errlen) < 0)
        return -1;
    st->opted_out = count_of(im->db,
        "WITH o AS (INSERT INTO opt_outs (citizen_id, channel, source)"
        " SELECT c.id, 'all', 'import' FROM import_optout v JOIN citizens c"
        "  ON (v.bhxh_code IS NOT NULL AND c.bhxh_code = v.bhxh_code)"
        "  OR (v.bhxh_code IS NULL AND c.bhxh_code IS NULL AND c.phone = v.phone AND c.full_name = v.full_name)"
        " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM o", err, errlen);
    return st->opted_out < 0 ? -1 : 0;
}

int csvimport_citizens(PGconn *db, const char *path, const struct import_opts *o,
                       struct import_stats *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    struct csvfile *f = NULL;
    if (csvfile_open(path, &f, err, errlen) < 0)
        return -1;
    struct import im = {.db = db, .o = o, .st = st, .delim = csvfile_delimiter(f)};
    im.copy = malloc(COPY_CHUNK + 4 * CSVFILE_MAX_ROW);
    im.refs = csvimport_refs_load(db, err, errlen);
    int rc = -1;
    if (!im.copy || !im.refs) {
        if (!im.copy)
            snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* The staging table lives in this session's temporary buffers (8 MB by default): a million
     * rows would go to disk and back. The setting only takes before the first temporary table
     * of the session, which this is; a refusal is harmless. */
    char ignore[64];
    db_exec(db, ignore, sizeof ignore, "SET temp_buffers = '256MB'", 0, NULL);
    if (db_begin(db, err, errlen) < 0)
        goto out;
    /* One import at a time: two files naming the same new citizen would otherwise both see
     * them missing. An advisory lock, not a lock on the table: a table lock strong enough to
     * keep other imports out (SHARE ROW EXCLUSIVE) also blocks every writer of citizens,
     * loa_flush among them, and the daemon would stop sending for as long as the import runs.
     * The initial load into an empty table takes stronger locks of its own (it drops the
     * indexes), with nobody to send to. */
    if (db_exec(db, err, errlen, "SELECT pg_advisory_xact_lock(" IMPORT_LOCK_KEY ")", 0, NULL) < 0)
        goto rollback;
    if (csvfile_size(f) >= BULK_MIN_BYTES) {
        long empty = count_of(db, "SELECT (NOT EXISTS (SELECT 1 FROM citizens))::int", err, errlen);
        if (empty < 0)
            goto rollback;
        im.direct = empty == 1;
    }
    if (im.direct) {
        if (count_of(db, "SELECT citizens_bulk_begin(true)", err, errlen) < 0)
            goto rollback;
    } else if (db_exec(db, err, errlen, staging_sql[0], 0, NULL) < 0 ||
               db_exec(db, err, errlen, staging_sql[1], 0, NULL) < 0)
        goto rollback;
    if (copy_begin(db, im.direct, err, errlen) < 0)
        goto rollback;
    int rd = csvfile_read(f, on_row, &im, err, errlen);
    if (rd == 0 && st->rows == 0 && !im.h.nfields)
        rd = -1, snprintf(err, errlen, "%s has no header row", path);
    if (rd == 0 && !im.copy_failed)
        rd = copy_flush(&im, err, errlen);
    long copied;
    if (copy_end(db, rd < 0 || im.copy_failed ? "import refused" : NULL, &copied, err, errlen) < 0 || rd < 0)
        goto rollback;
    if (im.direct ? initial_load_finish(&im, copied, err, errlen) < 0 : merge(db, st, err, errlen) < 0)
        goto rollback;
    if (im.rej) {
        int c = csvfile_rejects_close(im.rej);
        im.rej = NULL;
        if (c < 0) {
            snprintf(err, errlen, "cannot write %s", o->rejects_path);
            goto rollback;
        }
    }
    if (o->dry_run) {
        db_rollback(db);
    } else {
        if (db_commit(db, err, errlen) < 0)
            goto out;
        /* Fresh statistics keep segment counts on their indexes after a large load. */
        if (st->imported + st->updated > 0)
            db_exec(db, err, errlen, "ANALYZE citizens", 0, NULL);
    }
    rc = 0;
    goto out;
rollback:
    db_rollback(db);
out:
    if (im.rej) {
        /* A refused import leaves no half report behind. */
        csvfile_rejects_close(im.rej);
        unlink(o->rejects_path);
    }
    csvfile_close(f);
    csvimport_refs_free(im.refs);
    seen_free(&im.seen);
    free(im.copy);
    free(im.optouts);
    return rc;
}
