/* `loa report` (campaigns/report.h). */
#include "cli/commands.h"
#include "campaigns/report.h"
#include "core/config.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_opts(int argc, char **argv, struct report_opts *o)
{
    const struct cli_command *cmd = cli_find("report");
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'F'}, {"out", required_argument, NULL, 'o'},
        {"target", required_argument, NULL, 'T'}, {"json", no_argument, NULL, 'j'},
        {"year", required_argument, NULL, 'y'},   {"csv-header", required_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    static char year_from[11], year_to[11];
    const char *year = NULL;
    o->target = -1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': o->from = optarg; break;
        case 't': o->to = optarg; break;
        case 'F': o->format = optarg; break;
        case 'o': o->out = optarg; break;
        case 'T': {
            char *end;
            o->target = strtod(optarg, &end);
            if (*end || end == optarg || o->target < 0 || o->target > 100)
                return cli_usage(cmd, "--target takes a percentage from 0 to 100, not '%s'", optarg);
            break;
        }
        case 'y': year = optarg; break;
        case 'H':
            if (strcmp(optarg, "codes") != 0 && strcmp(optarg, "titles") != 0)
                return cli_usage(cmd, "--csv-header takes titles (Vietnamese, the default) or codes, not '%s'", optarg);
            o->csv_codes = strcmp(optarg, "codes") == 0;
            break;
        case 'j': break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument %s", argv[optind]);
    if (year) {
        /* The yearly report: the calendar year in the policy time zone. */
        char *end;
        long y = strtol(year, &end, 10);
        if (*end || end == year || y < 2000 || y > 2999)
            return cli_usage(cmd, "--year takes a year from 2000 to 2999, not '%s'", year);
        if (o->from || o->to)
            return cli_usage(cmd, "give --year or --from and --to, not both");
        snprintf(year_from, sizeof year_from, "%04ld-01-01", y);
        snprintf(year_to, sizeof year_to, "%04ld-12-31", y);
        o->from = year_from;
        o->to = year_to;
    }
    if (!o->from || !o->to || !o->format || !o->out)
        return cli_usage(cmd, "--year (or --from and --to), --format and --out are required");
    if (strcmp(o->format, "xlsx") != 0 && strcmp(o->format, "csv") != 0)
        return cli_usage(cmd, "--format takes xlsx or csv, not '%s'", o->format);
    const char *dates[2] = {o->from, o->to};
    for (int i = 0; i < 2; i++) {
        int y, m, d, n = 0;
        if (sscanf(dates[i], "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || dates[i][n] || n != 10 ||
            m < 1 || m > 12 || d < 1 || d > 31)
            return cli_usage(cmd, "--%s '%s' is not a date YYYY-MM-DD", i ? "to" : "from", dates[i]);
    }
    if (strcmp(o->from, o->to) > 0)
        return cli_usage(cmd, "--from %s is after --to %s", o->from, o->to);
    return CLI_OK;
}

int cmd_report(struct cli *c, int argc, char **argv)
{
    struct report_opts o = {0};
    int rc = parse_opts(argc, argv, &o);
    if (rc != CLI_OK)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[4700];
    o.conversion_days = config_int(c->cfg, "report", "conversion_days");
    static struct report_summary s;
    if (report_write(db, &o, config_str(c->cfg, "policy", "timezone"), &s, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "out", o.out);
        if (s.communes_out[0])
            cJSON_AddStringToObject(x, "communes_out", s.communes_out);
        cJSON_AddNumberToObject(x, "campaigns", (double)s.campaigns);
        cJSON_AddNumberToObject(x, "rows", s.rows);
        cJSON_AddNumberToObject(x, "communes", s.communes);
        cJSON_AddNumberToObject(x, "active_communes", (double)s.active_communes);
        if (s.nfiles) {
            cJSON *f = cJSON_AddArrayToObject(x, "files");
            for (int i = 0; i < s.nfiles; i++)
                cJSON_AddItemToArray(f, cJSON_CreateString(s.files[i]));
        }
        cli_print_json(x);
    } else
    {
        printf("report %s..%s: %lld campaign(s), %d row(s), %d commune(s) (%lld reached) -> %s%s\n",
               o.from, o.to, s.campaigns, s.rows, s.communes, s.active_communes, o.out,
               s.nfiles > 1 ? " and beside it:" : "");
        for (int i = 1; i < s.nfiles; i++)
            printf("  %s\n", s.files[i]);
    }
    return CLI_OK;
}
