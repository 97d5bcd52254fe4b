#ifndef LOA_CSVIMPORT_H
#define LOA_CSVIMPORT_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* The citizen CSV that `loa import citizens` reads (README.md, "Citizens, communes and
 * segments"). Two layers:
 *  - csvimport_header_parse() and csvimport_row_parse() turn CSV records into checked,
 *    normalised citizen rows. They are pure (no database, no I/O): the reference data they
 *    check against is passed in, so they are unit-tested and fuzzed alone;
 *  - csvimport_citizens() streams a file through them into PostgreSQL: COPY into a temporary
 *    staging table, then update and INSERT … ON CONFLICT from it, in one transaction.
 *
 * Upsert rules: a row with a bhxh_code is the citizen with that code; a row without one is the
 * citizen with the same phone and full name. Columns absent from the file and empty cells never
 * erase what is stored; a row that changes nothing leaves the citizen (and updated_at)
 * untouched. An `opt_out` column (1 / yes / x / có) records an opt-out from every channel with
 * source 'import'; an import never lifts an opt-out. */

enum csv_col {
    COL_FULL_NAME, COL_PHONE, COL_COMMUNE, COL_PROVINCE, COL_GENDER, COL_BIRTH_DATE,
    COL_GROUP, COL_LANGUAGE, COL_BHXH, COL_PARTICIPATION, COL_DUE_DATE, COL_ZALO, COL_OPT_OUT,
    COL_COUNT
};

struct csvimport_header {
    int col[COL_COUNT];      /* the field index of each column, or -1 when absent */
    int nfields;
    char unknown[512];       /* ignored columns, comma-separated, for the report */
};

/* Maps header names (English or Vietnamese, with or without accents, any case) to columns.
 * Refuses (-1, ERR) a header without full_name, phone and commune_code, or naming a column
 * twice. */
int csvimport_header_parse(char *const *fields, int n, struct csvimport_header *h, char *err,
                           size_t errlen);

/* Reference data a row is checked against. Owned by the struct; free with
 * csvimport_refs_free(). */
struct csvimport_refs;
struct csvimport_refs *csvimport_refs_new(const char *today /* YYYY-MM-DD */);
enum csvimport_ref { REF_COMMUNE, REF_GROUP, REF_LANGUAGE };
/* EXTRA is the commune's province code for REF_COMMUNE, else NULL. 0 or -1 (out of memory). */
int  csvimport_refs_add(struct csvimport_refs *r, enum csvimport_ref kind, const char *code,
                        const char *extra);
/* Loads communes, target groups and languages, and today's date in Asia/Ho_Chi_Minh. */
struct csvimport_refs *csvimport_refs_load(PGconn *db, char *err, size_t errlen);
void csvimport_refs_free(struct csvimport_refs *r);

#define CITIZEN_NAME_MAX 256

/* A checked row. Pointers point into the record's fields, the refs or static strings; NULL
 * means "not given". */
struct citizen_row {
    char full_name[CITIZEN_NAME_MAX];
    char phone[12];
    const char *carrier;
    const char *commune_code, *province_code;
    const char *gender, *group_code, *language, *bhxh_code, *participation, *zalo_user_id;
    char birth_date[11], due_date[11];   /* "" when not given */
    bool opt_out;
    char reason[256];
};

/* True when every field is empty (a spreadsheet's trailing ",,,," rows): not a row at all. */
bool csvimport_row_empty(char *const *fields, int n);

/* Checks and normalises one record. Returns NULL, or the reason for rejecting it (a pointer
 * to OUT->reason or a static string). FIELDS may be modified (trimmed in place). */
const char *csvimport_row_parse(const struct csvimport_header *h,
                                const struct csvimport_refs *refs, char **fields, int n,
                                struct citizen_row *out);

struct import_stats {
    long rows, imported, updated, unchanged, rejected, opted_out;
    bool bulk;                  /* secondary indexes and foreign keys were rebuilt after the load */
    char ignored[512];
};

struct import_opts {
    const char *rejects_path;   /* NULL: rejects are only counted (and the first shown) */
    bool dry_run;               /* do everything, then roll back */
    bool progress;              /* a line on stderr every 100,000 rows */
};

/* Imports PATH. 0 (rows may have been rejected), or -1 with ERR when the file or the database
 * refused; the database is then unchanged. */
int csvimport_citizens(PGconn *db, const char *path, const struct import_opts *o,
                       struct import_stats *st, char *err, size_t errlen);

#endif
