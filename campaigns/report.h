#ifndef LOA_REPORT_H
#define LOA_REPORT_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* The supervisors' report (`loa report`), e.g. the yearly report due before 15 January.
 *
 * A campaign belongs to the period [FROM, TO] (dates in [policy] timezone, both included) when
 * it started in it (started_at, else its planned starts_at, else its creation). For those
 * campaigns the report has:
 *  - one row per campaign, commune, target group and channel: targeted (messages of that
 *    channel not handed to a later channel, so the channels of a campaign add up to the
 *    citizens it targeted), sent / delivered / failed / fallback as in `campaign show`, SMS
 *    parts, replies and opt-outs (matched by the replying citizen's commune and group and the
 *    reply's channel), cost in VND;
 *  - one row per commune with citizens: citizens on file, citizens targeted and reached
 *    (a delivered message) in the period, reach in percent, and with --target PCT whether it
 *    meets that target (the plans set targets as a share of a population reached).
 *  - per target group: citizens targeted and reached; per channel: the figures of
 *    `campaign show`; replies per campaign, channel and intent (how many answered);
 *  - coverage: the imported targets of the period's years (`loa targets import`) against the
 *    citizens reached about each topic by a message delivered in the period;
 *  - conversions: citizens reached whose participation went from none or stopped to voluntary
 *    or compulsory within [report] conversion_days (90), per campaign, commune, group and
 *    channel.
 * XLSX: the sheets "Chiến dịch" (the first table), "Xã phường" (the second), "Nhóm đối tượng",
 * "Kênh", "Phản hồi", "Độ bao phủ", "Chuyển đổi" and "Tổng hợp" (totals and the share of
 * communes with at least one citizen reached); whole numbers formatted #,##0, shares 0.0#.
 * CSV: one file per table, UTF-8 with a byte-order mark (for spreadsheets), with the sheets'
 * Vietnamese titles as headers (or the columns' codes: csv_codes): FILE the first table, and
 * beside it FILE-communes.csv, -groups, -channels, -replies, -coverage, -conversions and
 * -summary (FILE.csv → FILE-communes.csv). */

/* The name of the CSV of table SUFFIX beside OUT ("r.csv", "communes" → "r-communes.csv"; ""
 * → OUT itself); report_communes_path() that of the communes. */
void report_csv_path(const char *out, const char *suffix, char *buf, size_t len);
void report_communes_path(const char *out, char *buf, size_t len);

struct report_opts {
    const char *from, *to;   /* YYYY-MM-DD, FROM not after TO */
    const char *format;      /* "xlsx" or "csv" */
    const char *out;         /* the file to write */
    double target;           /* the reach target in percent, or < 0 for none */
    int conversion_days;     /* the conversions' window ([report] conversion_days); 0: 90 */
    bool csv_codes;          /* CSV headers: the columns' codes instead of their titles */
};

/* O's conversion window in days. */
int report_conversion_days(const struct report_opts *o);

struct report_summary {
    long long campaigns;     /* in the period */
    int rows, communes;      /* rows of the first and second table */
    long long active_communes;   /* communes with a citizen reached */
    char communes_out[4096];     /* CSV: the second file; else "" */
    char files[8][1024];         /* CSV: every file written, FILE first; nfiles of them */
    int nfiles;
};

/* The report's tables, for the command and the API (web/api_report.c, on the daemon's pool):
 * each statement takes $1 from, $2 to (dates), $3 the policy time zone. */
enum report_table {
    REPORT_DETAIL, REPORT_COMMUNES, REPORT_GROUPS, REPORT_CHANNELS, REPORT_REPLIES, REPORT_COVERAGE,
    REPORT_CONVERSIONS, REPORT_NTABLES
};
extern const char *const report_sql[REPORT_NTABLES];
/* How many of $1 from, $2 to, $3 time zone, $4 conversion days each statement takes. */
extern const int report_nparams[REPORT_NTABLES];

/* Writes the report of O from RES (one result of report_sql per table, in order) and sets SUM.
 * 0, or -1 with ERR. */
/* Where temporary files go: $TMPDIR when set, else /tmp. */
const char *report_tmpdir(void);

int report_tables_write(const struct report_opts *o, const PGresult *const *res,
                        struct report_summary *sum, char *err, size_t errlen);

/* Writes the report of O, dates in time zone TZ, and sets SUM. 0, or -1 with ERR (the
 * database's error, or a file that could not be written). */
int report_write(PGconn *db, const struct report_opts *o, const char *tz,
                 struct report_summary *sum, char *err, size_t errlen);

#endif
