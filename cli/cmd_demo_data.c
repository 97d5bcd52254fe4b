/* `loa demo-data` (segments/demodata.h). */
#include "cli/commands.h"
#include "segments/demodata.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int cmd_demo_data(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"citizens", required_argument, NULL, 'n'}, {"seed", required_argument, NULL, 's'},
        {"today", required_argument, NULL, 't'}, {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0},
    };
    const struct cli_command *me = cli_find("demo-data");
    long n = -1;
    unsigned long long seed = 1;
    const char *out = NULL, *today = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "n:s:t:o:", opts, NULL)) != -1) {
        char *end = NULL;
        if (ch == 'n' && ((n = strtol(optarg, &end, 10)) < 0 || *end || n > 50000000))
            return cli_usage(me, "--citizens takes 0 to 50000000");
        if (ch == 's' && (seed = strtoull(optarg, &end, 10), *end))
            return cli_usage(me, "--seed takes a number");
        if (ch == 't')
            today = optarg;
        if (ch == 'o')
            out = optarg;
        if (ch == '?')
            return cli_usage(me, "unknown option");
    }
    if (n < 0 || !out || optind != argc)
        return cli_usage(me, "give --citizens N and --out FILE.csv");
    if (today) {
        struct tm tm = {0};
        char *e = strptime(today, "%Y-%m-%d", &tm);
        if (!e || *e)
            return cli_usage(me, "--today takes YYYY-MM-DD");
    }
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[4200];
    if (demodata_generate(db, out, n, seed, today, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "file", out);
        cJSON_AddNumberToObject(j, "citizens", (double)n);
        cJSON_AddNumberToObject(j, "seed", (double)seed);
        cli_print_json(j);
    } else
        printf("%s: %ld synthetic citizens (seed %llu)\n", out, n, seed);
    return CLI_OK;
}
