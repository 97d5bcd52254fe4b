#include "campaigns/report.h"
#include "core/db.h"

#include <csv.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

enum { ERRLEN = 600 };

/* $1 from, $2 to (dates), $3 the policy time zone. */
#define PERIOD_CTE                                                                            \
    "WITH camp AS (SELECT id, name FROM campaigns"                                             \
    " WHERE coalesce(started_at, starts_at, created_at) >= ($1::date::timestamp AT TIME ZONE $3::text)" \
    "   AND coalesce(started_at, starts_at, created_at) < (($2::date + 1)::timestamp AT TIME ZONE $3::text))"

/* What the messages M cost, charged as `campaign show` charges them (loa_charged()). */
#define CHARGED_COST "coalesce(sum(m.cost_vnd) FILTER (WHERE loa_charged(m.channel, m.state)), 0)"

static const char DETAIL_SQL[] =
    PERIOD_CTE ","
    " msg AS (SELECT m.campaign_id, c.commune_code, coalesce(c.group_code, '') AS grp, m.channel,"
    "   count(*) FILTER (WHERE m.state <> 'fallback') AS targeted,"
    "   count(*) FILTER (WHERE m.state IN ('submitted','delivered','undelivered','in_doubt')) AS sent,"
    "   count(*) FILTER (WHERE m.state = 'delivered') AS delivered,"
    "   count(*) FILTER (WHERE m.state IN ('failed','undelivered')) AS failed,"
    "   count(*) FILTER (WHERE m.state = 'fallback') AS fallback,"
    "   coalesce(sum(m.parts) FILTER (WHERE m.channel = 'sms' AND m.state IN"
    "     ('submitted','delivered','undelivered','in_doubt')), 0) AS parts,"
    "   " CHARGED_COST " AS cost"
    "   FROM messages_all m JOIN camp ON camp.id = m.campaign_id JOIN citizens c ON c.id = m.citizen_id"
    "   GROUP BY 1, 2, 3, 4),"
    " rep AS (SELECT r.campaign_id, coalesce(c.commune_code, '') AS commune_code,"
    "   coalesce(c.group_code, '') AS grp, r.channel, count(*) AS replies,"
    "   count(*) FILTER (WHERE r.intent = 'opt_out') AS opted_out"
    "   FROM replies r JOIN camp ON camp.id = r.campaign_id LEFT JOIN citizens c ON c.id = r.citizen_id"
    "   GROUP BY 1, 2, 3, 4)"
    " SELECT camp.id, camp.name, k.commune_code, coalesce(co.name, ''), coalesce(p.name, ''),"
    "   k.grp, coalesce(g.label_vi, ''), k.channel,"
    "   coalesce(msg.targeted, 0), coalesce(msg.sent, 0), coalesce(msg.delivered, 0),"
    "   coalesce(msg.failed, 0), coalesce(msg.fallback, 0), coalesce(msg.parts, 0),"
    "   coalesce(rep.replies, 0), coalesce(rep.opted_out, 0), coalesce(msg.cost, 0)"
    " FROM (SELECT campaign_id, commune_code, grp, channel FROM msg"
    "       UNION SELECT campaign_id, commune_code, grp, channel FROM rep) k"
    " JOIN camp ON camp.id = k.campaign_id"
    " LEFT JOIN msg USING (campaign_id, commune_code, grp, channel)"
    " LEFT JOIN rep USING (campaign_id, commune_code, grp, channel)"
    " LEFT JOIN communes co ON co.code = k.commune_code"
    " LEFT JOIN provinces p ON p.code = co.province_code"
    " LEFT JOIN target_groups g ON g.code = k.grp"
    " ORDER BY camp.id, p.name, co.name, k.commune_code, k.grp, k.channel";

static const char COMMUNE_SQL[] =
    PERIOD_CTE ","
    " pop AS (SELECT commune_code, count(*) AS n FROM citizens GROUP BY 1),"
    " reach AS (SELECT c.commune_code, count(DISTINCT m.citizen_id) AS targeted,"
    "   count(DISTINCT m.citizen_id) FILTER (WHERE m.state = 'delivered') AS reached"
    "   FROM messages_all m JOIN camp ON camp.id = m.campaign_id JOIN citizens c ON c.id = m.citizen_id"
    "   GROUP BY 1)"
    " SELECT co.code, co.name, p.name, pop.n, coalesce(reach.targeted, 0), coalesce(reach.reached, 0),"
    "   round(100.0 * coalesce(reach.reached, 0) / pop.n, 1)"
    " FROM pop JOIN communes co ON co.code = pop.commune_code"
    " JOIN provinces p ON p.code = co.province_code"
    " LEFT JOIN reach ON reach.commune_code = co.code"
    " ORDER BY p.name, co.name, co.code";

/* Citizens targeted and reached per target group, in the period's campaigns. */
static const char GROUPS_SQL[] =
    PERIOD_CTE
    " SELECT coalesce(c.group_code, ''), coalesce(g.label_vi, ''), count(DISTINCT m.citizen_id),"
    "   count(DISTINCT m.citizen_id) FILTER (WHERE m.state = 'delivered'),"
    "   round(100.0 * count(DISTINCT m.citizen_id) FILTER (WHERE m.state = 'delivered')"
    "         / greatest(count(DISTINCT m.citizen_id), 1), 1)"
    " FROM messages_all m JOIN camp ON camp.id = m.campaign_id JOIN citizens c ON c.id = m.citizen_id"
    " LEFT JOIN target_groups g ON g.code = c.group_code GROUP BY 1, 2 ORDER BY 3 DESC, 1";

/* Per channel, with the definitions of `campaign show`, archived campaigns included. */
static const char CHANNELS_SQL[] =
    PERIOD_CTE
    " SELECT m.channel,"
    "   count(*) FILTER (WHERE m.state IN ('submitted','delivered','undelivered','in_doubt')),"
    "   count(*) FILTER (WHERE m.state = 'delivered'),"
    "   count(*) FILTER (WHERE m.state IN ('failed','undelivered')),"
    "   count(*) FILTER (WHERE m.state = 'fallback'),"
    "   coalesce(sum(m.parts) FILTER (WHERE m.channel = 'sms' AND m.state IN"
    "     ('submitted','delivered','undelivered','in_doubt')), 0),"
    "   " CHARGED_COST
    " FROM messages_all m JOIN camp ON camp.id = m.campaign_id GROUP BY 1 ORDER BY 1";

/* Replies per campaign and intent (no numbers nor texts of citizens in a report). */
static const char REPLIES_SQL[] =
    PERIOD_CTE
    " SELECT camp.id, camp.name, r.channel, r.intent, count(*), count(r.answered_at)"
    " FROM replies r JOIN camp ON camp.id = r.campaign_id GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 4";

/* The plans' targets of the period's years against citizens reached about each topic by a
 * message delivered in the period (as the coverage API counts them). */
static const char COVERAGE_SQL[] =
    "WITH reached AS (SELECT ca.topic, c.commune_code, count(DISTINCT m.citizen_id) AS n"
    "   FROM messages_all m JOIN campaigns ca ON ca.id = m.campaign_id JOIN citizens c ON c.id = m.citizen_id"
    "   WHERE m.state = 'delivered'"
    "     AND coalesce(m.final_at, m.submitted_at) >= ($1::date::timestamp AT TIME ZONE $3::text)"
    "     AND coalesce(m.final_at, m.submitted_at) < (($2::date + 1)::timestamp AT TIME ZONE $3::text)"
    "   GROUP BY 1, 2)"
    " SELECT t.year, t.topic, t.commune_code, coalesce(co.name, ''), t.population, t.target_pct,"
    "   coalesce(r.n, 0), CASE WHEN t.population > 0 THEN round(100.0 * coalesce(r.n, 0) / t.population, 2) ELSE 0 END,"
    "   CASE WHEN t.population > 0 AND 100.0 * coalesce(r.n, 0) / t.population >= t.target_pct"
    "        THEN 'Đạt' ELSE 'Dưới chỉ tiêu' END"
    " FROM coverage_targets t LEFT JOIN communes co ON co.code = t.commune_code"
    " LEFT JOIN reached r ON r.topic = t.topic AND r.commune_code = t.commune_code"
    " WHERE t.year BETWEEN extract(year FROM $1::date) AND extract(year FROM $2::date)"
    " ORDER BY t.year, t.topic, co.name, t.commune_code";

/* Conversions of the period's campaigns: citizens reached whose participation went from none
 * or stopped to voluntary or compulsory within $4 days of the delivery ([report]
 * conversion_days), each counted once per campaign, for the channel that reached them first (as
 * GET /api/v1/campaigns/ID/conversions). */
static const char CONVERSIONS_SQL[] =
    PERIOD_CTE ","
    " reached AS (SELECT m.campaign_id, m.citizen_id, m.channel, min(coalesce(m.final_at, m.submitted_at)) AS at"
    "   FROM messages_all m JOIN camp ON camp.id = m.campaign_id WHERE m.state = 'delivered' GROUP BY 1, 2, 3),"
    " conv AS (SELECT DISTINCT ON (r.campaign_id, r.citizen_id) r.campaign_id, r.citizen_id, r.channel"
    "   FROM reached r JOIN participation_changes p ON p.citizen_id = r.citizen_id"
    "    AND p.changed_at >= r.at AND p.changed_at < r.at + make_interval(days => $4::int)"
    "    AND p.old_value IN ('none','stopped') AND p.new_value IN ('voluntary','compulsory')"
    "   ORDER BY r.campaign_id, r.citizen_id, r.at)"
    " SELECT camp.id, camp.name, c.commune_code, coalesce(co.name, ''), coalesce(c.group_code, ''),"
    "   conv.channel, count(*)"
    " FROM conv JOIN camp ON camp.id = conv.campaign_id JOIN citizens c ON c.id = conv.citizen_id"
    " LEFT JOIN communes co ON co.code = c.commune_code"
    " GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 3, 5, 6";

const char *const report_sql[REPORT_NTABLES] = {
    DETAIL_SQL, COMMUNE_SQL, GROUPS_SQL, CHANNELS_SQL, REPLIES_SQL, COVERAGE_SQL,
    CONVERSIONS_SQL,
};
const int report_nparams[REPORT_NTABLES] = {3, 3, 3, 3, 3, 3, 4};
_Static_assert(REPORT_NTABLES + 1 <= 8, "report_summary.files holds every CSV and the summary");

/* A column of an output table: its CSV name, its XLSX title, and whether it is a number. */
struct column {
    const char *csv, *title;
    bool number;
};

static const struct column detail_cols[] = {
    {"campaign_id", "Mã chiến dịch", true},     {"campaign", "Chiến dịch", false},
    {"commune_code", "Mã xã", false},          {"commune", "Xã/phường", false},
    {"province", "Tỉnh", false},               {"group_code", "Mã nhóm", false},
    {"group", "Nhóm đối tượng", false},        {"channel", "Kênh", false},
    {"targeted", "Số đối tượng", true},        {"sent", "Đã gửi", true},
    {"delivered", "Đã nhận", true},            {"failed", "Không thành công", true},
    {"fallback", "Chuyển kênh khác", true},    {"sms_parts", "Số phần SMS", true},
    {"replies", "Phản hồi", true},             {"opted_out", "Từ chối nhận tin", true},
    {"cost_vnd", "Chi phí (VND)", true},
};
enum { DETAIL_NCOLS = sizeof detail_cols / sizeof detail_cols[0] };

static const struct column commune_cols[] = {
    {"commune_code", "Mã xã", false},          {"commune", "Xã/phường", false},
    {"province", "Tỉnh", false},               {"citizens", "Số người trong danh sách", true},
    {"targeted", "Số đối tượng đã nhắn", true}, {"reached", "Số người đã nhận tin", true},
    {"reach_pct", "Tỷ lệ tiếp cận (%)", true},  {"meets_target", "Đạt chỉ tiêu", false},
};
enum { COMMUNE_NCOLS = sizeof commune_cols / sizeof commune_cols[0] };

static const struct column group_cols[] = {
    {"group_code", "Mã nhóm", false},         {"group", "Nhóm đối tượng", false},
    {"targeted", "Số đối tượng", true},       {"reached", "Số người đã nhận tin", true},
    {"reach_pct", "Tỷ lệ tiếp cận (%)", true},
};
static const struct column channel_cols[] = {
    {"channel", "Kênh", false},               {"sent", "Đã gửi", true},
    {"delivered", "Đã nhận", true},           {"failed", "Không thành công", true},
    {"fallback", "Chuyển kênh khác", true},   {"sms_parts", "Số phần SMS", true},
    {"cost_vnd", "Chi phí (VND)", true},
};
static const struct column reply_cols[] = {
    {"campaign_id", "Mã chiến dịch", true},   {"campaign", "Chiến dịch", false},
    {"channel", "Kênh", false},               {"intent", "Loại phản hồi", false},
    {"replies", "Số phản hồi", true},         {"answered", "Đã trả lời", true},
};
static const struct column coverage_cols[] = {
    {"year", "Năm", true},                    {"topic", "Chủ đề", false},
    {"commune_code", "Mã xã", false},         {"commune", "Xã/phường", false},
    {"population", "Dân số trong độ tuổi lao động", true}, {"target_pct", "Chỉ tiêu (%)", true},
    {"reached", "Số người đã nhận tin", true}, {"reached_pct", "Tỷ lệ đạt được (%)", true},
    {"assessment", "Đánh giá", false},
};

static const struct column conversion_cols[] = {
    {"campaign_id", "Mã chiến dịch", true},   {"campaign", "Chiến dịch", false},
    {"commune_code", "Mã xã", false},         {"commune", "Xã/phường", false},
    {"group_code", "Mã nhóm", false},         {"channel", "Kênh", false},
    {"converted", "Số người tham gia BHXH trong", true},
};

/* Every table of the report, in the order of report_sql: its XLSX sheet and the suffix of its
 * CSV file beside FILE (none: FILE itself). */
static const struct {
    const char *sheet, *suffix;
    const struct column *cols;
    int ncols;
} tables[REPORT_NTABLES] = {
    {"Chiến dịch", "", detail_cols, DETAIL_NCOLS},
    {"Xã phường", "communes", commune_cols, COMMUNE_NCOLS},
    {"Nhóm đối tượng", "groups", group_cols, sizeof group_cols / sizeof group_cols[0]},
    {"Kênh", "channels", channel_cols, sizeof channel_cols / sizeof channel_cols[0]},
    {"Phản hồi", "replies", reply_cols, sizeof reply_cols / sizeof reply_cols[0]},
    {"Độ bao phủ", "coverage", coverage_cols, sizeof coverage_cols / sizeof coverage_cols[0]},
    {"Chuyển đổi", "conversions", conversion_cols, sizeof conversion_cols / sizeof conversion_cols[0]},
};

/* A column's header: its Vietnamese title (the conversions' names their window), or with
 * --csv-header codes its code. */
static const char *header_of(const struct column *c, const struct report_opts *o, bool codes, char *buf,
                             size_t len)
{
    if (codes)
        return c->csv;
    if (strcmp(c->csv, "converted") != 0)
        return c->title;
    snprintf(buf, len, "%s %d ngày", c->title, report_conversion_days(o));
    return buf;
}

/* The value of cell (ROW, COL) of a table: the query's columns, then for the communes table
 * the computed "meets target". */
static const char *cell(const PGresult *r, int row, int col, const struct report_opts *o)
{
    if (col < PQnfields(r))
        return PQgetvalue(r, row, col);
    if (o->target < 0)
        return "";
    return strtod(PQgetvalue(r, row, 6), NULL) >= o->target ? "yes" : "no";
}

/* ---- CSV ---- */

static void csv_field(FILE *f, const char *v, bool first)
{
    if (!first)
        fputc(',', f);
    csv_fwrite(f, v, strlen(v));
}

static int write_csv(const char *path, const PGresult *r, const struct column *cols, int ncols,
                     const struct report_opts *o)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("\xEF\xBB\xBF", f);
    char buf[128];
    for (int j = 0; j < ncols; j++)
        csv_field(f, header_of(&cols[j], o, o->csv_codes, buf, sizeof buf), j == 0);
    fputs("\r\n", f);
    for (int i = 0; i < PQntuples(r); i++) {
        for (int j = 0; j < ncols; j++)
            csv_field(f, cell(r, i, j, o), j == 0);
        fputs("\r\n", f);
    }
    bool bad = ferror(f) != 0;
    return fclose(f) == 0 && !bad ? 0 : -1;
}

/* ---- XLSX ---- */

/* Whole numbers with thousands separated, shares with their decimals: real numbers, so the
 * supervisor's spreadsheet can add them up. */
struct formats {
    lxw_format *bold, *whole, *share;
};

static void write_sheet(lxw_workbook *wb, const char *name, const PGresult *r,
                        const struct column *cols, int ncols, const struct report_opts *o,
                        const struct formats *fm)
{
    lxw_format *bold = fm->bold;
    lxw_worksheet *ws = workbook_add_worksheet(wb, name);
    char buf[128];
    for (int j = 0; j < ncols; j++) {
        worksheet_write_string(ws, 0, (lxw_col_t)j, header_of(&cols[j], o, false, buf, sizeof buf), bold);
        worksheet_set_column(ws, (lxw_col_t)j, (lxw_col_t)j, cols[j].number ? 14 : 24, NULL);
    }
    worksheet_freeze_panes(ws, 1, 0);
    for (int i = 0; i < PQntuples(r); i++)
        for (int j = 0; j < ncols; j++) {
            const char *v = cell(r, i, j, o);
            if (cols[j].number)
                worksheet_write_number(ws, (lxw_row_t)(i + 1), (lxw_col_t)j, strtod(v, NULL),
                                       strchr(v, '.') ? fm->share : fm->whole);
            else
                worksheet_write_string(ws, (lxw_row_t)(i + 1), (lxw_col_t)j, v, NULL);
        }
}

struct totals {
    long long campaigns, targeted, sent, delivered, failed, replies, opted_out, cost;
    long long communes, active_communes;
};

/* The totals of the summary, as (code, title, value) rows: the sheet "Tổng hợp" and FILE-summary.csv. */
struct summary_row {
    const char *code, *title;
    double v;
};
enum { SUMMARY_ROWS = 11 };

static void summary_rows(const struct totals *t, struct summary_row *rows)
{
    const struct summary_row r[SUMMARY_ROWS] = {
        {"campaigns", "Số chiến dịch", (double)t->campaigns},
        {"targeted", "Số đối tượng", (double)t->targeted},
        {"sent", "Đã gửi", (double)t->sent},
        {"delivered", "Đã nhận", (double)t->delivered},
        {"failed", "Không thành công", (double)t->failed},
        {"replies", "Phản hồi", (double)t->replies},
        {"opted_out", "Từ chối nhận tin", (double)t->opted_out},
        {"cost_vnd", "Chi phí (VND)", (double)t->cost},
        {"communes", "Số xã/phường có dân trong danh sách", (double)t->communes},
        {"active_communes", "Số xã/phường có người đã nhận tin", (double)t->active_communes},
        {"active_communes_pct", "Tỷ lệ xã/phường có hoạt động (%)",
         t->communes ? (double)(long long)(1000.0 * (double)t->active_communes / (double)t->communes + 0.5) / 10 : 0},
    };
    memcpy(rows, r, sizeof r);
}

static void write_summary(lxw_workbook *wb, const struct totals *t, const struct report_opts *o,
                          lxw_format *bold)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Tổng hợp");
    worksheet_set_column(ws, 0, 0, 44, NULL);
    worksheet_set_column(ws, 1, 1, 18, NULL);
    worksheet_write_string(ws, 0, 0, "Chỉ tiêu", bold);
    worksheet_write_string(ws, 0, 1, "Giá trị", bold);
    worksheet_write_string(ws, 1, 0, "Từ ngày", NULL);
    worksheet_write_string(ws, 1, 1, o->from, NULL);
    worksheet_write_string(ws, 2, 0, "Đến ngày", NULL);
    worksheet_write_string(ws, 2, 1, o->to, NULL);
    struct summary_row rows[SUMMARY_ROWS];
    summary_rows(t, rows);
    for (size_t i = 0; i < SUMMARY_ROWS; i++) {
        worksheet_write_string(ws, (lxw_row_t)(i + 3), 0, rows[i].title, NULL);
        worksheet_write_number(ws, (lxw_row_t)(i + 3), 1, rows[i].v, NULL);
    }
}

static int write_summary_csv(const char *path, const struct totals *t, const struct report_opts *o)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("\xEF\xBB\xBF", f);
    csv_field(f, o->csv_codes ? "figure" : "Chỉ tiêu", true);
    csv_field(f, o->csv_codes ? "value" : "Giá trị", false);
    fputs("\r\n", f);
    struct summary_row rows[SUMMARY_ROWS];
    summary_rows(t, rows);
    const char *head[2][3] = {{"from", "Từ ngày", o->from}, {"to", "Đến ngày", o->to}};
    for (int i = 0; i < 2; i++) {
        csv_field(f, head[i][o->csv_codes ? 0 : 1], true);
        csv_field(f, head[i][2], false);
        fputs("\r\n", f);
    }
    for (int i = 0; i < SUMMARY_ROWS; i++) {
        char v[32];
        snprintf(v, sizeof v, "%.15g", rows[i].v);
        csv_field(f, o->csv_codes ? rows[i].code : rows[i].title, true);
        csv_field(f, v, false);
        fputs("\r\n", f);
    }
    bool bad = ferror(f) != 0;
    return fclose(f) == 0 && !bad ? 0 : -1;
}

static int write_xlsx(const struct report_opts *o, const PGresult *const *res, const struct totals *t,
                      char *err, size_t errlen)
{
    /* libxlsxwriter's own temporary files go where ours do. */
    lxw_workbook_options opt = {.tmpdir = (char *)report_tmpdir()};
    lxw_workbook *wb = workbook_new_opt(o->out, &opt);
    if (!wb) {
        snprintf(err, errlen, "cannot create %s", o->out);
        return -1;
    }
    struct formats fm = {workbook_add_format(wb), workbook_add_format(wb), workbook_add_format(wb)};
    format_set_bold(fm.bold);
    format_set_num_format(fm.whole, "#,##0");
    format_set_num_format(fm.share, "0.0#");
    for (int i = 0; i < REPORT_NTABLES; i++)
        write_sheet(wb, tables[i].sheet, res[i], tables[i].cols, tables[i].ncols, o, &fm);
    write_summary(wb, t, o, fm.bold);
    lxw_error e = workbook_close(wb);
    if (e != LXW_NO_ERROR) {
        snprintf(err, errlen, "cannot write %s: %s", o->out, lxw_strerror(e));
        return -1;
    }
    return 0;
}

void report_csv_path(const char *out, const char *suffix, char *buf, size_t len)
{
    size_t n = strlen(out);
    if (!suffix[0])
        snprintf(buf, len, "%s", out);
    else if (n > 4 && strcasecmp(out + n - 4, ".csv") == 0)
        snprintf(buf, len, "%.*s-%s.csv", (int)(n - 4), out, suffix);
    else
        snprintf(buf, len, "%s-%s.csv", out, suffix);
}

void report_communes_path(const char *out, char *buf, size_t len) { report_csv_path(out, "communes", buf, len); }

int report_conversion_days(const struct report_opts *o) { return o->conversion_days > 0 ? o->conversion_days : 90; }

static void sum_totals(const PGresult *d, const PGresult *cm, struct totals *t)
{
    memset(t, 0, sizeof *t);
    const char *last = "";
    for (int i = 0; i < PQntuples(d); i++) {
        if (strcmp(PQgetvalue(d, i, 0), last) != 0)
            t->campaigns++;
        last = PQgetvalue(d, i, 0);
        t->targeted += strtoll(PQgetvalue(d, i, 8), NULL, 10);
        t->sent += strtoll(PQgetvalue(d, i, 9), NULL, 10);
        t->delivered += strtoll(PQgetvalue(d, i, 10), NULL, 10);
        t->failed += strtoll(PQgetvalue(d, i, 11), NULL, 10);
        t->replies += strtoll(PQgetvalue(d, i, 14), NULL, 10);
        t->opted_out += strtoll(PQgetvalue(d, i, 15), NULL, 10);
        t->cost += strtoll(PQgetvalue(d, i, 16), NULL, 10);
    }
    for (int i = 0; i < PQntuples(cm); i++) {
        t->communes++;
        if (strtoll(PQgetvalue(cm, i, 5), NULL, 10) > 0)
            t->active_communes++;
    }
}

const char *report_tmpdir(void)
{
    const char *d = getenv("TMPDIR");
    return d && d[0] ? d : "/tmp";
}

int report_tables_write(const struct report_opts *o, const PGresult *const *res,
                        struct report_summary *sum, char *err, size_t errlen)
{
    const PGresult *d = res[REPORT_DETAIL], *cm = res[REPORT_COMMUNES];
    struct totals t;
    sum_totals(d, cm, &t);
    int rc = 0;
    sum->communes_out[0] = '\0';
    sum->nfiles = 0;
    if (strcmp(o->format, "csv") == 0) {
        report_communes_path(o->out, sum->communes_out, sizeof sum->communes_out);
        for (int i = 0; i <= REPORT_NTABLES && rc == 0; i++) {
            char *path = sum->files[sum->nfiles];
            report_csv_path(o->out, i < REPORT_NTABLES ? tables[i].suffix : "summary", path, sizeof sum->files[0]);
            if ((i < REPORT_NTABLES ? write_csv(path, res[i], tables[i].cols, tables[i].ncols, o)
                                    : write_summary_csv(path, &t, o)) < 0) {
                snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
                rc = -1;
            } else
                sum->nfiles++;
        }
    } else if (write_xlsx(o, res, &t, err, errlen) < 0)
        rc = -1;
    sum->campaigns = t.campaigns;
    sum->rows = PQntuples(d);
    sum->communes = PQntuples(cm);
    sum->active_communes = t.active_communes;
    return rc;
}

int report_write(PGconn *db, const struct report_opts *o, const char *tz,
                 struct report_summary *sum, char *err, size_t errlen)
{
    char days[16];
    snprintf(days, sizeof days, "%d", report_conversion_days(o));
    const char *p[4] = {o->from, o->to, tz, days};
    PGresult *res[REPORT_NTABLES] = {0};
    int rc = 0;
    for (int i = 0; i < REPORT_NTABLES && rc == 0; i++)
        if (!(res[i] = db_query(db, err, errlen, report_sql[i], report_nparams[i], p)))
            rc = -1;
    if (rc == 0)
        rc = report_tables_write(o, (const PGresult *const *)res, sum, err, errlen);
    for (int i = 0; i < REPORT_NTABLES; i++)
        PQclear(res[i]);
    return rc;
}
