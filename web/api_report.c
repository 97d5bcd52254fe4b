/* /api/v1/report?year=YYYY (or from=DATE&to=DATE)[&target=PCT]: the XLSX of `loa report`, from
 * the same statements and the same writer (campaigns/report.h), for the dashboard's button.
 * libxlsxwriter writes files only, so the workbook goes through a private temporary file in
 * $TMPDIR that is removed before the answer leaves. */
#include "web/api.h"
#include "campaigns/report.h"
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert((int)REPORT_NTABLES <= (int)API_KEEP, "every table of the report is kept until the workbook is written");

struct report {
    char from[11], to[11];
    double target;
    char days[16];          /* [report] conversion_days */
};

/* The workbook, written on libuv's thread pool: a year of a province's report takes long
 * enough that the event loop, which serves every other request and the webhooks, must not wait
 * for it. The worker reads only the call's kept results and writes only JOB. */
struct report_job {
    uv_work_t work;
    struct api_call *c;
    char path[4096];
    char err[600];
    char *buf;
    long len;               /* -1: failed, ERR says why */
};

static void report_work(uv_work_t *w)
{
    struct report_job *j = w->data;
    const struct report *rp = j->c->data;
    struct report_opts o = {.from = rp->from, .to = rp->to, .format = "xlsx", .out = j->path, .target = rp->target,
                            .conversion_days = atoi(rp->days)};
    struct report_summary sum;
    j->len = -1;
    if (report_tables_write(&o, (const PGresult *const *)j->c->keep, &sum, j->err, sizeof j->err) == 0) {
        FILE *f = fopen(j->path, "rb");
        long n = -1;
        if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
            (j->buf = malloc((size_t)n + 1)) && fread(j->buf, 1, (size_t)n, f) == (size_t)n)
            j->len = n;
        else
            snprintf(j->err, sizeof j->err, "cannot read the report back");
        if (f)
            fclose(f);
    }
    unlink(j->path);
}

static void report_written(uv_work_t *w, int status)
{
    struct report_job *j = w->data;
    struct api_call *c = j->c;
    const struct report *rp = c->data;
    if (status < 0) {
        unlink(j->path);
        api_error(c, 503, "the report was not written: %s", uv_strerror(status));
    } else if (j->len < 0) {
        api_error(c, 500, "%s", j->err);
    } else {
        char disp[128];
        snprintf(disp, sizeof disp, "attachment; filename=\"bao-cao-%s-%s.xlsx\"", rp->from, rp->to);
        http_reply_header(c->req, "Content-Disposition", disp);
        api_reply_raw(c, 200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", j->buf,
                      (size_t)j->len);
    }
    free(j->buf);
    free(j);
}

static void write_report(struct api_call *c)
{
    struct report_job *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    j->c = c;
    j->work.data = j;
    /* In $TMPDIR: under systemd (PrivateTmp=true) or anywhere /tmp is not the place. */
    snprintf(j->path, sizeof j->path, "%s/loa-report-XXXXXX", report_tmpdir());
    int fd = mkstemp(j->path);
    if (fd < 0) {
        api_error(c, 500, "cannot create a temporary file in %s: %m", report_tmpdir());
        free(j);
        return;
    }
    close(fd);
    int rc = uv_queue_work(c->w->loop, &j->work, report_work, report_written);
    if (rc < 0) {
        unlink(j->path);
        api_error(c, 503, "the report was not written: %s", uv_strerror(rc));
        free(j);
    }
}

/* One table after the other, each kept in c->keep[table]. */
static void table_done(struct api_call *c, const PGresult *r)
{
    const struct report *rp = c->data;
    api_keep(c, (int)c->n, r);
    if (++c->n == REPORT_NTABLES) {
        write_report(c);
        return;
    }
    const char *p[4] = {rp->from, rp->to, config_str(c->w->cfg, "policy", "timezone"), rp->days};
    api_query(c, report_sql[c->n], report_nparams[c->n], p, table_done);
}

static bool date_ok(const char *s)
{
    int y, m, d, n = 0;
    return s && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 && !s[n] && y >= 2000 &&
           m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

void api_report(struct api_call *c)
{
    struct report rp = {.target = -1};
    long long year = 0, target = 0;
    int has_year = api_query_int(c, "year", 2000, 2999, &year), has_target;
    if (has_year < 0 || (has_target = api_query_int(c, "target", 0, 100, &target)) < 0)
        return;
    if (has_target)
        rp.target = (double)target;
    const char *from = http_req_query(c->req, "from"), *to = http_req_query(c->req, "to");
    if (has_year) {
        snprintf(rp.from, sizeof rp.from, "%04lld-01-01", year);
        snprintf(rp.to, sizeof rp.to, "%04lld-12-31", year);
    } else if (date_ok(from) && date_ok(to) && strcmp(from, to) <= 0) {
        snprintf(rp.from, sizeof rp.from, "%s", from);
        snprintf(rp.to, sizeof rp.to, "%s", to);
    } else {
        api_error(c, 400, "give year=YYYY, or from=YYYY-MM-DD and to=YYYY-MM-DD with from <= to");
        return;
    }
    snprintf(rp.days, sizeof rp.days, "%ld", config_int(c->w->cfg, "report", "conversion_days"));
    c->data = malloc(sizeof rp);
    if (!c->data)
        abort();
    memcpy(c->data, &rp, sizeof rp);
    const char *p[4] = {rp.from, rp.to, config_str(c->w->cfg, "policy", "timezone"), rp.days};
    c->n = 0;
    api_query(c, report_sql[0], report_nparams[0], p, table_done);
}
