/* `loa communes import` (segments/communes.h). */
#include "cli/commands.h"
#include "segments/communes.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>

int cmd_communes_import(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"rejects", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    const struct cli_command *me = cli_find("communes import");
    const char *rejects = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
        if (ch == 'r')
            rejects = optarg;
        else if (ch != 'j')
            return cli_usage(me, "unknown option");
    }
    if (optind != argc - 1)
        return cli_usage(me, "give one FILE.csv");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    struct communes_stats st;
    char err[600];
    if (communes_import(db, argv[optind], rejects, &st, err, sizeof err) < 0)
        return cli_refuse("%s (nothing was imported)", err);
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "file", argv[optind]);
        cJSON_AddNumberToObject(j, "rows", (double)st.rows);
        cJSON_AddNumberToObject(j, "imported", (double)st.imported);
        cJSON_AddNumberToObject(j, "updated", (double)st.updated);
        cJSON_AddNumberToObject(j, "unchanged", (double)st.unchanged);
        cJSON_AddNumberToObject(j, "rejected", (double)st.rejected);
        cli_print_json(j);
    } else {
        printf("%s: %ld rows read\n  imported  %8ld\n  updated   %8ld\n  unchanged %8ld\n"
               "  rejected  %8ld\n", argv[optind], st.rows, st.imported, st.updated, st.unchanged,
               st.rejected);
    }
    return CLI_OK;
}
