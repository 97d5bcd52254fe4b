/* `loa import citizens` (segments/csvimport.h). */
#include "cli/commands.h"
#include "segments/csvimport.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void print_json(const char *path, const struct import_opts *o, const struct import_stats *st,
                       double ms)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "file", path);
    cJSON_AddNumberToObject(j, "rows", (double)st->rows);
    cJSON_AddNumberToObject(j, "imported", (double)st->imported);
    cJSON_AddNumberToObject(j, "updated", (double)st->updated);
    cJSON_AddNumberToObject(j, "unchanged", (double)st->unchanged);
    cJSON_AddNumberToObject(j, "rejected", (double)st->rejected);
    cJSON_AddNumberToObject(j, "opted_out", (double)st->opted_out);
    cJSON *ign = cJSON_AddArrayToObject(j, "ignored_columns");
    char buf[sizeof st->ignored];
    snprintf(buf, sizeof buf, "%s", st->ignored);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(ign, cJSON_CreateString(t + (*t == ' ')));
    if (o->rejects_path)
        cJSON_AddStringToObject(j, "rejects_file", o->rejects_path);
    cJSON_AddBoolToObject(j, "dry_run", o->dry_run);
    cJSON_AddBoolToObject(j, "bulk", st->bulk);
    cJSON_AddNumberToObject(j, "elapsed_ms", (double)(long long)ms);
    cli_print_json(j);
}

int cmd_import_citizens(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"rejects", required_argument, NULL, 'r'},
        {"dry-run", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    const struct cli_command *me = cli_find("import citizens");
    struct import_opts o = {0};
    int ch;
    while ((ch = getopt_long(argc, argv, "r:n", opts, NULL)) != -1) {
        if (ch == 'r')
            o.rejects_path = optarg;
        else if (ch == 'n')
            o.dry_run = true;
        else if (ch != 'j')
            return cli_usage(me, "unknown option");
    }
    if (optind != argc - 1)
        return cli_usage(me, "give one FILE.csv");
    const char *path = argv[optind];
    const char *pe = getenv("LOA_PROGRESS");
    o.progress = isatty(2) || (pe && strcmp(pe, "1") == 0);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct import_stats st;
    char err[700];
    if (csvimport_citizens(db, path, &o, &st, err, sizeof err) < 0)
        return cli_refuse("%s (nothing was imported)", err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (c->json) {
        print_json(path, &o, &st, ms);
        return CLI_OK;
    }
    printf("%s: %ld rows read in %.1f s%s\n", path, st.rows, ms / 1e3,
           o.dry_run ? " (dry run: nothing was saved)" : "");
    printf("  imported  %10ld\n  updated   %10ld\n  unchanged %10ld\n  rejected  %10ld%s%s%s\n",
           st.imported, st.updated, st.unchanged, st.rejected,
           st.rejected && o.rejects_path ? " (see " : "",
           st.rejected && o.rejects_path ? o.rejects_path : "",
           st.rejected && o.rejects_path ? ")" : "");
    if (st.opted_out)
        printf("  opted out %10ld\n", st.opted_out);
    if (st.ignored[0])
        printf("  ignored columns: %s\n", st.ignored);
    return CLI_OK;
}
